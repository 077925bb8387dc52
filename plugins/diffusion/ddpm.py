"""``ddpm``: discrete-time Gaussian diffusion (Ho et al. 2020) with epsilon or v prediction.

The network receives the timestep ``t`` (a float in ``0 .. num_timesteps - 1``) and predicts either the
noise (``epsilon``, as LDM, MusicLDM and SyncTrack) or ``v = sqrt(abar) * noise - sqrt(1 - abar) * x0``
(Salimans & Ho 2022). Schedules:

- ``scaled_linear`` (default): ``betas = linspace(sqrt(beta_start), sqrt(beta_end), N) ** 2``. This is the
  schedule LDM's code calls "linear" and the one MusicLDM and SyncTrack train with (0.0015 .. 0.0195);
  diffusers calls it "scaled_linear".
- ``linear``: ``betas = linspace(beta_start, beta_end, N)`` (the DDPM paper; use 1e-4 .. 0.02).
- ``cosine``: Nichol & Dhariwal 2021, ``abar(t) = cos((t / N + s) / (1 + s) * pi / 2) ** 2``, betas capped at
  0.999 (``beta_start``/``beta_end`` are unused).

``loss_weighting: min_snr`` (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting") weighs
each song's loss so that it equals ``min(SNR_t, min_snr_gamma)`` times its clean-estimate MSE, with
``SNR_t = abar_t / (1 - abar_t)``: the weight on the network's MSE is ``min(SNR, gamma) / SNR`` for epsilon and
``min(SNR, gamma) / (SNR + 1)`` for v. Low-noise timesteps, whose fine detail is easy, then stop dominating
the gradient; the paper reports about 3x faster convergence with ``gamma = 5``. ``none`` (the default) is the
plain MSE of LDM and SyncTrack.

``clip_x0: c`` clamps every clean estimate to ``[-c, c]`` and recomputes the noise estimate from it, for data
known to lie in a bounded range (the ``mel`` encoder's normalised log-mel lies in about ``[-1, 1]``). At high
noise an epsilon model's clean estimate ``(x - sqrt(1 - abar) eps) / sqrt(abar)`` multiplies the noise error
by ``1 / sqrt(abar)`` (about 15 at the last LDM timestep); unclipped, an imperfect model's first sampling steps
can leave the data range for good. VAE latents are not bounded: leave it off there (the default), as LDM does.

``separate_track_levels: p`` gives each training song, with probability p, one timestep per track instead of
one per song (JEN-1 Composer trains with a level per track): a track nearly clean next to a noisy one can
only be denoised well by reading the others, which is the cross-track path a multi-track model must learn.
0 (the default) is the paper's training. The denoiser must accept levels ``[B, S]``; sampling is unchanged.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from synctrack import noise as draws
from synctrack.errors import ArgumentError
from synctrack.interfaces import Prediction, TimestepDiffusion
from synctrack.interfaces.process import per_song
from synctrack.tracks import TrackInfo

from .losses import per_song_mse


def make_betas(schedule: str, num_timesteps: int, beta_start: float, beta_end: float, cosine_s: float = 0.008) -> torch.Tensor:
    """The beta schedule ``[num_timesteps]`` (float64)."""
    if schedule == "scaled_linear":
        return torch.linspace(math.sqrt(beta_start), math.sqrt(beta_end), num_timesteps, dtype=torch.float64) ** 2
    if schedule == "linear":
        return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)
    if schedule == "cosine":
        steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
        alpha_bar = torch.cos((steps + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    raise ValueError(f"unknown schedule {schedule!r}")


class DDPM(TimestepDiffusion):
    """Discrete-time DDPM: epsilon or v prediction; LDM scaled-linear, linear or cosine betas."""

    def __init__(
        self,
        prediction: Literal["epsilon", "v"] = "epsilon",
        schedule: Literal["scaled_linear", "linear", "cosine"] = "scaled_linear",
        num_timesteps: int = 1000,
        beta_start: float = 0.0015,
        beta_end: float = 0.0195,
        clip_x0: float | None = None,
        loss_weighting: Literal["none", "min_snr"] = "none",
        min_snr_gamma: float = 5.0,
        separate_track_levels: float = 0.0,
    ) -> None:
        if num_timesteps < 2:
            raise ArgumentError(f"ddpm: num_timesteps must be at least 2, got {num_timesteps}")
        if schedule != "cosine" and not 0 < beta_start < beta_end < 1:
            raise ArgumentError(f"ddpm: need 0 < beta_start < beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}")
        if clip_x0 is not None and clip_x0 <= 0:
            raise ArgumentError(f"ddpm: clip_x0 must be positive (the bound of the data), got {clip_x0}")
        if prediction not in ("epsilon", "v"):
            raise ArgumentError(f"ddpm: prediction must be 'epsilon' or 'v', got {prediction!r}")
        if loss_weighting not in ("none", "min_snr"):
            raise ArgumentError(f"ddpm: loss_weighting must be 'none' or 'min_snr', got {loss_weighting!r}")
        if not min_snr_gamma > 0:
            raise ArgumentError(f"ddpm: min_snr_gamma must be positive, got {min_snr_gamma}")
        if not 0 <= separate_track_levels <= 1:
            raise ArgumentError(f"ddpm: separate_track_levels is a probability in [0, 1], got {separate_track_levels}")
        self.separate_track_levels = float(separate_track_levels)
        self.prediction = prediction
        self.loss_weighting, self.min_snr_gamma = loss_weighting, float(min_snr_gamma)
        self.clip_x0 = clip_x0
        self.schedule = schedule
        self.num_timesteps = num_timesteps
        self.betas = make_betas(schedule, num_timesteps, beta_start, beta_end)
        self.alphas_cumprod = torch.cumprod(1 - self.betas, dim=0)

    def _coefficients(self, t: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``sqrt(abar_t)`` and ``sqrt(1 - abar_t)`` shaped to broadcast against ``like``."""
        alpha_bar = self.alpha_bar(t.to("cpu")).to(like.device)
        return per_song(alpha_bar.sqrt(), like), per_song((1 - alpha_bar).sqrt(), like)

    def loss_weight(self, t: torch.Tensor) -> torch.Tensor:
        """The weight (float32, shaped like ``t``: ``[B]`` or ``[B, S]``) on the network-output MSE at timesteps
        ``t``."""
        if self.loss_weighting == "none":
            return torch.ones(t.shape, dtype=torch.float32)
        alpha_bar = self.alpha_bar(t.to("cpu"))
        snr = alpha_bar / (1 - alpha_bar)
        clipped = snr.clamp(max=self.min_snr_gamma)
        weight = clipped / snr if self.prediction == "epsilon" else clipped / (snr + 1)
        return weight.float()

    def predict(
        self, denoiser: torch.nn.Module, x: torch.Tensor, level: torch.Tensor, tracks: TrackInfo, context: Any = None
    ) -> Prediction:
        """``x`` ``[B, S, ...]`` at timesteps ``level`` ``[B]`` -> clean and noise estimates."""
        output = denoiser(x, level.to(x.device, torch.float32), tracks, context)
        signal, sigma = self._coefficients(level, x)
        if self.prediction == "epsilon":
            x0, noise = (x - sigma * output) / signal, output
        else:
            x0, noise = signal * x - sigma * output, signal * output + sigma * x
        if self.clip_x0 is not None:
            x0 = x0.clamp(-self.clip_x0, self.clip_x0)
            noise = (x - signal * x0) / sigma
        return Prediction(x0=x0, noise=noise)

    def training_loss(
        self,
        denoiser: torch.nn.Module,
        x0: torch.Tensor,
        tracks: TrackInfo,
        context: Any = None,
        generator: draws.Generators = None,
    ) -> torch.Tensor:
        """Per-song MSE ``[B]`` between the network output and the noise (or v) at uniform random timesteps,
        each track's error times :meth:`loss_weight` of its timestep.

        Each song draws its timestep, then its noise, then (with ``separate_track_levels``) whether its tracks
        get their own timesteps and those timesteps, from its generator.
        """
        def timesteps(count: int, gen: torch.Generator | None) -> torch.Tensor:
            return draws.integers(0, self.num_timesteps, (count,), gen)

        t, noise = draws.levels_and_noise(x0, generator, timesteps)
        if self.separate_track_levels > 0:
            t = draws.separate_track_levels(t, x0.shape[1], self.separate_track_levels, generator, timesteps)
        x_t = self.add_noise(x0, t, noise)
        output = denoiser(x_t, t.to(torch.float32), tracks, context)
        if self.prediction == "epsilon":
            target = noise
        else:
            signal, sigma = self._coefficients(t, x0)
            target = signal * noise - sigma * x0
        return per_song_mse(output, target, tracks.mask, self.loss_weight(t))
