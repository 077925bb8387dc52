"""How a pipeline generates: the sampler's request from the model's own shapes, then decoding to audio."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..conditions import SongConditions
from ..errors import UserError
from ..interfaces import SamplingRequest
from ..noise import Generators
from ..tracks import TrackInfo
from .layout import Rendered, _crop, _per_song


class Generation:
    """The sampling half of :class:`~synctrack.pipeline.Pipeline` (a mixin: it reads the pipeline's parts)."""

    def resolve_tracks(self, num: int, tracks: TrackInfo | Sequence[int] | None) -> TrackInfo:
        """``tracks`` as a TrackInfo of ``num`` songs: given, or instrument ids for every song, or the layout's."""
        if isinstance(tracks, TrackInfo):
            if tracks.batch_size != num:
                raise ValueError(f"tracks hold {tracks.batch_size} songs, asked for {num}")
            return tracks.to(self.device)
        ids = list(tracks) if tracks is not None else list(self.layout.instrument_ids)
        if not ids:
            raise UserError(
                "which tracks to generate is unknown: pass tracks (instrument ids) or use a model trained by "
                "synctrack train (its checkpoint records the training tracks)"
            )
        return TrackInfo.full(ids, batch_size=num, device=self.device)

    def latent_shape(self, length: int | None = None) -> tuple[int, ...]:
        """Per-track latent shape for clips of ``length`` samples (default: the training clips')."""
        if length is not None and self.encoder is not None:
            return tuple(self.encoder.latent_shape(length))
        if length is not None:
            return (length,)
        if self.layout.latent_shape is not None:
            return tuple(self.layout.latent_shape)
        if self.layout.clip_samples is not None and self.encoder is not None:
            return tuple(self.encoder.latent_shape(self.layout.clip_samples))
        raise UserError("the clip length is unknown: pass length= (samples) or latent_shape=, or use a trained checkpoint")

    def sample_latents(
        self,
        num: int,
        tracks: TrackInfo | Sequence[int] | None = None,
        *,
        steps: int | None = None,
        known: torch.Tensor | None = None,
        known_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        context: Any = None,
        guidance_scale: float | None = None,
        mixer_guidance: float | None = None,
        length: int | None = None,
        latent_shape: Sequence[int] | None = None,
        on_step: Callable[[int, float, torch.Tensor], None] | None = None,
        mixture: torch.Tensor | None = None,
        mixture_track: int | None = None,
    ) -> torch.Tensor:
        """Latents ``[num, S, ...]`` from the sampler (see :class:`~synctrack.interfaces.Sampler`).

        ``mixture`` ``[num or 1, ...]`` (a mixture latent, from :meth:`encode_mixture`) asks for separation:
        it becomes the denoiser's condition or the sampler's sum constraint, as :attr:`mixture_use` says;
        ``mixture_track`` is the track a sum constraint solves for (default: the first free one).
        ``context`` (a condition of the denoiser's ``context_kind``) and ``mixture`` may have one song,
        shared by all ``num``. ``mixer_guidance`` w strengthens what the cross-track mixers add (see
        :class:`~synctrack.interfaces.SamplingRequest`; None: the recipe's sampler setting).
        """
        info = self.resolve_tracks(num, tracks)
        per_track = tuple(latent_shape) if latent_shape is not None else self.latent_shape(length)
        shape = (num, info.num_tracks, *per_track)
        self.check_latent_shape(shape[1:], "the requested latents")
        if isinstance(context, SongConditions):  # first: its message names what the model accepts
            self.check_song_conditions(context)
        if context is not None and self.context_kind is None:
            raise UserError(f"denoiser {self._name('denoiser')!r} takes no condition, but a context was given")
        constraint: dict[str, Any] = {}
        if mixture is not None:
            mixture = _per_song(mixture, num, "mixture")
            use = self.mixture_use
            if use is None:
                raise UserError(self.mixture_problem())
            if use == "condition":
                if context is not None:
                    raise UserError("give either a mixture or a context, not both: the mixture is this model's context")
                if mixture_track is not None:
                    raise UserError("mixture_track applies to separation by a sum constraint; this model is conditioned on the mixture")
                context = mixture
            else:
                constraint = {"mixture": mixture, "mixture_track": mixture_track}
        elif mixture_track is not None:
            raise UserError("mixture_track needs a mixture")
        if context is not None and isinstance(context, torch.Tensor):
            context = _per_song(context, num, "context")
        if isinstance(context, SongConditions):
            context = context.per_song(num).to(self.device)
        was_training = self.training
        self.eval()
        try:
            request = SamplingRequest(shape, info, known=known, known_mask=known_mask, generator=generator, context=context,
                                      steps=steps, guidance_scale=guidance_scale, mixer_guidance=mixer_guidance,
                                      on_step=on_step, **constraint)
            return self.sampler.sample(self.denoiser, self.diffusion, request)
        finally:
            self.train(was_training)

    def accepted_conditions(self) -> str:
        """What this model can be asked for, in words (for messages)."""
        conditioners = self.denoiser.song_conditioners()
        if not conditioners:
            return "no song condition (the model was trained without one)"
        return "; ".join(conditioner.accepts() for conditioner in conditioners)

    def check_song_conditions(self, conditions: SongConditions) -> None:
        """Raise a :class:`UserError` for a condition this model was not trained with, or a value one of its
        conditioners cannot take, naming what it accepts."""
        conditioners = {conditioner.field: conditioner for conditioner in self.denoiser.song_conditioners()}
        strangers = sorted(conditions.fields - set(conditioners))
        if strangers:
            asked = " and ".join("a text prompt" if field == "prompt" else field for field in strangers)
            raise UserError(f"this model was not trained with {asked}: it accepts {self.accepted_conditions()}")
        for field in sorted(conditions.fields):
            conditioners[field].check(conditions)

    @torch.no_grad()
    def render(self, latents: torch.Tensor, num_samples: int | None = None) -> Rendered:
        """Decode latents ``[B, S, ...]``: waveforms ``[B, S, L]`` and, for mel decoders, the mels.

        ``num_samples`` (default: the training clip length) crops what encoders padded to their latent grid.
        """
        num_samples = num_samples if num_samples is not None else self.layout.clip_samples
        if self.encoder is None:
            if self.vocoder is None:
                return Rendered(waveforms=latents, mels=None)
            return Rendered(waveforms=_crop(self.vocoder(latents), num_samples), mels=latents)
        decoded = self.encoder.decode(latents, num_samples=num_samples)
        if self.encoder.decodes_to == "waveform":
            return Rendered(waveforms=_crop(decoded, num_samples), mels=None)
        waveforms = _crop(self.vocoder(decoded), num_samples) if self.vocoder is not None else None
        return Rendered(waveforms=waveforms, mels=decoded)

    @torch.no_grad()
    def encode_audio(self, waveforms: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        """Waveforms ``[B, S, L]`` into the diffusion's space (for given tracks); a sampling encoder draws from
        ``generator`` (see :mod:`synctrack.noise`)."""
        return self.encoder.encode(waveforms, generator=generator) if self.encoder is not None else waveforms

    def sample(self, num: int, tracks: TrackInfo | Sequence[int] | None = None, **kwargs: Any) -> torch.Tensor:
        """Waveforms ``[num, S, L]``: :meth:`sample_latents` (same arguments), then :meth:`render`."""
        rendered = self.render(self.sample_latents(num, tracks, **kwargs))
        if rendered.waveforms is None:
            raise UserError("this model decodes to mels but has no vocoder: add model.vocoder to the recipe to get audio")
        return rendered.waveforms
