"""Interfaces of the noise process and of the samplers that invert it.

A diffusion owns the meaning of a noise level: it turns the raw network into a :class:`Prediction` (a clean
estimate and a noise estimate) at any level, noises clean data to a level, and defines the training loss.
Samplers only ever talk to the network through :meth:`Diffusion.predict`, so any sampler works with any
diffusion of the *family* it declares:

- ``"timestep"`` (:class:`TimestepDiffusion`, e.g. ``ddpm``): a level is a training timestep ``t`` in
  ``0 .. num_timesteps - 1`` and ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise`` (variance preserving);
- ``"sigma"`` (:class:`SigmaDiffusion`, e.g. ``edm``): a level is a noise standard deviation ``sigma`` and
  ``x = x0 + sigma * noise`` (variance exploding, Karras et al. 2022).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..noise import Generators
from ..tracks import TrackInfo
from .base import PartInterface

FAMILIES = ("timestep", "sigma")


@dataclass(frozen=True)
class Prediction:
    """What the network says about a noisy point, in the two forms samplers use.

    Attributes:
        x0: ``[B, S, ...]`` the denoised estimate.
        noise: ``[B, S, ...]`` the estimate of the noise in the input (epsilon).

    Both are affine in the raw network output at a fixed input and level, except where a diffusion clips the
    clean estimate (``clip_x0``); guidance therefore acts on the raw output (:mod:`synctrack.sampling`).
    """

    x0: torch.Tensor
    noise: torch.Tensor


def per_song(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape per-song values ``[B]`` (or per-track values ``[B, S]``) to broadcast against ``like``
    ``[B, S, ...]``: ``[B, 1, 1, ...]`` (or ``[B, S, 1, ...]``)."""
    return values.reshape(*values.shape, *([1] * (like.dim() - values.dim()))).to(like.dtype)


