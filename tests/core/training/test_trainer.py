"""The trainer: fitting, exact resumption, accumulation, the NaN guard, schedules, EMA and multi-optimizer objectives."""

from __future__ import annotations

import json
import math
import os
import signal

import pytest
import torch
from engine_toys import make_trainer

from synctrack.errors import UserError
from synctrack.noise import generators_from_seeds
from synctrack.training import TrainSection
from synctrack.training import checkpoint as ckpt
from synctrack.data import collate_songs
from synctrack.training.ema import EMA, flat_state
from synctrack.training.objective import DiffusionObjective, Objective
from synctrack.training.settings import check_config, lr_factor, resolve_precision
from synctrack.training.trainer import NonFiniteLossError


def fixed_noise_loss(pipeline, dataset) -> float:
    """The batch's mean loss over 32 fixed draws of noise levels and noise (a low-variance measurement)."""
    batch = collate_songs([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        draws = [pipeline.training_loss(batch, generators_from_seeds([1000 * k + b for b in range(len(dataset))])).mean() for k in range(32)]
    return torch.stack(draws).mean().item()


def test_a_tiny_model_overfits_one_batch(toy_recipe, tmp_path):
    """Four songs, one global batch of four: 200 steps bring the loss down more than 10x."""
    overrides = ["data.num_songs=4", "train.steps=200", "train.optimizer.lr=0.01", "train.ema_decay=null", "train.grad_clip=null",
                 "train.checkpoint_every=1000",
                 "model.diffusion={type: ddpm, num_timesteps: 10, schedule: linear, beta_start: 0.2, beta_end: 0.7}"]
    trainer = make_trainer(toy_recipe(), tmp_path / "run", overrides)
    pipeline, dataset = trainer.objective.pipeline, trainer.stream.dataset
    before = fixed_noise_loss(pipeline, dataset)
    trainer.train()
    after = fixed_noise_loss(pipeline, dataset)
    assert before / after >= 10, (before, after)


def optimizer_tensors(trainer):
    return {f"{name}.{index}.{key}": value for name, opt in trainer.optimizers.items()
            for index, state in opt.state_dict()["state"].items() for key, value in state.items()}


class StopAtStep(DiffusionObjective):
    """Sends this process SIGTERM during step ``stop_step`` (a real signal, as torchrun or a cluster sends)."""

    stop_step = 9

    def loss(self, optimizer, batch, context):
        if context.step == self.stop_step:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().loss(optimizer, batch, context)


def test_resume_after_a_stop_is_bit_identical_to_an_uninterrupted_run(toy_recipe, tmp_path):
    recipe = toy_recipe(steps=20, checkpoint_every=7)
    whole = make_trainer(recipe, tmp_path / "whole")
    whole.train()

    first = make_trainer(recipe, tmp_path / "parts", objective=lambda p: StopAtStep(p, seed=3))
    result = first.train()  # SIGTERM at step 10: finishes it, saves, stops
    assert result["stopped_early"] and result["step"] == 10
    assert ckpt.latest_checkpoint(tmp_path / "parts").name == "step_00000010"

    second = make_trainer(recipe, tmp_path / "parts")
    assert second.resume()
    assert second.step == 10 and second.stream.state() == {"epoch": 4, "batch": 2}  # 8 songs: 2 batches an epoch
    second.train()

    for key, value in flat_state(whole.modules).items():
        assert torch.equal(value, flat_state(second.modules)[key]), key
    theirs = optimizer_tensors(second)
    for key, value in optimizer_tensors(whole).items():
        assert torch.equal(value, theirs[key]), key
    for key, value in whole.ema.shadow.items():
        assert torch.equal(value, second.ema.shadow[key]), key
    assert whole.schedulers["denoiser"].state_dict() == second.schedulers["denoiser"].state_dict()
    assert whole.stream.state() == second.stream.state()
    steps = [json.loads(line)["step"] for line in (tmp_path / "parts" / "log.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps == list(range(1, 21))  # the log of the resumed run has every step once


def test_gradient_accumulation_gives_the_same_update_as_one_batch(toy_recipe, tmp_path):
    runs = []
    for accumulation in (1, 4):
        trainer = make_trainer(toy_recipe(steps=5, accumulation=accumulation), tmp_path / f"acc{accumulation}")
        trainer.train()
        runs.append(flat_state(trainer.modules))
    for key, value in runs[0].items():
        error = (value - runs[1][key]).norm() / value.norm().clamp(min=1e-12)
        assert error <= 1e-5, (key, float(error))


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(toy_recipe, tmp_path):
    # the toy denoiser outputs NaN from its 7th call: the loss of step 7 is NaN
    trainer = make_trainer(toy_recipe(steps=20, checkpoint_every=3), tmp_path / "run", ["model.denoiser.nan_after_calls=7"])
    with pytest.raises(NonFiniteLossError) as caught:
        trainer.train()
    message = str(caught.value)
    assert "step 7" in message and "loss of optimizer 'denoiser' is nan" in message
    assert "step_00000006" in message and "--resume" in message
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step_00000006"
    assert not (tmp_path / "run" / "checkpoints" / "step_00000007").exists()
    loaded = ckpt.load_checkpoint(tmp_path / "run")
    assert all(torch.isfinite(t).all() for t in loaded["weights"].values())
    events = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "non-finite loss"


def test_learning_rate_warms_up_then_follows_a_cosine():
    config = TrainSection(steps=110, warmup_steps=10, schedule="cosine", min_lr_ratio=0.1)
    factor = lr_factor(config)
    assert [factor(s) for s in range(3)] == [0.1, 0.2, 0.3]
    assert factor(10) == pytest.approx(1.0) and factor(110) == pytest.approx(0.1)
    assert factor(60) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_factor(TrainSection(steps=50, schedule="constant"))(40) == 1.0


def test_a_staged_run_restarts_its_schedule_when_the_mixers_join_only_when_asked():
    """Mixers from step 40 of 140: per stage, a warm-up then a cosine over that stage's own steps (closed forms);
    without ``schedule_per_stage`` the one schedule of the run spans both stages."""
    settings = dict(steps=140, warmup_steps=10, schedule="cosine", min_lr_ratio=0.1, mixers_from_step=40)
    staged = lr_factor(TrainSection(**settings, schedule_per_stage=True))
    assert [staged(s) for s in (0, 9)] == [0.1, 1.0]
    assert staged(25) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # the middle of 10..40
    assert staged(39) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 29 / 30)))
    assert [staged(s) for s in (40, 41, 49)] == [pytest.approx(0.1), pytest.approx(0.2), pytest.approx(1.0)]
    assert staged(95) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # the middle of 50..140
    assert staged(140) == pytest.approx(0.1)
    one = lr_factor(TrainSection(**settings))
    assert one(40) == lr_factor(TrainSection(steps=140, warmup_steps=10, schedule="cosine", min_lr_ratio=0.1))(40)
    assert one(40) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 30 / 130)))


