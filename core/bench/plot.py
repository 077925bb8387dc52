"""Log-log plots of a sweep: time and peak memory against the track count, one line per series."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .results import _atomic_write

PANELS = (("time_ms", "time per call (ms)"), ("peak_mib", "peak memory added (MiB)"))
LINESTYLES = ("-", "--", ":", "-.")


def plot_against_tracks(
    rows: Sequence[dict[str, Any]],
    colour: Callable[[dict[str, Any]], str],
    path: Path,
    title: str,
    panels: Sequence[tuple[str, str]] = PANELS,
    style: Callable[[dict[str, Any]], str] | None = None,
) -> None:
    """Write a PNG with one log-log panel per ``(column, axis label)`` against ``tracks``.

    A line per ``(colour(row), style(row))`` pair: ``colour`` picks the colour (e.g. the mixer) and ``style``
    the line style (e.g. the backend). Only measured rows (status ``ok``) are drawn; skipped and failed
    cases leave a gap.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    style = style or (lambda row: "")
    measured = [row for row in rows if row.get("status") == "ok"]
    colours = list(dict.fromkeys(colour(row) for row in measured))
    styles = list(dict.fromkeys(style(row) for row in measured))
    tracks = sorted({row["tracks"] for row in rows})
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    figure, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels) + 3.2, 4.8), squeeze=False, layout="constrained")
    for axis, (column, label) in zip(axes[0], panels):
        for c, colour_name in enumerate(colours):
            for s, style_name in enumerate(styles):
                points = sorted(
                    (row["tracks"], row[column])
                    for row in measured
                    if colour(row) == colour_name and style(row) == style_name and row.get(column)
                )
                if points:
                    name = f"{colour_name} / {style_name}" if style_name else colour_name
                    axis.plot(*zip(*points), marker="o", color=f"C{c % 10}", linestyle=LINESTYLES[s % len(LINESTYLES)], label=name)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.xaxis.set_major_locator(FixedLocator(tracks))
        axis.xaxis.set_minor_locator(NullLocator())
        axis.xaxis.set_major_formatter(plain)
        axis.yaxis.set_major_formatter(plain)
        axis.yaxis.set_minor_formatter(plain if _narrow(axis) else FuncFormatter(lambda value, _: ""))
        axis.set_xlabel("tracks S")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    if colours:  # one legend for both panels, beside them, so it never hides a line
        figure.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    figure.suptitle(title, fontsize="medium")
    _atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=110))
    plt.close(figure)


def _narrow(axis: Any) -> bool:
    """A log axis spanning less than a decade shows no major tick; label its minor ticks instead."""
    low, high = axis.get_ylim()
    return low > 0 and high / low < 10
