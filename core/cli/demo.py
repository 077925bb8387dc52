"""``synctrack demo``: a small SyncTrack trained, sampled and evaluated on the built-in synthetic world.

No data, weights or GPU are needed. The demo trains ``recipes/demo.yaml`` (a CPU-sized SyncTrack on
synthetic four-track songs) with the same trainer as ``synctrack train``, samples songs with a fast sampler,
evaluates IRS, CBS, CBD and the offline Frechet distance against held-out synthetic songs, draws each song's
tracks with their detected beats, and prints the results and where everything is. Running it again reuses
what is done (a longer ``--steps`` continues the training).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import UserError
from . import console
from .sample import positive


def default_recipe_folder() -> Path:
    """``./recipes`` when it exists, else the recipes of the source checkout synctrack runs from."""
    here = Path.cwd() / "recipes"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "recipes"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="train, sample and evaluate a small SyncTrack on synthetic songs (CPU, ~5 min)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="overrides of the demo recipe")
    parser.add_argument("--steps", type=positive, default=None, help="training steps (default: the recipe's, 150)")
    parser.add_argument("--tracks", default=None, help="comma-separated instruments, e.g. bass,drums,piano (see docs/data.md)")
    parser.add_argument("--songs", type=positive, default=4, help="songs to generate, and held-out songs to compare with (default 4)")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    parser.add_argument("--recipe", type=Path, default=None, help="recipe to run (default recipes/demo.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.set_defaults(handler=run)


def track_overrides(tracks: str | None) -> list[str]:
    if tracks is None:
        return []
    names = [name.strip() for name in tracks.split(",") if name.strip()]
    if not names:
        raise UserError("--tracks is empty: name at least one instrument, e.g. --tracks bass,drums")
    listed = "[" + ", ".join(names) + "]"
    return [f"data.tracks={listed}", f"model.denoiser.conditioner.vocabulary={listed}"]


def run(args: argparse.Namespace) -> int:
    from ..experiments import comparison_rows, run_recipe
    from ..experiments.ablation import reference_eval_stage
    from ..experiments.report import table
    from ..recipe import load_recipe, looks_like_override

    for text in args.overrides:
        if not looks_like_override(text):
            raise UserError(f"bad override {text!r}: expected KEY=VALUE or ~KEY")
    path = args.recipe or default_recipe_folder() / "demo.yaml"
    if not path.is_file():
        raise UserError(f"demo recipe not found: {path}; run from the repository root or pass --recipe FILE")
    overrides = [*track_overrides(args.tracks), *args.overrides]
    recipe = load_recipe(path, overrides).validate()
    steps = args.steps or int(recipe.get("train.steps") or 150)
    started = time.monotonic()
    console.out.rule(f"synctrack demo: {recipe.get('name')} on the synthetic world, {steps} training steps")
    run_, references = run_recipe(
        path, args.out, steps, args.songs, args.out / "references", overrides, args.seed,
        on_stage=lambda r, stage: console.out.print(f"[bold]{stage}[/bold] ..."),
    )
    truth = [(label, reference_eval_stage(folder, [])) for label, folder in
             (("held-out songs", references.raw), ("held-out songs through the front end", references.codec))]
    pictures = draw_beats(run_.samples, recipe)
    rows = comparison_rows([(run_.name, run_.evaluation)], truth)
    console.out.print(table(rows, f"demo results ({args.songs} songs; FD uses an offline embedding, NOT comparable with published FAD)"))
    console.out.print(
        f"\ngenerated songs:  {run_.samples}/song_*/ (one WAV per track, mix.wav, mels.png, beats.png)\n"
        f"held-out songs:   {references.raw}\n"
        f"training run:     {run_.run} (checkpoints, log.jsonl, recipe.yaml)\n"
        f"evaluation:       {run_.evaluation} (and .csv, .per_song.csv)\n"
        f"beat pictures:    {len(pictures)} files, e.g. {pictures[0] if pictures else '-'}\n"
        f"time:             {time.monotonic() - started:.0f} s",
        markup=False,
    )
    return 0


def draw_beats(samples: Path, recipe) -> list[Path]:
    """``beats.png`` in every generated song folder: each track's mel with its detected beats."""
    from ..eval.cache import BeatCache, default_cache_root, file_digest
    from ..eval.extract import track_file
    from ..eval.layout import read_folder
    from ..interfaces import BeatTracker
    from ..plugin_manager import get_registry
    from ..recipe import build
    from ..eval.plots import plot_song_beats

    tracker = build("librosa", BeatTracker, get_registry())
    cache = BeatCache(default_cache_root(), tracker.settings())
    folder = read_folder(samples)
    written = []
    for song in folder.songs:
        beats = {}
        for name, file in song.tracks.items():
            digest = file_digest(file)
            found = cache.get(digest)
            beats[name] = found if found is not None else track_file(tracker, file)
        written.append(plot_song_beats(samples / song.name, list(folder.tracks), beats, samples / song.name / "beats.png"))
    return written