def test_ema_follows_its_formula_and_is_applied_temporarily():
    module = torch.nn.Linear(3, 2)
    ema = EMA({"m": module}, decay=0.9, warmup=False)
    start = module.weight.detach().clone()
    with torch.no_grad():
        module.weight.add_(1.0)
    ema.update({"m": module})
    assert torch.allclose(ema.shadow["m.weight"], 0.9 * start + 0.1 * (start + 1.0))
    trained = module.weight.detach().clone()
    with ema.applied({"m": module}):
        assert torch.equal(module.weight, ema.shadow["m.weight"])
    assert torch.equal(module.weight, trained)
    assert EMA({"m": module}, decay=0.999, warmup=True).current_decay() == pytest.approx(0.1)


class TwoPlayers(Objective):
    """A GAN-shaped objective: a 'critic' step, then a 'maker' step that reuses the critic's scratch."""

    def __init__(self):
        self.maker, self.critic = torch.nn.Linear(4, 4), torch.nn.Linear(4, 1)
        self.order = []

    def modules(self):
        return {"maker": self.maker, "critic": self.critic}

    def parameter_groups(self):
        return {"critic": list(self.critic.parameters()), "maker": list(self.maker.parameters())}

    def loss(self, optimizer, batch, context):
        self.order.append(optimizer)
        real = batch.audio[:, 0, :4]
        if optimizer == "critic":
            context.scratch["fake"] = self.maker(real)
            return (self.critic(context.scratch["fake"].detach()) - self.critic(real)).mean(), {"gap": 1.0}
        fake = context.scratch["fake"]  # made in the critic's loss of this same micro-batch, still attached to maker
        return -self.critic(fake).mean()


def test_an_objective_with_two_optimizers_steps_each_in_order(toy_recipe, tmp_path):
    objective = TwoPlayers()
    before = {k: v.clone() for k, v in flat_state(objective.modules()).items()}
    trainer = make_trainer(toy_recipe(steps=3, accumulation=2), tmp_path / "gan", objective=lambda pipeline: objective)
    trainer.train()
    assert objective.order == ["critic", "critic", "maker", "maker"] * 3
    after = flat_state(objective.modules())
    assert all(not torch.equal(before[k], after[k]) for k in before)
    row = [json.loads(line) for line in (tmp_path / "gan" / "log.jsonl").read_text().splitlines() if "step" in line][2]
    assert {"critic/loss", "maker/loss", "critic/gap", "critic/lr", "maker/grad_norm"} <= set(row)
    resumed = make_trainer(toy_recipe(steps=3, accumulation=2), tmp_path / "gan", objective=lambda pipeline: TwoPlayers())
    assert resumed.resume() and resumed.step == 3
    assert set(resumed.optimizers) == {"critic", "maker"}


