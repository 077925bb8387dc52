"""Every song of every recipe and training seed next to the data's songs: the figure behind the table's means.

The comparison table gives a mean and an interval per recipe; ``songs.png`` shows what they summarise. One panel
per metric that has per-song values and speaks to synchrony or to the tracks staying distinct (CBS, CBD, beating
tracks, track correlation). Each recipe, and each ground-truth set, is a column; every song is a dot, coloured by
its training seed, and every seed's mean a short bar. Two ways a model can look in sync without being so show up
here and not in a mean: a seed that failed (its dots sit apart from the others') and tracks that copy each other
(track correlation above the data's column) or fall silent (fewer beating tracks than the data's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..figures import pyplot, save_figure
from .report import COLUMNS
from .seeds import per_song_values

FIGURE_COLUMNS = ("CBS", "CBD", "beating tracks", "track corr")
SEED_COLOURS = ("#3b6ea5", "#d1762b", "#4c9a52", "#b8474d", "#7d5ba6", "#8c6d46")
TRUTH_COLOUR = "#888888"


@dataclass(frozen=True)
class SongColumn:
    """One column of a panel: a recipe (one ``{song: value}`` per training seed) or a ground-truth set (one)."""

    name: str
    kind: str  # "model" or "ground truth"
    seeds: tuple[dict[str, float], ...]

    def seed_means(self) -> list[float]:
        """The mean over songs of each seed that scored any song."""
        return [float(np.mean(list(values.values()))) for values in self.seeds if values]


def song_columns(per_seed: Sequence[Sequence[tuple[str, Path]]], truth: Sequence[tuple[str, Path]],
                 column: str) -> list[SongColumn]:
    """The columns of one panel: every recipe over its seeds, then every ground-truth set.

    ``per_seed[k]`` holds ``(recipe name, evaluation report)`` of seed k (as ``synctrack ablate`` gathers them);
    ``truth`` holds ``(label, evaluation report)`` of the held-out sets. ``column`` is a comparison column name.
    """
    metric, track = next((metric, track) for name, metric, track, _ in COLUMNS if name == column)
    names = [name for name, _ in per_seed[0]] if per_seed else []
    columns = [SongColumn(name, "model", tuple(per_song_values(dict(models)[name], metric, track) for models in per_seed))
               for name in names]
    columns += [SongColumn(label, "ground truth", (per_song_values(path, metric, track),)) for label, path in truth]
    return columns


def song_spread_figure(per_seed: Sequence[Sequence[tuple[str, Path]]], truth: Sequence[tuple[str, Path]],
                       title: str):
    """The figure (not saved): one panel per :data:`FIGURE_COLUMNS` entry that any report has values for."""
    plt = pyplot()
    panels = [(column, song_columns(per_seed, truth, column)) for column in FIGURE_COLUMNS]
    panels = [(column, columns) for column, columns in panels if any(any(seed) for c in columns for seed in c.seeds)]
    width = max((len(columns) for _, columns in panels), default=1)
    figure, axes = plt.subplots(1, max(len(panels), 1), figsize=(2.2 + 1.0 * width * max(len(panels), 1), 4.2),
                                squeeze=False)
    jitter = np.random.default_rng(0)  # fixed: the same reports draw the same figure
    for axis, (column, columns) in zip(axes[0], panels):
        for position, song_column in enumerate(columns):
            seeds = len(song_column.seeds)
            for seed, values in enumerate(song_column.seeds):
                if not values:
                    continue
                colour = TRUTH_COLOUR if song_column.kind != "model" else SEED_COLOURS[seed % len(SEED_COLOURS)]
                # seeds side by side within the column, songs jittered within the seed's slot
                centre = position + (seed - (seeds - 1) / 2) * (0.6 / max(seeds, 1))
                spread = 0.25 / max(seeds, 1)
                points = np.array(list(values.values()))
                axis.scatter(centre + jitter.uniform(-spread, spread, len(points)), points, s=9, alpha=0.55,
                             color=colour, linewidths=0)
                axis.hlines(points.mean(), centre - spread * 1.4, centre + spread * 1.4, color=colour, linewidth=2.2)
        axis.set_xticks(range(len(columns)), [c.name for c in columns], rotation=35, ha="right", fontsize=8)
        better = next(b for name, _, _, b in COLUMNS if name == column)
        axis.set_title(f"{column} ({'closest to the data' if better == 'data' else better + ' is better'})", fontsize=9)
        axis.grid(axis="y", alpha=0.3)
    seeds = len(per_seed)
    figure.suptitle(f"{title}\nevery song a dot, every training seed's mean a bar"
                    + (f" (seeds 0-{seeds - 1} in colour order)" if seeds > 1 else ""), fontsize=10)
    figure.tight_layout()
    return figure


def write_song_spread(per_seed: Sequence[Sequence[tuple[str, Path]]], truth: Sequence[tuple[str, Path]],
                      path: Path, title: str) -> Path:
    """Draw :func:`song_spread_figure` to ``path`` (atomically)."""
    return save_figure(song_spread_figure(per_seed, truth, title), path, dpi=90)
