"""``edm_euler`` and ``edm_heun``: Karras et al. (2022) samplers with stochastic churn (their Algorithm 2).

Noise levels follow the Karras schedule ``sigma_i = (sigma_max^(1/rho) + i / (K - 1) * (sigma_min^(1/rho) -
sigma_max^(1/rho)))^rho`` for ``i < K``, then 0. At each step, when ``churn_sigma_min <= sigma <= churn_sigma_max``,
churn raises the level to ``sigma_hat = sigma * (1 + gamma)`` with ``gamma = min(churn / K, sqrt(2) - 1)`` by
adding fresh noise (times ``churn_noise``); then an Euler step along ``dx/dsigma = noise estimate`` goes to the
next level, and Heun's method corrects it with a second evaluation (except on the step to sigma 0).
Churn 0 is the deterministic probability-flow ODE. MSDM samples with ``sigma_min: 1e-4, sigma_max: 20,
rho: 7, churn: 20`` (150 Euler steps).

``resamples: R`` > 1 repeats each step R times: after a step from ``sigma`` to ``sigma_next`` (all but the
last repeat) fresh noise brings the sample back up to ``sigma`` and the step (churn included) runs again, as
MSDM's separation does (``num_resamples: 2``).
"""

from __future__ import annotations

import math

import torch

from synctrack.sampling import SamplerBase, SamplingRun, SamplingSettingsError


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float) -> list[float]:
    """``steps`` decreasing levels from ``sigma_max`` to ``sigma_min``, then 0 (``steps + 1`` values)."""
    if steps == 1:
        return [sigma_max, 0.0]
    low, high = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return [(high + i / (steps - 1) * (low - high)) ** rho for i in range(steps)] + [0.0]


class _EDMSampler(SamplerBase):
    diffusion_family = "sigma"
    heun: bool

    def __init__(
        self,
        steps: int = 50,
        sigma_min: float = 0.002,
        sigma_max: float = 80.0,
        rho: float = 7.0,
        churn: float = 0.0,
        churn_sigma_min: float = 0.0,
        churn_sigma_max: float = float("inf"),
        churn_noise: float = 1.0,
        guidance_scale: float = 1.0,
        mixer_guidance: float = 1.0,
        resamples: int = 1,
    ) -> None:
        super().__init__(steps, guidance_scale, mixer_guidance)
        if not 0 < sigma_min < sigma_max:
            raise SamplingSettingsError(f"need 0 < sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
        if churn < 0:
            raise SamplingSettingsError(f"churn must be >= 0, got {churn}")
        if resamples < 1:
            raise SamplingSettingsError(f"resamples must be at least 1, got {resamples}")
        self.resamples = resamples
        self.sigma_min, self.sigma_max, self.rho = sigma_min, sigma_max, rho
        self.churn, self.churn_sigma_min, self.churn_sigma_max, self.churn_noise = churn, churn_sigma_min, churn_sigma_max, churn_noise

    def run(self, run: SamplingRun, steps: int | None) -> torch.Tensor:
        steps = steps or self.steps
        sigmas = karras_sigmas(steps, self.sigma_min, self.sigma_max, self.rho)
        gamma_max = min(self.churn / steps, math.sqrt(2) - 1)
        x = run.normal() * sigmas[0]
        for index in range(steps):
            sigma, sigma_next = sigmas[index], sigmas[index + 1]
            gamma = gamma_max if self.churn_sigma_min <= sigma <= self.churn_sigma_max else 0.0
            for repeat in range(self.resamples):
                if repeat > 0:  # back up from sigma_next to sigma with fresh noise, then step again
                    x = x + math.sqrt(sigma**2 - sigma_next**2) * run.normal()
                x = self._step(run, x, sigma, sigma_next, gamma)
            run.step_done(index, sigma_next, x)
        return x

    def _step(self, run: SamplingRun, x: torch.Tensor, sigma: float, sigma_next: float, gamma: float) -> torch.Tensor:
        """Churn up to ``sigma * (1 + gamma)``, then one Euler (or Heun) step to ``sigma_next``."""
        sigma_hat = sigma * (1 + gamma)
        if gamma > 0:
            x = x + math.sqrt(sigma_hat**2 - sigma**2) * self.churn_noise * run.normal()
        x, prediction = run.evaluate(x, sigma_hat)
        slope = prediction.noise  # dx/dsigma of the probability-flow ODE: (x - x0) / sigma
        x_next = x + (sigma_next - sigma_hat) * slope
        if self.heun and sigma_next > 0:
            _, end_prediction = run.evaluate(x_next, sigma_next)
            x_next = x + (sigma_next - sigma_hat) * 0.5 * (slope + end_prediction.noise)
        return x_next


class EDMEulerSampler(_EDMSampler):
    """Karras Euler sampler with churn on a Karras sigma schedule; works with sigma diffusions."""

    heun = False


class EDMHeunSampler(_EDMSampler):
    """Karras Heun (2nd order) sampler with churn on a Karras sigma schedule; works with sigma diffusions."""

    heun = True
