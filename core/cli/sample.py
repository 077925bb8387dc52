"""``synctrack sample CHECKPOINT --num N --out DIR [--steps K] [--sampler NAME] [--given TRACK=FILE.wav ...]
[--mixture FILE.wav [--guidance W]] [--tempo BPM] [--tags NAME=VALUE,...] [--prompt TEXT]``.

Generates ``N`` songs with a trained model and writes ``DIR/song_<i>/<track>.wav``, ``mix.wav`` and
``mels.png``; ``--tracks`` chooses the instruments (any number, for models that take any); each song
appears whole (written into a hidden folder, renamed into place). ``DIR`` must be
new or empty, so that one folder never mixes the songs of two runs; ``--overwrite`` deletes what it holds
first. ``--given`` fixes tracks (partial generation, arrangement): the file is read at the model's
sample rate, cut or zero-padded to the training clip length, and written back unchanged next to the generated
tracks. ``--mixture`` separates a mixture (read the same way): a mixture-conditioned model (MSG-LD) is
conditioned on it, with classifier-free guidance ``--guidance W`` (0: ignore the mixture); an unconditional
model with a sigma diffusion and an additive encoder (MSDM) constrains its tracks to sum to it (Dirac
likelihood; ``--mixture-track`` names the track solved for). ``--tempo``, ``--tags`` and ``--prompt`` ask a model
trained with those conditions (docs/conditioning.md) for them, with ``--guidance W``; one it was not trained
with is an error that names what it accepts. CHECKPOINT is a run folder (its latest
checkpoint) or a ``checkpoints/step_*`` folder; ``KEY=VALUE`` overrides change the stored recipe (for
example a moved encoder weight file). A song whose tracks or mix pass full scale is clipped in its WAVs, and
the command says which; ``--normalize`` scales such songs down instead, so their tracks still sum to the mix.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..errors import UserError
from ..recipe import looks_like_override
from . import console
from .arguments import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sample", help="generate songs with a trained model", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="run folder or checkpoint folder")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="overrides of the stored recipe")
    parser.add_argument("--num", type=positive_int, default=1, help="number of songs (default 1)")
    parser.add_argument("--steps", type=positive_int, default=None, help="sampling steps (default: the recipe's sampler)")
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
    parser.add_argument("--tempo", type=float, default=None, metavar="BPM", help="the songs' tempo (a model trained with tempo)")
    parser.add_argument("--tags", default=None, metavar="NAME=VALUE,...",
                        help='tags of a model trained with them, e.g. "style=rock,mode=minor"')
    parser.add_argument("--prompt", default=None, metavar="TEXT", help="a text prompt (a model trained with one)")
    parser.add_argument("--mixer-guidance", type=float, default=None, metavar="W",
                        help="cross-track guidance: independent + W x (coupled - independent) at every denoiser call, the "
                             "independent pass with the mixers switched off; W > 1 strengthens what they add, at twice "
                             "the denoiser calls (default: the recipe's sampler, 1)")
    parser.add_argument("--normalize", action="store_true",
                        help="scale each song that would clip (a track or the mix past full scale) down to a peak of "
                             "0.99, one factor per song so the tracks still sum to the mix (given tracks are scaled too)")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="songs per sampler call (default: all)")
    parser.add_argument("--no-ema", action="store_true", help="use the trained weights, not their EMA")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps or auto (default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs and scripts)")
    parser.set_defaults(handler=run)


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


def say_conversion(label: str, file: Path, rate: int, clip_samples: int) -> None:
    """A note when a user's file is not read as is: channels averaged, resampled, padded or cut to the clip."""
    from ..audio.io import audio_format, conversion

    done = conversion(audio_format(file), rate, clip_samples / rate)
    if done:
        console.note(f"{label}: {done}")


