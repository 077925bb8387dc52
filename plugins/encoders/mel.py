"""The ``mel`` encoder: the normalised log-mel itself is the latent (no training needed)."""

from __future__ import annotations

import torch
from einops import rearrange

from synctrack.audio import MelConfig, MelSpectrogram
from synctrack.interfaces import Encoder
from synctrack.noise import Generators

from .common import check_latents, check_multiple, check_waveforms, pad_time, round_up


class MelEncoder(Encoder):
    """Identity on the normalised log-mel: latents [B, S, 1, frames, n_mels], silence at -1.

    Latent layout: ``C = 1``, frames on the T axis, mel bins on the F axis, i.e. the transpose of the
    vocoder layout ``[n_mels, frames]``. Values are :meth:`MelSpectrogram.normalize`'d (silence -1,
    ``mel.log_max`` +1) and multiplied by ``scale_factor``. Frames are padded with silence up to a multiple
    of ``frame_multiple`` (what the denoiser's downsampling needs); ``decode(latents, num_samples=L)``
    crops back to ``L // hop_length`` frames.
    """

    decodes_to = "mel"

    def __init__(self, mel: MelConfig = MelConfig(), frame_multiple: int = 1, scale_factor: float = 1.0) -> None:
        super().__init__()
        mel = MelConfig.of(mel)
        self.front_end = MelSpectrogram(mel)
        self.mel_config = mel
        self.sample_rate = mel.sample_rate
        self.frame_multiple = check_multiple("frame_multiple", frame_multiple)
        self.scale_factor = scale_factor

    def latent_shape(self, num_samples: int) -> tuple[int, int, int]:
        """``(1, frames rounded up to frame_multiple, n_mels)``."""
        frames = round_up(self.mel_config.num_frames(num_samples), self.frame_multiple)
        return (1, frames, self.mel_config.n_mels)

    def encode(self, waveforms: torch.Tensor, generator: Generators = None) -> torch.Tensor:  # noqa: ARG002 - deterministic
        """Waveforms ``[B, S, L]`` -> latents ``[B, S, 1, T, n_mels]``, ``T = L // hop`` rounded up."""
        normalized = self.front_end.normalize(self.front_end(check_waveforms(waveforms)))  # [B, S, M, frames]
        normalized = pad_time(normalized, self.frame_multiple, fill=-1.0)
        return rearrange(normalized, "b s m t -> b s 1 t m") * self.scale_factor

    def decode(self, latents: torch.Tensor, num_samples: int | None = None) -> torch.Tensor:
        """Latents ``[B, S, 1, T, n_mels]`` -> log-mel ``[B, S, n_mels, T]`` (cropped to ``num_samples // hop``).

        Values are clamped to the range real audio gives (``synctrack.audio.log_mel_range``): latents far
        outside [-1, 1], as an untrained denoiser makes, decode to loud or silent mels, not to +-300.
        """
        check_latents(latents, 1, "the mel encoder", last=self.mel_config.n_mels)
        log_mel = self.front_end.denormalize(rearrange(latents / self.scale_factor, "b s 1 t m -> b s m t"))
        log_mel = self.front_end.clamp_to_range(log_mel)
        if num_samples is not None:
            log_mel = log_mel[..., : self.mel_config.num_frames(num_samples)]
        return log_mel
