"""``ddpm``: ancestral sampling from the DDPM posterior (Ho et al. 2020).

From timestep ``t`` to the next visited timestep ``s`` (``abar = 1`` after the last), with
``beta = 1 - abar_t / abar_s``, the step samples ``q(x_s | x_t, x0)`` at the predicted ``x0``::

    mean = sqrt(abar_s) * beta / (1 - abar_t) * x0 + sqrt(1 - beta) * (1 - abar_s) / (1 - abar_t) * x_t
    variance = beta * (1 - abar_s) / (1 - abar_t)   (fixed_small)   or   beta   (fixed_large)

The last step adds no noise. ``steps`` None visits every training timestep.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from synctrack.sampling import SamplerBase, SamplingRun

from .timesteps import spaced_timesteps


class DDPMSampler(SamplerBase):
    """Ancestral DDPM sampling (all timesteps by default); works with timestep diffusions."""

    diffusion_family = "timestep"

    def __init__(
        self,
        steps: int | None = None,
        variance: Literal["fixed_small", "fixed_large"] = "fixed_small",
        timestep_spacing: Literal["leading", "trailing", "linspace"] = "leading",
        steps_offset: int = 0,
        guidance_scale: float = 1.0,
        mixer_guidance: float = 1.0,
    ) -> None:
        super().__init__(steps, guidance_scale, mixer_guidance)
        self.variance = variance
        self.timestep_spacing = timestep_spacing
        self.steps_offset = steps_offset

    def run(self, run: SamplingRun, steps: int | None) -> torch.Tensor:
        diffusion = run.diffusion
        timesteps = spaced_timesteps(diffusion.num_timesteps, steps or diffusion.num_timesteps, self.timestep_spacing, self.steps_offset)
        x = run.normal()
        for index, t in enumerate(timesteps):
            last = index + 1 == len(timesteps)
            alpha_t = float(diffusion.alpha_bar(t))
            alpha_s = 1.0 if last else float(diffusion.alpha_bar(timesteps[index + 1]))
            beta = 1 - alpha_t / alpha_s
            x, prediction = run.evaluate(x, t)
            x = (math.sqrt(alpha_s) * beta / (1 - alpha_t)) * prediction.x0 + (
                math.sqrt(1 - beta) * (1 - alpha_s) / (1 - alpha_t)
            ) * x
            if not last:
                variance = beta * (1 - alpha_s) / (1 - alpha_t) if self.variance == "fixed_small" else beta
                x = x + math.sqrt(variance) * run.normal()
            run.step_done(index, t, x)
        return x
