"""``synctrack sample CHECKPOINT --num N --out DIR [--steps K] [--sampler NAME] [--given TRACK=FILE.wav ...]
[--mixture FILE.wav [--guidance W]]``.

Generates ``N`` songs with a trained model and writes ``DIR/song_<i>/<track>.wav``, ``mix.wav`` and
``mels.png``; ``--tracks`` chooses the instruments (any number, for models that take any); each song
appears whole (written into a hidden folder, renamed into place). ``DIR`` must be
new or empty, so that one folder never mixes the songs of two runs; ``--overwrite`` deletes what it holds
first. ``--given`` fixes tracks (partial generation, arrangement): the file is read at the model's
sample rate, cut or zero-padded to the training clip length, and written back unchanged next to the generated
tracks. ``--mixture`` separates a mixture (read the same way): a mixture-conditioned model (MSG-LD) is
conditioned on it, with classifier-free guidance ``--guidance W`` (0: ignore the mixture); an unconditional
model with a sigma diffusion and an additive encoder (MSDM) constrains its tracks to sum to it (Dirac
likelihood; ``--mixture-track`` names the track solved for). CHECKPOINT is a run folder (its latest
checkpoint) or a ``checkpoints/step_*`` folder; ``KEY=VALUE`` overrides change the stored recipe (for
example a moved encoder weight file). A song whose tracks or mix pass full scale is clipped in its WAVs, and
the command says which; ``--normalize`` scales such songs down instead, so their tracks still sum to the mix.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import UserError
from ..recipe import looks_like_override
from . import console


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sample", help="generate songs with a trained model", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="run folder or checkpoint folder")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="overrides of the stored recipe")
    parser.add_argument("--num", type=positive, default=1, help="number of songs (default 1)")
    parser.add_argument("--steps", type=positive, default=None, help="sampling steps (default: the recipe's sampler)")
    parser.add_argument("--sampler", default=None, help="sampler name (default: the recipe's); e.g. ddim, edm_heun")
    parser.add_argument("--out", type=Path, required=True, help="output folder (new or empty, unless --overwrite)")
    parser.add_argument("--overwrite", action="store_true", help="delete what --out holds before writing the new songs")
    parser.add_argument("--tracks", default=None, metavar="NAME,NAME,...",
                        help="instruments to generate, from the model's instrument vocabulary (default: the trained "
                             "tracks); SyncTrack's family takes any number with the same weights")
    parser.add_argument("--given", action="append", default=[], metavar="TRACK=FILE.wav", help="a track to keep (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--mixture", type=Path, default=None, metavar="FILE.wav", help="a mixture to separate")
    parser.add_argument("--mixture-track", default=None, metavar="TRACK",
                        help="with --mixture on a Dirac-separating model: the track solved as the mixture minus the others "
                             "(default: the first track not given)")
    parser.add_argument("--guidance", type=float, default=None,
                        help="classifier-free guidance scale of a conditional model (default: the recipe's; 0: unconditional)")
    parser.add_argument("--normalize", action="store_true",
                        help="scale each song that would clip (a track or the mix past full scale) down to a peak of "
                             "0.99, one factor per song so the tracks still sum to the mix (given tracks are scaled too)")
    parser.add_argument("--batch-size", type=positive, default=None, help="songs per sampler call (default: all)")
    parser.add_argument("--no-ema", action="store_true", help="use the trained weights, not their EMA")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps or auto (default)")
    parser.set_defaults(handler=run)


def sampler_override(stored_recipe_text: str, name: str | None) -> list[str]:
    """An override selecting sampler ``name`` (its defaults) unless the recipe already uses it."""
    import yaml

    if name is None:
        return []
    node = (yaml.safe_load(stored_recipe_text) or {}).get("model", {}).get("sampler")
    current = node.get("type") if isinstance(node, dict) else node
    return [] if current == name else [f"model.sampler={name}"]


def parse_given(items: list[str], track_names: list[str]) -> dict[int, Path]:
    given: dict[int, Path] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--given {item!r}: expected TRACK=FILE.wav, with TRACK one of {', '.join(track_names)}")
        track, file = item.split("=", 1)
        if track not in track_names:
            raise UserError(f"--given {item!r}: this model has no track {track!r}; its tracks: {', '.join(track_names)}")
        slot = track_names.index(track)
        if slot in given:
            raise UserError(f"--given names track {track!r} twice")
        given[slot] = Path(file)
    return given


def chosen_tracks(text: str, pipeline, folder: Path) -> tuple[list[str], list[int]]:
    """``--tracks a,b,c`` as track names and instrument ids of the model's vocabulary; a model whose track
    count is fixed (MSDM's sources) is refused here, before any sampling."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    vocabulary = list(getattr(getattr(pipeline.denoiser, "conditioner", None), "vocabulary", None) or [])
    if not names:
        raise UserError("--tracks is empty: name at least one instrument, e.g. --tracks drums,bass")
    if not vocabulary:
        raise UserError(f"{folder}: this model has no instrument vocabulary (its denoiser takes no instrument "
                        "condition), so it generates its trained tracks only; leave out --tracks")
    unknown = [name for name in names if name not in vocabulary]
    if unknown:
        raise UserError(f"--tracks: {', '.join(map(repr, unknown))} not in the model's vocabulary: {', '.join(vocabulary)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"--tracks names {', '.join(map(repr, repeated))} twice; each track is written as <name>.wav")
    per_track = pipeline.latent_shape()
    pipeline.check_latent_shape((len(names), *per_track), f"--tracks {text} ({len(names)} tracks)")
    return names, [vocabulary.index(name) for name in names]


def fit_length(audio: torch.Tensor, length: int) -> torch.Tensor:
    """Cut ``[L]`` audio to ``length`` samples or pad it with silence."""
    if audio.shape[0] >= length:
        return audio[:length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[0]))


def say_conversion(label: str, file: Path, rate: int, clip_samples: int) -> None:
    """A note when a user's file is not read as is: channels averaged, resampled, padded or cut to the clip."""
    from ..audio.io import audio_format, conversion

    done = conversion(audio_format(file), rate, clip_samples / rate)
    if done:
        console.note(f"{label}: {done}")


def run(args: argparse.Namespace) -> int:
    from ..audio import load_audio
    from ..files import clear_folder, output_folder_problem
    from ..outputs import normalize_peaks, song_peaks, write_songs
    from ..pipeline import untrained_front_end
    from ..training.checkpoint import load_checkpoint, load_pipeline
    from ..training.distributed import pick_device

    for text in args.overrides:
        if not looks_like_override(text):
            raise UserError(f"bad override {text!r}: expected KEY=VALUE or ~KEY")
    problem = output_folder_problem(args.out, args.overwrite)
    if problem:  # before any work: the model is not even loaded
        raise UserError(problem)
    stored = load_checkpoint(args.checkpoint, trainer_state=False)
    overrides = [*sampler_override(stored["recipe"], args.sampler), *args.overrides]
    device = pick_device(args.device) if args.device in ("auto", "cpu", "cuda", "mps") else torch.device(args.device)
    pipeline = load_pipeline(stored["folder"], ema=not args.no_ema, overrides=overrides, device=device)
    note = untrained_front_end(pipeline)
    if note:
        console.warning(note)
    layout, rate = pipeline.layout, pipeline.sample_rate
    if rate is None:
        raise UserError(f"{stored['folder']}: the model's sample rate is unknown (no encoder, vocoder or recorded data rate)")
    names = layout.track_names or [f"track{i}" for i in range(len(layout.instrument_ids))]
    instrument_ids = list(layout.instrument_ids)
    if args.tracks is not None:
        names, instrument_ids = chosen_tracks(args.tracks, pipeline, stored["folder"])
    given = parse_given(args.given, names)
    # one stream for the whole command: a sampling encoder's draws for given tracks and mixtures too, so the
    # same --seed gives the same songs
    generator = torch.Generator().manual_seed(args.seed)
    mixture, mixture_track = read_mixture(args, pipeline, names, rate, stored["folder"], generator)

    known = known_mask = None
    given_audio: dict[int, torch.Tensor] = {}
    if given:
        if layout.clip_samples is None:
            raise UserError(f"{stored['folder']}: the training clip length is unknown, so --given cannot be aligned")
        audio = torch.zeros(1, len(names), layout.clip_samples)
        for slot, file in given.items():
            say_conversion(f"--given {names[slot]}={file}", file, rate, layout.clip_samples)
            given_audio[slot] = fit_length(torch.from_numpy(load_audio(file, rate)), layout.clip_samples)
            audio[0, slot] = given_audio[slot]
        known = pipeline.encode_audio(audio.to(device), generator)
        known_mask = torch.zeros(1, len(names), dtype=torch.bool, device=device)
        known_mask[0, list(given)] = True

    batch_size = args.batch_size or args.num
    if args.overwrite:  # every check has passed: only now is the old output deleted
        clear_folder(args.out)
    steps_per_song = args.steps or getattr(pipeline.sampler, "steps", None)
    written, peaks = [], []
    with Progress(TextColumn("[bold]sample[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console.err) as bar:
        task = bar.add_task("sample", total=args.num)
        for start in range(0, args.num, batch_size):
            count = min(batch_size, args.num - start)
            extra = {}
            if known is not None:
                extra = {"known": known.expand(count, *known.shape[1:]), "known_mask": known_mask.expand(count, -1)}
            if mixture is not None:
                extra.update(mixture=mixture, mixture_track=mixture_track)
            latents = pipeline.sample_latents(count, instrument_ids, steps=args.steps, generator=generator,
                                              guidance_scale=args.guidance, **extra)
            rendered = pipeline.render(latents)
            if rendered.waveforms is None:
                raise UserError("this model decodes to mels but has no vocoder: add model.vocoder (an override) to get audio")
            waveforms = rendered.waveforms.detach().cpu().float()
            if not bool(torch.isfinite(waveforms).all()):
                raise UserError(
                    f"the model produced NaN or infinite audio (songs {start} .. {start + count - 1}); is the checkpoint "
                    "trained far enough? try --no-ema, another --sampler or more --steps"
                )
            for slot, audio in given_audio.items():  # the given tracks exactly as the user gave them
                waveforms[:, slot] = fit_length(audio, waveforms.shape[-1])
            peaks += song_peaks(waveforms).tolist()
            if args.normalize:
                waveforms = normalize_peaks(waveforms)
            mels = rendered.mels.detach().cpu() if rendered.mels is not None else None
            written += write_songs(args.out, waveforms, names, rate, mels=mels, first_index=start)
            bar.update(task, advance=count)
    details = [pipeline.sampler.__class__.__name__, f"{steps_per_song or 'default'} steps", f"seed {args.seed}"]
    if given:
        details.append("given: " + ", ".join(names[s] for s in given))
    if mixture is not None:
        how = "as the condition" if pipeline.mixture_use == "condition" else "by a sum constraint"
        details.append(f"separating {args.mixture} {how}")
    console.out.print(f"wrote {len(written)} song(s) to {args.out} ({', '.join(details)})", markup=False)
    say_full_scale(peaks, args.normalize)
    return 0


def say_full_scale(peaks: list[float], normalized: bool) -> None:
    """Name the songs that went past full scale: scaled down (``--normalize``) or clipped in their WAVs."""
    over = [(index, peak) for index, peak in enumerate(peaks) if peak > 1]
    if not over:
        return
    listed = ", ".join(f"song_{index:03d} ({peak:.2f})" for index, peak in over[:5]) + (" ..." if len(over) > 5 else "")
    if normalized:
        console.note(f"{len(over)} of {len(peaks)} song(s) peaked past full scale and were scaled down to 0.99: {listed}")
    else:
        console.warning(
            f"{len(over)} of {len(peaks)} song(s) peak past full scale and are clipped in their WAVs, so their tracks no "
            f"longer sum to their mix: {listed} (peak in brackets); rerun with --normalize to scale such songs down instead"
        )


def read_mixture(args: argparse.Namespace, pipeline, names: list[str], rate: int, folder: Path, generator: torch.Generator):
    """The ``--mixture`` latent ``[1, ...]`` and the ``--mixture-track`` index, after checking the options
    against what the model can do (None, None without ``--mixture``)."""
    from ..audio import load_audio

    use = pipeline.mixture_use
    if args.guidance is not None and pipeline.context_kind is None:
        raise UserError(
            f"--guidance applies to conditional models; the denoiser of {folder} takes no condition "
            "(for an unconditional model, --mixture separates by a sum constraint, without guidance)"
        )
    if args.mixture is None:
        if args.mixture_track is not None:
            raise UserError("--mixture-track needs --mixture")
        if args.guidance is not None:
            console.warning("without --mixture the model generates unconditionally; --guidance has no effect")
        return None, None
    if use is None:
        raise UserError(f"--mixture {args.mixture}: {pipeline.mixture_problem()}")
    track = None
    if args.mixture_track is not None:
        if use != "constraint":
            raise UserError("--mixture-track applies to separation by a sum constraint; this model is conditioned on the mixture")
        if args.mixture_track not in names:
            raise UserError(f"--mixture-track {args.mixture_track!r}: this model has no such track; its tracks: {', '.join(names)}")
        track = names.index(args.mixture_track)
    if pipeline.layout.clip_samples is None:
        raise UserError(f"{folder}: the training clip length is unknown, so --mixture cannot be aligned")
    say_conversion(f"--mixture {args.mixture}", args.mixture, rate, pipeline.layout.clip_samples)
    audio = fit_length(torch.from_numpy(load_audio(args.mixture, rate)), pipeline.layout.clip_samples)
    return pipeline.encode_mixture(audio[None], generator), track
