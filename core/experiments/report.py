"""The comparison of an ablation: one row per recipe (and the ground-truth rows), FD / IRS / CBS / CBD with
their confidence intervals, the two figures that expose a model winning by silencing or copying tracks
(beating tracks per song, track correlation), and the sync gap closed against a baseline recipe; as a
table, a CSV and a bar chart.

The **sync gap closed** of a model, for CBS and for CBD, is ``(model - baseline) / (target - baseline)``
in percent, where the baseline is the recipe without cross-track exchange and the target is the held-out
songs through the front end (the best any of these models could sound). It counts only where the model's
and the baseline's mean beating tracks per song are each within one track of the target's: CBS rises when
fewer tracks beat, so a model that silences a track would otherwise look more in sync.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from ..figures import pyplot, save_figure

# (column, metric in the evaluation report, track, better)
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("FD", "fad", "mix", "lower"),
    ("IRS", "irs", "all", "lower"),
    ("CBS", "cbs", "all", "higher"),
    ("CBD", "cbd", "all", "lower"),
    ("beating tracks", "beating_tracks", "all", "data"),
    ("track corr", "track_correlation", "all", "data"),  # tracks as alike as the data's: lower is not better
)
GAP_METRICS = ("CBS", "CBD")
BEATING_TOLERANCE = 1.0  # tracks: the most a model's mean beating tracks may differ from the target's


@dataclass
class ComparisonRow:
    """One line of the comparison: ``values[column] = (mean, ci_low, ci_high)`` (None when absent)."""

    name: str
    kind: str  # "model" or "ground truth"
    values: dict[str, tuple[float, float, float] | None] = field(default_factory=dict)
    songs: int = 0
    gap_closed: dict[str, float | None] = field(default_factory=dict)  # "CBS"/"CBD" -> percent
    gap_note: str = ""  # why there is no gap figure, or "baseline" / "target"
    # songs with fewer beating tracks than track slots (the evaluation's flagged songs); None: not in the report
    flagged_songs: int | None = None


@dataclass(frozen=True)
class GapReference:
    """The two ends of the sync gap: the ``baseline`` row's name and the ``target`` row's name."""

    baseline: str
    target: str


def metric_value(report: dict, metric: str, track: str, set_name: str = "generated") -> tuple[float, float, float] | None:
    for value in report.get("values", {}).get(set_name, []):
        if value["metric"] == metric and value["track"] == track and value["value"] is not None:
            low, high = value.get("ci_low"), value.get("ci_high")
            return (value["value"], math.nan if low is None else low, math.nan if high is None else high)
    return None


def row_from_report(name: str, kind: str, report_path: Path) -> ComparisonRow:
    report = json.loads(Path(report_path).read_text())
    values = {column: metric_value(report, metric, track) for column, metric, track, _ in COLUMNS}
    songs = len(report.get("songs", {}).get("generated", []))
    flagged = report.get("beating_tracks", {}).get("generated", {}).get("flagged")
    return ComparisonRow(name=name, kind=kind, values=values, songs=songs, flagged_songs=flagged)


def comparison_rows(
    models: Sequence[tuple[str, Path]],
    ground_truth: Sequence[tuple[str, Path]],
    gap: GapReference | None = None,
) -> list[ComparisonRow]:
    """Rows for ``(name, eval.json)`` of each model, then each ground-truth reference; with ``gap``, every
    model row also gets its sync gap closed (:func:`fill_gap_closed`)."""
    rows = [row_from_report(n, "model", p) for n, p in models] + [row_from_report(n, "ground truth", p) for n, p in ground_truth]
    if gap is not None:
        fill_gap_closed(rows, gap)
    return rows


def default_baseline(names: Sequence[str]) -> str | None:
    """The recipe without cross-track exchange among ``names``: the one whose name ends in ``no-mixers``."""
    found = [name for name in names if name.endswith("no-mixers")]
    return found[0] if len(found) == 1 else None


TARGET_LABEL = "held-out songs through the front end"


def gap_reference(baseline: str | None, models: Sequence[str], truth: Sequence[str]) -> tuple[GapReference | None, str]:
    """The gap's two ends for these rows, or None and the reason there is no gap to measure."""
    if baseline is None:
        return None, "no recipe is named *no-mixers; name the baseline with --baseline NAME"
    if baseline not in models:
        return None, f"the baseline {baseline!r} has no evaluation (its run failed)"
    if TARGET_LABEL not in truth:
        return None, "the recipes have different front ends, so there is no single held-out target"
    return GapReference(baseline, TARGET_LABEL), ""


def _mean(row: ComparisonRow, column: str) -> float | None:
    value = row.values.get(column)
    return None if value is None or math.isnan(value[0]) else value[0]


