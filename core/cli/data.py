"""``synctrack data prepare|inspect``: cache a dataset's resampled, grouped audio; summarise a recipe's data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..data.prepare import prepare
from ..data.songs import SongDataset
from ..errors import RecipeError, UserError
from ..interfaces import Dataset
from ..plugin_manager import get_registry
from ..recipe import build, load_recipe, looks_like_override
from . import console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="prepare datasets and inspect a recipe's data", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    prep = actions.add_parser(
        "prepare",
        help="cache resampled, grouped audio (resumable)",
        description="Decode, group and resample every song once into OUT (one WAV per track per song plus a "
        "manifest); point a recipe's data.root at OUT to train from it. Interrupted runs resume.",
    )
    prep.add_argument("dataset", help="dataset name: slakh or slakh_msdm")
    prep.add_argument("--root", type=Path, required=True, help="the dataset folder (e.g. slakh2100_flac_redux)")
    prep.add_argument("--out", type=Path, required=True, help="output folder (new, or an earlier run to resume)")
    prep.add_argument("--sr", type=int, default=16000, help="sample rate of the cache (default 16000)")
    prep.add_argument(
        "--groups",
        default=None,
        help="track slots: names 'bass,drums,guitar,piano' (default), or a YAML mapping (inline or a file) "
        "'{bass: {inst_class: [Bass]}, drums: {is_drum: true}}'",
    )
    prep.add_argument("--splits", default="train,validation,test", help="comma-separated splits (default: all three)")
    prep.add_argument(
        "--on-corrupt", choices=("error", "skip"), default="error", help="unreadable audio: stop (default) or skip the song with a warning"
    )
    prep.set_defaults(handler=run_prepare)

    inspect = actions.add_parser("inspect", help="summary of the data: section of a recipe")
    inspect.add_argument("recipe", help="recipe YAML file with a data: section")
    inspect.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="overrides, e.g. data.split=test")
    inspect.set_defaults(handler=run_inspect)


# -- prepare ---------------------------------------------------------------------------------------------------


def parse_groups(text: str | None) -> tuple[list[str] | None, dict[str, Any] | None]:
    """``--groups`` -> (tracks, groups): comma names, a YAML list, or a YAML mapping (text or file)."""
    if text is None:
        return None, None
    source = Path(text)
    where = f"--groups file {source}" if source.suffix in (".yaml", ".yml") or source.is_file() else "--groups"
    if source.suffix in (".yaml", ".yml") and not source.is_file():
        raise UserError(f"--groups file {source} not found")
    try:
        value = yaml.safe_load(source.read_text() if source.is_file() else text)
    except yaml.YAMLError as error:
        raise UserError(f"{where}: bad YAML ({error})") from None
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list) and value and all(isinstance(name, str) for name in value):
        return value, None
    if isinstance(value, dict) and value and all(isinstance(name, str) for name in value):
        return list(value), {name: spec or {} for name, spec in value.items()}
    raise UserError(
        f"{where}: expected track names 'bass,drums,guitar,piano' or a mapping "
        f"'{{bass: {{inst_class: [Bass]}}, drums: {{is_drum: true}}}}', got {value!r}"
    )


def build_for_prepare(name: str, root: Path, split: str, sample_rate: int, tracks, groups, on_corrupt: str) -> SongDataset:
    """The dataset of one split, with rules that keep every intact song (the reader applies the rest)."""
    node: dict[str, Any] = {
        "type": name,
        "root": str(root),
        "split": split,
        "sample_rate": sample_rate,
        "clip_seconds": 1.0 / sample_rate,  # one sample: no song is too short to cache
        "max_seconds": 1e12,
        "missing": "silent",
        "on_corrupt": on_corrupt,
    }
    if tracks is not None:
        node["tracks"] = tracks
    if groups is not None:
        node["groups"] = groups
    try:
        dataset = build(node, Dataset, get_registry())
    except RecipeError as error:
        raise UserError(f"data prepare {name}: {error}") from None
    if not isinstance(dataset, SongDataset):
        raise UserError(f"dataset {name!r} is not read from audio files, so there is nothing to prepare")
    dataset.reads_song_meta = False  # prepare copies the songs' meta files (Slakh's MIDI); it never reads them
    return dataset


def run_prepare(args: argparse.Namespace) -> int:
    if not args.root.is_dir():
        raise UserError(f"--root {args.root} is not a folder; give the dataset folder (e.g. .../slakh2100_flac_redux)")
    if args.sr <= 0:
        raise UserError(f"--sr must be a positive sample rate in Hz, got {args.sr}")
    tracks, groups = parse_groups(args.groups)
    splits = [split.strip() for split in args.splits.split(",") if split.strip()]
    datasets = []
    for split in splits:
        with console.err.status(f"indexing {args.root / split}"):
            dataset = build_for_prepare(args.dataset, args.root, split, args.sr, tracks, groups, args.on_corrupt)
            dataset.sources  # noqa: B018 - reads the folder now, inside the status spinner
        datasets.append(dataset)
    total = sum(len(dataset.sources) for dataset in datasets)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console.err, transient=False) as progress:
        task = progress.add_task(f"preparing {args.dataset} at {args.sr} Hz", total=total)
        report = prepare(datasets, args.out, args.dataset, on_song=lambda song: progress.advance(task))
    table = Table(title=f"prepared {args.out}", title_justify="left")
    for column in ("written now", "already done", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(str(report.written), str(report.reused), str(report.skipped))
    console.out.print(table)
    console.out.print(f"use it with: data: {{type: {args.dataset}, root: {args.out}, ...}}", markup=False)
    return 0


# -- inspect ---------------------------------------------------------------------------------------------------


def run_inspect(args: argparse.Namespace) -> int:
    bad = [text for text in args.overrides if not looks_like_override(text)]
    if bad:
        raise RecipeError(f"bad override {bad[0]!r}: expected KEY=VALUE or ~KEY after the recipe file")
    recipe = load_recipe(args.recipe, args.overrides)
    dataset = recipe.build("data")
    if dataset is None:
        raise UserError(f"{recipe.source} has no data: section; add one, e.g. data: {{type: synthetic, num_songs: 100}}")
    with console.err.status("reading the dataset"):
        summary = dataset.summary()
    node = recipe.get("data")
    kind = node if isinstance(node, str) else node.get("type")
    split = getattr(dataset, "split", "")
    overview = Table(title=f"data: {kind}" + (f" ({split})" if split else ""), title_justify="left", show_header=False)
    overview.add_column("what")
    overview.add_column("value", justify="right")
    overview.add_row("songs", str(summary.songs))
    overview.add_row("segments (items)", str(summary.segments))
    overview.add_row("total duration", _duration(summary.seconds))
    overview.add_row("sample rate", f"{dataset.sample_rate} Hz")
    if hasattr(dataset, "clip_seconds"):
        overview.add_row("clip", f"{dataset.clip_seconds:g} s")
    for reason, count in sorted(summary.dropped.items()):
        overview.add_row(f"dropped: {reason}", str(count))
    console.out.print(overview)
    tracks = Table(title="tracks", title_justify="left")
    for column in ("slot", "instrument id", "songs with audio", "share"):
        tracks.add_column(column, justify="right" if column != "slot" else "left")
    vocabulary = getattr(dataset, "vocabulary", dataset.track_names)
    for name in dataset.track_names:
        present = summary.present.get(name, 0)
        share = f"{100.0 * present / summary.songs:.0f}%" if summary.songs else "-"
        identifier = str(vocabulary.index(name)) if name in vocabulary else "-"
        tracks.add_row(name, identifier, f"{present}/{summary.songs}", share)
    console.out.print(tracks)
    return 0


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d} ({seconds:.1f} s)"
