"""`synctrack ablate` end to end on two tiny recipes: every stage runs once, a second run redoes nothing,
and the comparison has the paper's columns with finite values."""

from __future__ import annotations

import csv
import math

import pytest
from listening_pages import read_page


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    return tmp_path_factory.mktemp("ablate")


def test_ablate_two_recipes_end_to_end_then_resume(cli, repo, tmp_path, tiny_overrides, tiny_env):
    out = tmp_path / "ablate"
    recipes = [str(repo / "recipes/bench/synctrack.yaml"), str(repo / "recipes/bench/no-mixers.yaml")]
    args = ["ablate", *recipes, *tiny_overrides, "--train-steps", "2", "--samples", "2", "--workers", "1", "--out", str(out)]
    first = cli(*args, env={**tiny_env, "COLUMNS": "200"})
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert "bench-synctrack: train ran, sample ran, eval ran" in first.stdout
    assert "bench-no-mixers: train ran, sample ran, eval ran" in first.stdout

    with open(out / "comparison.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["recipe"] for row in rows] == [
        "bench-synctrack", "bench-no-mixers", "held-out songs", "held-out songs through the front end"]
    for column in ("FD", "IRS", "CBS", "CBD"):
        assert {f"{column}", f"{column}_ci_low", f"{column}_ci_high"} <= set(rows[0])
    for row in rows:
        for column in ("IRS", "CBS", "CBD"):
            assert math.isfinite(float(row[column])), (row["recipe"], column, row[column])
        if row["kind"] == "model":
            assert math.isfinite(float(row["FD"])) and float(row["FD"]) >= 0
    assert (out / "comparison.png").stat().st_size > 0
    assert (out / "bench-synctrack" / "samples" / "song_001" / "drums.wav").is_file()
    page = read_page(out)  # song i of both recipes in one row, the comparison table with one row per set
    assert len(page.audio) >= 2 * 2 * 5 and page.rows >= 1 + 4 and "listen:" in first.stdout
    text = "".join(page.text)  # the command line and each recipe's resolved YAML, as the trained checkpoint stores it
    assert f"synctrack ablate {recipes[0]}" in text and f"--out {out}" in text
    for name in ("bench-synctrack", "bench-no-mixers"):
        assert f"{name}: the recipe (resolved), checkpoint " in text
        assert f"name: {name}" in text
    assert "head_dim: 8" in text  # the overrides are in the resolved recipe

    second = cli(*args, env={**tiny_env, "COLUMNS": "200"})
    assert second.returncode == 0, second.stderr[-3000:]
    assert "bench-synctrack: train done, sample done, eval done" in second.stdout
    assert "bench-no-mixers: train done, sample done, eval done" in second.stdout


def test_more_steps_continue_the_same_run(cli, repo, tmp_path, tiny_overrides, tiny_env):
    out = tmp_path / "ablate"
    base = ["ablate", str(repo / "recipes/bench/no-mixers.yaml"), *tiny_overrides, "--samples", "1", "--workers", "1", "--out", str(out)]
    assert cli(*base, "--train-steps", "1", env=tiny_env).returncode == 0
    again = cli(*base, "--train-steps", "2", env=tiny_env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resumed" in again.stdout and "train ran, sample ran, eval ran" in again.stdout
    assert (out / "bench-no-mixers" / "run" / "checkpoints" / "step_00000002").is_dir()


def test_bad_input_is_exit_2_before_training(cli, repo, tmp_path):
    missing = cli("ablate", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "o"))
    assert missing.returncode == 2 and "recipe file not found" in missing.stderr and "Traceback" not in missing.stderr
    twice = cli("ablate", str(repo / "recipes/bench/no-mixers.yaml"), str(repo / "recipes/bench/no-mixers.yaml"), "--out", str(tmp_path / "o"))
    assert twice.returncode == 2 and "share the name 'bench-no-mixers'" in twice.stderr
    bad = cli("ablate", str(repo / "recipes/bench/no-mixers.yaml"), "model.denoiser.base_channels=lots", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and "expected int, got 'lots'" in bad.stderr
    # an override after the options still reaches every recipe (argparse alone would reject it)
    late = cli("ablate", str(repo / "recipes/bench/no-mixers.yaml"), "--samples", "2", "--out", str(tmp_path / "o"),
               "model.denoiser.base_channels=lots")
    assert late.returncode == 2 and "expected int, got 'lots'" in late.stderr, late.stderr
    assert not (tmp_path / "o").exists()


def test_ablate_stopped_by_sigterm_in_its_train_stage_exits_143_and_keeps_the_checkpoint(repo, tmp_path, tiny_overrides,
                                                                                         monkeypatch, capsys):
    import os
    import signal

    from synctrack.cli import main
    from synctrack.training.trainer import Trainer

    monkeypatch.setenv("SYNCTRACK_CACHE", str(tmp_path / "cache"))
    step = Trainer.train_step

    def preempted(self):
        if self.step == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal, during the second step
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", preempted)
    out = tmp_path / "ablate"
    code = main(["ablate", str(repo / "recipes/bench/no-mixers.yaml"), *tiny_overrides, "--train-steps", "4",
                 "--samples", "2", "--workers", "1", "--out", str(out)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 143, err
    assert "stopped: " in err and "error:" not in err
    assert "a signal stopped the train stage after it saved its checkpoint (exit 143, nothing lost)" in err
    assert "run the same command again" in err
    assert (out / "bench-no-mixers" / "run" / "checkpoints" / "latest").read_text().strip() == "step_00000002"
