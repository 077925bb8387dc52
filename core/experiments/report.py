"""The comparison of an ablation: one row per recipe (and the ground-truth rows), FD / IRS / CBS / CBD with
their confidence intervals, as a table, a CSV and a bar chart."""

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
)


@dataclass
class ComparisonRow:
    """One line of the comparison: ``values[column] = (mean, ci_low, ci_high)`` (None when absent)."""

    name: str
    kind: str  # "model" or "ground truth"
    values: dict[str, tuple[float, float, float] | None] = field(default_factory=dict)
    songs: int = 0


def _value(report: dict, metric: str, track: str, set_name: str = "generated") -> tuple[float, float, float] | None:
    for value in report.get("values", {}).get(set_name, []):
        if value["metric"] == metric and value["track"] == track and value["value"] is not None:
            low, high = value.get("ci_low"), value.get("ci_high")
            return (value["value"], math.nan if low is None else low, math.nan if high is None else high)
    return None


def row_from_report(name: str, kind: str, report_path: Path) -> ComparisonRow:
    report = json.loads(Path(report_path).read_text())
    values = {column: _value(report, metric, track) for column, metric, track, _ in COLUMNS}
    songs = len(report.get("songs", {}).get("generated", []))
    return ComparisonRow(name=name, kind=kind, values=values, songs=songs)


def comparison_rows(models: Sequence[tuple[str, Path]], ground_truth: Sequence[tuple[str, Path]]) -> list[ComparisonRow]:
    """Rows for ``(name, eval.json)`` of each model, then each ground-truth reference."""
    return [row_from_report(n, "model", p) for n, p in models] + [row_from_report(n, "ground truth", p) for n, p in ground_truth]


def _cell(value: tuple[float, float, float] | None) -> str:
    if value is None:
        return "-"
    mean, low, high = value
    interval = "" if math.isnan(low) or math.isnan(high) else f" [{low:.3f}, {high:.3f}]"
    return f"{mean:.3f}{interval}"


def table(rows: Sequence[ComparisonRow], title: str) -> Table:
    """The comparison as a rich table: mean [95% CI] per metric, arrows giving the better direction."""
    result = Table(title=title, title_justify="left")
    result.add_column("recipe")
    for column, _, _, better in COLUMNS:
        result.add_column(f"{column} {'↓' if better == 'lower' else '↑'}", justify="right")
    result.add_column("songs", justify="right")
    for row in rows:
        name = row.name if row.kind == "model" else f"[italic]{row.name}[/italic]"
        result.add_row(name, *(_cell(row.values.get(c)) for c, _, _, _ in COLUMNS), str(row.songs))
    return result


def to_csv(rows: Sequence[ComparisonRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["recipe", "kind", "songs"]
    for column, _, _, _ in COLUMNS:
        header += [column, f"{column}_ci_low", f"{column}_ci_high"]
    writer.writerow(header)
    for row in rows:
        line: list = [row.name, row.kind, row.songs]
        for column, _, _, _ in COLUMNS:
            line += list(row.values.get(column) or ("", "", ""))
        writer.writerow(line)
    return buffer.getvalue()


def bar_chart(rows: Sequence[ComparisonRow], path: Path, title: str) -> Path:
    """One panel per metric: a bar per row with its confidence interval (ground truth hatched)."""
    import numpy as np

    plt = pyplot()

    figure, axes = plt.subplots(1, len(COLUMNS), figsize=(3.2 * len(COLUMNS), 0.35 * len(rows) + 2.2), squeeze=False)
    positions = np.arange(len(rows))
    for axis, (column, _, _, better) in zip(axes[0], COLUMNS):
        means, errors = [], [[], []]
        for row in rows:
            value = row.values.get(column)
            mean, low, high = value if value is not None else (math.nan, math.nan, math.nan)
            means.append(mean)
            errors[0].append(0.0 if math.isnan(low) else max(mean - low, 0.0))
            errors[1].append(0.0 if math.isnan(high) else max(high - mean, 0.0))
        colours = ["#bbbbbb" if row.kind != "model" else "#3b6ea5" for row in rows]
        axis.barh(positions, means, xerr=errors, color=colours, hatch=None, capsize=3)
        axis.set_yticks(positions, [row.name for row in rows] if axis is axes[0][0] else [""] * len(rows))
        axis.invert_yaxis()
        axis.set_title(f"{column} ({better} is better)")
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
