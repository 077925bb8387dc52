"""The page of an ablation or demo folder: the recipes' songs from the same initial noise, side by side.

``synctrack ablate`` and ``synctrack demo`` leave ``<out>/<recipe>/samples/`` (the songs), ``<out>/<recipe>/
eval-<tracker>.json`` (their evaluation), ``<out>/<recipe>/samples/sampling.json`` (the checkpoint and the resolved
recipe), ``<out>/references/<kind>-<hash>/`` (held-out songs, raw and through the front end), ``<out>/comparison.csv``
/ ``comparison.png`` and ``<out>/comparison.json`` (the command line). The page puts song ``i`` of every recipe in
one row, so a listener compares with and without a mixer on the same song, and the held-out songs below,
labelled; each recipe's resolved YAML is one collapsible block.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..files import write_text_atomically
from .collect import RunView, collect, evaluation_reports
from .page import PAGE, environment, number

COMPARISON_TABLE = "comparison.csv"
PAIRED_TABLE = "paired.csv"  # written by ablate (core/experiments/seeds.py)
GAP_SUFFIX = " gap closed %"  # paired.csv rows of a recipe's sync gap closed: a percentage, not a difference
SONG_SPREAD = "songs.png"  # written by ablate (core/experiments/song_spread.py)
COMPARISON_RECORD = "comparison.json"  # {"command": ...}: what made the folder, for the page
REFERENCE_LABELS = {"raw": "held-out songs", "codec": "held-out songs through the front end"}


@dataclass
class ComparisonView:
    title: str
    columns: list[str]  # the comparison table's header
    rows: list[list[str]]  # its cells, numbers formatted with their intervals
    picture: str | None
    recipes: list[tuple[str, RunView]]  # song paths relative to the page
    references: list[tuple[str, RunView]]
    song_names: list[str]
    command: str | None = None  # the ablate or demo command line
    paired: list[list[str]] | None = None  # paired.csv's rows: recipe - baseline, metric, difference [interval], mark
    song_spread: str | None = None  # songs.png: every song of every recipe and seed, next to the held-out sets


def _relative(view: RunView, prefix: str) -> RunView:
    """``view`` with every song link made relative to the folder ``prefix`` levels up."""
    for song in view.songs:
        song.tracks = [(name, f"{prefix}/{path}") for name, path in song.tracks]
        song.picture = f"{prefix}/{song.picture}" if song.picture else None
    return view


def _table(path: Path) -> tuple[list[str], list[list[str]]]:
    """comparison.csv as a header and rows, each metric with its interval in one cell."""
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    if not records:
        return [], []
    fields = list(records[0])
    metrics = [name for name in fields if f"{name}_ci_low" in fields]
    extra = [name for name in fields if name.endswith("_gap_closed_percent")]
    header = ["recipe", "kind", "songs", *metrics, *[name.replace("_gap_closed_percent", " gap closed") for name in extra]]
    rows = []
    for record in records:
        cells = [record["recipe"], record["kind"], record["songs"]]
        for name in metrics:
            value = record[name]
            cells.append("-" if value == "" else f"{number(float(value))} [{number(float(record[name + '_ci_low']))}, "
                                                    f"{number(float(record[name + '_ci_high']))}]")
        cells += [f"{float(record[name]):.0f}%" if record[name] else "" for name in extra]
        rows.append(cells)
    return header, rows


def _paired(path: Path) -> list[list[str]] | None:
    """paired.csv (``ablate``: each recipe minus the baseline, song by song) as display rows, or None."""
    if not path.is_file():
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    rows = []
    for r in records:
        value, low, high = (float(r[key]) for key in ("difference", "ci_low", "ci_high"))
        if r["metric"].endswith(GAP_SUFFIX):
            cells = [r["metric"].replace(GAP_SUFFIX, " gap closed"), f"{value:.0f}% [{low:.0f}, {high:.0f}]", ""]
        else:
            cells = [r["metric"], f"{value:+.3f} [{low:+.3f}, {high:+.3f}]", "excludes 0" if r["excludes_zero"] == "True" else ""]
        rows.append([f"{r['recipe']} - {r['baseline']}", *cells, f"{r['pairs']} ({r['seeds']} seed(s))"])
    return rows


def is_comparison(folder: Path) -> bool:
    return (folder / COMPARISON_TABLE).is_file()


def collect_comparison(folder: Path) -> ComparisonView:
    """Read an ablation or demo output folder (see the module doc)."""
    header, rows = _table(folder / COMPARISON_TABLE)
    names = [row[0] for row in rows if row[1] == "model"] or sorted(p.name for p in folder.iterdir() if (p / "samples").is_dir())
    recipes = []
    for name in names:
        # ``ablate --seeds K`` keeps each seed's runs under seed-<k>/: the page plays the first seed's songs
        where = next((base for base in (folder, folder / "seed-0") if (base / name / "samples").is_dir()), None)
        if where is not None:
            reports = evaluation_reports(where / name)
            prefix = (where / name / "samples").relative_to(folder).as_posix()
            recipes.append((name, _relative(collect(where / name / "samples", reports[0] if reports else None), prefix)))
    references = []
    for path in sorted((folder / "references").glob("*-*")) if (folder / "references").is_dir() else []:
        label = REFERENCE_LABELS.get(path.name.split("-", 1)[0], path.name)
        references.append((label, _relative(collect(path), f"references/{path.name}")))
    songs = [song.name for song in recipes[0][1].songs] if recipes else []
    record_path = folder / COMPARISON_RECORD
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
    return ComparisonView(folder.name, header, rows, COMPARISON_TABLE.replace(".csv", ".png")
                          if (folder / "comparison.png").is_file() else None, recipes, references, songs,
                          record.get("command"), _paired(folder / PAIRED_TABLE),
                          SONG_SPREAD if (folder / SONG_SPREAD).is_file() else None)


def write_comparison_page(folder: str | os.PathLike, command: str | None = None) -> Path:
    """Write ``folder/index.html`` for an ablation or demo folder; returns its path.

    ``command`` (the command line that made the folder) is kept in ``comparison.json`` so that ``synctrack
    report`` shows it again when it rebuilds the page.
    """
    folder = Path(folder)
    if command is not None:
        write_text_atomically(folder / COMPARISON_RECORD, json.dumps({"command": command}, indent=2) + "\n")
    view = collect_comparison(folder)
    songs = {name: {song.name: song for song in run.songs} for name, run in view.recipes}
    html = environment().get_template("comparison.html.j2").render(view=view, songs=songs, number=number)
    return write_text_atomically(folder / PAGE, html)
