"""The tempo study (issue 17, docs/conditioning.md): does a tempo-conditioned model play at the tempo it is asked for?

A model trained with a ``tempo`` conditioner (``recipes/conditioning/bench-tempo.yaml``) samples ``--songs``
songs at each asked tempo and guidance scale; an unconditioned model samples ``--songs`` songs once (it cannot
be asked, so each asked tempo is scored against the same songs). That reference is, with ``--unconditioned
RUN``, a model trained without conditions on the same songs; without it, the conditioned model's own
unconditional branch (guidance 0: the null condition it learnt from condition dropout), which saves the
second training but shares every weight with the arm it is compared with. Every song's
tempo is read from the beats of its mix (``synctrack.eval.tempo``: 60 over the median inter-beat interval,
the same beat tracker as the rhythm metrics), and ``synctrack eval`` gives CBS and CBD. Each stage is skipped
when its output exists, so a stopped study picks up where it was.

  synctrack train recipes/conditioning/bench-tempo.yaml --out runs/tempo
  synctrack train recipes/bench/synctrack.yaml --out runs/tempo-none 'data.tempo_range=[80.0, 150.0]'
  python benchmarks/tempo_study.py --conditioned runs/tempo --unconditioned runs/tempo-none --out runs/tempo-study
  python benchmarks/tempo_study.py --conditioned runs/tempo --out runs/tempo-study-null   # the null branch

Writes OUT/tempo.csv and OUT/tempo.png. The CSV has one row per arm, asked tempo and guidance: the mean
relative tempo error, accuracy 1 and 2 with 95% song-bootstrap intervals, CBS and CBD. Each conditioned row
also gives its relative error minus the unconditioned model's, song by song: both arms sample with seed 0, so
song i starts from the same noise in both, as ``synctrack ablate`` pairs recipes. Every asked row carries the
chance level: the error of songs at a random tempo of the training range, which ignore what was asked. Two more rows score
held-out songs, raw and through the front end, against their own known tempo: the error the beat tracker
makes on songs whose tempo is right. The figure draws tempo error against guidance, one line per asked tempo,
with the unconditioned model dotted and the held-out songs dashed.
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

TRAINING_RANGE = (80.0, 150.0)  # recipes/conditioning/bench-tempo.yaml: asked tempi outside it were never heard


def reference_arm(conditioned: Path, unconditioned: Path | None) -> tuple[Path, list[str]]:
    """The run and ``synctrack sample`` options of the unconditioned reference: ``unconditioned`` as it is,
    else ``conditioned`` at guidance 0, where the sampler runs only the null-condition branch, so the tempo
    passed (required to reach the conditioned path) is never heard."""
    if unconditioned is not None:
        return unconditioned, []
    return conditioned, ["--tempo", f"{sum(TRAINING_RANGE) / 2:g}", "--guidance", "0"]


def synctrack(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "synctrack", *args], check=True, env={**os.environ, "COLUMNS": "160"})


def sample_and_score(run: Path, out: Path, songs: int, tracker: str, options: list[str]) -> None:
    if not (out / "sampling.json").exists():
        synctrack("sample", str(run), "--num", str(songs), "--out", str(out), "--overwrite", "--seed", "0", *options)
    if not (out / "eval.json").exists():
        synctrack("eval", str(out), "--tracker", tracker, "--out", str(out / "eval.json"), "--no-page")


def song_tempi(folder: Path, tracker_name: str) -> np.ndarray:
    """The tempo of every song's mix in ``folder`` ``[N]`` (NaN where fewer than 3 beats were found)."""
    from synctrack import get_registry
    from synctrack.eval.cache import BeatCache, default_cache_root
    from synctrack.eval.extract import extract_beats
    from synctrack.eval.tempo import tempo_from_beats
    from synctrack.interfaces import BeatTracker
    from synctrack.recipe import build

    tracker = build({"type": tracker_name}, BeatTracker, get_registry())
    mixes = sorted(folder.glob("song_*/mix.wav"))
    beats = extract_beats(mixes, tracker, BeatCache(default_cache_root(), tracker.settings()), workers=2)
    return np.array([tempo_from_beats(beats[mix]) for mix in mixes])


