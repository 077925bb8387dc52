"""One learning-speed experiment: recipes trained side by side for the same wall-clock budget, then scored.

Each arm is ``synctrack train RECIPE`` on one thread (the arms share the two cores, one each), with the
overrides of the lever and ``train.probe_every`` so that ``log.jsonl`` holds its learning curve. The step count
of each arm comes from its own measured step time (``--measure`` first runs a few steps of every arm side by
side), so that the cosine schedule ends with the budget; ``timeout -s TERM`` stops an arm that runs long
(the trainer saves and exits 143). Then every arm gets ``synctrack probe`` and, with ``--madmom``,
``synctrack ablate`` scores 16 songs with madmom, with the sync gap closed against the ``*no-mixers`` arm.

Examples (docs/learning-speed.md lists what was run):
  python benchmarks/learning_speed.py --out runs/ls/cheap --minutes 10 --madmom \\
      recipes/bench/synctrack.yaml recipes/bench/no-mixers.yaml -- model.encoder.mel.n_mels=16
  python benchmarks/learning_speed.py --out runs/ls/e10 --madmom runs/ls/recipes/p8-synctrack.yaml \
      runs/ls/recipes/p8-no-mixers.yaml --steps p8-synctrack=874 p8-no-mixers=1028 -- train.seed=0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MEASURE_STEPS = 12


def synctrack(*args: str) -> list[str]:
    return [sys.executable, "-m", "synctrack", *args]


def environment(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "COLUMNS": "160"}


def recipe_name(recipe: Path, overrides: list[str]) -> str:
    from synctrack.recipe import load_recipe

    return str(load_recipe(recipe, overrides).get("name"))


def train_side_by_side(recipes: list[Path], out: Path, overrides: list[str], steps: dict[str, int],
                       extra: list[str], limit_s: float | None) -> dict[str, float]:
    """Train every recipe at once (one thread each); returns each arm's wall seconds."""
    processes, started = {}, time.monotonic()
    for recipe in recipes:
        name = recipe_name(recipe, overrides)
        run = out / name / "run"
        argv = synctrack("train", str(recipe), "--out", str(run), "--overwrite", *overrides, *extra,
                         f"train.steps={steps[name]}", "train.tensorboard=false")
        if limit_s is not None:
            argv = ["timeout", "-s", "TERM", str(int(limit_s)), *argv]
        log = open(out / f"{name}.train.log", "w")
        processes[name] = (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment(1)), log)
    seconds: dict[str, float] = {}
    while len(seconds) < len(processes):  # each arm's own wall time: poll, do not wait in order
        for name, (process, log) in processes.items():
            if name in seconds or process.poll() is None:
                continue
            seconds[name] = time.monotonic() - started
            log.close()
            if process.returncode not in (0, 124, 143):
                raise SystemExit(f"{name}: training exited {process.returncode}; see {out / f'{name}.train.log'}")
        time.sleep(1.0)
    return seconds


def step_seconds(run: Path) -> float:
    """Seconds per step from step 3 on (the first steps carry start-up costs), from the logged wall clock."""
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    timed = [(row["step"], row["elapsed_seconds"]) for row in rows if "elapsed_seconds" in row and row["step"] >= 3]
    (first_step, first_time), (last_step, last_time) = timed[0], timed[-1]
    return (last_time - first_time) / (last_step - first_step)


def fixed_steps(pairs: list[str], names: list[str]) -> dict[str, int]:
    """``["p8-synctrack=874", ...]`` -> ``{"p8-synctrack": 874, ...}``, one positive count for every arm."""
    steps = {}
    for pair in pairs:
        name, _, count = pair.partition("=")
        if name not in names or not count.isdigit() or int(count) < 1:
            raise SystemExit(f"--steps {pair!r}: expected NAME=STEPS with NAME one of {names} and STEPS a positive integer")
        steps[name] = int(count)
    if missing := [name for name in names if name not in steps]:
        raise SystemExit(f"--steps: no step count for {missing}; give NAME=STEPS for every arm")
    return steps


def planned_steps(recipes: list[Path], names: list[str], out: Path, overrides: list[str], minutes: float,
                  probe_every: int) -> tuple[dict[str, float], dict[str, int]]:
    """Each arm's seconds per step (measured side by side) and the steps that fill ``minutes`` of wall time."""
    measure = out / "measure"
    measure.mkdir(exist_ok=True)
    train_side_by_side(recipes, measure, overrides, dict.fromkeys(names, MEASURE_STEPS), ["train.log_every=1"], None)
    per_step = {name: step_seconds(measure / name / "run") for name in names}
    budget = 60.0 * minutes
    # the probes run inside the budget's wall time: leave them room (about 20 s each at 8 songs)
    steps = {}
    for name in names:
        probes = budget / (probe_every * per_step[name])
        steps[name] = max(int((budget - 20.0 * probes) / per_step[name]), 1)
    return per_step, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock training budget of every arm")
    parser.add_argument("--probe-every", type=int, default=50)
    parser.add_argument("--madmom", action="store_true", help="then score 16 songs per arm with madmom (synctrack ablate)")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--steps", nargs="+", metavar="NAME=STEPS", default=None,
                        help="fixed step counts per arm (recipe name=steps) instead of --minutes: no measuring phase and "
                             "no time limit, so the result does not depend on what else runs on the machine")
    argv = sys.argv[1:]  # overrides for every arm follow "--" (argparse would take them for recipes)
    split = argv.index("--") if "--" in argv else len(argv)
    arguments, overrides = parser.parse_args(argv[:split]), argv[split + 1:]
    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    names = [recipe_name(recipe, overrides) for recipe in arguments.recipes]

    if arguments.steps is not None:
        steps, per_step, limit_s = fixed_steps(arguments.steps, names), {}, None
    else:
        per_step, steps = planned_steps(arguments.recipes, names, out, overrides, arguments.minutes, arguments.probe_every)
        limit_s = 60.0 * arguments.minutes + 120
    print(json.dumps({"seconds_per_step": per_step, "steps": steps}, indent=2), flush=True)

    wall = train_side_by_side(arguments.recipes, out, overrides, steps,
                              [f"train.probe_every={arguments.probe_every}", "train.probe_songs=4", "train.checkpoint_every=100000"], limit_s)
    summary = {"overrides": overrides, "minutes": None if arguments.steps else arguments.minutes, "seconds_per_step_one_thread": per_step,
               "steps": steps, "wall_seconds": wall, "probe": {}}
    for name in names:
        result = subprocess.run(synctrack("probe", str(out / name / "run"), "--json", str(out / f"{name}.probe.json")),
                                env=environment(2), capture_output=True, text=True)
        print(result.stdout[-2000:], result.stderr[-2000:], flush=True)
        summary["probe"][name] = json.loads((out / f"{name}.probe.json").read_text())[str(out / name / "run")]
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if arguments.madmom:
        reached = min(int(json.loads(line)["step"]) for name in names
                      for line in [(out / name / "run" / "log.jsonl").read_text().splitlines()[-1]])
        argv = synctrack("ablate", *map(str, arguments.recipes), *overrides, "--train-steps", str(max(reached, 1)),
                         "--samples", str(arguments.samples), "--out", str(out))
        subprocess.run(argv, env=environment(2), check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