def percent_of_gap(ours: float, baseline: float, target: float) -> float | None:
    """``100 (ours - baseline) / (target - baseline)``; None when the two ends coincide."""
    span = target - baseline
    return 100.0 * (ours - baseline) / span if span else None


def fill_gap_closed(rows: Sequence[ComparisonRow], gap: GapReference) -> None:
    """Set ``gap_closed`` (percent per metric of :data:`GAP_METRICS`) or ``gap_note`` on every model row.

    Raises KeyError when the baseline or the target row is missing (a wrong ``--baseline`` name).
    """
    by_name = {row.name: row for row in rows}
    for role, name in (("baseline", gap.baseline), ("target", gap.target)):
        if name not in by_name:
            raise KeyError(f"no {role} row named {name!r}; rows: {', '.join(by_name)}")
    baseline, target = by_name[gap.baseline], by_name[gap.target]
    baseline.gap_note, target.gap_note = "baseline", "target"
    target_beating = _mean(target, "beating tracks")

    def beating_problem(row: ComparisonRow) -> str | None:
        ours = _mean(row, "beating tracks")
        if target_beating is None or ours is None:
            return "no beating-track count"
        if abs(ours - target_beating) > BEATING_TOLERANCE:
            return f"{ours:.1f} beating tracks against the data's {target_beating:.1f}"
        return None

    baseline_problem = beating_problem(baseline)
    for row in rows:
        if row.kind != "model" or row is baseline:
            continue
        problem = beating_problem(row) or (baseline_problem and f"baseline: {baseline_problem}")
        if problem:
            row.gap_note = problem
            continue
        for column in GAP_METRICS:
            ours, low, high = _mean(row, column), _mean(baseline, column), _mean(target, column)
            row.gap_closed[column] = None if None in (ours, low, high) else percent_of_gap(ours, low, high)


def _cell(value: tuple[float, float, float] | None) -> str:
    if value is None:
        return "-"
    mean, low, high = value
    interval = "" if math.isnan(low) or math.isnan(high) else f" [{low:.3f}, {high:.3f}]"
    return f"{mean:.3f}{interval}"


def _arrow(better: str) -> str:
    return {"lower": " ↓", "higher": " ↑"}.get(better, "")


def gap_cell(row: ComparisonRow) -> str:
    """``"CBS 61% / CBD 72%"``, or why there is none (``"baseline"``, a beating-track mismatch)."""
    if row.gap_closed:
        return " / ".join(f"{c} {'-' if v is None else f'{v:.0f}%'}" for c, v in row.gap_closed.items())
    return row.gap_note if row.kind == "model" else ""


WIDE_TABLE = 140  # columns the full table (every interval on one line) needs; narrower gets the compact one
SHORT_HEADERS = {"beating tracks": "beats", "track corr": "corr"}


def table(rows: Sequence[ComparisonRow], title: str, width: int | None = None) -> Table:
    """The comparison as a rich table: mean [95% CI] per metric, arrows giving the better direction, and the
    sync gap closed when the rows have one. Below :data:`WIDE_TABLE` columns of ``width`` it is
    :func:`compact_table` (means only, one line per row), since nine folded columns cannot be read."""
    if width is not None and width < WIDE_TABLE:
        return compact_table(rows, title, width)
    present = [spec for spec in COLUMNS if any(row.values.get(spec[0]) is not None for row in rows)] or list(COLUMNS[:4])
    caption = None
    if any(spec[0] == "FD" for spec in present) and any(row.kind != "model" for row in rows):
        caption = ("FD compares each model's songs with the held-out songs through the same front end; the held-out "
                   "rows are that reference, so their FD is '-'")
    result = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    result.add_column("recipe")
    for column, _, _, better in present:
        result.add_column(f"{column}{_arrow(better)}", justify="right")
    with_gap = any(row.gap_closed or row.gap_note for row in rows)
    if with_gap:
        result.add_column("sync gap closed", justify="right")
    result.add_column("songs", justify="right")
    for row in rows:
        name = row.name if row.kind == "model" else f"[italic]{row.name}[/italic]"
        cells = [_cell(row.values.get(c)) + (_flagged(row) if c == "beating tracks" else "") for c, _, _, _ in present]
        result.add_row(name, *cells, *([gap_cell(row)] if with_gap else []), str(row.songs))
    return result


def _flagged(row: ComparisonRow) -> str:
    """``" (2 of 16 songs short)"``: the songs where not every track beats, when there are any."""
    if not row.flagged_songs:
        return ""
    return f" ({row.flagged_songs} of {row.songs} songs short)"


