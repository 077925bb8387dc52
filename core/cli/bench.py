"""``synctrack bench attention|model|report|table``: what cross-track attention costs against the track count.

- ``attention``: every mixer x attention backend x track count on one token grid, each case in a fresh
  process; time, peak memory and achieved GFLOP/s as a fraction of the machine's fp32 matmul rate.
- ``model``: a recipe's denoiser, forward + backward, with and without its mixers.
- ``report``: the issue's performance targets checked against an attention CSV.
- ``table``: a sweep's CSV as a markdown table, for docs/benchmarks.md.

Results go to ``--out`` (default ``runs/bench``) as CSV, PNG (log-log against S) and a JSON of the run's
settings and machine. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import platform
from pathlib import Path
from typing import Any

from rich.table import Table

from ..bench.tables import attention_table, footnotes, model_table
from ..errors import RecipeError, UserError
from .arguments import natural_int, positive_float, positive_int
from . import console

DEFAULT_OUT = Path("runs/bench")


def add_measure_options(parser: argparse.ArgumentParser, repeats: int, budget: float) -> None:
    parser.add_argument("--batch", type=positive_int, default=1, help="songs per call (default 1)")
    parser.add_argument("--warmup", type=natural_int, default=1, help="untimed calls before timing (default 1)")
    parser.add_argument("--repeats", type=positive_int, default=repeats, help=f"timed calls per case, median reported (default {repeats})")
    parser.add_argument(
        "--budget", type=positive_float, default=budget,
        help=f"seconds of timed calls after which a case stops repeating (default {budget:g}; at least one call)",
    )  # fmt: skip
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: cuda when available")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch threads per case (default: torch's)")
    parser.add_argument("--timeout", type=positive_float, default=1800.0, help="seconds before a case is killed (default 1800)")
    parser.add_argument(
        "--rounds", type=positive_int, default=1,
        help="run the whole sweep this many times, the cases alternating, and pool each case's timed calls: a slow "
             "spell of a shared machine then hits every case alike (default 1)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for the CSV, PNG and JSON (default {DEFAULT_OUT})")


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..bench.options import DEFAULT_BACKENDS, DEFAULT_MIXERS, GRIDS

    parser = subparsers.add_parser(
        "bench",
        help="measure attention and model cost against the track count",
        description="Measure what cross-track attention costs against the track count S. attention: mixers x "
        "backends x S on a token grid; model: a recipe's U-Net with and without its mixers; report: the "
        "performance targets against an attention CSV; table: a CSV as markdown. See docs/benchmarks.md.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    attention = actions.add_parser(
        "attention",
        help="mixer x backend x track count: time, peak memory, GFLOP/s",
        description="Measure every mixer with every attention backend at every track count, each case in a fresh process.",
    )
    attention.add_argument("--tracks", default="2,4,8,16,32", help="track counts, comma-separated (default 2,4,8,16,32)")
    attention.add_argument(
        "--mixers", default=DEFAULT_MIXERS,
        help="comma-separated NAME[:KEY=VALUE...] recipe nodes of registered mixers (default: %(default)s)",
    )  # fmt: skip
    attention.add_argument("--backends", default=DEFAULT_BACKENDS, help="attention kernels (default %(default)s)")
    attention.add_argument(
        "--grid", default="musicldm-ds2",
        help=f"per-track token grid: {', '.join(GRIDS)} or TxFxD, e.g. 128x8x256 (default musicldm-ds2)",
    )  # fmt: skip
    attention.add_argument("--head-dim", type=positive_int, default=32, help="head width of every mixer that takes one (default 32)")
    attention.add_argument(
        "--memory-limit", type=positive_float, default=None, metavar="GIB",
        help="skip naive cases whose N^2 scores need more (default: 80%% of the memory available at start)",
    )  # fmt: skip
    attention.add_argument("--matmul-size", type=positive_int, default=2048, help="square fp32 matmul that calibrates GFLOP/s (default 2048)")
    add_measure_options(attention, repeats=3, budget=30.0)
    attention.set_defaults(handler=run_attention)

    model = actions.add_parser(
        "model",
        help="a recipe's denoiser, forward + backward, with and without its mixers",
        description="Measure one training step (forward + backward, no optimizer) of a recipe's denoiser against S.",
    )
    model.add_argument("recipe", help="recipe YAML file")
    model.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="recipe overrides")
    model.add_argument("--tracks", default="1,2,4", help="track counts, comma-separated (default 1,2,4)")
    model.add_argument("--grid", default="256x16", help="latent grid TxF of a track (default 256x16: 10.24 s through MusicLDM's VAE)")
    add_measure_options(model, repeats=2, budget=60.0)
    model.set_defaults(handler=run_model)

    report = actions.add_parser(
        "report",
        help="check the performance targets against an attention CSV",
        description="Print each performance target with PASS, FAIL or MISSING and the measured numbers.",
    )
    report.add_argument("csv", type=Path, help="attention.csv written by `synctrack bench attention`")
    report.add_argument("--strict", action="store_true", help="exit 1 unless every target passes")
    report.set_defaults(handler=run_report)

    table = actions.add_parser(
        "table",
        help="print a sweep's CSV as a markdown table (for docs/benchmarks.md)",
        description="Print an attention or model CSV of `synctrack bench` as a GitHub markdown table.",
    )
    table.add_argument("csv", type=Path, help="attention.csv or model-*.csv")
    table.set_defaults(handler=run_table)


# -- shared ------------------------------------------------------------------------------------------------


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: torch sees no CUDA device here; use --device cpu")
    return name


def settings_from(args: argparse.Namespace, device: str):
    from ..bench.runner import Settings

    return Settings(device, args.threads, args.warmup, args.repeats, args.budget, args.timeout, args.rounds)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def command_line(args: argparse.Namespace, positional: tuple[str, ...], options: tuple[str, ...]) -> str:
    """The command that reproduces this run, every setting spelled out (for the JSON and the docs)."""
    words = ["synctrack", "bench", args.action, *positional]
    for name in options:
        value = getattr(args, name)
        if value is not None:
            words += [f"--{name.replace('_', '-')}", str(value)]
    return " ".join(words)


MEASURE_OPTIONS = ("batch", "warmup", "repeats", "rounds", "budget", "device", "threads", "out")


def launcher(args: argparse.Namespace):
    from ..bench.runner import subprocess_launcher

    return subprocess_launcher(args.timeout)


# -- attention -----------------------------------------------------------------------------------------------


def run_attention(args: argparse.Namespace, launch=None) -> int:
    from ..bench import attention
    from ..bench.measure import available_memory
    from ..bench.options import parse_backends, parse_grid, parse_mixers, parse_tracks
    from ..bench.plot import plot_against_tracks
    from ..bench.results import ATTENTION_COLUMNS, GIB, write_csv, write_json

    tracks = parse_tracks(args.tracks)
    grid = parse_grid(args.grid)
    backends = parse_backends(args.backends)
    mixers = parse_mixers(args.mixers, head_dim=args.head_dim)
    device = resolve_device(args.device)
    if args.memory_limit is not None:
        memory_limit = int(args.memory_limit * GIB)
    else:
        available = available_memory(device)
        memory_limit = None if available is None else int(0.8 * available)
    cases = attention.plan(mixers, backends, tracks, grid, args.batch, device, memory_limit)
    settings = settings_from(args, device)
    launch = launch or launcher(args)

    console.out.print(
        f"attention sweep: {len(mixers)} mixer(s) x {len(backends)} backend(s) x {len(tracks)} track count(s) on "
        f"{grid.name or grid.label} (T' x F' x D = {grid.label}), batch {args.batch}, {device}; "
        f"{sum(c.skip is None for c in cases)} case(s) to measure, each in a fresh process",
        markup=False,
    )
    calibration = attention.measure_matmul(settings, launch, args.matmul_size, console.err)
    if "error" in calibration:
        console.warning(f"the matmul calibration failed ({calibration['error']}); GFLOP/s fractions are left empty")
        matmul = None
    else:
        matmul = calibration["gflops_best"]
        console.out.print(f"fp32 matmul {args.matmul_size}^2: {matmul:.1f} GFLOP/s (best of {len(calibration['times'])})", markup=False)
    rows = attention.sweep(cases, settings, launch, matmul, console.err)

    notes = footnotes(rows)
    console.out.print(attention_table(rows, grid, notes))
    warn_unsteady(rows, lambda row: f"{row['spec']} / {row['backend']}")
    print_footnotes(notes)
    out: Path = args.out
    write_csv(out / "attention.csv", rows, ATTENTION_COLUMNS)
    title = f"mixers on {grid.name or 'grid'} {grid.label} (T' x F' x D), batch {args.batch}, {device}"
    plot_against_tracks(rows, lambda row: row["spec"], out / "attention.png", title, style=lambda row: row["backend"],
                        panels=(("time_ms", "forward time (ms)"), ("peak_mib", "peak memory added (MiB)")))  # fmt: skip
    write_json(out / "attention.json", {
        "command": command_line(args, (), ("tracks", "mixers", "backends", "grid", "head_dim", "memory_limit", "matmul_size", *MEASURE_OPTIONS)),
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "grid": {"name": grid.name, "frames": grid.frames, "bins": grid.bins, "dim": grid.dim},
        "tracks": tracks, "backends": backends, "mixers": [m.label for m in mixers], "batch": args.batch,
        "device": device, "threads": args.threads, "warmup": args.warmup, "repeats": args.repeats, "rounds": args.rounds,
        "budget_s": args.budget, "memory_limit_gib": None if memory_limit is None else memory_limit / GIB,
        "matmul": None if matmul is None else {"size": args.matmul_size, "gflops_best": matmul,
                                                "gflops_median": calibration["gflops_median"]},
        "machine": machine(),
    })  # fmt: skip
    console.out.print(f"wrote {out / 'attention.csv'}, {out / 'attention.png'}, {out / 'attention.json'}", markup=False)
    return finish(rows)


def print_footnotes(notes: dict[str, int]) -> None:
    for text, number in notes.items():
        console.out.print(f"[{number}] {text}", markup=False, soft_wrap=True)


def warn_unsteady(rows: list[dict[str, Any]], label) -> None:
    """One warning naming the cases whose repeats disagree by more than 20% (a busy machine, a short case)."""
    from ..bench.results import UNSTEADY, time_spread, unsteady_rows

    unsteady = unsteady_rows(rows)
    if unsteady:
        listed = ", ".join(f"{label(row)} S={row['tracks']} ({time_spread(row):.0%})" for row in unsteady[:4])
        console.warning(
            f"the repeats of {len(unsteady)} case(s) disagree by more than {UNSTEADY:.0%} of their median: {listed}"
            f"{' ...' if len(unsteady) > 4 else ''}; their times and ratios are unreliable: rerun on an idle machine, "
            "with more --repeats, or with --rounds 3 so that the cases alternate"
        )


def finish(rows: list[dict[str, Any]]) -> int:
    failed = [row for row in rows if row["status"] == "failed"]
    for row in failed:
        label = row.get("spec") or row.get("variant")
        console.warning(f"{label} / {row.get('backend', '')} S={row['tracks']} failed: {row['reason']}")
    return 1 if failed else 0


# -- model ---------------------------------------------------------------------------------------------------


def run_model(args: argparse.Namespace, launch=None) -> int:
    from ..bench import model
    from ..bench.options import parse_latent_grid, parse_tracks
    from ..bench.plot import plot_against_tracks
    from ..bench.results import MODEL_COLUMNS, write_csv, write_json
    from ..recipe import load_recipe, looks_like_override

    for text in args.overrides:
        if not looks_like_override(text):
            raise RecipeError(f"bad override {text!r}: expected KEY=VALUE or ~KEY after the recipe file")
    tracks = parse_tracks(args.tracks)
    grid = parse_latent_grid(args.grid)
    device = resolve_device(args.device)
    recipe = load_recipe(args.recipe, args.overrides).validate()
    cases = model.plan(args.recipe, recipe, args.overrides, tracks, grid, args.batch)
    settings = settings_from(args, device)
    launch = launch or launcher(args)

    console.out.print(
        f"model sweep: {recipe.source}, latents {grid[0]}x{grid[1]} per track, batch {args.batch}, {device}; "
        f"forward + backward, {len(cases)} case(s), each in a fresh process",
        markup=False,
    )
    rows = model.sweep(cases, settings, launch, console.err)
    notes = footnotes(rows)
    console.out.print(model_table(rows, recipe.source, notes))
    print_footnotes(notes)
    warn_unsteady(rows, lambda row: row["variant"])
    out: Path = args.out
    stem = f"model-{Path(args.recipe).stem}"
    write_csv(out / f"{stem}.csv", rows, MODEL_COLUMNS)
    title = f"{recipe.source}: forward + backward, latents {grid[0]}x{grid[1]}, batch {args.batch}, {device}"
    plot_against_tracks(rows, lambda row: row["variant"], out / f"{stem}.png", title,
                        panels=(("time_ms", "forward + backward time (ms)"), ("peak_mib", "peak memory added (MiB)")))  # fmt: skip
    write_json(out / f"{stem}.json", {
        "command": command_line(args, (args.recipe, *args.overrides), ("tracks", "grid", *MEASURE_OPTIONS)),
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "recipe": args.recipe, "overrides": args.overrides, "content_hash": recipe.content_hash,
        "grid": list(grid), "tracks": tracks, "batch": args.batch, "device": device, "threads": args.threads,
        "warmup": args.warmup, "repeats": args.repeats, "rounds": args.rounds, "budget_s": args.budget, "machine": machine(),
    })  # fmt: skip
    console.out.print(f"wrote {out / stem}.csv, .png, .json", markup=False)
    return finish(rows)


# -- report --------------------------------------------------------------------------------------------------


def run_report(args: argparse.Namespace) -> int:
    from ..bench.report import check_targets
    from ..bench.results import read_csv

    checks = check_targets(read_csv(args.csv))
    table = Table(title=f"targets against {args.csv}", title_justify="left")
    for name in ("verdict", "target", "measured"):
        table.add_column(name, overflow="fold")
    colours = {"PASS": "green", "FAIL": "red", "MISSING": "yellow"}
    for check in checks:
        table.add_row(f"[{colours[check.verdict]}]{check.verdict}[/]", check.target, check.measured)
    console.out.print(table)
    # The same, one plain line per target, to paste into docs/benchmarks.md.
    for check in checks:
        console.out.print(f"{check.verdict}: {check.target} -- {check.measured}", markup=False, soft_wrap=True)
    return 1 if args.strict and any(check.verdict != "PASS" for check in checks) else 0


def run_table(args: argparse.Namespace) -> int:
    from ..bench.markdown import ATTENTION, MODEL, markdown_table
    from ..bench.results import read_sweep

    kind, rows = read_sweep(args.csv)
    console.out.print(markdown_table(rows, MODEL if kind == "model" else ATTENTION), markup=False, soft_wrap=True)
    return 0
