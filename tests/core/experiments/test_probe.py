"""The sync probe on a tiny bench pipeline: its levels, that it reads the held-out songs as in sync and
scores samples that are those songs alike, its determinism, and the training hook and CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from synctrack.experiments.probe import PROBE_SNRS, SyncProbe, probe_curve, probe_levels, time_to_target
from synctrack.pipeline import build

from .conftest import TINY

REPO = Path(__file__).resolve().parents[3]

BENCH = "recipes/bench/synctrack.yaml"


@pytest.fixture(scope="module")
def pipeline():
    torch.manual_seed(0)
    return build(REPO / BENCH, [*TINY, "data.clip_seconds=2.56"])


def test_levels_have_the_asked_signal_to_noise_ratio_in_data_units(pipeline):
    diffusion = pipeline.diffusion
    for variance in (0.25, 1.0):
        for snr, level in zip(PROBE_SNRS, probe_levels(diffusion, variance)):
            alpha_bar = float(diffusion.alpha_bar(level))
            measured = variance * alpha_bar / (1 - alpha_bar)
            assert measured == pytest.approx(snr, rel=0.1), (variance, snr, level)
    # a quarter of the variance needs four times the nominal SNR: an earlier (less noisy) timestep
    assert all(a > b for a, b in zip(probe_levels(diffusion, 1.0), probe_levels(diffusion, 0.25)))

    class Sigma:
        family = "sigma"

    assert probe_levels(Sigma(), 0.25, (1.0, 4.0)) == [pytest.approx(0.5), pytest.approx(0.25)]


def test_samples_that_are_the_held_out_songs_score_the_data_and_shifted_ones_do_not(pipeline, monkeypatch):
    probe = SyncProbe.from_recipe(pipeline, songs=4, sample_steps=2)
    clean = probe._clean_latents()
    assert probe.data_sync() > 0.5
    monkeypatch.setattr(pipeline, "sample_latents", lambda num, *args, **kwargs: clean[:num])
    assert float(probe.sampled_sync().mean()) == pytest.approx(probe.data_sync())
    result = probe()
    assert result.periodicity == pytest.approx(result.data_periodicity) and result.data_periodicity > 0.5
    shifted = torch.stack([torch.roll(clean[:, k], 9 * k, dims=-2) for k in range(clean.shape[1])], dim=1)
    monkeypatch.setattr(pipeline, "sample_latents", lambda num, *args, **kwargs: shifted[:num])
    assert abs(float(probe.sampled_sync().mean())) < 0.2
    # each track keeps its own pulse when the tracks are shifted apart (the roll's wrap breaks its grid once):
    # periodicity is not agreement
    assert probe().periodicity == pytest.approx(result.data_periodicity, abs=0.15)


def test_an_untrained_model_is_probed_deterministically_and_quickly(pipeline):
    first = SyncProbe.from_recipe(pipeline, songs=2, sample_steps=2)(step=0)
    second = SyncProbe.from_recipe(pipeline, songs=2, sample_steps=2)(step=0)
    assert first.sync == second.sync and first.denoise_error == second.denoise_error
    assert list(first.denoise_error) == [f"snr={snr:g}" for snr in PROBE_SNRS]
    assert all(math.isfinite(v) and v > 0 for v in first.denoise_error.values())
    assert abs(first.sync) < 0.5 and first.data_sync > 0.5 and pipeline.training
    assert first.periodicity < first.data_periodicity - 0.2 and "periodicity" in first.summary()


def test_time_to_target_reads_the_first_probe_past_it():
    rows = [{"event": "probe", "step": s, "sync_fraction": f, "train_seconds": 10.0 * s} for s, f in ((20, 0.6), (10, 0.2), (30, 0.9))]
    curve = probe_curve([{"step": 5, "loss": 1.0}, *rows])
    assert [row["step"] for row in curve] == [10, 20, 30]
    assert time_to_target(curve, 0.5) == (20, 200.0) and time_to_target(curve, 0.95) is None


def test_curve_labels_are_the_shortest_suffixes_that_differ(tmp_path):
    from synctrack.cli.probe import short_labels

    paths = [tmp_path / "e18" / "seed-0" / "arm", tmp_path / "e18" / "seed-1" / "arm", tmp_path / "other"]
    labels = short_labels(paths)
    assert labels[:2] == ["seed-0/arm", "seed-1/arm"] and labels[2].endswith("other")
    assert short_labels([tmp_path / "a", tmp_path / "b"]) == ["a", "b"]


def test_training_logs_the_probe_and_the_cli_reads_it(cli, repo, tmp_path, tiny_env):
    run = tmp_path / "run"
    trained = cli("train", str(repo / BENCH), "--out", str(run), *TINY, "train.steps=4", "train.probe_every=2",
                  "train.probe_songs=2", "train.probe_steps=2", env={**tiny_env, "COLUMNS": "300"})
    assert trained.returncode == 0, trained.stderr[-3000:]
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    probes = [row for row in events if row.get("event") == "probe"]
    assert [row["step"] for row in probes] == [2, 4]
    assert probes[0]["train_seconds"] < probes[1]["train_seconds"] and probes[0]["data_sync"] > 0.5
    assert "step 2: probe sync" in trained.stderr

    curve = cli("probe", str(run), "--curve", "--target", "0.99", "--plot", str(tmp_path / "all.png"),
                env={**tiny_env, "COLUMNS": "200"})
    assert curve.returncode == 0, curve.stderr[-3000:]
    assert "never reached 99%" in curve.stdout and (run / "probe-curve.png").stat().st_size > 1000
    assert (tmp_path / "all.png").stat().st_size > 1000

    scored = cli("probe", str(run), "--songs", "2", "--steps", "2", "--json", str(tmp_path / "p.json"), env={**tiny_env, "COLUMNS": "200"})
    assert scored.returncode == 0, scored.stderr[-3000:]
    result = json.loads((tmp_path / "p.json").read_text())[str(run)]
    assert result["step"] == 4 and result["sync"] == pytest.approx(probes[1]["sync"])  # same weights, seed, songs


def test_bad_input_is_exit_2(cli, tmp_path, repo):
    missing = cli("probe", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = cli("probe", str(tmp_path / "empty"), "--curve")
    assert empty.returncode == 2 and "log.jsonl not found" in empty.stderr
    plot_alone = cli("probe", str(tmp_path / "empty"), "--plot", str(tmp_path / "p.png"))
    assert plot_alone.returncode == 2 and "add --curve" in plot_alone.stderr and "Traceback" not in plot_alone.stderr
    bad = cli("train", str(repo / BENCH), "--out", str(tmp_path / "r"), "train.probe_every=0")
    assert bad.returncode == 2 and "train.probe_every" in bad.stderr
