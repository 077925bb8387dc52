"""The pipeline: one object holding a generative model's parts, and :func:`build`, the one way to get it.

``synctrack.build(recipe)`` checks the recipe, builds ``model.encoder``, ``model.denoiser``,
``model.diffusion``, ``model.sampler`` and ``model.vocoder``, checks that they fit together (the sampler's
family matches the diffusion's; a waveform-decoding encoder takes no vocoder) and returns a
:class:`Pipeline`. Training, sampling and evaluation all get their model this way (or through
:func:`synctrack.load_pipeline`, which builds from the recipe stored in a checkpoint and loads its weights).

The space the diffusion runs in is the encoder's latent space. Without an encoder it is the data itself:
the batch's audio ``[B, S, L]`` (or a mel, when a vocoder turns it into audio). A batch is a
``synctrack.data.SongBatch`` (``audio``, ``tracks``, ``meta``) or a dict with ``audio``, ``instrument_ids`` and
``track_mask``; either may also carry precomputed ``latents`` ``[B, S, ...]`` (the encoder is then skipped)
and a ``context`` (the condition of conditional models).

Conditions and mixtures. A denoiser declares the condition it takes in ``context_kind``; the pipeline makes
it, so that recipes, the trainer and the CLI stay the same for every model:

- ``"mixture"`` (MSG-LD): in training, the batch's mixture (its tracks summed and clipped to [-1, 1]) encoded
  like the stems (:meth:`Pipeline.context_from_batch`); at sampling time, a mixture the user gives
  (:meth:`Pipeline.encode_mixture`, then ``sample_latents(mixture=...)``), with classifier-free guidance.
- An unconditional model separates a mixture with a Dirac likelihood instead (MSDM): when its diffusion is
  of the sigma family and its encoder is additive (the mixture's latent is the sum of the tracks'), the
  sampler constrains the tracks to sum to the mixture (see :mod:`synctrack.sampling`).

:attr:`Pipeline.mixture_use` says which applies (``"condition"``, ``"constraint"`` or None); a mixture given
to a model that can use it in neither way is a :class:`~synctrack.errors.UserError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .data.items import mixdown
from .errors import Problem, RecipeError, UserError
from .interfaces import Denoiser, Diffusion, Encoder, Sampler, Vocoder
from .noise import Generators, uniform
from .recipe import Recipe, load_recipe
from .registry import Registry
from .sampling import check_pairing
from .tracks import TrackInfo


# What a denoiser's ``context_kind`` may name: the conditions the pipeline knows how to make.
CONTEXT_KINDS: dict[str, str] = {
    "mixture": "the song's mixture through the encoder, [B, ...] with one track's latent shape",
}


@dataclass
class SongLayout:
    """What a model learned about its songs from the training data (saved in checkpoints).

    Attributes:
        track_names: one name per track slot (file names of generated tracks).
        instrument_ids: the instrument id of each slot (``[S]``), the default tracks to generate.
        clip_samples: samples per track of a training clip (``L``).
        latent_shape: the per-track shape the diffusion runs on (``[C, ...]``, without B and S).
        sample_rate: of the training audio.
    """

    track_names: list[str] = field(default_factory=list)
    instrument_ids: list[int] = field(default_factory=list)
    clip_samples: int | None = None
    latent_shape: list[int] | None = None
    sample_rate: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SongLayout:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass
class Rendered:
    """Latents turned into something to hear and see.

    Attributes:
        waveforms: ``[B, S, L]``, or None when the model has a mel decoder but no vocoder.
        mels: ``[B, S, n_mels, frames]`` when the encoder decodes to a mel, else None.
    """

    waveforms: torch.Tensor | None
    mels: torch.Tensor | None


class Pipeline(nn.Module):
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
        """The condition the denoiser takes (``Denoiser.context_kind``): None or ``"mixture"``."""
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
        if context is None and self.context_kind is not None:
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
        if not (self.denoiser.training and rate > 0 and isinstance(context, torch.Tensor)):
            return context
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
        name = _node_name(self.recipe, f"model.{section}") if self.recipe is not None else None
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

    # -- sampling -----------------------------------------------------------------------------------------

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
        shared by all ``num``.
        """
        info = self.resolve_tracks(num, tracks)
        per_track = tuple(latent_shape) if latent_shape is not None else self.latent_shape(length)
        shape = (num, info.num_tracks, *per_track)
        self.check_latent_shape(shape[1:], "the requested latents")
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
        was_training = self.training
        self.eval()
        try:
            return self.sampler.sample(
                self.denoiser, self.diffusion, shape, info, known=known, known_mask=known_mask, generator=generator,
                context=context, steps=steps, guidance_scale=guidance_scale, on_step=on_step, **constraint,
            )
        finally:
            self.train(was_training)

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


