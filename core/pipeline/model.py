"""The :class:`Pipeline`: one object holding a generative model's parts, trained and sampled as one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..conditions import SongConditions
from ..data.items import mixdown
from ..errors import UserError
from ..interfaces import Denoiser, Diffusion, Encoder, Sampler, Vocoder
from ..noise import Generators, uniform
from ..recipe import Recipe
from ..tracks import TrackInfo
from .generation import Generation
from .layout import SongLayout, _field, node_name


class Pipeline(Generation, nn.Module):
    """Encoder (optional), denoiser, diffusion, sampler and vocoder (optional) of one model.

    ``pipeline.to(device)`` moves the networks; ``recipe`` is the resolved recipe it was built from and
    ``layout`` what training learned about the songs.
    """

    def __init__(
        self,
        denoiser: Denoiser,
        diffusion: Diffusion,
        sampler: Sampler,
        encoder: Encoder | None = None,
        vocoder: Vocoder | None = None,
        recipe: Recipe | None = None,
        layout: SongLayout | None = None,
    ) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.encoder = encoder
        self.vocoder = vocoder
        self.diffusion = diffusion
        self.sampler = sampler
        self.recipe = recipe
        self.layout = layout or SongLayout()
        for part in (encoder, vocoder):
            if part is not None:
                part.requires_grad_(False)  # a pretrained front end: frozen while the denoiser trains
        self.train(True)

    def train(self, mode: bool = True) -> Pipeline:
        """Set the denoiser's mode; the frozen encoder and vocoder always stay in eval mode."""
        super().train(mode)
        for part in (self.encoder, self.vocoder):
            if part is not None:
                part.eval()
        return self

    # -- parts and properties -----------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        for parameter in self.denoiser.parameters():
            return parameter.device
        return torch.device("cpu")

    @property
    def sample_rate(self) -> int | None:
        for part in (self.vocoder, self.encoder):
            rate = getattr(part, "sample_rate", None)
            if rate:
                return int(rate)
        return self.layout.sample_rate

    def trained_modules(self) -> dict[str, nn.Module]:
        """The modules training updates and checkpoints save: the denoiser (the front end is pretrained)."""
        return {"denoiser": self.denoiser}

    # -- training -----------------------------------------------------------------------------------------

    def latents(self, batch: Any, generator: Generators = None) -> torch.Tensor:
        """Clean latents ``[B, S, ...]`` of a batch: its ``latents``, else the encoded audio, else the audio.

        An encoder that samples (a VAE's posterior) draws from ``generator``: with one generator per song
        (what the trainer passes) a song's latents do not depend on the batch or the process it is in.
        """
        latents = _field(batch, "latents")
        if latents is not None:
            return latents
        audio = _field(batch, "audio")
        if self.encoder is None:
            return audio
        with torch.no_grad():
            return self.encoder.encode(audio, generator=generator)

    @staticmethod
    def tracks_of(batch: Any) -> TrackInfo:
        """The batch's :class:`TrackInfo` ``[B, S]``."""
        tracks = _field(batch, "tracks")
        if tracks is not None:
            return tracks
        return TrackInfo(batch["instrument_ids"], batch["track_mask"])

    def training_loss(self, batch: Any, generator: Generators = None) -> torch.Tensor:
        """Per-song diffusion losses ``[B]`` of a batch (see the module documentation); their mean is the batch loss.

        Every draw of the step comes from ``generator`` (one per song from the trainer), in a fixed order per
        song: the encoder's (stems, then the mixture of a mixture-conditioned model), then the diffusion's
        noise level and noise.
        """
        x0 = self.latents(batch, generator)
        if self.layout.latent_shape is None:
            self.check_latent_shape(x0.shape[1:], "the training batch's latents")
            self.layout.latent_shape = list(x0.shape[2:])
        context = self.context_from_batch(batch, generator)
        return self.diffusion.training_loss(self.denoiser, x0, self.tracks_of(batch), context, generator)

    # -- conditions, mixtures and shapes --------------------------------------------------------------------

    @property
    def context_kind(self) -> str | None:
        """The condition the denoiser takes (``Denoiser.context_kind``): None, ``"mixture"`` or ``"song"``."""
        return getattr(self.denoiser, "context_kind", None)

    @property
    def mixture_use(self) -> str | None:
        """How this model uses a given mixture: ``"condition"`` (the denoiser is conditioned on it),
        ``"constraint"`` (Dirac separation: the tracks are made to sum to it) or None (it cannot)."""
        if self.context_kind == "mixture":
            return "condition"
        additive = self.encoder is None or bool(getattr(self.encoder, "additive", False))
        if additive and self.diffusion.family == "sigma":
            return "constraint"
        return None

    @torch.no_grad()
    def encode_mixture(self, mixture: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        """A mixture's waveform ``[B, L]`` (or ``[L]``) -> its latent ``[B, ...]``, encoded exactly as one track
        (a sampling encoder draws from ``generator``, one per song allowed)."""
        if mixture.dim() == 1:
            mixture = mixture[None]
        if mixture.dim() != 2:
            raise ValueError(f"a mixture is a waveform [B, L] or [L], got shape {tuple(mixture.shape)}")
        return self.encode_audio(mixture[:, None].to(self.device), generator)[:, 0]

    def context_from_batch(self, batch: Any, generator: Generators = None) -> Any:
        """The denoiser's condition for a training batch: the batch's own ``context`` when it carries one,
        else what the denoiser's ``context_kind`` asks for (``"mixture"``: the encoded mixture of the
        batch's audio, drawing from ``generator``), else None."""
        context = _field(batch, "context")
        if context is None and self.context_kind == "song":
            metas = _field(batch, "meta") or []
            fields = {conditioner.field for conditioner in self.denoiser.song_conditioners()}
            context = SongConditions.from_meta(metas, fields).to(self.device)
        elif context is None and self.context_kind is not None:
            audio = _field(batch, "audio")
            if audio is None:
                raise UserError(
                    f"denoiser {self._name('denoiser')!r} is conditioned on the mixture, but this batch holds precomputed "
                    "latents without audio: give the batch a `context` (the encoded mixture, [B, ...]) as well"
                )
            context = self.encode_mixture(mixdown(audio), generator)
        return self._drop_conditions(context, generator)

    def _drop_conditions(self, context: Any, generator: Generators) -> Any:
        """Zero each song's condition ``[B, ...]`` with probability ``denoiser.condition_dropout`` while the
        denoiser trains (classifier-free guidance's unconditional model); the draws come from ``generator``,
        one per song, so which songs are dropped does not depend on how the batch is split."""
        rate = float(getattr(self.denoiser, "condition_dropout", 0.0) or 0.0)
        if not (self.denoiser.training and rate > 0 and isinstance(context, (torch.Tensor, SongConditions))):
            return context
        if isinstance(context, SongConditions):  # dropped songs get the conditioners' null embeddings
            return context.dropped(uniform((context.batch_size,), generator, device=self.device) >= rate)
        keep = uniform((context.shape[0],), generator, device=context.device) >= rate
        return context * keep.view(-1, *[1] * (context.dim() - 1)).to(context.dtype)

    def check_latent_shape(self, shape: Sequence[int], origin: str = "latents") -> None:
        """Raise a :class:`UserError` when the denoiser cannot run a song's latents of ``shape`` ``[S, C, ...]``."""
        checker = getattr(self.denoiser, "latent_problem", None)
        problem = checker(tuple(int(n) for n in shape)) if checker is not None else None
        if problem:
            raise UserError(
                f"model.denoiser {self._name('denoiser')!r} cannot denoise {origin} ([S, ...] = {list(shape)}): {problem}"
            )

    def check_clip(self, num_samples: int, num_tracks: int) -> None:
        """Raise a :class:`UserError` when songs of ``num_tracks`` clips of ``num_samples`` samples give latents
        the denoiser cannot run."""
        try:
            per_track = self.latent_shape(num_samples)
        except NotImplementedError:  # an encoder that cannot say: the first batch is checked instead
            return
        through = f" through encoder {self._name('encoder')!r}" if self.encoder is not None else ""
        self.check_latent_shape((num_tracks, *per_track), f"songs of {num_tracks} tracks of {num_samples} samples{through}")

    def _name(self, section: str) -> str:
        """The registered name of part ``model.<section>`` (its class name when built without a recipe)."""
        name = node_name(self.recipe, f"model.{section}") if self.recipe is not None else None
        return name or type(getattr(self, section)).__name__

    def mixture_problem(self) -> str | None:
        """Why this model cannot use a given mixture (see :attr:`mixture_use`), or None when it can."""
        if self.mixture_use is not None:
            return None
        if self.encoder is None:
            encoder = "no encoder: additive"
        else:
            additive = bool(getattr(self.encoder, "additive", False))
            encoder = f"encoder {self._name('encoder')!r}: {'' if additive else 'not '}additive"
        return (
            f"this model cannot use a mixture: its denoiser {self._name('denoiser')!r} takes no mixture condition, and "
            f"separation by a sum constraint (Dirac likelihood) needs a 'sigma' diffusion and an additive encoder "
            f"(this model: diffusion {self._name('diffusion')!r}: {self.diffusion.family!r}; {encoder}). "
            "Mixture-conditioned models: recipes/msgld.yaml; Dirac separation: recipes/msdm.yaml"
        )
