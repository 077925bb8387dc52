"""Interfaces of the noise process and of the samplers that invert it."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..tracks import TrackInfo
from .base import PartInterface


class Diffusion(PartInterface):
    """A noise process and its training objective (DDPM epsilon/v, EDM).

    ``training_loss(denoiser, x0, tracks, context=None, generator=None)`` draws noise levels and noise for
    clean latents ``x0`` ``[B, S, ...]`` and returns the scalar loss.
    """

    registry_kind: ClassVar[str] = "diffusion"

    def training_loss(
        self,
        denoiser: torch.nn.Module,
        x0: torch.Tensor,
        tracks: TrackInfo,
        context: Any = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError


class Sampler(PartInterface):
    """Draws samples from a denoiser under a diffusion, optionally given some tracks.

    ``sample(denoiser, diffusion, shape, tracks, known=None, known_mask=None, generator=None)`` returns
    latents of ``shape`` ``[B, S, ...]``; where ``known_mask`` ``[B, S]`` is True the result equals ``known``.
    """

    registry_kind: ClassVar[str] = "sampler"

    def sample(
        self,
        denoiser: torch.nn.Module,
        diffusion: Diffusion,
        shape: tuple[int, ...],
        tracks: TrackInfo,
        known: torch.Tensor | None = None,
        known_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError
