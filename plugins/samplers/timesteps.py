"""Which training timesteps a sampler with fewer steps visits (Lin et al. 2023, table 2, names as diffusers).

- ``leading``: ``t_i = i * (N // K) + offset``; LDM's DDIM ("uniform", offset 1) and MusicLDM use this.
- ``trailing``: ``round(N - i * N / K) - 1``; starts at the last timestep ``N - 1``.
- ``linspace``: ``round(linspace(0, N - 1, K))``; first and last timesteps included.
"""

from __future__ import annotations

import numpy as np

from synctrack.sampling import SamplingSettingsError


def spaced_timesteps(num_timesteps: int, steps: int, spacing: str, offset: int = 0) -> list[int]:
    """``steps`` distinct timesteps in ``0 .. num_timesteps - 1``, descending."""
    if not 1 <= steps <= num_timesteps:
        raise SamplingSettingsError(f"steps must be in 1 .. {num_timesteps} (the diffusion's timesteps), got {steps}")
    if spacing == "leading":
        values = np.arange(steps) * (num_timesteps // steps) + offset
    elif spacing == "trailing":
        values = np.round(np.arange(num_timesteps, 0, -num_timesteps / steps)).astype(np.int64) - 1
    elif spacing == "linspace":
        values = np.linspace(0, num_timesteps - 1, steps).round().astype(np.int64)
    else:
        raise ValueError(f"unknown timestep spacing {spacing!r}")
    result = sorted({int(v) for v in values}, reverse=True)
    if len(result) != steps or result[0] > num_timesteps - 1 or result[-1] < 0:
        raise SamplingSettingsError(
            f"{spacing!r} spacing with offset {offset} does not give {steps} distinct timesteps in "
            f"0 .. {num_timesteps - 1}; lower the offset or the number of steps"
        )
    return result
