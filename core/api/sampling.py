"""``synctrack.sample``: songs from a trained model, in memory.

    songs = synctrack.sample("runs/bench-synctrack", num=8, seed=0)      # Songs: [8, S, L] and track names
    songs = synctrack.sample(pipeline, num=4, tracks=["drums", "bass"], given={"drums": drums_waveform})

``synctrack sample`` is this function plus reading files and writing folders; ``sample_batches`` yields the
songs batch by batch, so that a long run can write (or score) them as they come without holding them all.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

from ..conditions import SongConditions, parse_tags
from ..errors import RunWarning, UserError
from .songs import Songs

Source = Any  # a Pipeline, or a run / checkpoint folder (str or PathLike)


class UntrainedFrontEndWarning(RunWarning):
    """The model's encoder or vocoder is randomly initialised: its audio, and any metric of it, means nothing."""


def load_model(
    source: Source,
    *,
    ema: bool = True,
    sampler: str | None = None,
    overrides: Sequence[str] = (),
    device: str | torch.device = "auto",
):
    """The :class:`~synctrack.Pipeline` of a run folder or ``checkpoints/step_*`` folder (its EMA weights unless
    ``ema=False``), with ``sampler`` (a registered name, its defaults) and recipe ``overrides`` applied; a
    Pipeline is returned as it is. Warns (:class:`UntrainedFrontEndWarning`) when the front end is untrained."""
    from ..pipeline import Pipeline, untrained_front_end
    from ..recipe import looks_like_override
    from ..training.checkpoint import load_checkpoint
    from .loading import load_pipeline
    from ..training.distributed import pick_device

    if isinstance(source, Pipeline):
        if sampler is not None or overrides:
            raise UserError("sampler= and overrides= change a stored recipe; pass a run folder, or build the pipeline with them")
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"sample() takes a Pipeline or a run folder, got {type(source).__name__}")
    for text in overrides:
        if not looks_like_override(text):
            raise UserError(f"bad override {text!r}: expected KEY=VALUE or ~KEY")
    stored = load_checkpoint(source, trainer_state=False)
    chosen = [*sampler_override(stored["recipe"], sampler), *overrides]
    device = pick_device(device) if str(device) in ("auto", "cpu", "cuda", "mps") else torch.device(device)
    pipeline = load_pipeline(stored["folder"], ema=ema, overrides=chosen, device=device)
    note = untrained_front_end(pipeline)
    if note:
        warnings.warn(note, UntrainedFrontEndWarning, stacklevel=2)
    return pipeline


def sampler_override(stored_recipe_text: str, name: str | None) -> list[str]:
    """An override selecting sampler ``name`` (its defaults) unless the recipe already uses it."""
    import yaml

    if name is None:
        return []
    node = (yaml.safe_load(stored_recipe_text) or {}).get("model", {}).get("sampler")
    current = node.get("type") if isinstance(node, dict) else node
    return [] if current == name else [f"model.sampler={name}"]


def model_tracks(pipeline) -> list[str]:
    """The names of the tracks a model generates by default (its training tracks)."""
    layout = pipeline.layout
    return list(layout.track_names or [f"track{i}" for i in range(len(layout.instrument_ids))])


def choose_tracks(pipeline, names: Sequence[str]) -> list[int]:
    """Instrument ids of the model's vocabulary for track ``names``; a model whose track count is fixed (MSDM's
    sources) or that lacks an instrument is refused before any sampling."""
    names = list(names)
    vocabulary = list(getattr(getattr(pipeline.denoiser, "conditioner", None), "vocabulary", None) or [])
    if not names:
        raise UserError("tracks is empty: name at least one instrument, e.g. drums,bass")
    if not vocabulary:
        raise UserError("this model has no instrument vocabulary (its denoiser takes no instrument condition), so it "
                        "generates its trained tracks only; leave out tracks")
    unknown = [name for name in names if name not in vocabulary]
    if unknown:
        raise UserError(f"tracks: {', '.join(map(repr, unknown))} not in the model's vocabulary: {', '.join(vocabulary)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"tracks names {', '.join(map(repr, repeated))} twice; each track is written as <name>.wav")
    pipeline.check_latent_shape((len(names), *pipeline.latent_shape()), f"tracks {','.join(names)} ({len(names)} tracks)")
    return [vocabulary.index(name) for name in names]


def fit_length(audio: torch.Tensor, length: int) -> torch.Tensor:
    """Cut ``[L]`` audio to ``length`` samples or pad it with silence."""
    if audio.shape[0] >= length:
        return audio[:length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[0]))


