"""Several training seeds per recipe: pooled rows and paired differences against a baseline recipe.

``synctrack ablate --seeds K`` trains every recipe K times (``train.seed`` + k) and samples seed k's songs with
sampling seed + k, so song ``i`` of seed ``k`` starts from the same initial noise in every recipe. Two recipes
are then compared song by song: for each metric with per-song values (IRS, CBS, CBD, beating tracks, track
correlation; FD is a statistic of a whole set and has none), the difference ``recipe - baseline`` on every
``(seed, song)`` that both scored, averaged. Its interval comes from a two-stage bootstrap: draw K seeds with
replacement, then within each drawn seed its songs with replacement, so the interval carries both the spread
between training runs and the spread between songs. A difference whose interval excludes zero is resolved.

The sync gap closed gets the same interval (:func:`gap_closed_intervals`): the paired ``(recipe, baseline)``
songs are drawn together, the target (held-out songs through the front end) stays fixed, as in the table.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..reports.comparison import GAP_SUFFIX
from .report import (COLUMNS, GAP_METRICS, ComparisonRow, GapReference, comparison_rows, fill_gap_closed,
                     metric_value, percent_of_gap, row_from_report)

RESAMPLES = 2000
CONFIDENCE = 0.95


def per_song_values(report_path: Path, metric: str, track: str) -> dict[str, float]:
    """``{song: value}`` of one metric of an evaluation report's generated set (NaN songs left out)."""
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    for value in report.get("values", {}).get("generated", []):
        if value["metric"] == metric and value["track"] == track:
            return {song: float(number) for song, number in (value.get("per_song") or {}).items()
                    if number is not None and not math.isnan(float(number))}
    return {}


def two_stage_bootstrap(groups: Sequence[np.ndarray], resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                        seed: int = 0, statistic: Callable[[np.ndarray], float] = np.mean) -> tuple[float, float, float]:
    """``statistic`` of all rows of ``groups`` (one ``[n_k]`` or ``[n_k, ...]`` array of songs per seed; default:
    their mean) and its percentile interval when seeds, then the songs within each drawn seed, are resampled with
    replacement. NaN when there is no song."""
    groups = [np.asarray(group, dtype=np.float64) for group in groups if len(group)]
    if not groups:
        return math.nan, math.nan, math.nan
    estimate = float(statistic(np.concatenate(groups)))
    rng = np.random.default_rng(seed)
    statistics = np.empty(resamples)
    for index in range(resamples):
        drawn = [groups[k] for k in rng.integers(0, len(groups), len(groups))]
        statistics[index] = statistic(np.concatenate([group[rng.integers(0, len(group), len(group))] for group in drawn]))
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(statistics, [tail, 100.0 - tail])
    return estimate, float(low), float(high)


@dataclass(frozen=True)
class PairedDifference:
    """``recipe - baseline`` on one metric: the mean over paired ``(seed, song)`` values and its interval."""

    recipe: str
    baseline: str
    column: str  # the comparison table's column: "CBS", "CBD", ...
    mean: float
    ci_low: float
    ci_high: float
    pairs: int  # (seed, song) pairs both recipes scored
    seeds: int

    @property
    def resolved(self) -> bool:
        """The interval excludes zero (a difference at all, not "which is better": see the column's arrow)."""
        return self.pairs > 0 and (self.ci_low > 0 or self.ci_high < 0)


def paired_differences(reports: Mapping[str, Sequence[Path]], baseline: str, seed: int = 0) -> list[PairedDifference]:
    """Every recipe of ``reports`` (``{name: [eval.json of seed 0, seed 1, ...]}``) against ``baseline``, for
    each column of the comparison that has per-song values."""
    if baseline not in reports:
        raise KeyError(f"no baseline recipe named {baseline!r}; recipes: {', '.join(reports)}")
    differences = []
    for name, paths in reports.items():
        if name == baseline:
            continue
        for column, metric, track, _ in COLUMNS:
            groups = [songs[:, 0] - songs[:, 1]
                      for songs in (_paired_songs(ours, theirs, metric, track) for ours, theirs in zip(paths, reports[baseline]))]
            pairs = sum(len(group) for group in groups)
            if pairs == 0:
                continue  # no per-song values (FD), or no song both scored
            mean, low, high = two_stage_bootstrap(groups, seed=seed)
            differences.append(PairedDifference(name, baseline, column, mean, low, high, pairs,
                                                sum(1 for group in groups if len(group))))
    return differences


def _paired_songs(ours: Path, theirs: Path, metric: str, track: str) -> np.ndarray:
    """``[n, 2]``: (ours, theirs) of one metric on every song both reports scored."""
    mine, base = per_song_values(ours, metric, track), per_song_values(theirs, metric, track)
    return np.array([[mine[song], base[song]] for song in sorted(mine.keys() & base.keys())]).reshape(-1, 2)


