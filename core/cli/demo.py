"""``synctrack demo``: what cross-track attention does, on the built-in synthetic world, in a few minutes.

Two CPU-sized models of ``recipes/bench/`` generate songs from the same initial noise: SyncTrack (global and
time-specific cross-track attention) and the same U-Net without any cross-track exchange. Their songs are
scored with IRS, CBS, CBD (beats by madmom), beating tracks per song and track correlation, next to held-out
songs through the same front end, and drawn side by side with their detected beats.

By default the models are the weights shipped in ``recipes/bench/weights/`` (trained by ``synctrack train``
on exactly those recipes; docs/results.md gives the commands and times), so the demo only samples and scores.
``--train`` (or ``--steps``, ``--tracks``, overrides) trains both recipes from scratch instead, with the same
trainer as ``synctrack train``. No data, download or GPU is needed; running it again reuses what is done.

``--mixer-guidance W`` adds a third column: SyncTrack's own weights sampled with mixer guidance W
(``recipes/bench/mixer-guidance.yaml``, docs/sampling.md), at twice the denoiser calls; it trains nothing more.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from ..errors import UserError
from ..experiments.ablation import DEFAULT_TRACKER
from . import console
from .arguments import at_least, positive_int

DEMO_RECIPES = ("bench/synctrack.yaml", "bench/no-mixers.yaml")
# SyncTrack's weights sampled with mixer guidance: the recipe trains exactly as DEMO_RECIPES[0]
GUIDED_RECIPE = "bench/mixer-guidance.yaml"
WEIGHTS_FOLDER = "bench/weights"
TRAIN_STEPS = 150  # --train without --steps: what fits the demo's few minutes (shows little; see docs/results.md)


def default_recipe_folder() -> Path:
    """``./recipes`` when it exists, else the recipes of the source checkout synctrack runs from."""
    here = Path.cwd() / "recipes"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "recipes"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="SyncTrack with and without cross-track attention, side by side on synthetic songs (CPU, minutes)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="overrides of both recipes (imply --train)")
    parser.add_argument("--train", action="store_true", help="train both models from scratch instead of using the shipped weights")
    parser.add_argument("--steps", type=positive_int, default=None, help=f"training steps per model (imply --train; default {TRAIN_STEPS})")
    parser.add_argument("--tracks", default=None, help="comma-separated instruments, e.g. bass,drums,piano (imply --train; see docs/data.md)")
    parser.add_argument("--songs", type=positive_int, default=16, help="songs per model, and held-out songs to compare with (default 16)")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed: both models start from the same noise (default 0)")
    parser.add_argument("--sample-steps", type=positive_int, default=None, help="sampler steps (default: the recipes', DDIM 25)")
    parser.add_argument("--tracker", default=DEFAULT_TRACKER, metavar="NAME", help=f"beat tracker (default {DEFAULT_TRACKER})")
    parser.add_argument("--mixer-guidance", type=at_least(float, 0), default=None, metavar="W",
                        help="add a third column: SyncTrack's weights sampled with mixer guidance W (e.g. 2), "
                             "independent + W x (coupled - independent); no extra training (docs/sampling.md)")
    parser.set_defaults(handler=run)


def track_overrides(tracks: str | None) -> list[str]:
    if tracks is None:
        return []
    names = [name.strip() for name in tracks.split(",") if name.strip()]
    if not names:
        raise UserError("--tracks is empty: name at least one instrument, e.g. --tracks bass,drums")
    listed = "[" + ", ".join(names) + "]"
    return [f"data.tracks={listed}", f"model.denoiser.conditioner.vocabulary={listed}"]


def demo_arms(folder: Path, mixer_guidance: float | None) -> list[tuple[Path, list[str]]]:
    """``(recipe path, the arm's own overrides)`` of every column, the model without mixers last (the sync gap's
    baseline): SyncTrack, SyncTrack with mixer guidance (when asked), no mixers."""
    arms = [(folder / DEMO_RECIPES[0], [])]
    if mixer_guidance is not None:
        arms.append((folder / GUIDED_RECIPE, [f"model.sampler.mixer_guidance={mixer_guidance:g}",
                                              f"name=bench-mixer-guidance-{mixer_guidance:g}"]))
    return [*arms, (folder / DEMO_RECIPES[1], [])]


def shipped_weights(folder: Path, recipe) -> Path:
    """Where the shipped weights of ``recipe`` (a loaded recipe) live."""
    return folder / WEIGHTS_FOLDER / f"{recipe.get('name')}.safetensors"


def run(args: argparse.Namespace) -> int:
    from ..experiments import comparison_rows, run_recipe, write_comparison
    from ..reports.comparison import write_comparison_page
    from ..experiments.ablation import check_tracker, reference_eval_stage, training_key
    from ..experiments.report import TARGET_LABEL, GapReference, table
    from ..experiments.shipped import check_recipe, install_weights, read_shipped
    from ..recipe import load_recipe, looks_like_override

    for text in args.overrides:
        if not looks_like_override(text):
            raise UserError(f"bad override {text!r}: expected KEY=VALUE or ~KEY")
    folder = default_recipe_folder()
    arms = demo_arms(folder, args.mixer_guidance)
    for path, _ in arms:
        if not path.is_file():
            raise UserError(f"demo recipe not found: {path}; run from the repository root")
    overrides = [*track_overrides(args.tracks), *args.overrides]
    train = args.train or args.steps is not None or bool(overrides)
    recipes = [load_recipe(path, [*overrides, *own]).validate() for path, own in arms]
    names = [str(recipe.get("name")) for recipe in recipes]
    check_tracker(args.tracker)
    if args.mixer_guidance is not None and training_key(recipes[1]) != training_key(recipes[0]):
        raise UserError(f"{arms[1][0]} no longer trains exactly as {arms[0][0]} (it may differ only in name, "
                        "description and sampler): make it so again, or run the demo without --mixer-guidance")
    steps: dict[str, int] = {}
    for (path, _), recipe, name in zip(arms, recipes, names):
        if train:
            steps[name] = args.steps or TRAIN_STEPS
            continue
        if path == folder / GUIDED_RECIPE:  # SyncTrack's weights: a copy of its run, made by run_recipe below
            steps[name] = steps[names[0]]
            continue
        shipped = read_shipped(shipped_weights(folder, recipe))
        check_recipe(shipped, recipe)
        install_weights(shipped, args.out / name / "run")
        steps[name] = shipped.step

    started = time.monotonic()
    where = "trained now" if train else "shipped weights"
    console.out.rule(f"synctrack demo: {' vs '.join(names)} ({where}), {args.songs} songs from the same noise")
    runs = []
    trained: dict[str, Path] = {}  # the guided arm starts from a copy of SyncTrack's run (hard links)
    for (path, own), name in zip(arms, names):
        run_, references = run_recipe(
            path, args.out, steps[name], args.songs, args.out / "references", [*overrides, *own], args.seed,
            args.sample_steps, on_stage=lambda r, stage: console.out.print(f"[bold]{r.name}[/bold]: {stage} ..."),
            tracker=args.tracker, console=console.err, trained=trained,
        )
        runs.append(run_)
    truth = [(label, reference_eval_stage(folder_, None, args.tracker)) for label, folder_ in
             (("held-out songs", references.raw), (TARGET_LABEL, references.codec))]
    rows = comparison_rows([(r.name, r.evaluation) for r in runs], truth, GapReference(names[-1], TARGET_LABEL))
    console.out.print(table(rows, f"demo: {args.songs} songs per model, beats by {args.tracker} "
                                  f"(FD uses an offline embedding, NOT comparable with published FAD)", console.out.width))
    for run_ in runs[:-1]:
        console.out.print(verdict(run_.evaluation, runs[-1].evaluation, [run_.name, names[-1]]), markup=False)
    pictures = draw_side_by_side(runs, args.out / "side-by-side", args.tracker)
    write_comparison(rows, args.out, f"demo: {args.songs} songs per model, beats by {args.tracker}")
    page = write_comparison_page(args.out, shlex.join(["synctrack", *getattr(args, "argv", [])]))
    console.out.print(
        f"\ngenerated songs:  {', '.join(str(r.samples) for r in runs)} (song_*/: one WAV per track, mix.wav, beats.png)\n"
        f"side by side:     {args.out / 'side-by-side'}/song_*.png ({len(pictures)} pictures: each track's mel and beats, "
        f"left to right: {', '.join(names)})\n"
        f"held-out songs:   {references.raw}\n"
        f"training runs:    {', '.join(str(r.run) for r in runs)}\n"
        f"evaluations:      {', '.join(str(r.evaluation) for r in runs)} (and .csv, .per_song.csv)\n"
        f"listen:           {page} (the models' songs side by side, the held-out songs below)\n"
        f"time:             {time.monotonic() - started:.0f} s",
        markup=False,
    )
    return 0


def _values(report: Path, metric: str) -> tuple[dict[str, float], tuple[float, float, float]]:
    for value in json.loads(report.read_text())["values"]["generated"]:
        if value["metric"] == metric and value["track"] == "all":
            return value.get("per_song") or {}, (value["value"], value["ci_low"], value["ci_high"])
    raise UserError(f"{report} holds no {metric}: score it again (delete that file and rerun the demo)")


def verdict(with_mixers: Path, without: Path, names: list[str]) -> str:
    """Whether the CBS and CBD intervals of the two models are apart, and the paired wins song by song."""
    lines = []
    for metric, better in (("cbs", "higher"), ("cbd", "lower")):
        ours, (mean, low, high) = _values(with_mixers, metric)
        theirs, (other, other_low, other_high) = _values(without, metric)
        apart = (low > other_high) if better == "higher" else (high < other_low)
        paired = [song for song in ours if song in theirs and None not in (ours[song], theirs[song])]
        wins = sum((ours[s] > theirs[s]) if better == "higher" else (ours[s] < theirs[s]) for s in paired)
        lines.append(f"{metric.upper()}: {names[0]} {mean:.3f} [{low:.3f}, {high:.3f}] vs {names[1]} {other:.3f} "
                     f"[{other_low:.3f}, {other_high:.3f}]: intervals {'apart' if apart else 'overlap'}; "
                     f"{better} in {wins} of {len(paired)} songs from the same noise")
    return "\n".join(lines)


def _beats_of(samples: Path, tracker) -> tuple[list[str], dict[str, dict[str, object]]]:
    """Each song's beats per track (beat cache first): ``(track names, {song: {track: times}})``."""
    from ..eval.cache import BeatCache, default_cache_root, file_digest
    from ..eval.extract import track_file
    from ..eval.layout import read_folder

    cache = BeatCache(default_cache_root(), tracker.settings())
    folder = read_folder(samples)
    songs = {}
    for song in folder.songs:
        songs[song.name] = {}
        for name, file in song.tracks.items():
            found = cache.get(file_digest(file))
            songs[song.name][name] = found if found is not None else track_file(tracker, file)
    return list(folder.tracks), songs


def draw_side_by_side(runs, out: Path, tracker_name: str) -> list[Path]:
    """``beats.png`` in every generated song folder, and ``out/song_<i>.png`` with the models side by side."""
    from ..eval.plots import plot_side_by_side, plot_song_beats
    from ..interfaces import BeatTracker
    from ..plugin_manager import get_registry
    from ..recipe import build

    tracker = build(tracker_name, BeatTracker, get_registry())
    found = [(run_, *_beats_of(run_.samples, tracker)) for run_ in runs]
    names, _ = found[0][1], found[0][2]
    written = []
    for song in found[0][2]:
        columns = []
        for run_, tracks, beats in found:
            folder = run_.samples / song
            plot_song_beats(folder, tracks, beats[song], folder / "beats.png", f"{run_.name}: {song}")
            columns.append((run_.name, folder, beats[song]))
        written.append(plot_side_by_side(columns, names, out / f"{song}.png", f"{song}: the same initial noise"))
    return written
