"""``dpm_solver_pp``: DPM-Solver++ (Lu et al. 2022), multistep, data prediction, order 2 ("2M").

In the half-log-SNR ``lambda = ln(alpha / sigma)`` with ``alpha = sqrt(abar)``, ``sigma = sqrt(1 - abar)`` and
``h = lambda_next - lambda``, a first-order step is DDIM::

    x_next = (sigma_next / sigma) * x - alpha_next * (exp(-h) - 1) * x0

and the second-order multistep step adds the midpoint correction ``- 0.5 * alpha_next * (exp(-h) - 1) * D1``
with ``D1 = (x0 - x0_previous) * h / h_previous``. The first step is first order (no history) and so is the
last, which goes to sigma 0 where lambda is infinite. Timesteps follow diffusers' DPMSolverMultistepScheduler:
``K`` of ``K + 1`` evenly spaced points (``linspace``), the final one replaced by the clean level.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch

from synctrack.sampling import SamplerBase, SamplingRun, SamplingSettingsError


def dpm_timesteps(num_timesteps: int, steps: int, spacing: str, offset: int = 0) -> list[int]:
    """``steps`` descending timesteps, the last step then going to the clean level."""
    if not 1 <= steps < num_timesteps:
        raise SamplingSettingsError(f"steps must be in 1 .. {num_timesteps - 1}, got {steps}")
    if spacing == "linspace":
        values = np.linspace(0, num_timesteps - 1, steps + 1).round()[::-1][:-1]
    elif spacing == "leading":
        values = (np.arange(steps + 1) * (num_timesteps // (steps + 1))).round()[::-1][:-1] + offset
    elif spacing == "trailing":
        values = np.arange(num_timesteps, 0, -num_timesteps / steps).round() - 1
    else:
        raise ValueError(f"unknown timestep spacing {spacing!r}")
    result = [int(v) for v in values]
    if len(set(result)) != steps or max(result) > num_timesteps - 1 or min(result) < 0:
        raise SamplingSettingsError(f"{spacing!r} spacing does not give {steps} distinct timesteps; use fewer steps")
    return result


class DPMSolverPPSampler(SamplerBase):
    """DPM-Solver++ multistep (2M by default); works with timestep diffusions."""

    diffusion_family = "timestep"

    def __init__(
        self,
        steps: int = 20,
        order: Literal[1, 2] = 2,
        timestep_spacing: Literal["linspace", "leading", "trailing"] = "linspace",
        steps_offset: int = 0,
        guidance_scale: float = 1.0,
        mixer_guidance: float = 1.0,
    ) -> None:
        super().__init__(steps, guidance_scale, mixer_guidance)
        self.order = order
        self.timestep_spacing = timestep_spacing
        self.steps_offset = steps_offset

    def run(self, run: SamplingRun, steps: int | None) -> torch.Tensor:
        diffusion = run.diffusion
        timesteps = dpm_timesteps(diffusion.num_timesteps, steps or self.steps, self.timestep_spacing, self.steps_offset)
        # The process in VE form: s = sigma / alpha = sqrt((1 - abar) / abar); the clean level is s = 0.
        ve_sigmas = [math.sqrt((1 - a) / a) for a in (float(diffusion.alpha_bar(t)) for t in timesteps)] + [0.0]
        x = run.normal()
        previous_x0, previous_h = None, None
        for index, t in enumerate(timesteps):
            s, s_next = ve_sigmas[index], ve_sigmas[index + 1]
            sigma, sigma_next = s / math.sqrt(s * s + 1), s_next / math.sqrt(s_next * s_next + 1)
            alpha_next = 1 / math.sqrt(s_next * s_next + 1)
            exp_minus_h = s_next / s  # exp(lambda - lambda_next)
            x, prediction = run.evaluate(x, t)
            x0 = prediction.x0
            first_order = self.order == 1 or previous_x0 is None or s_next == 0
            update = (sigma_next / sigma) * x - alpha_next * (exp_minus_h - 1) * x0
            if not first_order:
                h = math.log(s / s_next)
                correction = (x0 - previous_x0) * (h / previous_h)
                update = update - 0.5 * alpha_next * (exp_minus_h - 1) * correction
            if s_next > 0:
                previous_x0, previous_h = x0, math.log(s / s_next)
            x = update
            run.step_done(index, t, x)
        return x
