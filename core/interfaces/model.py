"""Interfaces of the network parts: encoder, denoiser, block, mixer, conditioner, vocoder.

Shapes: ``B`` songs, ``S`` tracks, ``C`` channels, ``T`` x ``F`` a time-frequency grid, ``L`` samples.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ..attention.cost import AttentionShape
from ..tracks import TrackInfo
from .base import PartInterface


class Encoder(PartInterface, nn.Module):
    """Maps waveforms to the space the diffusion runs in, and back to what the vocoder takes.

    ``encode``: waveforms ``[B, S, L]`` -> latents ``[B, S, C, T, F]`` (or ``[B, S, C, L']`` for waveform
    models), already multiplied by ``scale_factor``. ``decode``: latents -> vocoder input (a mel
    ``[B, S, n_mels, frames]``, or waveforms for waveform models).
    """

    registry_kind: ClassVar[str] = "encoder"
    sample_rate: int
    scale_factor: float = 1.0

    def encode(self, waveforms: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def latent_shape(self, num_samples: int) -> tuple[int, ...]:
        """Per-track latent shape (without B, S) for a clip of ``num_samples`` samples."""
        raise NotImplementedError


class Denoiser(PartInterface, nn.Module):
    """Predicts from noisy latents ``[B, S, ...]`` a tensor of the same shape (noise, v or x0).

    ``forward(x, noise_level, tracks, context=None)``: ``noise_level`` is ``[B]`` (a timestep or a sigma, as
    the diffusion defines), ``tracks`` a :class:`TrackInfo` of ``[B, S]``, ``context`` an optional
    condition (for example a mixture latent).
    """

    registry_kind: ClassVar[str] = "denoiser"

    def forward(
        self, x: torch.Tensor, noise_level: torch.Tensor, tracks: TrackInfo, context: Any = None
    ) -> torch.Tensor:
        raise NotImplementedError


class Block(PartInterface, nn.Module):
    """A building block of a denoiser (ResBlock, attention block, down/up sampler)."""

    registry_kind: ClassVar[str] = "block"


class Mixer(PartInterface, nn.Module):
    """Exchanges information between the tracks of one song.

    ``forward(tokens, grid, track_mask)``: ``tokens`` ``[B, S, N, D]`` in track-major order, ``grid`` the
    ``(T', F')`` layout of the ``N = T' * F'`` tokens of a track, ``track_mask`` ``[B, S]`` bool. Returns a
    residual update ``[B, S, N, D]`` (the host adds it); rows of masked tracks are zero, and a masked track
    never influences another. A song's update never depends on another song of the batch.

    The host passes ``dim`` (the token width ``D``) when it builds the mixer.

    ``attention_shapes(batch, tracks, grid)`` (optional) lists the attentions one forward runs, so that
    cost estimates and ``synctrack bench`` can count FLOPs and memory; the default, None, means unknown.
    """

    registry_kind: ClassVar[str] = "mixer"
    runtime_args: ClassVar[dict[str, Any]] = {"dim": 32}

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def attention_shapes(self, batch: int, tracks: int, grid: tuple[int, int]) -> list[AttentionShape] | None:
        """The attention calls of one forward on ``[batch, tracks]`` songs of ``grid`` tokens (None: unknown)."""
        return None


class Conditioner(PartInterface, nn.Module):
    """Per-track embeddings from track identities: ``TrackInfo [B, S]`` -> ``[B, S, embedding_dim]``."""

    registry_kind: ClassVar[str] = "conditioner"
    embedding_dim: int

    def forward(self, tracks: TrackInfo) -> torch.Tensor:
        raise NotImplementedError


class Vocoder(PartInterface, nn.Module):
    """Turns decoded features (a mel ``[B, S, n_mels, frames]``) into waveforms ``[B, S, L]``."""

    registry_kind: ClassVar[str] = "vocoder"
    sample_rate: int

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
