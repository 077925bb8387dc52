"""benchmarks/scaling_study.py's figure and table (issue 19): what it reads from `synctrack ablate`'s tables.

The trainings and scoring it drives are `synctrack train` and `synctrack ablate`, tested where they live; here
the tables are written by hand, so each number the study reports can be traced to the cell it came from."""

from __future__ import annotations

import csv
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
