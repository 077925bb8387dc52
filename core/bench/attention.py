"""The mixer sweep: every mixer x attention backend x track count on one token grid.

Planning happens here, in the parent process, without measuring: each mixer is built on the meta device to
read its declared attention shapes (FLOPs, and the memory the naive kernel needs), and a case that cannot
run is marked skipped with its reason (a backend unavailable on the device, or naive scores that would not
fit). The remaining cases and one matmul calibration run in fresh worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..attention import AttentionShape, attention_flops, naive_peak_bytes
from ..attention.dispatch import get_backend
from ..errors import UserError
from .options import Grid, MixerChoice
from .results import GIB, timing_fields
from .runner import Launcher, Settings, run_jobs


@dataclass(frozen=True)
class AttentionCase:
    """One measurement: a mixer with one backend on ``batch`` songs of ``tracks`` tracks of ``grid`` tokens."""

    mixer: MixerChoice
    backend: str
    tracks: int
    grid: Grid
    batch: int
    shapes: tuple[AttentionShape, ...] | None  # None: the mixer does not declare its cost
    skip: str | None = None

    @property
    def tokens(self) -> int:
        """Tokens of one song: ``S * T' * F'``."""
        return self.tracks * self.grid.tokens

    @property
    def flops(self) -> int | None:
        return None if self.shapes is None else attention_flops(self.shapes)

    @property
    def description(self) -> str:
        return f"{self.mixer.label} / {self.backend} / S={self.tracks}"

    def job(self, settings: Settings) -> dict[str, Any]:
        return settings.job(
            "attention",
            mixer=self.mixer.node,
            backend=self.backend,
            tracks=self.tracks,
            grid=[self.grid.frames, self.grid.bins, self.grid.dim],
            batch=self.batch,
        )


def describe_bytes(count: float) -> str:
    return f"{count / GIB:.1f} GiB"


def naive_skip_reason(shapes: Sequence[AttentionShape] | None, memory_limit: int | None) -> str | None:
    """``"needs X GiB ..."`` when the naive kernel's score tensors for ``shapes`` exceed ``memory_limit``."""
    if not shapes or memory_limit is None:
        return None
    needed = naive_peak_bytes(shapes)
    if needed <= memory_limit:
        return None
    return f"needs {describe_bytes(needed)} for the naive N^2 scores ({describe_bytes(memory_limit)} usable)"


def build_on_meta(choice: MixerChoice, dim: int, registry: Any = None) -> Any:
    """The mixer built on the meta device (no memory, no time), to ask it for its attention shapes."""
    from ..interfaces import Mixer
    from ..plugin_manager import get_registry
    from ..recipe import PartSpec, build

    spec = build(choice.node, PartSpec[Mixer], registry or get_registry())
    try:
        with torch.device("meta"):
            return spec(dim=dim)
    except ValueError as error:
        raise UserError(f"--mixers {choice.label}: cannot be built for {dim}-channel tokens: {error}") from None


def plan(
    mixers: Sequence[MixerChoice],
    backends: Sequence[str],
    tracks: Sequence[int],
    grid: Grid,
    batch: int,
    device: torch.device | str,
    memory_limit: int | None,
    registry: Any = None,
) -> list[AttentionCase]:
    """Every case of the sweep, in mixer, backend, track-count order; impossible ones carry ``skip``."""
    device = torch.device(device)
    cases = []
    for choice in mixers:
        mixer = build_on_meta(choice, grid.dim, registry)
        for backend in backends:
            unavailable = get_backend(backend).unavailable_reason(device)
            for count in tracks:
                declared = mixer.attention_shapes(batch, count, (grid.frames, grid.bins))
                shapes = None if declared is None else tuple(declared)
                skip = unavailable
                if skip is None and backend == "naive":
                    skip = naive_skip_reason(shapes, memory_limit)
                cases.append(AttentionCase(choice, backend, count, grid, batch, shapes, skip))
    return cases


def case_row(case: AttentionCase, result: dict[str, Any] | None, matmul_gflops: float | None, device: str) -> dict[str, Any]:
    """The CSV row of a case: what it was, and what was measured (or why not)."""
    first = case.shapes[0] if case.shapes else None
    row: dict[str, Any] = {
        "mixer": case.mixer.name,
        "spec": case.mixer.label,
        "backend": case.backend,
        "tracks": case.tracks,
        "frames": case.grid.frames,
        "bins": case.grid.bins,
        "dim": case.grid.dim,
        "heads": first.heads if first else None,
        "head_dim": first.head_dim if first else None,
        "batch": case.batch,
        "tokens": case.tokens,
        "attention_gflop": None if case.flops is None else case.flops / 1e9,
        "matmul_gflops": matmul_gflops,
        "device": device,
    }
    if case.skip is not None:
        return {**row, "status": "skipped", "reason": case.skip}
    if result is None:
        return {**row, "status": "not run", "reason": "the sweep stopped before this case"}
    if "error" in result:
        return {**row, "status": "failed", "reason": result["error"]}
    row.update(status="ok", **timing_fields(result))
    if case.flops is not None and row["time_ms"] > 0:
        row["gflops"] = case.flops / (row["time_ms"] / 1e3) / 1e9
        if matmul_gflops:
            row["fraction_of_matmul"] = row["gflops"] / matmul_gflops
    return row


def measure_matmul(settings: Settings, launch: Launcher, size: int, console: Any) -> dict[str, Any]:
    """The machine's fp32 matmul GFLOP/s, measured like a case (fresh process, same threads)."""
    job = settings.job("matmul", size=size, warmup=1, repeats=5, budget=float("inf"))
    (result,) = run_jobs([(f"fp32 matmul {size}x{size}", job)], launch, console, title="calibrating")
    return result


def sweep(cases: Sequence[AttentionCase], settings: Settings, launch: Launcher, matmul_gflops: float | None, console: Any) -> list[dict[str, Any]]:
    """Measure every runnable case in a fresh process; one CSV row per case (skipped ones included)."""
    jobs = [(case.description, None if case.skip else case.job(settings)) for case in cases]
    results = run_jobs(jobs, launch, console, title="attention", rounds=settings.rounds)
    results += [None] * (len(cases) - len(results))
    return [case_row(case, result, matmul_gflops, settings.device) for case, result in zip(cases, results)]
