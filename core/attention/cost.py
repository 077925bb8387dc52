"""What an attention costs: its FLOPs and the memory the materialising (naive) kernel needs.

A layer describes each attention it runs as an :class:`AttentionShape` (``sequences`` independent problems
of ``queries`` x ``keys``); cost estimates, the benchmark's achieved GFLOP/s and its rule for skipping
cases that cannot fit all derive from these shapes, so a mixer states its cost once, next to its code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# naive_attention holds two score-sized tensors at its peak: the scaled scores and their softmax.
NAIVE_SCORE_COPIES = 2


@dataclass(frozen=True)
class AttentionShape:
    """One batched attention call: ``sequences`` problems, each ``queries`` x ``keys`` over ``heads`` heads."""

    sequences: int
    queries: int
    keys: int
    heads: int
    head_dim: int

    @property
    def width(self) -> int:
        """The attention width ``D = heads * head_dim``."""
        return self.heads * self.head_dim

    @property
    def flops(self) -> int:
        """``4 * Nq * Nk * D`` per sequence: ``q k^T`` and ``weights v`` are ``Nq * Nk * D`` multiply-adds each.

        Projections, softmax and normalisation are not counted: this is the part that grows with the square
        of the sequence, and the usual convention for attention FLOPs.
        """
        return 4 * self.sequences * self.queries * self.keys * self.width

    def score_bytes(self, itemsize: int = 4) -> int:
        """Bytes of one materialised score tensor ``[sequences, heads, queries, keys]``."""
        return self.sequences * self.heads * self.queries * self.keys * itemsize


def attention_flops(shapes: Iterable[AttentionShape]) -> int:
    """Total attention FLOPs of a forward pass that runs ``shapes``."""
    return sum(shape.flops for shape in shapes)


def naive_peak_bytes(shapes: Iterable[AttentionShape], itemsize: int = 4) -> int:
    """Memory the naive kernel holds at its peak for the largest of ``shapes`` (calls run one at a time)."""
    return max((NAIVE_SCORE_COPIES * shape.score_bytes(itemsize) for shape in shapes), default=0)