def run(args: argparse.Namespace) -> int:
    from ..api.sampling import fit_length, load_model, model_tracks, sample_batches
    from ..conditions import parse_tags
    from ..audio import load_audio
    from ..files import clear_folder, output_folder_problem
    from ..outputs import write_songs

    for text in args.overrides:
        if not looks_like_override(text):
            raise UserError(f"bad override {text!r}: expected KEY=VALUE or ~KEY")
    problem = output_folder_problem(args.out, args.overwrite)
    if problem:  # before any work: the model is not even loaded
        raise UserError(problem)
    pipeline = load_model(args.checkpoint, ema=not args.no_ema, sampler=args.sampler, overrides=args.overrides,
                          device=args.device)  # an untrained front end is a warning, printed by the console
    folder = args.checkpoint
    if pipeline.sample_rate is None:
        raise UserError(f"{folder}: the model's sample rate is unknown (no encoder, vocoder or recorded data rate)")
    names = model_tracks(pipeline) if args.tracks is None else [name.strip() for name in args.tracks.split(",") if name.strip()]
    if args.tracks is not None and not names:
        raise UserError("--tracks is empty: name at least one instrument, e.g. --tracks drums,bass")
    rate, clip = pipeline.sample_rate, pipeline.layout.clip_samples
    given_files = parse_given(args.given, names)
    mixture = read_mixture(args, pipeline, names, rate, folder)
    if given_files and clip is None:
        raise UserError(f"{folder}: the training clip length is unknown, so --given cannot be aligned")
    given = {}
    for slot, file in given_files.items():
        say_conversion(f"--given {names[slot]}={file}", file, rate, clip)
        given[names[slot]] = fit_length(torch.from_numpy(load_audio(file, rate)), clip)
    batches = sample_batches(pipeline, args.num, tracks=None if args.tracks is None else names, given=given,
                             mixture=mixture, mixture_track=args.mixture_track, guidance=args.guidance,
                             mixer_guidance=args.mixer_guidance, tempo=args.tempo,
                             tags=None if args.tags is None else parse_tags(args.tags, "--tags"), prompt=args.prompt, steps=args.steps,
                             seed=args.seed, batch_size=args.batch_size, normalize=args.normalize)
    first = next(batches)  # every check of the request has run: only now is the old output deleted
    if args.overwrite:
        clear_folder(args.out)
    steps_per_song = args.steps or getattr(pipeline.sampler, "steps", None)
    written, peaks = [], []
    with Progress(TextColumn("[bold]sample[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console.err, disable=args.no_progress) as bar:
        task = bar.add_task("sample", total=args.num)
        for songs in itertools.chain([first], batches):
            written += write_songs(args.out, songs.waveforms, songs.track_names, songs.sample_rate, mels=songs.mels,
                                   names=songs.names)
            peaks += songs.peaks
            bar.update(task, advance=len(songs))
    details = [pipeline.sampler.__class__.__name__, f"{steps_per_song or 'default'} steps", f"seed {args.seed}"]
    if given:
        details.append("given: " + ", ".join(given))
    if mixture is not None:
        how = "as the condition" if pipeline.mixture_use == "condition" else "by a sum constraint"
        details.append(f"separating {args.mixture} {how}")
    asked = [f"tempo {args.tempo:g} BPM" if args.tempo is not None else "", f"tags {args.tags}" if args.tags else "",
             f"prompt {args.prompt!r}" if args.prompt is not None else ""]
    if any(asked):
        details.append(", ".join(part for part in asked if part) + f", guidance {args.guidance if args.guidance is not None else 'as the recipe'}")
    if args.mixer_guidance is not None:
        details.append(f"mixer guidance {args.mixer_guidance:g}")
    write_record(args, pipeline, names, details)
    console.out.print(f"wrote {len(written)} song(s) to {args.out} ({', '.join(details)}); listen: {args.out / 'index.html'}",
                      markup=False)
    say_full_scale(peaks, args.normalize)
    return 0


def write_record(args: argparse.Namespace, pipeline, names: list[str], details: list[str]) -> None:
    """``sampling.json`` (the command, the checkpoint, the resolved recipe) and the listening page ``index.html``."""
    import json
    import shlex

    from ..files import write_text_atomically
    from ..reports import SAMPLING_RECORD, write_report

    record = {
        "title": f"{args.out.name}: {args.num} song(s) from {args.checkpoint}",
        "command": shlex.join(["synctrack", *getattr(args, "argv", [])]),
        "checkpoint": str(args.checkpoint),
        "tracks": ", ".join(names),
        "sampling": ", ".join(details),
        "recipe": pipeline.recipe.dump() if pipeline.recipe is not None else None,
    }
    write_text_atomically(args.out / SAMPLING_RECORD, json.dumps(record, indent=2) + "\n")
    write_report(args.out)


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


def read_mixture(args: argparse.Namespace, pipeline, names: list[str], rate: int, folder) -> torch.Tensor | None:
    """The ``--mixture`` waveform ``[L]`` at the model's rate (None without ``--mixture``), after checking the
    options against what the model can do, in the words of the options."""
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
        conditioned = args.tempo is not None or args.tags is not None or args.prompt is not None
        if args.guidance is not None and not conditioned:
            asked = "--mixture" if pipeline.context_kind == "mixture" else "--tempo, --tags or --prompt"
            console.warning(f"without {asked} the model generates unconditionally; --guidance has no effect")
        return None
    if use is None:
        raise UserError(f"--mixture {args.mixture}: {pipeline.mixture_problem()}")
    if args.mixture_track is not None:
        if use != "constraint":
            raise UserError("--mixture-track applies to separation by a sum constraint; this model is conditioned on the mixture")
        if args.mixture_track not in names:
            raise UserError(f"--mixture-track {args.mixture_track!r}: this model has no such track; its tracks: {', '.join(names)}")
    if pipeline.layout.clip_samples is None:
        raise UserError(f"{folder}: the training clip length is unknown, so --mixture cannot be aligned")
    say_conversion(f"--mixture {args.mixture}", args.mixture, rate, pipeline.layout.clip_samples)
    return torch.from_numpy(load_audio(args.mixture, rate))
