"""A staged run (`train.mixers_from_step`): a per-track model first, the cross-track mixers join later."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from synctrack.cli import main
from synctrack.interfaces import Mixer
from synctrack.training import TrainSection


def zero_mixers(overrides):
    return [*overrides, "model.denoiser.mixers[0].zero_init=true", "model.denoiser.mixers[1].zero_init=true"]


def weights(run, step):
    return load_file(run / "checkpoints" / f"step_{step:08d}" / "model.safetensors")


def changed(before, after, keep):
    return max((after[key] - before[key]).abs().max().item() for key in before if keep(key))


def is_mixer(key: str) -> bool:
    return ".mixers." in key


def test_the_mixers_stay_at_their_start_until_their_step_then_train_with_a_fresh_optimizer_state(repo, tmp_path, tiny_overrides):
    run = tmp_path / "staged"
    code = main(["train", str(repo / "recipes/bench/synctrack.yaml"), *zero_mixers(tiny_overrides), "train.steps=5",
                 "train.mixers_from_step=3", "train.warmup_steps=0", "train.probe_every=null", "train.keep_checkpoints=10",
                 "--out", str(run), "--no-progress"])
    assert code == 0
    steps = [weights(run, step) for step in range(1, 6)]
    assert any(is_mixer(key) for key in steps[0])
    for before, after in zip(steps[:2], steps[1:3]):  # steps 2 and 3 are per-track steps
        assert changed(before, after, is_mixer) == 0
        assert changed(before, after, lambda key: not is_mixer(key)) > 0
    for before, after in zip(steps[2:4], steps[3:]):  # steps 4 and 5 train the mixers too
        assert changed(before, after, is_mixer) > 0

    # AdamW saw the mixers' parameters in 2 steps, not 5: their moments were not aged by zero gradients
    state = torch.load(run / "checkpoints" / "step_00000005" / "trainer.pt", weights_only=True)["optimizers"]
    counts = {float(entry["step"]) for optimizer in state.values() for entry in optimizer["state"].values()}
    assert counts == {2.0, 5.0}


def test_an_inactive_mixer_returns_zeros_without_running():
    class Loud(Mixer):
        def forward(self, tokens, grid, track_mask):
            raise AssertionError("an inactive mixer must not run")

    mixer = Loud()
    mixer.active = False
    tokens = torch.randn(2, 3, 4, 8)
    update = mixer(tokens, (2, 2), torch.ones(2, 3, dtype=torch.bool))
    assert update.shape == tokens.shape and not update.any()
    mixer.active = True
    with pytest.raises(AssertionError, match="must not run"):
        mixer(tokens, (2, 2), torch.ones(2, 3, dtype=torch.bool))


@pytest.mark.parametrize(("value", "says"), [("5", "below train.steps = 5"), ("-1", "below train.steps = 5"),
                                             ("1.5", "fraction of train.steps and must be in [0, 1)")])
def test_a_mixer_step_outside_the_run_is_named(repo, tmp_path, tiny_overrides, value, says, capsys):
    code = main(["train", str(repo / "recipes/bench/synctrack.yaml"), *tiny_overrides, "train.steps=5",
                 f"train.mixers_from_step={value}", "--out", str(tmp_path / "run"), "--no-progress"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "train.mixers_from_step" in err and f"got {value}" in err and says in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("value", "steps", "start"), [(359, 1233, 359), (0.2912, 1233, 359), (0.3, 10, 3), (0.3, 2, 0), (0, 5, 0)])
def test_a_fraction_follows_the_steps(value, steps, start):
    assert TrainSection(steps=steps, mixers_from_step=value).mixer_start_step() == start
