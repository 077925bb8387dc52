"""The sampler study: how many fewer denoiser calls give metrics within their interval of DDIM 200?

One trained checkpoint samples the same songs (the same seed, so song ``i`` starts from the same initial noise
in every setting) with DDIM 200 / 50 / 25 and DPM-Solver++ (2M) 25 / 20 / 10; each set is scored with madmom
against held-out songs through the same front end (IRS, CBS, CBD, FD); then every setting minus DDIM 200, song
by song, with the two-stage interval of ``synctrack ablate --seeds`` (one seed here). Every stage is skipped when
its output exists, so a stopped study picks up where it was.

  python benchmarks/sampler_study.py runs/ls/e10-paper-seed0/p8-synctrack/run \\
      --reference runs/ls/e10-paper-seed0/references/codec-bf28c1e74e --out runs/sampler-study
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# (name, sampler, steps, denoiser calls per song): DDIM and DPM-Solver++ 2M call the denoiser once per step
SETTINGS = (
    ("ddim-200", "ddim", 200, 200),
    ("ddim-50", "ddim", 50, 50),
    ("ddim-25", "ddim", 25, 25),
    ("dpm-25", "dpm_solver_pp", 25, 25),
    ("dpm-20", "dpm_solver_pp", 20, 20),
    ("dpm-10", "dpm_solver_pp", 10, 10),
)
BASELINE = "ddim-200"


def synctrack(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "synctrack", *args], check=True, env={**os.environ, "COLUMNS": "160"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--reference", type=Path, required=True, help="held-out songs through the model's front end")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--songs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    from synctrack.experiments.seeds import paired_differences

    arguments.out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    for name, sampler, steps, _ in SETTINGS:
        folder, report = arguments.out / name, arguments.out / name / "eval-madmom.json"
        if report.is_file():
            continue
        started = time.monotonic()
        synctrack("sample", str(arguments.checkpoint), "--num", str(arguments.songs), "--seed", str(arguments.seed),
                  "--sampler", sampler, "--steps", str(steps), "--out", str(folder), "--overwrite")
        seconds[name] = time.monotonic() - started
        synctrack("eval", str(folder), "--reference", str(arguments.reference), "--tracker", "madmom",
                  "--metrics", "irs,cbs,cbd,fad", "--out", str(report), "--no-page")

    reports = {name: [arguments.out / name / "eval-madmom.json"] for name, *_ in SETTINGS}
    differences = paired_differences(reports, BASELINE)
    means = {name: {v["metric"]: v for v in json.loads(paths[0].read_text())["values"]["generated"]
                    if v["track"] in ("all", "mix")} for name, paths in reports.items()}
    lines = ["| setting | denoiser calls | CBS | CBD | FD (bias-corrected) | Δ CBS vs DDIM 200 | Δ CBD vs DDIM 200 |",
             "|---|---|---|---|---|---|---|"]
    for name, _, _, calls in SETTINGS:
        cells = []
        for metric in ("cbs", "cbd", "fad"):
            value = means[name].get(metric)
            cells.append("-" if value is None or value["value"] is None else
                         f"{value['value']:.3f} [{value['ci_low']:.3f}, {value['ci_high']:.3f}]")
        for column in ("CBS", "CBD"):
            found = [d for d in differences if d.recipe == name and d.column == column]
            cells.append("baseline" if name == BASELINE else "-" if not found else
                         f"{found[0].mean:+.3f} [{found[0].ci_low:+.3f}, {found[0].ci_high:+.3f}]"
                         + (" (differs)" if found[0].resolved else ""))
        lines.append(f"| {name} | {calls} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    summary = {"checkpoint": str(arguments.checkpoint), "songs": arguments.songs, "seed": arguments.seed,
               "sample_seconds": seconds, "table": table}
    (arguments.out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