def clip_samples(pipeline, what: str) -> int:
    if pipeline.layout.clip_samples is None:
        raise UserError(f"the model's training clip length is unknown, so {what} cannot be aligned")
    return pipeline.layout.clip_samples


def sample_batches(
    source: Source,
    num: int = 1,
    *,
    tracks: Sequence[str] | None = None,
    given: Mapping[str, torch.Tensor] | None = None,
    mixture: torch.Tensor | None = None,
    mixture_track: str | None = None,
    guidance: float | None = None,
    mixer_guidance: float | None = None,
    tempo: float | None = None,
    tags: Sequence[str] | str | None = None,
    prompt: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    batch_size: int | None = None,
    normalize: bool = False,
    **load: Any,
) -> Iterator[Songs]:
    """:func:`sample`, one batch of songs at a time (song names continue across batches)."""
    from ..outputs import normalize_peaks, song_peaks

    if num < 1 or (batch_size is not None and batch_size < 1):
        raise UserError(f"num and batch_size must be positive, got num={num}, batch_size={batch_size}")
    pipeline = load_model(source, **load)
    rate = pipeline.sample_rate
    if rate is None:
        raise UserError("the model's sample rate is unknown (no encoder, vocoder or recorded data rate)")
    names = model_tracks(pipeline) if tracks is None else list(tracks)
    instrument_ids = list(pipeline.layout.instrument_ids) if tracks is None else choose_tracks(pipeline, names)
    # one stream for the whole call (a sampling encoder's draws for given tracks and mixtures too), as the
    # command has always drawn: the same seed and batch_size give the same songs, bit for bit
    generator = torch.Generator().manual_seed(seed)
    extra: dict[str, Any] = mixture_inputs(pipeline, names, mixture, mixture_track, guidance, generator)
    conditions = song_conditions(tempo, tags, prompt)
    if conditions is not None:
        pipeline.check_song_conditions(conditions)
        extra["context"] = conditions
    given_audio = given_tracks(pipeline, names, given or {})
    known = known_mask = None
    if given_audio:
        audio = torch.zeros(1, len(names), clip_samples(pipeline, "given tracks"))
        for slot, waveform in given_audio.items():
            audio[0, slot] = waveform
        known = pipeline.encode_audio(audio.to(pipeline.device), generator)
        known_mask = torch.zeros(1, len(names), dtype=torch.bool, device=pipeline.device)
        known_mask[0, list(given_audio)] = True
    batch_size = batch_size or num
    for start in range(0, num, batch_size):
        count = min(batch_size, num - start)
        if known is not None:
            extra.update(known=known.expand(count, *known.shape[1:]), known_mask=known_mask.expand(count, -1))
        latents = pipeline.sample_latents(count, instrument_ids, steps=steps, generator=generator,
                                          guidance_scale=guidance, mixer_guidance=mixer_guidance, **extra)
        rendered = pipeline.render(latents)
        if rendered.waveforms is None:
            raise UserError("this model decodes to mels but has no vocoder: add model.vocoder (an override) to get audio")
        waveforms = rendered.waveforms.detach().cpu().float()
        if not bool(torch.isfinite(waveforms).all()):
            raise UserError(
                f"the model produced NaN or infinite audio (songs {start} .. {start + count - 1}); is the checkpoint "
                "trained far enough? try without the EMA weights (--no-ema), another sampler or more steps"
            )
        for slot, waveform in given_audio.items():  # the given tracks exactly as the user gave them
            waveforms[:, slot] = fit_length(waveform, waveforms.shape[-1])
        peaks = song_peaks(waveforms).tolist()
        if normalize:
            waveforms = normalize_peaks(waveforms)
        mels = rendered.mels.detach().cpu() if rendered.mels is not None else None
        yield Songs(waveforms, names, rate, mels=mels, names=[f"song_{start + i:03d}" for i in range(count)], peaks=peaks)


