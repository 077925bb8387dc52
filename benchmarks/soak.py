"""Soak: does resident memory grow over a long run? (issue 29; results in docs/benchmarks.md).

Runs ``synctrack train`` for ``--steps`` steps, then ``synctrack sample`` for ``--songs`` songs, each in its own
process, and reads the process's resident memory (``VmRSS`` in ``/proc/PID/status``) once a second. Training
memory is reported at every ``--every`` steps (the step read from ``log.jsonl``, logged that often); sampling
memory at every ``--batch`` songs written. Growth = last sample / the first sample after warm-up (the first
``--every`` steps, the first batch of songs): a steady process stays within a few percent.

Example (the command behind the figures in docs/benchmarks.md):
  python benchmarks/soak.py --out runs/soak --steps 2000 --songs 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RECIPE = "recipes/tiny.yaml"


def resident_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def last_step(log: Path) -> int:
    try:
        lines = log.read_text().splitlines()
    except OSError:
        return 0
    steps = [json.loads(line).get("step", 0) for line in lines if line.startswith("{")]
    return max(steps, default=0)


def watch(argv: list[str], progress, every: int) -> list[tuple[int, float]]:
    """Run ``argv``; return ``(progress, resident MiB)`` each time ``progress()`` passes a multiple of ``every``."""
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[int, float]] = []
    while process.poll() is None:
        done, memory = progress(), resident_mib(process.pid)
        if memory is not None and done >= every * (len(samples) + 1):
            samples.append((done, memory))
        time.sleep(1.0)
    if process.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({process.returncode}):\n{process.stderr.read()[-2000:]}")
    return samples


def report(name: str, unit: str, samples: list[tuple[int, float]]) -> str:
    if len(samples) < 2:
        return f"{name}: too few samples ({len(samples)})"
    start, end = samples[0][1], samples[-1][1]
    rows = "\n".join(f"| {done} | {memory:.0f} |" for done, memory in samples)
    return (f"{name}: {start:.0f} MiB after {samples[0][0]} {unit}, {end:.0f} MiB after {samples[-1][0]} {unit}: "
            f"growth {100 * (end / start - 1):+.1f}%\n\n| {unit} | resident MiB |\n|---|---|\n{rows}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--songs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    arguments = parser.parse_args()
    run = arguments.out / "run"
    train = [sys.executable, "-m", "synctrack", "train", RECIPE, f"train.steps={arguments.steps}",
             f"train.log_every={arguments.every}", f"train.checkpoint_every={arguments.steps}", "train.sample_every=null",
             "train.tensorboard=false", "--out", str(run), "--overwrite", "--no-progress"]
    trained = watch(train, lambda: last_step(run / "log.jsonl"), arguments.every)
    songs = arguments.out / "songs"
    sample = [sys.executable, "-m", "synctrack", "sample", str(run), "--num", str(arguments.songs), "--batch-size",
              str(arguments.batch), "--steps", "10", "--out", str(songs), "--overwrite"]
    sampled = watch(sample, lambda: len(list(songs.glob("song_*"))) if songs.exists() else 0, arguments.batch)
    text = report("train", "steps", trained) + "\n" + report("sample", "songs", sampled)
    (arguments.out / "soak.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
