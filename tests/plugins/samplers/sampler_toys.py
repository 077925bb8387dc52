"""Toy denoisers for sampler and diffusion tests: fixed functions and exact Gaussian denoisers."""

from __future__ import annotations

import math

import torch

from synctrack.interfaces import Denoiser


class FixedFunction(Denoiser):
    """A fixed nonlinear function of (x, level) that mixes the tracks: deterministic, cheap, not a denoiser."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.scale = torch.rand((), generator=gen) + 0.5

    def forward(self, x, noise_level, tracks, context=None):
        level = noise_level.reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        out = torch.tanh(self.scale * x) + 0.1 * torch.cos(level / 100.0) * x.roll(1, dims=-1) + 0.2 * x.mean(1, keepdim=True)
        if context is not None:
            out = out + context
        return out


class GaussianEpsilon(Denoiser):
    """The exact epsilon predictor for data ~ N(mean, std^2) (every element independent), DDPM-style input."""

    def __init__(self, diffusion, mean: float, std: float) -> None:
        super().__init__()
        self.diffusion, self.mean, self.std = diffusion, mean, std

    def forward(self, x, noise_level, tracks, context=None):
        alpha_bar = self.diffusion.alpha_bar(noise_level).to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))
        signal, noise_var = alpha_bar.sqrt(), 1 - alpha_bar
        x0 = self.mean + signal * self.std**2 / (alpha_bar * self.std**2 + noise_var) * (x - signal * self.mean)
        return (x - signal * x0) / noise_var.sqrt()


class GaussianEDM(Denoiser):
    """The raw network F that makes EDM's preconditioned D the exact denoiser of N(mean, std^2) data.

    It receives ``c_in * x`` and ``c_noise = ln(sigma) / 4``, recovers x and sigma, and returns
    ``(D_exact - c_skip * x) / c_out``: wrong preconditioning in the diffusion gives wrong samples.
    """

    def __init__(self, sigma_data: float, mean: float, std: float) -> None:
        super().__init__()
        self.sigma_data, self.mean, self.std = sigma_data, mean, std

    def forward(self, x_in, noise_level, tracks, context=None):
        sigma = (4 * noise_level.double()).exp().reshape(-1, *([1] * (x_in.dim() - 1)))
        total = sigma**2 + self.sigma_data**2
        x = x_in.double() * total.sqrt()
        exact = self.mean + self.std**2 / (self.std**2 + sigma**2) * (x - self.mean)
        c_skip, c_out = self.sigma_data**2 / total, sigma * self.sigma_data / total.sqrt()
        return ((exact - c_skip * x) / c_out).to(x_in.dtype)


def ode_map_edm(x_start: torch.Tensor, sigma_start: float, mean: float, std: float) -> torch.Tensor:
    """Where the probability-flow ODE of N(mean, std^2) data takes ``x_start`` at ``sigma_start`` to sigma 0."""
    return mean + (x_start - mean) * std / math.sqrt(std**2 + sigma_start**2)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())
