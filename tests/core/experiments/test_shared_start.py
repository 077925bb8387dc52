"""The paper's protocol (`ablate --start-from RUN`): every recipe starts as RUN's model, mixers at zero."""

from __future__ import annotations

import pytest
import torch

import synctrack
from synctrack.cli import main
from synctrack.errors import UserError
from synctrack.experiments.shared_start import shared_start_overrides
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