def interval(values: np.ndarray, draws: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean over songs and its 95% song-bootstrap interval (NaN songs left out)."""
    from synctrack.eval import bootstrap_ci

    kept = values[np.isfinite(values)]
    if not kept.size:
        return float("nan"), float("nan"), float("nan")
    low, high = bootstrap_ci(kept, lambda batch: batch.mean(axis=1), resamples=draws, seed=seed)
    return float(kept.mean()), low, high


def paired_difference(conditioned: np.ndarray, unconditioned: np.ndarray, draws: int = 2000,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``conditioned - unconditioned`` over the songs ``[N]`` where both are finite, and its 95%
    song-bootstrap interval (NaN when no song has both)."""
    return interval(np.asarray(conditioned, float) - np.asarray(unconditioned, float), draws, seed)


def chance_errors(asked: float, tempo_range: tuple[float, float] = TRAINING_RANGE, points: int = 4001) -> tuple[float, float]:
    """The mean ``relative`` and ``relative_octave`` error of songs that ignore the asked tempo: each played at a
    tempo drawn uniformly from ``tempo_range`` (as the synthetic world draws them) and read exactly. A conditioned
    model's error near this level shows no effect of the condition, however the intervals look."""
    from synctrack.eval.tempo import tempo_errors

    errors = tempo_errors(np.linspace(*tempo_range, points), asked)
    return float(errors["relative"].mean()), float(errors["relative_octave"].mean())


def error_row(arm: str, asked: float, seen: bool, guidance: float | str, detected: np.ndarray, target,
              baseline: np.ndarray | None = None, folder: Path | None = None) -> dict:
    """One row of tempo.csv: the errors of the songs' tempi ``detected [N]`` against ``target`` (the asked
    tempo, or each song's own ``[N]``) with intervals; minus the errors of ``baseline`` (the unconditioned
    model's tempi, song by song) when given; CBS and CBD from ``folder``'s eval.json when given."""
    from synctrack.eval.tempo import tempo_errors

    nothing = (float("nan"),) * 3
    errors = tempo_errors(detected, target)
    row = {"arm": arm, "asked_bpm": asked, "seen_in_training": seen, "guidance": guidance,
           "songs": int(np.isfinite(detected).sum()), "median_detected_bpm": float(np.nanmedian(detected))}
    for name in ("relative", "relative_octave", "accuracy1", "accuracy2"):
        row[name], row[f"{name}_low"], row[f"{name}_high"] = interval(errors[name])
    reference = None if baseline is None else tempo_errors(baseline, target)
    row["relative_minus_unconditioned"], row["difference_low"], row["difference_high"] = (
        nothing if reference is None else paired_difference(errors["relative"], reference["relative"]))
    row["octave_minus_unconditioned"], row["octave_difference_low"], row["octave_difference_high"] = (
        nothing if reference is None else paired_difference(errors["relative_octave"], reference["relative_octave"]))
    row["chance_relative"], row["chance_relative_octave"] = nothing[:2] if np.isnan(asked) else chance_errors(asked)
    row["CBS"], row["CBD"] = nothing[:2] if folder is None else (metric(folder, "cbs"), metric(folder, "cbd"))
    return row


def held_out_rows(run: Path, out: Path, songs: int, tracker: str) -> list[dict]:
    """The tracker's own error: ``songs`` held-out songs of the run's data (tempo known), raw and through the
    front end (the codec round trip every generated song takes), scored against their true tempo."""
    from synctrack.experiments.reference import render_references
    from synctrack.recipe import load_recipe

    recipe = load_recipe(run / "recipe.yaml")
    references = render_references(recipe, songs, out / "references")
    dataset = recipe.with_overrides(["data.split=test"]).build("data")
    truth = np.array([dataset[index]["meta"]["tempo"] for index in range(songs)])
    return [error_row(arm, float("nan"), True, "", song_tempi(folder, tracker), truth)
            for arm, folder in (("held-out songs", references.raw), ("held-out through the front end", references.codec))]


def metric(folder: Path, name: str) -> float:
    """A metric's song mean over all tracks from ``synctrack eval``'s JSON (NaN when it was not computed)."""
    from synctrack.experiments.report import metric_value

    found = metric_value(json.loads((folder / "eval.json").read_text()), name, "all")
    return float("nan") if found is None else found[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conditioned", type=Path, required=True, help="run folder of the tempo-conditioned model")
    parser.add_argument("--unconditioned", type=Path, default=None,
                        help="run folder of the same recipe without conditions (default: the conditioned model's own "
                             "unconditional branch, guidance 0)")
    parser.add_argument("--out", type=Path, default=Path("runs/tempo-study"))
    parser.add_argument("--tempi", type=float, nargs="+", default=[70.0, 90.0, 115.0, 140.0, 160.0])
    parser.add_argument("--guidance", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    parser.add_argument("--songs", type=int, default=16)
    parser.add_argument("--tracker", default="madmom")
    arguments = parser.parse_args()

    out = arguments.out
    out.mkdir(parents=True, exist_ok=True)
    reference = out / ("unconditioned" if arguments.unconditioned is not None else "null-branch")
    reference_run, reference_options = reference_arm(arguments.conditioned, arguments.unconditioned)
    sample_and_score(reference_run, reference, arguments.songs, arguments.tracker, reference_options)
    unconditioned = song_tempi(reference, arguments.tracker)
    rows = []
    for asked in arguments.tempi:
        seen = TRAINING_RANGE[0] <= asked <= TRAINING_RANGE[1]
        rows.append(error_row("unconditioned", asked, seen, "", unconditioned, asked, folder=reference))
        for scale in arguments.guidance:
            folder = out / f"tempo-{asked:g}-guidance-{scale:g}"
            sample_and_score(arguments.conditioned, folder, arguments.songs, arguments.tracker,
                             ["--tempo", f"{asked:g}", "--guidance", f"{scale:g}"])
            rows.append(error_row("conditioned", asked, seen, scale, song_tempi(folder, arguments.tracker), asked,
                                  baseline=unconditioned, folder=folder))
    rows += held_out_rows(arguments.conditioned, out, arguments.songs, arguments.tracker)
    with (out / "tempo.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    draw(rows, out / "tempo.png")
    print(summary(rows))
    print(f"wrote {out / 'tempo.csv'} and {out / 'tempo.png'}")
    return 0


def summary(rows: list[dict]) -> str:
    """One line per row: the arm, asked tempo, guidance, tempo error against the unconditioned model, CBS, CBD."""
    lines = ["asked  arm            guidance  songs  median BPM  tempo error            minus unconditioned        "
             "octave error          minus unconditioned        chance (tempo, octave)  acc1   acc2   CBS    CBD"]
    for row in rows:
        difference = ("" if row["arm"] != "conditioned" else
                      f"{100 * row['relative_minus_unconditioned']:+6.1f} "
                      f"[{100 * row['difference_low']:+.1f}, {100 * row['difference_high']:+.1f}]")
        asked = "own" if np.isnan(row["asked_bpm"]) else f"{row['asked_bpm']:g}"
        octave = ("" if row["arm"] != "conditioned" else
                  f"{100 * row['octave_minus_unconditioned']:+6.1f} "
                  f"[{100 * row['octave_difference_low']:+.1f}, {100 * row['octave_difference_high']:+.1f}]")
        chance = "" if np.isnan(row["asked_bpm"]) else f"{100 * row['chance_relative']:5.1f}%, {100 * row['chance_relative_octave']:5.1f}%"
        lines.append(f"{asked:>5}  {row['arm']:<13}  {str(row['guidance']):>8}  {row['songs']:5d}  "
                     f"{row['median_detected_bpm']:10.1f}  {100 * row['relative']:5.1f}% "
                     f"[{100 * row['relative_low']:.1f}, {100 * row['relative_high']:.1f}]  {difference:<25}  "
                     f"{100 * row['relative_octave']:5.1f}% "
                     f"[{100 * row['relative_octave_low']:.1f}, {100 * row['relative_octave_high']:.1f}]  {octave:<25}  {chance:<22}  "
                     f"{row['accuracy1']:.2f}   {row['accuracy2']:.2f}   {row['CBS']:.3f}  {row['CBD']:.3f}")
    return "\n".join(lines)


def draw(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=False)
    panels = (("relative", "tempo error, % of the asked tempo"),
              ("relative_octave", "error to the nearest metrical level (x1/3 .. x3), %"))
    for axis, (name, label) in zip(axes, panels):
        for row in rows:
            if row["arm"] == "held-out through the front end":  # the tracker's error on songs of known tempo
                axis.axhline(100 * row[name], color="grey", ls="--", lw=1, label="held-out songs, front end")
        for asked in sorted({row["asked_bpm"] for row in rows if row["arm"] in ("conditioned", "unconditioned")}):
            mine = [row for row in rows if row["asked_bpm"] == asked and row["arm"] == "conditioned"]
            scales = [row["guidance"] for row in mine]
            means = [100 * row[name] for row in mine]
            spread = [[100 * (row[name] - row[f"{name}_low"]) for row in mine],
                      [100 * (row[f"{name}_high"] - row[name]) for row in mine]]
            line = axis.errorbar(scales, means, yerr=spread, marker="o", capsize=3,
                                 label=f"{asked:g} BPM{'' if mine[0]['seen_in_training'] else ' (unseen)'}")
            baseline = next(row for row in rows if row["asked_bpm"] == asked and row["arm"] == "unconditioned")
            axis.axhline(100 * baseline[name], color=line[0].get_color(), ls=":", lw=1)
        axis.set(xlabel="guidance scale", ylabel=label)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("asked tempo vs the tempo of the songs (dotted: unconditioned model; dashed: held-out songs)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