def sample(source: Source, num: int = 1, *, progress: Callable[[int], None] | None = None, **options: Any) -> Songs:
    """``num`` songs from a trained model, as :class:`Songs` in memory.

    Args:
        source: a :class:`~synctrack.Pipeline`, or a run folder (its latest checkpoint) or ``checkpoints/step_*``.
        tracks: instrument names to generate (default: the training tracks); SyncTrack's family takes any
            number from its vocabulary with the same weights.
        given: track name -> waveform ``[L]`` at the model's rate, kept fixed (partial generation); cut or
            zero-padded to the training clip and returned unchanged.
        mixture: a waveform ``[L]`` to separate: the condition of a mixture-conditioned model (MSG-LD, with
            classifier-free ``guidance``), or a sum constraint for an unconditional sigma model with an additive
            encoder (MSDM; ``mixture_track`` is the track solved for).
        tempo, tags, prompt: song-level conditions of a model trained with them (BPM; ``name=value`` tags as a
            list or one string such as ``"key=C,mode=minor"``; a text prompt), with classifier-free ``guidance``;
            a condition the model was not trained with is an error naming what it accepts, and one left out
            is unconditional for its conditioner.
        mixer_guidance: cross-track guidance w: each denoiser call becomes ``independent + w * (coupled -
            independent)``, the independent pass with the cross-track mixers switched off; w > 1 strengthens
            what the mixers add (docs/sampling.md, "Mixer guidance"); default: the recipe's sampler (1: as trained).
        steps, seed, batch_size: sampler steps (default: the recipe's), the random seed, songs per sampler call
            (one random stream serves the whole call, so the batch size changes which draws each song gets).
        normalize: scale each song past full scale down to a peak of 0.99 (one factor per song).
        ema, sampler, overrides, device: how a run folder is loaded (see :func:`load_model`).
        progress: called with the number of songs after each batch (e.g. a progress bar's ``advance``).
    """
    parts = []
    for batch in sample_batches(source, num, **options):
        parts.append(batch)
        if progress is not None:
            progress(len(batch))
    return Songs.concatenate(parts)


def song_conditions(tempo: float | None, tags: Sequence[str] | str | None, prompt: str | None) -> SongConditions | None:
    """One song's conditions from the user's values (None when none is given)."""
    if tempo is None and tags is None and prompt is None:
        return None
    if isinstance(tags, str):
        tags = parse_tags(tags, "tags")
    return SongConditions(
        tempo=None if tempo is None else torch.tensor([float(tempo)]),
        tags=None if tags is None else (tuple(tags),),
        prompts=None if prompt is None else (str(prompt),),
    )


def given_tracks(pipeline, names: list[str], given: Mapping[str, torch.Tensor]) -> dict[int, torch.Tensor]:
    """Given waveforms by track slot, fitted to the training clip."""
    if not given:
        return {}
    length = clip_samples(pipeline, "given tracks")
    slots = {}
    for name, waveform in given.items():
        if name not in names:
            raise UserError(f"given track {name!r}: this model has no track {name!r}; its tracks: {', '.join(names)}")
        waveform = torch.as_tensor(waveform, dtype=torch.float32)
        if waveform.dim() != 1:
            raise UserError(f"given track {name!r}: expected a mono waveform [L], got shape {tuple(waveform.shape)}")
        slots[names.index(name)] = fit_length(waveform, length)
    return slots


def mixture_inputs(pipeline, names: list[str], mixture: torch.Tensor | None, track: str | None, guidance: float | None,
                   generator: torch.Generator) -> dict[str, Any]:
    """The sampler's mixture arguments (empty without a mixture), after checking them against the model."""
    if guidance is not None and pipeline.context_kind is None:
        raise UserError("guidance applies to conditional models; this model's denoiser takes no condition "
                        "(for an unconditional model, a mixture is separated by a sum constraint, without guidance)")
    if mixture is None:
        if track is not None:
            raise UserError("mixture_track needs a mixture")
        return {}
    use = pipeline.mixture_use
    if use is None:
        raise UserError(pipeline.mixture_problem())
    slot = None
    if track is not None:
        if use != "constraint":
            raise UserError("mixture_track applies to separation by a sum constraint; this model is conditioned on the mixture")
        if track not in names:
            raise UserError(f"mixture_track {track!r}: this model has no such track; its tracks: {', '.join(names)}")
        slot = names.index(track)
    audio = fit_length(torch.as_tensor(mixture, dtype=torch.float32).reshape(-1), clip_samples(pipeline, "a mixture"))
    return {"mixture": pipeline.encode_mixture(audio[None], generator), "mixture_track": slot}
