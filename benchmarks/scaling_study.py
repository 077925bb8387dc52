"""The scaling study (docs/scaling.md): sync and cost of each cross-track mixer at S = 4, 8 and 16 tracks.

The recipes are the CPU benchmark's (``recipes/bench/`` at S = 4, ``recipes/scaling/bench/tracks-S-*`` at 8
and 16, with 32/S songs per batch so every step holds 32 track-clips). Three stages, each skipped when its
output exists, so a stopped study picks up where it was:

- ``cost``: ``synctrack bench model`` for every mixer at its S and batch, on the bench's 160 x 16 grid, two
  threads: the time of one training step (forward, loss, backward) and its peak memory;
- ``quality``: for every S, the four recipes trained side by side for the same fixed step count by
  ``benchmarks/learning_speed.py`` (one thread each, the sync probe logged on the way), then
  ``synctrack probe`` on ``--songs`` songs; ``--madmom`` adds ``synctrack ablate`` (CBS, CBD, the sync gap
  closed), about 1.4 s of beat tracking per track, so 16 songs of 16 tracks take minutes per recipe;
- ``figure``: one figure, quality and cost side by side against S (``OUT/scaling.png``): madmom's sync gap
  closed, CBS, CBD and IRS with their intervals from each S's ``synctrack ablate`` tables
  (``OUT/quality/tracks-S/comparison.csv`` and ``paired.csv``), the sync probe, the step time and peak memory;
  and ``OUT/scaling.csv`` with every number in it. An S's tables may come from elsewhere: docs/scaling.md copies
  S = 4's from the three-seed bench ablation rather than training those arms again.

  python benchmarks/scaling_study.py --out runs/scaling cost
  python benchmarks/scaling_study.py --out runs/scaling quality --steps 300
  python benchmarks/scaling_study.py --out runs/scaling figure
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TRACKS = (4, 8, 16)
TRACK_CLIPS_PER_STEP = 32
GRID = "160x16"  # 5.12 s at a 512-sample hop of 16 kHz, 16 mel bands: the bench encoder's grid
MIXERS = ("no-mixers", "time-only", "synctrack", "mix-attention")
BENCH_NAMES = {"no-mixers": "no-mixers", "time-only": "no-global", "synctrack": "synctrack", "mix-attention": "mix-attention"}


def recipe(tracks: int, mixer: str) -> Path:
    """The recipe of one mixer at one track count."""
    if tracks == 4:
        return REPO / "recipes" / "bench" / f"{BENCH_NAMES[mixer]}.yaml"
    return REPO / "recipes" / "scaling" / "bench" / f"tracks-{tracks}-{mixer}.yaml"


def recipe_name(path: Path) -> str:
    from synctrack.recipe import load_recipe

    return str(load_recipe(path).data["name"])


def run(*argv: str, threads: int = 2) -> None:
    environment = {**os.environ, "COLUMNS": "160", "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, *argv], check=True, env=environment)


def cost(out: Path, counts: tuple[int, ...] = TRACKS) -> None:
    """One ``bench model`` sweep per (S, mixer); the no-mixer row comes from the synctrack recipe's sweep."""
    for tracks in counts:
        for mixer in ("synctrack", "time-only", "mix-attention"):
            folder = out / "cost" / f"tracks-{tracks}-{mixer}"
            if any(folder.glob("model-*.csv")):
                continue
            run("-m", "synctrack", "bench", "model", str(recipe(tracks, mixer)), "--tracks", str(tracks),
                "--grid", GRID, "--batch", str(TRACK_CLIPS_PER_STEP // tracks), "--threads", "2",
                "--warmup", "1", "--repeats", "3", "--out", str(folder))


def cost_rows(out: Path, counts: tuple[int, ...] = TRACKS) -> list[dict]:
    """``[{tracks, mixer, time_ms, fastest_ms, peak_mib}]`` from the sweeps' CSVs (the median and the fastest of
    the repeats: a step of about a second on two shared cores varies by up to a third between repeats, and the
    fastest is the one least disturbed)."""
    rows = []
    for tracks in counts:
        for mixer in ("synctrack", "time-only", "mix-attention"):
            sweep = next((out / "cost" / f"tracks-{tracks}-{mixer}").glob("model-*.csv"), None)
            if sweep is None:
                continue  # not measured: the figure leaves it out
            for row in csv.DictReader(sweep.open()):
                if row["status"] != "ok":
                    continue
                name = mixer if row["variant"] == "with mixers" else "no-mixers"
                if name == "no-mixers" and mixer != "synctrack":
                    continue  # the same no-mixer model, measured three times: keep the synctrack sweep's
                rows.append({"tracks": tracks, "mixer": name, "time_ms": float(row["time_ms"]), "fastest_ms": float(row["time_min_ms"]),
                             "peak_mib": float(row["peak_mib"])})
    return rows


def quality(out: Path, steps: int, songs: int, madmom: bool, counts: tuple[int, ...] = TRACKS) -> None:
    for tracks in counts:
        folder = out / "quality" / f"tracks-{tracks}"
        recipes = [recipe(tracks, mixer) for mixer in MIXERS]
        if not (folder / "summary.json").exists():
            names = [recipe_name(path) for path in recipes]
            run(str(REPO / "benchmarks" / "learning_speed.py"), "--out", str(folder), *map(str, recipes),
                "--steps", *[f"{name}={steps}" for name in names], *(["--madmom"] if madmom else []))
        probe = folder / "probe.json"
        if not probe.exists():
            run("-m", "synctrack", "probe", *[str(folder / recipe_name(path) / "run") for path in recipes],
                "--songs", str(songs), "--json", str(probe))


def side_by_side_rows(out: Path, counts: tuple[int, ...] = TRACKS) -> list[dict]:
    """``[{tracks, mixer, seconds_per_step, log_rows, vs_no_mixers}]``: each S's arms' training step time while all
    four ran at once (one thread each, same start), a cost measured under equal load, unlike the sweeps' repeats.

    The window runs from the wall time the last arm passed its mixers' first step to the time the first arm
    finished, read from each ``log.jsonl`` (``elapsed_seconds``, and ``steps_per_second``, the trainer's running
    rate of ``train_step`` alone, probes left out); the step time is the median of ``1 / steps_per_second`` there.
    An S without four trained arms is skipped.
    """
    rows = []
    for tracks in counts:
        logs, joins = {}, []
        for mixer in MIXERS:
            run_ = out / "quality" / f"tracks-{tracks}" / recipe_name(recipe(tracks, mixer)) / "run"
            if (run_ / "log.jsonl").exists():
                logs[mixer] = [row for row in map(json.loads, (run_ / "log.jsonl").read_text().splitlines()) if "steps_per_second" in row]
                join = mixers_join(run_)
                joins.append(next((row["elapsed_seconds"] for row in logs[mixer] if row["step"] > join), float("inf")))
        if len(logs) < len(MIXERS):
            continue
        joined = max(joins)
        first_done = min(log[-1]["elapsed_seconds"] for log in logs.values())
        times = {mixer: [1.0 / row["steps_per_second"] for row in log if joined <= row["elapsed_seconds"] <= first_done]
                 for mixer, log in logs.items()}
        if not all(times.values()):
            continue  # no stretch where all four ran with their mixers on
        median = {mixer: float(np.median(values)) for mixer, values in times.items()}
        rows += [{"tracks": tracks, "mixer": mixer, "seconds_per_step": median[mixer], "log_rows": len(times[mixer]),
                  "vs_no_mixers": median[mixer] / median["no-mixers"]} for mixer in MIXERS]
    return rows


def mixers_join(run: Path) -> int:
    """The step at which a run's mixers joined, from the recipe the run saved: ``train.mixers_from_step``, a
    float being a fraction of ``train.steps`` (the trainer's rule); 0 for a run that trained them from the start."""
    from synctrack.recipe import load_recipe

    saved = load_recipe(run / "recipe.yaml")
    start = saved.get("train.mixers_from_step") or 0
    return int(start * saved.get("train.steps")) if isinstance(start, float) else int(start)


def bootstrap_interval(values: list[float]) -> tuple[float, float]:
    """A 95% percentile interval of the mean over songs (synctrack eval's bootstrap)."""
    from synctrack.eval import bootstrap_ci

    return bootstrap_ci(np.asarray(values, dtype=np.float64), lambda batch: batch.mean(axis=1), resamples=4000)


def quality_rows(out: Path, counts: tuple[int, ...] = TRACKS) -> list[dict]:
    """``[{tracks, mixer, steps, sync_fraction, low, high, data_sync}]``: the probe's sync as a fraction of the
    data's, with a song-bootstrap interval."""
    rows = []
    for tracks in counts:
        folder = out / "quality" / f"tracks-{tracks}"
        probes = json.loads((folder / "probe.json").read_text())
        for mixer in MIXERS:
            name = recipe_name(recipe(tracks, mixer))  # keyed by the run path as given: match its end, so a moved study reads
            result = next(value for key, value in probes.items() if Path(key).parts[-2:] == (name, "run"))
            data = result["data_sync"]
            low, high = bootstrap_interval(result["sync_per_song"])
            rows.append({"tracks": tracks, "mixer": mixer, "steps": result["step"], "songs": result["songs"],
                         "sync_fraction": result["sync"] / data, "low": low / data, "high": high / data, "data_sync": data})
    return rows


MADMOM_METRICS = ("CBS gap closed %", "CBD gap closed %", "CBS", "CBD", "IRS")  # "... gap closed %": paired.csv's names
GAP_TARGET = "target"  # the gap_note of the held-out row the sync gap is closed towards (synctrack ablate)
COLOURS = {"no-mixers": "tab:blue", "time-only": "tab:orange", "synctrack": "tab:green", "mix-attention": "tab:red", "data": "black"}
DODGE = {"no-mixers": -1.5, "time-only": -0.5, "synctrack": 0.5, "mix-attention": 1.5, "data": 0.0}  # so intervals at one S do not hide each other


def madmom_rows(out: Path, counts: tuple[int, ...] = TRACKS) -> list[dict]:
    """``[{tracks, mixer, metric, value, low, high, songs}]`` from each S's ``synctrack ablate`` tables.

    CBS, CBD and IRS come with their song-bootstrap intervals (``comparison.csv``'s model rows), the sync gap
    closed with its paired interval over songs and seeds (``paired.csv``, against the no-mixer arm), and the
    held-out songs the gap is closed towards as mixer ``"data"``. An S without ``comparison.csv`` is skipped.
    """
    rows = []
    for tracks in counts:
        folder = out / "quality" / f"tracks-{tracks}"
        if not (folder / "comparison.csv").exists():
            continue
        names = {recipe_name(recipe(tracks, mixer)): mixer for mixer in MIXERS}
        for row in csv.DictReader((folder / "comparison.csv").open()):
            if row["kind"] == "model" and row["recipe"] in names:
                mixer = names[row["recipe"]]
            elif row["kind"] == "ground truth" and row["gap_note"] == GAP_TARGET:
                mixer = "data"
            else:
                continue  # per-seed rows, other recipes, the other held-out row
            for metric in ("CBS", "CBD", "IRS"):
                rows.append({"tracks": tracks, "mixer": mixer, "metric": metric, "value": float(row[metric]),
                             "low": float(row[f"{metric}_ci_low"]), "high": float(row[f"{metric}_ci_high"]), "songs": int(row["songs"])})
        for row in csv.DictReader((folder / "paired.csv").open()):
            if row["metric"].endswith("gap closed %") and row["recipe"] in names:
                rows.append({"tracks": tracks, "mixer": names[row["recipe"]], "metric": row["metric"], "value": float(row["difference"]),
                             "low": float(row["ci_low"]), "high": float(row["ci_high"]), "songs": int(row["pairs"])})
    return rows


def plot_against_tracks(axis, rows: list[dict], mixer: str, scale: float = 1.0) -> None:
    """One mixer's line of ``rows`` (value, low, high) against S, its intervals as error bars, nudged sideways."""
    rows = sorted(rows, key=lambda row: row["tracks"])
    if not rows:
        return
    xs = [row["tracks"] * 2 ** (0.04 * DODGE[mixer]) for row in rows]
    ys = [scale * row["value"] for row in rows]
    errors = [[scale * (row["value"] - row["low"]) for row in rows], [scale * (row["high"] - row["value"]) for row in rows]]
    axis.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=mixer, color=COLOURS[mixer], linestyle="--" if mixer == "data" else "-")


