"""synctrack probe RUN...: how far a checkpoint is towards tracks in sync, in well under a minute.

For each run folder (or checkpoint folder), the latest checkpoint's EMA weights sample --songs songs from a
fixed seed; each track's mel gives an onset envelope, and the sync score is the lag-0 minus off-beat
correlation of the envelopes of every pair of tracks (held-out songs of the synthetic world: about 0.8;
independent tracks: about 0). The clean-estimate error at four fixed data-unit noise levels comes with it.
No vocoder and no beat tracker: it is a learning-speed probe, CBS / CBD (synctrack eval) stay the ruler.

--curve reads instead the probe events a run logged while training (train.probe_every), prints
the learning curve with the training minutes to --target (a fraction of the data's sync), and draws it
to RUN/probe-curve.png; --plot FILE also draws every run's sync and periodicity in one figure.

Examples:
  synctrack probe runs/bench runs/bench-no-mixers --songs 8
  synctrack train recipes/bench/synctrack.yaml --out runs/b train.probe_every=50
  synctrack probe runs/b --curve --target 0.5
  synctrack probe runs/a runs/b --curve --plot runs/compare.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.table import Table

from ..errors import UserError
from . import console
from .arguments import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("probe", help="a one-minute sync probe of a run's checkpoint, or its learning curve",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders (or checkpoint folders)")
    parser.add_argument("--songs", type=positive_int, default=8, help="songs to sample (default 8)")
    parser.add_argument("--steps", type=positive_int, default=None, help="sampler steps (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--curve", action="store_true", help="print and draw the probe events logged while training")
    parser.add_argument("--target", type=float, default=0.5, help="sync fraction the curve's time-to-target is read at (default 0.5)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--plot", type=Path, default=None, metavar="FILE",
                        help="with --curve: draw every run's sync and periodicity against training steps in one figure")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..experiments.probe import probe_run
    from ..files import write_json_atomically

    for path in args.runs:
        if not path.is_dir():
            raise UserError(f"{path} is not a folder: give a run folder that synctrack train wrote")
    if args.plot is not None and not args.curve:
        raise UserError("--plot draws the learning curves that --curve reads: add --curve")
    if args.curve:
        return show_curves(args)
    table = Table(title=f"sync probe: {args.songs} songs sampled from seed {args.seed}", title_justify="left")
    for column in ("run", "step", "sync", "data", "of data", "periodicity (data)", "denoising error (snr 4 / 1 / 0.25 / 0.0625)", "s"):
        table.add_column(column, justify="left" if column == "run" else "right")
    results = {}
    for path in args.runs:
        result = probe_run(path, args.songs, args.steps, args.seed)
        results[str(path)] = result.to_dict()
        errors = " / ".join(f"{value:.3f}" for value in result.denoise_error.values())
        table.add_row(str(path), str(result.step), f"{result.sync:.3f}", f"{result.data_sync:.3f}",
                      f"{100 * result.sync_fraction:.0f}%", f"{result.periodicity:.3f} ({result.data_periodicity:.3f})",
                      errors, f"{result.seconds:.0f}")
    console.out.print(table)
    if args.json is not None:
        write_json_atomically(args.json, results)
        console.out.print(f"wrote {args.json}", markup=False)
    return 0


def show_curves(args: argparse.Namespace) -> int:
    from ..experiments.probe import probe_curve, read_log, time_to_target

    curves = {}
    for path in args.runs:
        curve = probe_curve(read_log(path))
        if not curve:
            raise UserError(f"{path}/log.jsonl holds no probe events: train with train.probe_every=N to log them")
        curves[path] = curve
        table = Table(title=f"{path}: sync probe while training", title_justify="left")
        for column in ("step", "training min", "sync", "of data", "periodicity (data)", "denoising error (snr 1)"):
            table.add_column(column, justify="right")
        for row in curve:
            error = (row.get("denoise_error") or {}).get("snr=1", math.nan)
            table.add_row(str(row["step"]), f"{row.get('train_seconds', math.nan) / 60:.1f}", f"{row['sync']:.3f}",
                          f"{100 * row['sync_fraction']:.0f}%",
                          f"{row.get('periodicity', math.nan):.3f} ({row.get('data_periodicity', math.nan):.3f})", f"{error:.3f}")
        console.out.print(table)
        reached = time_to_target(curve, args.target)
        console.out.print(
            f"{path}: " + (f"reached {100 * args.target:.0f}% of the data's sync at step {reached[0]} "
                           f"after {reached[1] / 60:.1f} training minutes" if reached else
                           f"never reached {100 * args.target:.0f}% of the data's sync"), markup=False)
    for path, curve in curves.items():
        picture = draw_curve(path.name or str(path), curve, path / "probe-curve.png", args.target)
        console.out.print(f"wrote {picture}", markup=False)
    if args.plot is not None:
        labelled = dict(zip(short_labels(list(curves)), curves.values()))
        console.out.print(f"wrote {draw_curves(labelled, args.plot)}", markup=False)
    return 0


def short_labels(paths: list[Path]) -> list[str]:
    """The fewest trailing parts of each path that tell it from the others (``seed-0/bench`` and ``seed-1/bench``)."""
    parts = [path.resolve().parts for path in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [str(path) for path in paths]  # the same folder twice: nothing tells them apart


def draw_curves(curves: dict[str, list[dict]], out: Path) -> Path:
    """Every run's sync and periodicity, each as a fraction of the data's, against training steps: two panels."""
    from ..figures import pyplot, save_figure

    plt = pyplot()
    figure, (sync_axis, pulse_axis) = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for label, curve in curves.items():
        steps = [row["step"] for row in curve]
        sync_axis.plot(steps, [row["sync_fraction"] for row in curve], marker="o", markersize=3, label=label)
        pulse_axis.plot(steps, [row.get("periodicity", math.nan) / row["data_periodicity"]
                                if row.get("data_periodicity") else math.nan for row in curve],
                        marker="s", markersize=3, label=label)
    for axis, title in ((sync_axis, "do the tracks hit together? (sync / data's)"),
                        (pulse_axis, "does each track keep a pulse? (periodicity / data's)")):
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("training step")
        axis.axhline(1.0, color="grey", linestyle="--", linewidth=0.8)
        axis.grid(alpha=0.3)
    pulse_axis.legend(fontsize=7)
    figure.tight_layout()
    return save_figure(figure, out)


def draw_curve(label: str, curve: list[dict], out: Path, target: float) -> Path:
    """Sync fraction against training minutes, with the target as a dashed line, and each track's periodicity
    as a fraction of the data's where the run logged it."""
    from ..figures import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.5))
    minutes = [row.get("train_seconds", math.nan) / 60 for row in curve]
    axis.plot(minutes, [row["sync_fraction"] for row in curve], marker="o", label=f"{label}: sync")
    pulse = [row.get("periodicity", math.nan) / row["data_periodicity"] if row.get("data_periodicity") else math.nan
             for row in curve]
    if any(math.isfinite(value) for value in pulse):  # runs logged before periodicity existed have none
        axis.plot(minutes, pulse, marker="s", linestyle=":", label=f"{label}: periodicity")
    axis.axhline(target, color="grey", linestyle="--", label=f"target {100 * target:.0f}%")
    axis.set_xlabel("training minutes (probes and previews not counted)")
    axis.set_ylabel("samples / data")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return save_figure(figure, out)