def test_inconsistent_train_settings_are_reported_together(toy_recipe, tmp_path):
    with pytest.raises(UserError) as caught:
        make_trainer(toy_recipe(batch=6, accumulation=4), tmp_path / "bad", ["train.ema_decay=1.5", "train.steps=0"])
    message = str(caught.value)
    assert "train.batch_size: = 6 (the global batch) must divide by grad_accumulation = 4" in message
    assert "train.ema_decay: must be in (0, 1)" in message and "train.steps: must be at least 1" in message
    with pytest.raises(UserError, match="must divide by processes x grad_accumulation = 2 x 1"):
        check_config(TrainSection(batch_size=3), world_size=2)  # what only a run knows: the process count


def test_a_dataset_smaller_than_the_batch_is_reported(toy_recipe, tmp_path):
    with pytest.raises(UserError, match="the dataset has 3 songs, fewer than train.batch_size = 4"):
        make_trainer(toy_recipe(songs=3), tmp_path / "small")


def test_resuming_with_a_different_model_is_refused(toy_recipe, tmp_path):
    make_trainer(toy_recipe(steps=2, checkpoint_every=2), tmp_path / "run").train()
    changed = make_trainer(toy_recipe(steps=4), tmp_path / "run", ["model.denoiser.hidden=32"])
    with pytest.raises(UserError, match="the recipe's model section\\(s\\) differ from the checkpoint's"):
        changed.resume()


def test_resuming_takes_the_recipes_optimizer_and_schedule_and_logs_what_changed(toy_recipe, tmp_path):
    """The NaN guard says "lower train.optimizer.lr, then resume": the resumed run must use the new lr (and
    betas, weight decay, schedule) from its first step, not the checkpoint's, and say what changed."""
    recipe = toy_recipe(steps=4, checkpoint_every=4)  # lr 0.003, weight decay 0.01, 3 warm-up steps, cosine
    make_trainer(recipe, tmp_path / "run").train()
    changes = ["train.steps=6", "train.optimizer.lr=1e-5", "train.optimizer.betas=[0.5, 0.9]",
               "train.optimizer.weight_decay=0.0", "train.schedule=constant", "train.warmup_steps=0"]
    resumed = make_trainer(recipe, tmp_path / "run", changes)
    assert resumed.resume() and resumed.step == 4
    group = resumed.optimizers["denoiser"].param_groups[0]
    assert (group["lr"], group["betas"], group["weight_decay"]) == (1e-5, (0.5, 0.9), 0.0)
    assert resumed.optimizers["denoiser"].state_dict()["state"], "the Adam moments are still the checkpoint's"
    resumed.train()
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [row["lr"] for row in rows if row.get("step", 0) > 4 and "lr" in row] == [1e-5, 1e-5]
    event = next(row for row in rows if row.get("event") == "resumed")
    assert event["changed"] == {
        "train.optimizer.betas": [[0.9, 0.999], [0.5, 0.9]], "train.optimizer.lr": [0.003, 1e-5],
        "train.optimizer.weight_decay": [0.01, 0.0], "train.schedule": ["cosine", "constant"],
        "train.steps": [4, 6], "train.warmup_steps": [3, 0],
    }


def test_the_changes_on_resume_compare_with_the_defaults_filled_in():
    """A default written out is no change; a value dropped from the recipe changes back to its default."""
    from synctrack.training.settings import train_changes

    stored = "train: {steps: 10, optimizer: {lr: 0.1}}\n"
    assert train_changes(stored, "train: {steps: 10, optimizer: {lr: 0.1, eps: 1.0e-8}}\n") == {}  # a default spelt out
    assert train_changes(stored, "train: {steps: 20}\n") == {"train.optimizer.lr": [0.1, 1e-4], "train.steps": [10, 20]}


def test_mixed_precision_is_for_cuda_only():
    with pytest.warns(UserWarning, match="train.precision=bf16 needs CUDA; training in fp32 on cpu"):
        assert resolve_precision("bf16", torch.device("cpu")) is None
    assert resolve_precision("auto", torch.device("cpu")) is None
    assert resolve_precision("fp16", torch.device("cuda")) == torch.float16
    assert resolve_precision("fp32", torch.device("cuda")) is None


class BrokenPreviews(DiffusionObjective):
    def write_samples(self, folder, step):
        raise RuntimeError("vocoder exploded")


def test_a_failing_preview_is_reported_and_training_goes_on(toy_recipe, tmp_path):
    trainer = make_trainer(toy_recipe(steps=4, extra="  sample_every: 2\n"), tmp_path / "run",
                           objective=lambda p: BrokenPreviews(p, seed=3))
    with pytest.warns(UserWarning, match="step [24]: writing previews failed \\(RuntimeError: vocoder exploded\\)"):
        result = trainer.train()
    assert result["step"] == 4
    events = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e.get("event") == "samples failed"] == [2, 4]
