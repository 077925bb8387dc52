"""benchmarks/scaling_study.py's figure and table (issue 19): what it reads from `synctrack ablate`'s tables.

The trainings and scoring it drives are `synctrack train` and `synctrack ablate`, tested where they live; here
the tables are written by hand, so each number the study reports can be traced to the cell it came from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from commands import load_benchmark

COMPARISON_HEADER = ["recipe", "kind", "songs", "gap_note"] + [
    f"{metric}{suffix}" for metric in ("IRS", "CBS", "CBD") for suffix in ("", "_ci_low", "_ci_high")]


@pytest.fixture(scope="module")
def study():
    return load_benchmark("scaling_study")


def comparison_row(recipe: str, kind: str, songs: int, cbs: float, note: str = "") -> dict:
    """A comparison.csv row whose CBS is ``cbs`` (interval +-0.05), CBD ``1 - cbs`` and IRS ``cbs / 10``."""
    row = {"recipe": recipe, "kind": kind, "songs": songs, "gap_note": note}
    for metric, value in (("CBS", cbs), ("CBD", 1 - cbs), ("IRS", cbs / 10)):
        row.update({metric: value, f"{metric}_ci_low": value - 0.05, f"{metric}_ci_high": value + 0.05})
    return row


def write_tables(folder: Path, names: dict[str, str]) -> None:
    """An ablation of the four mixers at one S: CBS 0.3 / 0.6 / 0.5 / 0.4, the data 0.7, plus rows the study
    must not read (a per-seed row, the other held-out row, a recipe outside the study)."""
    folder.mkdir(parents=True)
    rows = [comparison_row(names["no-mixers"], "model", 16, 0.3, "baseline"),
            comparison_row(names["time-only"], "model", 16, 0.6),
            comparison_row(names["synctrack"], "model", 16, 0.5),
            comparison_row(names["mix-attention"], "model", 16, 0.4),
            comparison_row("some-other-recipe", "model", 16, 0.9),
            comparison_row(f"{names['synctrack']} (seed 0)", "seed", 16, 0.95),
            comparison_row("held-out songs", "ground truth", 16, 0.8),
            comparison_row("held-out songs through the front end", "ground truth", 16, 0.7, "target")]
    with (folder / "comparison.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COMPARISON_HEADER)
        writer.writeheader()
        writer.writerows(rows)
    with (folder / "paired.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["recipe", "baseline", "metric", "difference", "ci_low", "ci_high", "excludes_zero", "pairs", "seeds"])
        for mixer, closed in (("time-only", 75.0), ("synctrack", 50.0), ("mix-attention", 25.0)):
            writer.writerow([names[mixer], names["no-mixers"], "CBS", (closed / 100) * 0.4, 0, 1, True, 16, 1])
            writer.writerow([names[mixer], names["no-mixers"], "CBS gap closed %", closed, closed - 10, closed + 10, True, 16, 1])


def test_madmom_rows_read_each_mixer_and_the_gap_target_only(study, tmp_path):
    names = {mixer: study.recipe_name(study.recipe(8, mixer)) for mixer in study.MIXERS}
    write_tables(tmp_path / "quality" / "tracks-8", names)
    rows = {(row["tracks"], row["mixer"], row["metric"]): row for row in study.madmom_rows(tmp_path, (4, 8, 16))}
    assert {tracks for tracks, _, _ in rows} == {8}  # S = 4 and 16 have no tables: left out, not an error
    assert rows[8, "time-only", "CBS"]["value"] == pytest.approx(0.6)
    assert rows[8, "mix-attention", "CBD"]["value"] == pytest.approx(0.6)
    assert rows[8, "synctrack", "IRS"]["low"] == pytest.approx(0.0)
    assert rows[8, "data", "CBS"]["value"] == pytest.approx(0.7)  # the gap target, not the other held-out row
    assert rows[8, "synctrack", "CBS gap closed %"]["value"] == pytest.approx(50.0)
    assert rows[8, "synctrack", "CBS gap closed %"]["high"] == pytest.approx(60.0)
    assert (8, "no-mixers", "CBS gap closed %") not in rows  # the baseline closes no gap against itself
    assert all(row["value"] != pytest.approx(0.95) and row["value"] != pytest.approx(0.9) for row in rows.values())


def test_figure_and_table_carry_what_was_measured_and_leave_the_rest_empty(study, tmp_path):
    names = {mixer: study.recipe_name(study.recipe(8, mixer)) for mixer in study.MIXERS}
    write_tables(tmp_path / "quality" / "tracks-8", names)
    study.figure(tmp_path, (4, 8, 16))
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
    table = {(row["tracks"], row["mixer"]): row for row in csv.DictReader((tmp_path / "scaling.csv").open())}
    assert set(table) == {("8", mixer) for mixer in (*study.MIXERS, "data")}
    assert float(table["8", "time-only"]["CBS_gap_closed_percent"]) == pytest.approx(75.0)
    assert float(table["8", "data"]["CBS"]) == pytest.approx(0.7)
    assert table["8", "synctrack"]["step_ms_fastest"] == ""  # no cost sweep in this folder
    assert table["8", "synctrack"]["sync_fraction"] == ""  # no probe either


def write_log(run: Path, rows: list[tuple[int, float, float]]) -> None:
    """A run folder whose trainer logged ``(step, elapsed seconds, seconds per step)`` rows, its mixers joining at
    step 30 of 100, with a probe row (no rate) every 50 steps."""
    run.mkdir(parents=True)
    (run / "recipe.yaml").write_text(f"name: {run.parent.name}\ntrain: {{steps: 100, mixers_from_step: 0.3}}\n")
    lines = []
    for step, elapsed, pace in rows:
        lines.append({"step": step, "loss": 0.1, "steps_per_second": 1.0 / pace, "elapsed_seconds": elapsed})
        if step % 50 == 0:
            lines.append({"step": step, "event": "probe", "sync": 0.1})
    (run / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_side_by_side_step_times_come_from_the_window_where_all_four_ran_with_mixers(study, tmp_path):
    folder = tmp_path / "quality" / "tracks-8"
    names = {mixer: study.recipe_name(study.recipe(8, mixer)) for mixer in study.MIXERS}
    before = [(10, 10.0, 1.0), (20, 20.0, 1.0), (30, 30.0, 1.0)]  # the per-track stage: every arm alike
    write_log(folder / names["no-mixers"] / "run", [*before, (40, 40.0, 1.0), (50, 50.0, 1.0), (60, 60.0, 1.0), (70, 70.0, 1.0)])
    # the others speed up once no-mixers has finished at 70 s: those rows lie outside the window
    write_log(folder / names["time-only"] / "run", [*before, (40, 42.0, 1.2), (50, 54.0, 1.2), (60, 66.0, 1.2), (70, 78.0, 0.3),
                                                    (80, 81.0, 0.3), (90, 84.0, 0.3), (100, 87.0, 0.3)])
    write_log(folder / names["synctrack"] / "run", [*before, (40, 50.0, 2.0), (50, 70.0, 2.0), (60, 75.0, 0.5), (70, 80.0, 0.5),
                                                    (80, 85.0, 0.5), (90, 90.0, 0.5), (100, 95.0, 0.5)])
    write_log(folder / names["mix-attention"] / "run", [*before, (40, 45.0, 1.5), (50, 60.0, 1.5), (60, 72.0, 0.3), (70, 75.0, 0.3),
                                                        (80, 78.0, 0.3), (90, 81.0, 0.3), (100, 84.0, 0.3)])
    rows = {row["mixer"]: row for row in study.side_by_side_rows(tmp_path, (4, 8))}
    assert {row["tracks"] for row in rows.values()} == {8}  # S = 4 has no trainings here: left out
    # the window runs from 50 s (synctrack's first row past its mixers' join, the last arm's) to 70 s (no-mixers done)
    assert rows["no-mixers"]["seconds_per_step"] == pytest.approx(1.0)
    assert rows["time-only"]["seconds_per_step"] == pytest.approx(1.2)
    assert rows["synctrack"]["vs_no_mixers"] == pytest.approx(2.0)
    assert rows["mix-attention"]["vs_no_mixers"] == pytest.approx(1.5)
    assert [rows[mixer]["log_rows"] for mixer in study.MIXERS] == [3, 2, 2, 1]