def gap_closed_intervals(reports: Mapping[str, Sequence[Path]], baseline: str, target: Path,
                         seed: int = 0) -> list[PairedDifference]:
    """The sync gap closed (percent, ``100 (recipe - baseline) / (target - baseline)``, CBS and CBD) of every
    recipe of ``reports`` but ``baseline``, over the songs both scored, with the two-stage interval: seeds, then
    the songs within them, drawn with the recipe's and the baseline's value of a song together (they share its
    initial noise). ``target`` (one evaluation, the held-out songs through the front end) is the fixed end of
    the gap, as in the comparison table. Returned as :class:`PairedDifference` rows whose column is
    ``"<metric> gap closed %"``."""
    differences = []
    columns = {column: (metric, track) for column, metric, track, _ in COLUMNS}
    goals = {column: list(per_song_values(target, *columns[column]).values()) for column in GAP_METRICS}
    for name, paths in reports.items():
        if name == baseline:
            continue
        for column, goal_values in goals.items():
            groups = [_paired_songs(ours, theirs, *columns[column]) for ours, theirs in zip(paths, reports[baseline])]
            pairs = sum(len(group) for group in groups)
            if pairs == 0 or not goal_values:
                continue

            def closed(rows: np.ndarray, goal: float = float(np.mean(goal_values))) -> float:
                percent = percent_of_gap(rows[:, 0].mean(), rows[:, 1].mean(), goal)
                return math.nan if percent is None else percent

            percent, low, high = two_stage_bootstrap(groups, seed=seed, statistic=closed)
            differences.append(PairedDifference(name, baseline, f"{column}{GAP_SUFFIX}", percent, low, high, pairs,
                                                sum(1 for group in groups if len(group))))
    return differences


def pooled_row(name: str, paths: Sequence[Path], seed: int = 0) -> ComparisonRow:
    """One recipe over all its seeds: every per-song metric's mean over ``(seed, song)`` with the two-stage
    interval; FD (no per-song values) is the mean of the seeds' FDs, without an interval."""
    values: dict[str, tuple[float, float, float] | None] = {}
    songs = 0
    for column, metric, track, _ in COLUMNS:
        groups = [np.array(list(per_song_values(path, metric, track).values())) for path in paths]
        if any(len(group) for group in groups):
            values[column] = two_stage_bootstrap(groups, seed=seed)
            songs = max(songs, sum(len(group) for group in groups))
            continue
        per_seed = [metric_value(json.loads(Path(path).read_text(encoding="utf-8")), metric, track) for path in paths]
        means = [value[0] for value in per_seed if value is not None]
        values[column] = (float(np.mean(means)), math.nan, math.nan) if means else None
    return ComparisonRow(name=name, kind="model", values=values, songs=songs)


def _cell(difference: PairedDifference) -> str:
    if difference.column.endswith(GAP_SUFFIX):  # a percentage of the gap, not a difference of the metric
        return f"{difference.mean:.0f}% [{difference.ci_low:.0f}, {difference.ci_high:.0f}]"
    mark = " *" if difference.resolved else ""
    return f"{difference.mean:+.3f} [{difference.ci_low:+.3f}, {difference.ci_high:+.3f}]{mark}"


def paired_table(differences: Sequence[PairedDifference], title: str):
    """A rich table: one row per recipe, one column per metric (then the gap closed, when given); ``*`` marks a
    difference whose interval excludes zero."""
    from rich.table import Table

    columns = list(dict.fromkeys(d.column for d in differences))
    table = Table(title=title)
    table.add_column("recipe - baseline")
    for column in columns:
        heading = column.replace(GAP_SUFFIX, " gap closed") if column.endswith(GAP_SUFFIX) else f"Δ {column}"
        table.add_column(heading, justify="right")
    table.add_column("pairs", justify="right")
    for recipe in dict.fromkeys(d.recipe for d in differences):
        mine = {d.column: d for d in differences if d.recipe == recipe}
        first = next(iter(mine.values()))
        table.add_row(f"{recipe} - {first.baseline}", *[_cell(mine[c]) if c in mine else "-" for c in columns],
                      f"{first.pairs} ({first.seeds} seeds)")
    return table


def paired_csv(differences: Sequence[PairedDifference]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["recipe", "baseline", "metric", "difference", "ci_low", "ci_high", "excludes_zero", "pairs", "seeds"])
    for d in differences:
        writer.writerow([d.recipe, d.baseline, d.column, d.mean, d.ci_low, d.ci_high, d.resolved, d.pairs, d.seeds])
    return buffer.getvalue()


def seeded_rows(per_seed: Sequence[Sequence[tuple[str, Path]]], truth: Sequence[tuple[str, Path]],
                gap: GapReference | None) -> list[ComparisonRow]:
    """The comparison of ``--seeds K``: each recipe pooled over its seeds (:func:`pooled_row`), the ground-truth
    rows, then every seed's own rows (named ``"<recipe> (seed k)"``, kind ``"seed"``), each set with its sync gap
    closed. ``per_seed[k]`` holds ``(name, eval.json)`` of every recipe for seed k."""
    names = [name for name, _ in per_seed[0]]
    pooled = [pooled_row(name, [dict(models)[name] for models in per_seed]) for name in names]
    rows = pooled + [row_from_report(label, "ground truth", path) for label, path in truth]
    if gap is not None:
        fill_gap_closed(rows, gap)
    for seed, models in enumerate(per_seed):
        own = comparison_rows(models, truth, gap)[: len(models)]
        for row in own:
            row.name, row.kind = f"{row.name} (seed {seed})", "seed"
        rows += own
    return rows
