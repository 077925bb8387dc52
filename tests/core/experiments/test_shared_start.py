"""The paper's protocol (`ablate --start-from RUN`): every recipe starts as RUN's model, mixers at zero."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

import synctrack
from synctrack.cli import main
from synctrack.errors import UserError
from synctrack.experiments.shared_start import shared_start_overrides, start_of_seed
from synctrack.recipe import load_recipe
from synctrack.tracks import TrackInfo
from synctrack.api.loading import load_pipeline


def train_start(repo, folder, tiny_overrides):
    code = main(["train", str(repo / "recipes/bench/no-mixers.yaml"), *tiny_overrides, "train.steps=2",
                 "train.probe_every=null", "--out", str(folder), "--no-progress"])
    assert code == 0
    return folder


def test_the_overrides_load_the_run_and_zero_every_mixer(repo, tmp_path, tiny_overrides):
    run = train_start(repo, tmp_path / "start", tiny_overrides)
    recipe = load_recipe(repo / "recipes/bench/synctrack.yaml", tiny_overrides)
    overrides = shared_start_overrides(recipe, run)
    assert overrides[0] == f"model.denoiser.init={{from: '{run / 'checkpoints' / 'step_00000002'}', format: synctrack}}"
    # the bench recipe is staged: with a start, its mixers train from the first step
    assert overrides[1:] == ["train.mixers_from_step=0", "model.denoiser.mixers[0].zero_init=true",
                             "model.denoiser.mixers[1].zero_init=true"]
    unstaged = load_recipe(repo / "recipes/bench/synctrack.yaml", [*tiny_overrides, "train.mixers_from_step=0"])
    assert "train.mixers_from_step=0" not in shared_start_overrides(unstaged, run)
    bare = load_recipe(repo / "recipes/bench/synctrack.yaml", [*tiny_overrides, "model.denoiser.mixers=[global_cross_track]"])
    assert shared_start_overrides(bare, run)[2:] == ["model.denoiser.mixers[0]={type: global_cross_track, zero_init: true}"]

    # at step 0 the model with mixers is exactly the start's model
    ours = synctrack.build(repo / "recipes/bench/synctrack.yaml", [*tiny_overrides, *overrides]).eval()
    theirs = load_pipeline(run).eval()
    x = torch.randn(2, 4, *ours.latent_shape(ours.layout.clip_samples or 20480), generator=torch.Generator().manual_seed(0))
    tracks = TrackInfo.full(list(range(4)), batch_size=2)
    levels = torch.tensor([10.0, 700.0])
    with torch.no_grad():
        torch.testing.assert_close(ours.denoiser(x, levels, tracks), theirs.denoiser(x, levels, tracks), rtol=0, atol=1e-6)


def test_a_start_without_checkpoint_is_named(repo, tmp_path, tiny_overrides, capsys):
    code = main(["ablate", str(repo / "recipes/bench/synctrack.yaml"), *tiny_overrides, "--start-from", str(tmp_path / "nothing"),
                 "--out", str(tmp_path / "ablate")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and f"--start-from {tmp_path / 'nothing'}: checkpoint not found" in err
    with pytest.raises(UserError, match="checkpoint not found"):
        shared_start_overrides(load_recipe(repo / "recipes/bench/synctrack.yaml"), tmp_path / "nothing")


def test_seed_k_starts_from_the_run_named_by_its_index():
    assert start_of_seed("runs/g1/seed-{seed}/no-mixers/run", 2) == Path("runs/g1/seed-2/no-mixers/run")
    assert start_of_seed("runs/start", 5) == Path("runs/start")  # no placeholder: one start for every seed


def test_ablate_gives_each_seed_its_own_start(cli, repo, tmp_path, tiny_overrides, tiny_env):
    recipe, out = str(repo / "recipes/bench/synctrack.yaml"), tmp_path / "ablate"
    template = str(tmp_path / "start-{seed}")
    first = train_start(repo, tmp_path / "start-0", tiny_overrides)
    common = [recipe, *tiny_overrides, "--seeds", "2", "--start-from", template, "--train-steps", "1", "--samples", "1",
              "--workers", "1", "--tracker", "librosa", "--out", str(out)]
    # seed 1's start is missing: named before any training
    missing = cli("ablate", *common, env=tiny_env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"--start-from {tmp_path / 'start-1'}: checkpoint not found" in " ".join(missing.stderr.split())
    assert not out.exists()

    second = train_start(repo, tmp_path / "start-1", tiny_overrides)
    result = cli("ablate", *common, env=tiny_env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    for seed, start in enumerate((first, second)):
        stored = yaml.safe_load((out / f"seed-{seed}" / "bench-synctrack" / "run" / "recipe.yaml").read_text())
        assert stored["model"]["denoiser"]["init"]["from"] == str(start / "checkpoints" / "step_00000002")
        assert stored["train"]["mixers_from_step"] == 0