def untrained_front_end(pipeline: Pipeline) -> str | None:
    """A note when the model's encoder or vocoder has weights but its recipe node no ``init:``: such a front
    end is randomly initialised (``recipes/tiny.yaml``), so the model's audio, its references and their
    metrics mean nothing. None when the front end is trained or needs no training (log-mel, Griffin-Lim)."""
    if pipeline.recipe is None:
        return None
    untrained = []
    for section in ("encoder", "vocoder"):
        part = getattr(pipeline, section)
        node = pipeline.recipe.get(f"model.{section}")
        has_weights = part is not None and any(parameter.numel() for parameter in part.parameters())
        if has_weights and not (isinstance(node, dict) and node.get("init")):
            untrained.append(f"model.{section} {pipeline._name(section)!r}")
    if not untrained:
        return None
    return (f"{' and '.join(untrained)} {'have' if len(untrained) > 1 else 'has'} no init: and {'are' if len(untrained) > 1 else 'is'} "
            "untrained, so this model's audio (and any metric of it) means nothing; for audio that does, use a "
            "trained front end (docs/audio.md) or one that needs none, as recipes/demo.yaml does")


def _per_song(values: torch.Tensor, num: int, what: str) -> torch.Tensor:
    """``values`` ``[num or 1, ...]`` as ``[num, ...]`` (one song's values shared by all)."""
    if values.shape[0] == num:
        return values
    if values.shape[0] == 1:
        return values.expand(num, *values.shape[1:])
    raise ValueError(f"the {what} holds {values.shape[0]} songs; give 1 or {num}")


def _crop(waveforms: torch.Tensor, num_samples: int | None) -> torch.Tensor:
    return waveforms[..., :num_samples] if num_samples is not None else waveforms


def _field(batch: Any, name: str) -> Any:
    """``batch[name]`` for dicts, ``batch.name`` for batch objects; None when absent."""
    if isinstance(batch, Mapping):
        return batch.get(name)
    return getattr(batch, name, None)


def _node_name(recipe: Recipe, path: str) -> str | None:
    node = recipe.get(path)
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        return node.get("type")
    return None


def build(recipe: Recipe | str | os.PathLike, overrides: Sequence[str] = (), registry: Registry | None = None) -> Pipeline:
    """Build the :class:`Pipeline` of a recipe (an object, or a YAML path with optional overrides).

    Every problem of the recipe is reported at once (:class:`~synctrack.errors.RecipeError`); parts that
    do not fit together raise :class:`~synctrack.sampling.IncompatiblePartsError`.
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides)
    elif overrides:
        recipe = recipe.with_overrides(overrides)
    if registry is None:
        from .plugin_manager import get_registry

        registry = get_registry()
    recipe.validate(registry)
    missing = [name for name in ("denoiser", "diffusion", "sampler") if recipe.get(f"model.{name}") is None]
    if missing:
        raise RecipeError(
            [Problem(f"model.{name}", f"missing: a pipeline needs a {name} node; registered: {', '.join(registry.names(name))}") for name in missing],
            source=recipe.source,
        )
    model = recipe.build("model", registry)
    kind = getattr(model.denoiser, "context_kind", None)
    if kind is not None and kind not in CONTEXT_KINDS:
        raise RecipeError(
            Problem("model.denoiser", f"denoiser {_node_name(recipe, 'model.denoiser')!r} declares context_kind {kind!r}, "
                    f"which the pipeline cannot make; known kinds: {', '.join(CONTEXT_KINDS)}"),
            source=recipe.source,
        )
    if model.diffusion.separate_track_levels > 0 and not model.denoiser.accepts_track_levels:
        raise RecipeError(
            Problem("model.diffusion", f"separate_track_levels gives the denoiser one noise level per track, but denoiser "
                    f"{_node_name(recipe, 'model.denoiser')!r} takes one level per song; set separate_track_levels: 0 or "
                    "use a denoiser that declares accepts_track_levels (unet2d does)"),
            source=recipe.source,
        )
    compatible = [p.name for p in registry.parts("sampler") if getattr(p.factory, "diffusion_family", None) == model.diffusion.family]
    check_pairing(model.sampler, model.diffusion, _node_name(recipe, "model.sampler"), _node_name(recipe, "model.diffusion"), compatible)
    if model.encoder is not None and model.vocoder is not None:
        encoder_name, vocoder_name = _node_name(recipe, "model.encoder"), _node_name(recipe, "model.vocoder")
        if model.encoder.decodes_to == "waveform":
            raise RecipeError(
                Problem("model.vocoder", f"encoder {encoder_name!r} decodes to waveforms, so a vocoder has nothing to do; remove model.vocoder"),
                source=recipe.source,
            )
        mels_in, mels_out = getattr(model.encoder, "mel_config", None), getattr(model.vocoder, "mel_config", None)
        if mels_in is not None and mels_out is not None and mels_in != mels_out:
            raise RecipeError(
                Problem("model.vocoder", f"vocoder {vocoder_name!r} expects mels {mels_out}, but encoder {encoder_name!r} "
                        f"decodes to mels {mels_in}; give both the same mel settings"),
                source=recipe.source,
            )
    return Pipeline(model.denoiser, model.diffusion, model.sampler, model.encoder, model.vocoder, recipe=recipe)
