"""``edm``: the variance-exploding process with Karras et al. (2022) preconditioning.

The denoised estimate wraps the raw network ``F``::

    D(x, sigma) = c_skip * x + c_out * F(c_in * x, c_noise)
    c_skip = sigma_data^2 / (sigma^2 + sigma_data^2)      c_out = sigma * sigma_data / sqrt(sigma^2 + sigma_data^2)
    c_in   = 1 / sqrt(sigma^2 + sigma_data^2)              c_noise = ln(sigma) / 4

so the denoiser receives ``c_noise`` as its noise level. Training draws ``ln(sigma) ~ N(p_mean, p_std^2)`` and
minimises ``lambda(sigma) * |D - x0|^2`` with ``lambda = (sigma^2 + sigma_data^2) / (sigma * sigma_data)^2``,
computed in the equivalent unit-weight form ``|F - (x0 - c_skip * x) / c_out|^2``. The defaults are the EDM
paper's image settings; MSDM's waveform model uses ``p_mean: -3, p_std: 1, sigma_data: 0.2``.

``separate_track_levels: p``: as in ``ddpm``, each training song gives its tracks their own sigmas with
probability p (the denoiser must accept levels ``[B, S]``); 0, the default, shares one sigma per song.
"""

from __future__ import annotations

from typing import Any

import torch

from synctrack import noise as draws
from synctrack.errors import ArgumentError
from synctrack.interfaces import Prediction, SigmaDiffusion
from synctrack.interfaces.process import per_song
from synctrack.tracks import TrackInfo

from .losses import per_song_mse


class EDM(SigmaDiffusion):
    """Karras et al. (2022) preconditioning with log-normal training sigmas."""

    def __init__(self, sigma_data: float = 0.5, p_mean: float = -1.2, p_std: float = 1.2,
                 separate_track_levels: float = 0.0) -> None:
        if sigma_data <= 0 or p_std <= 0:
            raise ArgumentError(f"edm: sigma_data and p_std must be positive, got sigma_data={sigma_data}, p_std={p_std}")
        if not 0 <= separate_track_levels <= 1:
            raise ArgumentError(f"edm: separate_track_levels is a probability in [0, 1], got {separate_track_levels}")
        self.separate_track_levels = float(separate_track_levels)
        self.sigma_data = sigma_data
        self.p_mean = p_mean
        self.p_std = p_std

    def preconditioning(self, sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(c_skip, c_out, c_in, c_noise)`` for ``sigma`` ``[B]`` (or ``[B, S]``), each shaped like it (float64)."""
        sigma = sigma.double()
        total = sigma**2 + self.sigma_data**2
        return self.sigma_data**2 / total, sigma * self.sigma_data / total.sqrt(), 1 / total.sqrt(), sigma.log() / 4

    def _network(self, denoiser: torch.nn.Module, x: torch.Tensor, sigma: torch.Tensor, tracks: TrackInfo, context: Any):
        c_skip, c_out, c_in, c_noise = self.preconditioning(sigma)
        raw = denoiser(per_song(c_in, x) * x, c_noise.to(x.device, torch.float32), tracks, context)
        return raw, per_song(c_skip, x), per_song(c_out, x)

    def predict(
        self, denoiser: torch.nn.Module, x: torch.Tensor, level: torch.Tensor, tracks: TrackInfo, context: Any = None
    ) -> Prediction:
        """``x`` ``[B, S, ...]`` at noise std ``level`` ``[B]`` (> 0) -> clean and noise estimates."""
        raw, c_skip, c_out = self._network(denoiser, x, level, tracks, context)
        x0 = c_skip * x + c_out * raw
        return Prediction(x0=x0, noise=(x - x0) / per_song(level, x))

    def training_loss(
        self,
        denoiser: torch.nn.Module,
        x0: torch.Tensor,
        tracks: TrackInfo,
        context: Any = None,
        generator: draws.Generators = None,
    ) -> torch.Tensor:
        """Per-song preconditioned loss ``[B]``; each song draws ``ln sigma``, then its noise, from its generator."""
        def log_sigmas(count: int, gen: torch.Generator | None) -> torch.Tensor:
            return draws.normal((count,), gen)

        log_sigma, noise = draws.levels_and_noise(x0, generator, log_sigmas)
        if self.separate_track_levels > 0:
            log_sigma = draws.separate_track_levels(log_sigma, x0.shape[1], self.separate_track_levels, generator, log_sigmas)
        sigma = (self.p_mean + self.p_std * log_sigma).exp()
        x = self.add_noise(x0, sigma, noise)
        raw, c_skip, c_out = self._network(denoiser, x, sigma, tracks, context)
        target = (x0 - c_skip * x) / c_out
        return per_song_mse(raw, target, tracks.mask)
