"""Several seeds per recipe: the two-stage bootstrap against closed forms, paired differences on hand-made
evaluation reports, and `synctrack ablate --seeds 2` end to end (a recipe against a copy of itself differs by
exactly zero)."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
import yaml
from rich.console import Console

from synctrack.experiments.seeds import (gap_closed_intervals, paired_csv, paired_differences, paired_table, pooled_row,
                                        two_stage_bootstrap)
from listening_pages import read_page


def write_report(path, per_song: dict[str, dict[str, float]], fad: float = 5.0):
    """An evaluation report as ``synctrack eval`` writes it: ``per_song[metric][song]`` for track "all"."""
    values = [{"metric": "fad", "track": "mix", "value": fad, "ci_low": fad - 1, "ci_high": fad + 1, "per_song": None}]
    for metric, songs in per_song.items():
        mean = float(np.mean(list(songs.values())))
        values.append({"metric": metric, "track": "all", "value": mean, "ci_low": mean, "ci_high": mean, "per_song": songs})
    songs = sorted(next(iter(per_song.values())))
    path.write_text(json.dumps({"values": {"generated": values}, "songs": {"generated": songs}}))
    return path


def test_the_bootstrap_of_constants_is_the_constant():
    assert two_stage_bootstrap([np.full(4, 0.25), np.full(7, 0.25)]) == (0.25, 0.25, 0.25)
    assert all(math.isnan(v) for v in two_stage_bootstrap([np.array([])]))


def test_one_seed_gives_the_normal_interval_of_a_mean():
    values = np.random.default_rng(1).normal(0.0, 1.0, 400)
    mean, low, high = two_stage_bootstrap([values], resamples=4000)
    assert mean == pytest.approx(values.mean())
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))  # the closed form the bootstrap approximates
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    assert low < mean < high


def test_the_interval_carries_the_spread_between_seeds():
    """Five training runs that differ by a run-wide offset: resampling songs only would ignore it."""
    rng = np.random.default_rng(2)
    groups = [rng.normal(offset, 0.1, 50) for offset in (-0.3, -0.1, 0.0, 0.2, 0.4)]
    _, low, high = two_stage_bootstrap(groups)
    pooled = np.concatenate(groups)
    songs_only = 2 * 1.96 * pooled.std(ddof=1) / math.sqrt(len(pooled))
    between = 2 * 1.96 * np.std([g.mean() for g in groups], ddof=1) / math.sqrt(len(groups))
    assert high - low > 2 * songs_only and high - low == pytest.approx(between, rel=0.35)


def test_paired_differences_use_only_the_songs_both_scored(tmp_path):
    songs = [f"song_{i:03d}" for i in range(6)]
    base = {song: 0.1 * i for i, song in enumerate(songs)}
    reports = {"baseline": [], "better": [], "same": []}
    for seed in range(2):
        reports["baseline"].append(write_report(tmp_path / f"b{seed}.json", {"cbs": base, "cbd": base}))
        shifted = {song: value + 0.05 for song, value in base.items() if song != "song_005"}  # one song unscored
        reports["better"].append(write_report(tmp_path / f"s{seed}.json", {"cbs": shifted, "cbd": base}))
        reports["same"].append(write_report(tmp_path / f"c{seed}.json", {"cbs": base, "cbd": base}))
    found = {(d.recipe, d.column): d for d in paired_differences(reports, "baseline")}
    assert set(found) == {(r, c) for r in ("better", "same") for c in ("CBS", "CBD")}  # FD has no per-song values
    cbs = found["better", "CBS"]
    assert (cbs.mean, cbs.ci_low, cbs.ci_high, cbs.pairs, cbs.seeds) == pytest.approx((0.05, 0.05, 0.05, 10, 2))
    assert cbs.resolved
    for column in ("CBS", "CBD"):
        same = found["same", column]
        assert (same.mean, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0) and not same.resolved
    with pytest.raises(KeyError, match="no baseline recipe named 'nope'"):
        paired_differences(reports, "nope")


def test_the_gap_closed_interval_is_the_mean_s_interval_mapped_onto_the_gap(tmp_path):
    """With a constant baseline the gap closed is linear in the recipe's mean, so its interval must be the
    two-stage interval of that mean (the same draws), mapped through 100 (mean - baseline) / (target - baseline)."""
    rng = np.random.default_rng(3)
    songs = [f"song_{i:03d}" for i in range(16)]
    base = {song: 0.3 for song in songs}
    target = write_report(tmp_path / "target.json", {"cbs": {song: 0.7 for song in songs}, "cbd": {song: 0.04 for song in songs}})
    reports = {"baseline": [], "mixers": []}
    means = []
    for seed in range(3):
        ours = {song: float(v) for song, v in zip(songs, rng.normal(0.5 + 0.05 * seed, 0.15, len(songs)))}
        means.append(np.array(list(ours.values())))
        reports["baseline"].append(write_report(tmp_path / f"b{seed}.json", {"cbs": base, "cbd": {s: 0.4 for s in songs}}))
        reports["mixers"].append(write_report(tmp_path / f"m{seed}.json", {"cbs": ours, "cbd": {s: 0.22 for s in songs}}))
    found = {d.column: d for d in gap_closed_intervals(reports, "baseline", target)}
    assert set(found) == {"CBS gap closed %", "CBD gap closed %"}
    mean, low, high = two_stage_bootstrap(means)
    to_gap = lambda value: 100.0 * (value - 0.3) / (0.7 - 0.3)  # noqa: E731
    cbs = found["CBS gap closed %"]
    assert (cbs.mean, cbs.ci_low, cbs.ci_high) == pytest.approx((to_gap(mean), to_gap(low), to_gap(high)))
    assert (cbs.pairs, cbs.seeds) == (48, 3)
    cbd = found["CBD gap closed %"]  # lower is better: (0.22 - 0.4) / (0.04 - 0.4) = 50%, no spread
    assert (cbd.mean, cbd.ci_low, cbd.ci_high) == pytest.approx((50.0, 50.0, 50.0))
    text = paired_csv(list(found.values()))
    assert "mixers,baseline,CBS gap closed %," in text

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(paired_table(list(found.values()), "gap"))
    shown = console.export_text()
    assert "CBS gap closed" in shown and "50% [50, 50]" in shown


def test_a_recipe_equal_to_its_baseline_closes_none_of_the_gap(tmp_path):
    songs = {f"song_{i:03d}": 0.1 * i for i in range(5)}
    target = write_report(tmp_path / "target.json", {"cbs": {s: 0.9 for s in songs}})
    reports = {"baseline": [write_report(tmp_path / "b.json", {"cbs": songs})],
               "copy": [write_report(tmp_path / "c.json", {"cbs": songs})]}
    (closed,) = gap_closed_intervals(reports, "baseline", target)  # no CBD values: no CBD row
    assert (closed.column, closed.mean, closed.ci_low, closed.ci_high) == ("CBS gap closed %", 0.0, 0.0, 0.0)


def test_ablate_gives_a_gap_interval_only_to_recipes_the_table_gives_a_gap(tmp_path):
    from synctrack.cli.ablate import write_paired

    songs = [f"song_{i:03d}" for i in range(4)]
    target = write_report(tmp_path / "target.json", {"cbs": {s: 0.7 for s in songs}, "cbd": {s: 0.04 for s in songs}})
    per_seed = [[(name, write_report(tmp_path / f"{name}.json", {"cbs": {s: value for s in songs}, "cbd": {s: 0.3 for s in songs}}))
                 for name, value in (("mixers", 0.5), ("silent", 0.6), ("no-mixers", 0.3))]]  # fmt: skip
    write_paired(per_seed, "no-mixers", tmp_path, target, with_gap=frozenset({"mixers"}))
    with open(tmp_path / "paired.csv") as handle:
        rows = {(row["recipe"], row["metric"]): row for row in csv.DictReader(handle)}
    assert float(rows["mixers", "CBS gap closed %"]["difference"]) == pytest.approx(50.0)
    assert ("silent", "CBS") in rows and not any(metric.endswith("gap closed %") for recipe, metric in rows if recipe == "silent")
    write_paired(per_seed, "no-mixers", tmp_path)  # no target (no gap in the table): no gap rows at all
    assert "gap closed" not in (tmp_path / "paired.csv").read_text()


def test_a_pooled_row_averages_songs_over_seeds_and_fd_over_seeds(tmp_path):
    paths = [write_report(tmp_path / "a.json", {"cbs": {"s0": 0.2, "s1": 0.4}}, fad=4.0),
             write_report(tmp_path / "b.json", {"cbs": {"s0": 0.6, "s1": 0.8, "s2": 1.0}}, fad=6.0)]
    row = pooled_row("recipe", paths)
    assert row.values["CBS"][0] == pytest.approx(0.6) and row.songs == 5
    assert row.values["FD"][0] == 5.0 and math.isnan(row.values["FD"][1])
    assert row.values["IRS"] is None


def test_ablate_with_two_seeds_pairs_a_recipe_with_itself_at_zero(cli, repo, tmp_path, tiny_overrides, tiny_env):
    copy = tmp_path / "copy.yaml"  # the same recipe under another name: the same runs, the same songs
    copy.write_text(f"base: {repo / 'recipes/bench/synctrack.yaml'}\nname: bench-synctrack-copy\n")
    out = tmp_path / "ablate"
    result = cli("ablate", str(repo / "recipes/bench/synctrack.yaml"), str(copy), *tiny_overrides, "--seeds", "2",
                 "--train-steps", "1", "--samples", "2", "--workers", "1", "--tracker", "librosa", "--out", str(out),
                 env={**tiny_env, "COLUMNS": "200"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "seed 2 of 2" in result.stdout and "paired against bench-synctrack" in result.stdout
    for seed in range(2):  # seed k trains with the recipe's train.seed + k
        stored = yaml.safe_load((out / f"seed-{seed}" / "bench-synctrack-copy" / "run" / "recipe.yaml").read_text())
        assert stored["train"]["seed"] == seed
    with open(out / "paired.csv") as handle:
        paired = list(csv.DictReader(handle))
    assert {row["metric"] for row in paired} >= {"IRS", "CBS", "CBD"}
    for row in paired:
        assert row["recipe"] == "bench-synctrack-copy" and row["seeds"] == "2"
        assert float(row["difference"]) == float(row["ci_low"]) == float(row["ci_high"]) == 0.0, row
        assert row["excludes_zero"] == "False"
    with open(out / "comparison.csv") as handle:
        rows = {(row["recipe"], row["kind"]): row for row in csv.DictReader(handle)}
    assert {("bench-synctrack", "model"), ("bench-synctrack (seed 0)", "seed"), ("bench-synctrack (seed 1)", "seed")} <= set(rows)
    pooled, seeds = rows["bench-synctrack", "model"], [rows[f"bench-synctrack (seed {k})", "seed"] for k in range(2)]
    assert min(float(row["CBS"]) for row in seeds) <= float(pooled["CBS"]) <= max(float(row["CBS"]) for row in seeds)
    page = read_page(out)  # the first seed's songs, and the paired table
    assert "seed-0/bench-synctrack/samples/song_000/mix.wav" in page.audio
    text = " ".join(page.text)
    assert "bench-synctrack-copy - bench-synctrack" in text and "+0.000 [+0.000, +0.000]" in text
    assert "<td>excludes 0</td>" not in (out / "index.html").read_text()  # no difference is resolved
    assert (out / "songs.png").stat().st_size > 0 and "songs.png" in result.stdout  # every song, per seed
    assert 'src="songs.png"' in (out / "index.html").read_text()