def compact_table(rows: Sequence[ComparisonRow], title: str, width: int) -> Table:
    """Means only, short headers, light borders, names cut to fit: one line per row in ``width`` columns.
    The caption says where the intervals are (comparison.csv, or the full table in a wider terminal)."""
    from rich import box

    present = [spec for spec in COLUMNS if any(row.values.get(spec[0]) is not None for row in rows)] or list(COLUMNS[:4])
    with_gap = any(row.gap_closed or row.gap_note for row in rows)
    counts = {row.songs for row in rows}
    notes = ["means only at this width: the 95% intervals are in comparison.csv (or widen the terminal to "
             f"{WIDE_TABLE} columns)"]
    if len(counts) == 1:
        notes.append(f"{counts.pop()} songs each")
    if any(spec[0] == "FD" for spec in present) and any(row.kind != "model" for row in rows):
        notes.append("FD of the held-out rows is '-': they are its reference")
    result = Table(title=title, title_justify="left", caption="; ".join(notes), caption_justify="left",
                   box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True)
    numbers = 7 * len(present) + (12 if with_gap else 0) + (7 if len(counts) > 1 else 0)  # cells and padding
    result.add_column("recipe", no_wrap=True, overflow="ellipsis", max_width=max(12, width - numbers - 2))
    for column, _, _, better in present:
        result.add_column(f"{SHORT_HEADERS.get(column, column)}{_arrow(better).strip()}", justify="right", no_wrap=True,
                          min_width=5)
    if with_gap:
        result.add_column("gap closed", justify="right", no_wrap=True, min_width=9, max_width=11, overflow="ellipsis")
    if len(counts) > 1:
        result.add_column("songs", justify="right")
    for row in rows:
        name = row.name if row.kind == "model" else f"[italic]{row.name}[/italic]"
        cells = ["-" if row.values.get(c) is None else f"{row.values[c][0]:.3f}" for c, _, _, _ in present]
        gap = [_compact_gap(row)] if with_gap else []
        result.add_row(name, *cells, *gap, *([str(row.songs)] if len(counts) > 1 else []))
    return result


def _compact_gap(row: ComparisonRow) -> str:
    """``"19% / 20%"`` (CBS / CBD) or the short reason there is none."""
    if row.gap_closed:
        return " / ".join("-" if v is None else f"{v:.0f}%" for v in row.gap_closed.values())
    return row.gap_note if row.kind == "model" else ""


def to_csv(rows: Sequence[ComparisonRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["recipe", "kind", "songs"]
    for column, _, _, _ in COLUMNS:
        header += [column, f"{column}_ci_low", f"{column}_ci_high"]
    header += [f"{column}_gap_closed_percent" for column in GAP_METRICS] + ["gap_note"]
    writer.writerow(header)
    for row in rows:
        line: list = [row.name, row.kind, row.songs]
        for column, _, _, _ in COLUMNS:
            line += list(row.values.get(column) or ("", "", ""))
        line += ["" if row.gap_closed.get(c) is None else round(row.gap_closed[c], 2) for c in GAP_METRICS]
        line.append(row.gap_note)
        writer.writerow(line)
    return buffer.getvalue()


def bar_chart(rows: Sequence[ComparisonRow], path: Path, title: str) -> Path:
    """One panel per metric: a bar per row with its confidence interval (ground truth in grey); a missing
    value is written "n/a" where its bar would be, so it never reads as a real 0."""
    import numpy as np

    plt = pyplot()

    columns = [spec for spec in COLUMNS if any(row.values.get(spec[0]) is not None for row in rows)] or list(COLUMNS[:4])
    figure, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 0.35 * len(rows) + 2.2), squeeze=False)
    positions = np.arange(len(rows))
    for axis, (column, _, _, better) in zip(axes[0], columns):
        means, errors = [], [[], []]
        for row in rows:
            value = row.values.get(column)
            mean, low, high = value if value is not None else (math.nan, math.nan, math.nan)
            means.append(mean)
            errors[0].append(0.0 if math.isnan(low) else max(mean - low, 0.0))
            errors[1].append(0.0 if math.isnan(high) else max(high - mean, 0.0))
        colours = ["#bbbbbb" if row.kind != "model" else "#3b6ea5" for row in rows]
        axis.barh(positions, means, xerr=errors, color=colours, capsize=3)
        for position, mean in zip(positions, means):
            if math.isnan(mean):
                axis.annotate("n/a", (0, position), xytext=(3, 0), textcoords="offset points", va="center",
                              color="#888888", fontstyle="italic")
        axis.set_yticks(positions, [row.name for row in rows] if axis is axes[0][0] else [""] * len(rows))
        axis.invert_yaxis()
        axis.set_title(f"{column} ({'closest to the data' if better == 'data' else better + ' is better'})")
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


def write_comparison(rows: Sequence[ComparisonRow], out: Path, title: str) -> dict[str, Path]:
    """``out/comparison.csv`` and ``out/comparison.png``; returns their paths."""
    from ..files import write_text_atomically

    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "comparison.csv"
    write_text_atomically(csv_path, to_csv(rows))
    return {"csv": csv_path, "png": bar_chart(rows, out / "comparison.png", title)}
