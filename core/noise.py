"""Random draws that are reproducible however a batch is split.

Diffusions and samplers draw noise through these helpers. ``generator`` may be

- ``None``: the global torch RNG;
- one :class:`torch.Generator`: the whole tensor from its stream;
- a sequence of generators, one per batch row: row ``b`` comes from ``generator[b]`` only.

Draws are made on the generator's device (CPU for ``None``) and then moved to ``device``, so a CPU generator
gives the same numbers on every device. The trainer hands the diffusion one generator per song, seeded from
(run seed, step, the song's position in the global batch): the noise a song receives then does not depend on
how many processes or accumulation steps share the batch, which is what makes a 2-process run match a
1-process run with the same global batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import torch

Generators = torch.Generator | Sequence[torch.Generator] | None


def _draw(kind: str, shape: tuple[int, ...], generator: Generators, **kwargs) -> torch.Tensor:
    def one(size: tuple[int, ...], gen: torch.Generator | None) -> torch.Tensor:
        where = gen.device if gen is not None else torch.device("cpu")
        if kind == "normal":
            return torch.randn(size, generator=gen, device=where, dtype=kwargs["dtype"])
        if kind == "uniform":
            return torch.rand(size, generator=gen, device=where, dtype=kwargs["dtype"])
        return torch.randint(kwargs["low"], kwargs["high"], size, generator=gen, device=where)

    if generator is None or isinstance(generator, torch.Generator):
        return one(shape, generator)
    generators = list(generator)
    if not shape or len(generators) != shape[0]:
        raise ValueError(f"{len(generators)} generators given for a draw of shape {tuple(shape)}: need one per row")
    return torch.stack([one(tuple(shape[1:]), gen) for gen in generators])


def normal(shape: Sequence[int], generator: Generators = None, device: torch.device | str | None = None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normal draws of ``shape`` on ``device`` (see the module doc for ``generator``)."""
    return _draw("normal", tuple(shape), generator, dtype=dtype).to(device or "cpu")


def uniform(shape: Sequence[int], generator: Generators = None, device: torch.device | str | None = None,
            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform [0, 1) draws of ``shape`` on ``device``."""
    return _draw("uniform", tuple(shape), generator, dtype=dtype).to(device or "cpu")


def integers(low: int, high: int, shape: Sequence[int], generator: Generators = None,
             device: torch.device | str | None = None) -> torch.Tensor:
    """Uniform integers in ``[low, high)`` of ``shape`` (long) on ``device``."""
    return _draw("integers", tuple(shape), generator, low=low, high=high).to(device or "cpu")


def levels_and_noise(
    x0: torch.Tensor,
    generator: Generators,
    draw_levels: Callable[[int, torch.Generator | None], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """A training noise level ``[B]`` and noise shaped like ``x0`` ``[B, ...]``, on ``x0``'s device.

    ``draw_levels(count, generator)`` draws ``count`` levels (timesteps, log-sigmas...). With one generator
    (or None) the levels are drawn for the whole batch, then the noise; with one generator per song each
    song draws its level, then its noise, from its own stream, so a song's draws do not depend on the batch.
    """
    if generator is None or isinstance(generator, torch.Generator):
        return draw_levels(x0.shape[0], generator).to(x0.device), normal(x0.shape, generator, x0.device, x0.dtype)
    pairs = [(draw_levels(1, gen), normal((1, *x0.shape[1:]), gen, dtype=x0.dtype)) for gen in generator]
    return torch.cat([p[0] for p in pairs]).to(x0.device), torch.cat([p[1] for p in pairs]).to(x0.device)


def separate_track_levels(
    levels: torch.Tensor,
    num_tracks: int,
    probability: float,
    generator: Generators,
    draw_levels: Callable[[int, torch.Generator | None], torch.Tensor],
) -> torch.Tensor:
    """Song levels ``[B]`` -> track levels ``[B, S]``: each song, with ``probability``, gives its tracks
    ``num_tracks`` fresh levels; the others repeat the song's level on every track.

    Drawn after :func:`levels_and_noise` from the same generators (per song: one uniform, then ``S`` levels),
    so a song's levels still do not depend on the batch. ``probability`` 0 draws nothing.
    """
    shared = levels[:, None].expand(-1, num_tracks)
    if probability <= 0:
        return shared
    if generator is None or isinstance(generator, torch.Generator):
        chosen = uniform((levels.shape[0],), generator) < probability
        fresh = draw_levels(levels.shape[0] * num_tracks, generator).reshape(levels.shape[0], num_tracks)
    else:
        pairs = [(uniform((1,), gen), draw_levels(num_tracks, gen)) for gen in generator]
        chosen = torch.cat([p[0] for p in pairs]) < probability
        fresh = torch.stack([p[1] for p in pairs])
    return torch.where(chosen.to(levels.device)[:, None], fresh.to(levels.device, levels.dtype), shared)


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from any parts (run seed, step, position...); distinct parts give unrelated seeds."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def generators_from_seeds(seeds: torch.Tensor | Sequence[int]) -> list[torch.Generator]:
    """One CPU generator per seed: ``seeds`` ``[B]`` -> ``B`` generators."""
    values = seeds.tolist() if isinstance(seeds, torch.Tensor) else list(seeds)
    return [torch.Generator().manual_seed(int(value)) for value in values]