def figure(out: Path, counts: tuple[int, ...] = TRACKS) -> None:
    """``OUT/scaling.png``: madmom's sync gap closed, CBS, CBD and IRS, the sync probe, the step time and the peak
    memory against S, where each was measured; ``OUT/scaling.csv``: one row per S and mixer with all of them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    probed = tuple(tracks for tracks in counts if (out / "quality" / f"tracks-{tracks}" / "probe.json").exists())
    probe_table, madmom_table = quality_rows(out, probed), madmom_rows(out, counts)
    cost_table, loaded_table = cost_rows(out, counts), side_by_side_rows(out, counts)
    alone = {row["tracks"]: row["fastest_ms"] for row in cost_table if row["mixer"] == "no-mixers"}
    figure_, axes = plt.subplots(2, 4, figsize=(20, 8.4))
    metric_axes = dict(zip(MADMOM_METRICS, [*axes[0], axes[1][0]]))
    probe_axis, time_axis, memory_axis = axes[1][1:]
    for mixer in ("data", *MIXERS):
        for metric, axis in metric_axes.items():
            plot_against_tracks(axis, [row for row in madmom_table if row["mixer"] == mixer and row["metric"] == metric], mixer)
        if mixer == "data":
            continue
        plot_against_tracks(probe_axis, [{**row, "value": row["sync_fraction"]} for row in probe_table if row["mixer"] == mixer],
                            mixer, scale=100.0)
        spent = sorted((row for row in cost_table if row["mixer"] == mixer), key=lambda row: row["tracks"])
        time_axis.plot([row["tracks"] for row in spent], [row["fastest_ms"] / alone[row["tracks"]] for row in spent], marker="o",
                       color=COLOURS[mixer])
        memory_axis.plot([row["tracks"] for row in spent], [row["peak_mib"] for row in spent], marker="o", label=mixer, color=COLOURS[mixer])
        loaded = sorted((row for row in loaded_table if row["mixer"] == mixer), key=lambda row: row["tracks"])
        time_axis.plot([row["tracks"] for row in loaded], [row["vs_no_mixers"] for row in loaded], marker="s", linestyle="none",
                       markerfacecolor="none", markersize=9, color=COLOURS[mixer])
    songs = sorted({row["songs"] for row in madmom_table if row["metric"] == "CBS" and row["mixer"] != "data"})
    for metric, axis in metric_axes.items():
        better = "lower is better" if metric in ("CBD", "IRS") else "higher is better"
        axis.set(title=f"{metric}, {better} (madmom, {'/'.join(map(str, songs))} songs)",
                 ylabel="% of the gap from no mixers to the data" if metric.endswith("%") else metric)
    steps = "/".join(str(step) for step in sorted({row["steps"] for row in probe_table}))
    probe_axis.set(title=f"sync probe{f' after {steps} steps' if steps else ''}", ylabel="% of the data's sync")
    time_axis.set(title=f"training step time, {TRACK_CLIPS_PER_STEP} track-clips a step", ylabel="x no mixers at the same S")
    memory_axis.set(title="peak memory of that step", ylabel="MiB")
    for axis in axes.flat:
        axis.set_xscale("log", base=2)
        axis.set_xticks(TRACKS, [str(tracks) for tracks in TRACKS])
        axis.set_xlim(3.2, 20)
        axis.set_xlabel("tracks S")
        axis.title.set_fontsize(10)
        axis.grid(alpha=0.3)
        if not axis.has_data():
            axis.text(0.5, 0.5, "not measured", transform=axis.transAxes, ha="center", color="grey")
    for axis in (*metric_axes.values(), probe_axis):
        if axis.get_ylabel().startswith("%"):
            axis.axhline(0, color="grey", lw=0.8)
    metric_axes["CBS"].legend(fontsize=8)
    time_axis.legend(handles=[Line2D([], [], marker="o", color="grey", label="bench model sweep, 2 threads, fastest of 3"),
                              Line2D([], [], marker="s", markerfacecolor="none", linestyle="none", color="grey",
                                     label="the four trainings side by side, 1 thread each")], fontsize=8)
    figure_.tight_layout()
    figure_.savefig(out / "scaling.png", dpi=100)
    write_table(out / "scaling.csv", probe_table, madmom_table, cost_table, loaded_table)
    print(f"wrote {out / 'scaling.png'} and {out / 'scaling.csv'}")


def write_table(path: Path, probe_table: list[dict], madmom_table: list[dict], cost_table: list[dict],
                loaded_table: list[dict] = ()) -> None:
    """One row per (S, mixer) that anything was measured for; empty cells where it was not."""
    keys = sorted({(row["tracks"], row["mixer"]) for row in (*probe_table, *madmom_table, *cost_table, *loaded_table)},
                  key=lambda key: (key[0], (*MIXERS, "data").index(key[1])))
    probes = {(row["tracks"], row["mixer"]): row for row in probe_table}
    costs = {(row["tracks"], row["mixer"]): row for row in cost_table}
    loaded = {(row["tracks"], row["mixer"]): row for row in loaded_table}
    scores = {(row["tracks"], row["mixer"], row["metric"]): row for row in madmom_table}
    header = ["tracks", "mixer", "probe_steps", "probe_songs", "sync_fraction", "sync_low", "sync_high", "data_sync"]
    for metric in MADMOM_METRICS:
        stem = metric.replace(" gap closed %", "_gap_closed_percent")
        header += [stem, f"{stem}_low", f"{stem}_high"]
    header += ["madmom_songs", "step_ms_median", "step_ms_fastest", "peak_mib", "training_step_s_side_by_side", "side_by_side_vs_no_mixers"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for tracks, mixer in keys:
            probe, paid = probes.get((tracks, mixer)), costs.get((tracks, mixer), {})
            cells = [tracks, mixer]
            cells += ["", "", "", "", "", ""] if probe is None else [probe["steps"], probe["songs"], f"{probe['sync_fraction']:.3f}",
                                                                   f"{probe['low']:.3f}", f"{probe['high']:.3f}", f"{probe['data_sync']:.3f}"]
            for metric in MADMOM_METRICS:
                score = scores.get((tracks, mixer, metric))
                cells += ["", "", ""] if score is None else [f"{score['value']:.4g}", f"{score['low']:.4g}", f"{score['high']:.4g}"]
            songs = scores.get((tracks, mixer, "CBS"))
            cells += [songs["songs"] if songs else "", paid.get("time_ms", ""), paid.get("fastest_ms", ""), paid.get("peak_mib", "")]
            training = loaded.get((tracks, mixer))
            cells += ["", ""] if training is None else [f"{training['seconds_per_step']:.3f}", f"{training['vs_no_mixers']:.3f}"]
            writer.writerow(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/scaling"))
    parser.add_argument("stage", choices=("cost", "quality", "figure"))
    parser.add_argument("--steps", type=int, default=300, help="training steps of every arm (quality)")
    parser.add_argument("--songs", type=int, default=16, help="songs of the final sync probe (quality)")
    parser.add_argument("--madmom", action="store_true", help="also score 16 songs per arm with madmom (quality; slow at S = 16)")
    parser.add_argument("--tracks", type=int, nargs="+", default=list(TRACKS), choices=TRACKS, help="track counts (default 4 8 16)")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    counts = tuple(sorted(set(arguments.tracks)))
    if arguments.stage == "cost":
        cost(arguments.out, counts)
    elif arguments.stage == "quality":
        quality(arguments.out, arguments.steps, arguments.songs, arguments.madmom, counts)
    else:
        figure(arguments.out, counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
