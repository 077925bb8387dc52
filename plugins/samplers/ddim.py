"""``ddim``: denoising diffusion implicit models (Song et al. 2021), deterministic at eta 0.

Each step goes from timestep ``t`` to the next visited timestep ``s`` (or to the final level)::

    x_s = sqrt(abar_s) * x0 + sqrt(1 - abar_s - std^2) * noise + std * z
    std = eta * sqrt((1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s))

eta 1 gives the DDPM posterior (SyncTrack samples with 200 steps at eta 1). The last step goes to ``abar = 1``
(``final_alpha: one``, returning the clean estimate) or, as LDM's code does, to the first training timestep
(``final_alpha: first``). Unlike diffusers, which always steps back ``N // K`` timesteps, a step goes to the
actually visited next timestep, so ``linspace`` spacing stays exact.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from synctrack.sampling import SamplerBase, SamplingRun, SamplingSettingsError

from .timesteps import spaced_timesteps


class DDIMSampler(SamplerBase):
    """DDIM with eta (0 deterministic, 1 ancestral); works with timestep diffusions."""

    diffusion_family = "timestep"

    def __init__(
        self,
        steps: int = 50,
        eta: float = 0.0,
        timestep_spacing: Literal["leading", "trailing", "linspace"] = "leading",
        steps_offset: int = 1,
        final_alpha: Literal["one", "first"] = "one",
        guidance_scale: float = 1.0,
        mixer_guidance: float = 1.0,
    ) -> None:
        super().__init__(steps, guidance_scale, mixer_guidance)
        if eta < 0:
            raise SamplingSettingsError(f"eta must be >= 0, got {eta}")
        self.eta = eta
        self.timestep_spacing = timestep_spacing
        self.steps_offset = steps_offset
        self.final_alpha = final_alpha

    def run(self, run: SamplingRun, steps: int | None) -> torch.Tensor:
        diffusion = run.diffusion
        timesteps = spaced_timesteps(diffusion.num_timesteps, steps or diffusion.num_timesteps, self.timestep_spacing, self.steps_offset)
        final = 1.0 if self.final_alpha == "one" else float(diffusion.alphas_cumprod[0])
        x = run.normal()
        for index, t in enumerate(timesteps):
            alpha_t = float(diffusion.alpha_bar(t))
            alpha_s = float(diffusion.alpha_bar(timesteps[index + 1])) if index + 1 < len(timesteps) else final
            x, prediction = run.evaluate(x, t)
            std = self.eta * math.sqrt((1 - alpha_s) / (1 - alpha_t) * (1 - alpha_t / alpha_s))
            x = math.sqrt(alpha_s) * prediction.x0 + math.sqrt(max(1 - alpha_s - std**2, 0.0)) * prediction.noise
            if std > 0:
                x = x + std * run.normal()
            run.step_done(index, t, x)
        return x
