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
- ``figure``: one figure, quality and cost side by side against S (``OUT/scaling.png``), and
  ``OUT/scaling.csv`` with every number in it.

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
            for row in csv.DictReader(next((out / "cost" / f"tracks-{tracks}-{mixer}").glob("model-*.csv")).open()):
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


def figure(out: Path, counts: tuple[int, ...] = TRACKS) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # quality where it was measured; cost at every S of the study
    measured = tuple(tracks for tracks in counts if (out / "quality" / f"tracks-{tracks}" / "probe.json").exists())
    quality_table, cost_table = quality_rows(out, measured), cost_rows(out, counts)
    figure_, (sync_axis, time_axis, memory_axis) = plt.subplots(1, 3, figsize=(15, 4.2))
    for mixer in MIXERS:
        rows = [row for row in quality_table if row["mixer"] == mixer]
        xs = [row["tracks"] for row in rows]
        ys = [100 * row["sync_fraction"] for row in rows]
        errors = [[100 * (row["sync_fraction"] - row["low"]) for row in rows], [100 * (row["high"] - row["sync_fraction"]) for row in rows]]
        sync_axis.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=mixer)
        spent = sorted((row for row in cost_table if row["mixer"] == mixer), key=lambda row: row["tracks"])
        time_axis.plot([row["tracks"] for row in spent], [row["fastest_ms"] / 1000 for row in spent], marker="o", label=mixer)
        memory_axis.plot([row["tracks"] for row in spent], [row["peak_mib"] for row in spent], marker="o", label=mixer)
    steps = sorted({row["steps"] for row in quality_table})
    sync_axis.set(title=f"sync probe after {'/'.join(map(str, steps))} steps (% of the data's)", ylabel="% of the data's sync")
    time_axis.set(title=f"one training step, {TRACK_CLIPS_PER_STEP} track-clips, 2 threads (fastest of 3)", ylabel="seconds")
    memory_axis.set(title="peak memory of that step", ylabel="MiB")
    for axis in (sync_axis, time_axis, memory_axis):
        axis.set_xscale("log", base=2)
        axis.set_xticks(TRACKS, [str(tracks) for tracks in TRACKS])
        axis.set_xlabel("tracks S")
        axis.grid(alpha=0.3)
    sync_axis.axhline(0, color="grey", lw=0.8)
    sync_axis.legend(fontsize=8)
    figure_.tight_layout()
    figure_.savefig(out / "scaling.png", dpi=110)
    spent = {(row["tracks"], row["mixer"]): row for row in cost_table}
    with (out / "scaling.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tracks", "mixer", "steps", "probe_songs", "sync_fraction", "sync_low", "sync_high", "data_sync", "step_ms_median",
                         "step_ms_fastest", "peak_mib"])
        for row in quality_table:
            paid = spent.get((row["tracks"], row["mixer"]), {})
            writer.writerow([row["tracks"], row["mixer"], row["steps"], row["songs"], f"{row['sync_fraction']:.3f}", f"{row['low']:.3f}",
                             f"{row['high']:.3f}", f"{row['data_sync']:.3f}", paid.get("time_ms", ""), paid.get("fastest_ms", ""),
                             paid.get("peak_mib", "")])
    print(f"wrote {out / 'scaling.png'} and {out / 'scaling.csv'}")


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