class Diffusion(PartInterface):
    """A noise process and its training objective (DDPM epsilon/v, EDM).

    Subclass :class:`TimestepDiffusion` or :class:`SigmaDiffusion`; ``family`` says which samplers pair with it.
    """

    registry_kind: ClassVar[str] = "diffusion"
    family: ClassVar[str] = ""
    separate_track_levels: float = 0.0

    def training_loss(
        self,
        denoiser: torch.nn.Module,
        x0: torch.Tensor,
        tracks: TrackInfo,
        context: Any = None,
        generator: Generators = None,
    ) -> torch.Tensor:
        """Per-song losses ``[B]`` for clean latents ``x0`` ``[B, S, ...]``.

        Draws a noise level and noise for every song (``generator``: see :mod:`synctrack.noise`; one generator
        per song makes the loss independent of how a batch is split). Tracks where ``tracks.mask`` is False
        contribute nothing; each song's loss is the mean over its present tracks. The batch loss is the mean
        of the returned values.

        With ``separate_track_levels`` p > 0 each song's tracks draw their own levels with probability p, and
        the denoiser receives levels ``[B, S]`` (only a denoiser with ``accepts_track_levels`` can take them;
        the pipeline refuses the pair otherwise). Sampling always gives a song's tracks one level.
        """
        raise NotImplementedError

    def predict(
        self, denoiser: torch.nn.Module, x: torch.Tensor, level: torch.Tensor, tracks: TrackInfo, context: Any = None
    ) -> Prediction:
        """Run the network on noisy ``x`` ``[B, S, ...]`` at ``level`` ``[B]`` and return its :class:`Prediction`."""
        raise NotImplementedError

    def add_noise(self, x0: torch.Tensor, level: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Noise clean ``x0`` ``[B, S, ...]`` to ``level`` ``[B]`` (or ``[B, S]``, one per track) with the given
        standard-normal ``noise``."""
        raise NotImplementedError


class TimestepDiffusion(Diffusion):
    """A discrete-time variance-preserving process: level ``t`` in ``0 .. num_timesteps - 1``.

    ``alphas_cumprod`` ``[num_timesteps]`` (float64) holds ``abar_t``; the denoiser receives ``t`` as a float.
    """

    family: ClassVar[str] = "timestep"
    num_timesteps: int
    alphas_cumprod: torch.Tensor

    def alpha_bar(self, t: torch.Tensor | int | float) -> torch.Tensor:
        """``abar_t`` (float64) for integer-valued timesteps ``t``; ``t < 0`` means clean data (``abar = 1``)."""
        t = torch.as_tensor(t)
        index = t.round().long()
        values = self.alphas_cumprod.to(index.device)[index.clamp(min=0)]
        return torch.where(index < 0, torch.ones_like(values), values)

    def add_noise(self, x0: torch.Tensor, level: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        alpha_bar = per_song(self.alpha_bar(level).to(x0.device), x0)
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


class SigmaDiffusion(Diffusion):
    """A variance-exploding process: level ``sigma`` > 0 and ``x = x0 + sigma * noise``."""

    family: ClassVar[str] = "sigma"

    def add_noise(self, x0: torch.Tensor, level: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return x0 + per_song(level.to(x0.device), x0) * noise


@dataclass(frozen=True)
class SamplingRequest:
    """What one sampler call is asked for: latents of ``shape`` ``[B, S, ...]`` for songs of ``tracks``.

    Attributes:
        shape: ``(B, S, *latent dims)``.
        tracks: the :class:`TrackInfo` of ``[B, S]`` (instrument ids and the track mask).
        known, known_mask: ``[B, S, ...]`` latents with ``[B, S]`` bool: partial generation. Before every
            network evaluation the known tracks are re-noised to the current level (MSDM-style); the result
            equals ``known`` exactly where ``known_mask`` is True.
        context, guidance_scale: a condition, with classifier-free guidance ``uncond + w * (cond - uncond)``
            (the unconditional pass runs with ``context=None``); w = 1 runs the conditional pass only, w = 0
            the unconditional pass only; None: the sampler's recipe default.
        mixer_guidance: cross-track guidance ``independent + w * (coupled - independent)``, where the
            independent pass runs the same denoiser with every cross-track mixer switched off (each track
            alone) and the coupled pass runs it whole: w > 1 strengthens what the mixers add, w = 1 is the
            model as trained (one pass), w = 0 its tracks without exchange; None: the sampler's recipe default.
        mixture, mixture_track: ``[B, ...]`` (one track's latent shape): separation by a Dirac likelihood
            (MSDM). The present tracks are constrained to sum to it: before every network evaluation track
            ``mixture_track`` (default: the first present track that is not given) is set to the mixture
            minus the other tracks. Needs a sigma diffusion and latents in which a mixture is the sum of its
            tracks (``Encoder.additive``). The result sums to ``mixture`` up to rounding.
        generator: every random draw comes from it, so a seeded generator reproduces the samples.
        steps: the number of steps (the sampler's recipe default when None).
        on_step: ``on_step(index, level, x)`` after each step with the current latents (progress, tests).
    """

    shape: tuple[int, ...]
    tracks: TrackInfo
    known: torch.Tensor | None = None
    known_mask: torch.Tensor | None = None
    generator: torch.Generator | None = None
    context: Any = None
    steps: int | None = None
    guidance_scale: float | None = None
    mixer_guidance: float | None = None
    on_step: Callable[[int, float, torch.Tensor], None] | None = None
    mixture: torch.Tensor | None = None
    mixture_track: int | None = None

    def replace(self, **changes: Any) -> SamplingRequest:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


class Sampler(PartInterface):
    """Draws samples from a denoiser under a diffusion of family ``diffusion_family``.

    ``sample(denoiser, diffusion, request)`` returns latents of ``request.shape`` ``[B, S, ...]``; the
    :class:`SamplingRequest` says what is asked (partial generation, guidance, separation, steps, seed).
    """

    registry_kind: ClassVar[str] = "sampler"
    diffusion_family: ClassVar[str] = ""

    def sample(self, denoiser: torch.nn.Module, diffusion: Diffusion, request: SamplingRequest) -> torch.Tensor:
        raise NotImplementedError
