"""An ablation samples with the recipe's sampler, not the one the run stored: a recipe that differs from a
trained one only in its sampler (here mixer guidance) samples from that run without training again."""

from __future__ import annotations

import json

import soundfile
import torch

import synctrack
from synctrack.experiments.ablation import SAMPLES_MARKER, RecipeRun, sample_stage
from synctrack.recipe import load_recipe


def read_songs(folder, count):
    return torch.stack([torch.from_numpy(soundfile.read(folder / f"song_{index:03d}" / "mix.wav", dtype="float32")[0])
                        for index in range(count)])


def test_the_recipes_sampler_samples_and_an_unchanged_one_keeps_the_old_record(repo, tmp_path, tiny_overrides):
    recipe_path = repo / "recipes/bench/synctrack.yaml"
    # mixers that add something from the start (the recipe's start at zero, which 2 steps barely move)
    tiny = [*tiny_overrides, "train.steps=2", "train.probe_every=null", "model.denoiser.mixers[0].zero_init=false",
            "model.denoiser.mixers[1].zero_init=false"]
    run = RecipeRun(recipe=recipe_path, name="guided", folder=tmp_path / "guided")
    synctrack.train(recipe_path, run.run, overrides=tiny, progress=False)

    assert sample_stage(run, 2, seed=0, recipe=load_recipe(recipe_path, tiny)) == "ran"
    marker = json.loads((run.samples / SAMPLES_MARKER).read_text())
    assert "sampler" not in marker  # the run's own sampler: the record earlier versions wrote
    plain = read_songs(run.samples, 2)

    guided_recipe = load_recipe(recipe_path, [*tiny, "model.sampler.mixer_guidance=2.0"])
    assert sample_stage(run, 2, seed=0, recipe=guided_recipe) == "ran"  # another sampler: the songs are redone
    marker = json.loads((run.samples / SAMPLES_MARKER).read_text())
    assert marker["sampler"]["mixer_guidance"] == 2.0 and marker["sampler"]["type"] == "ddim"
    guided = read_songs(run.samples, 2)
    expected = synctrack.sample(run.run, 2, seed=0, mixer_guidance=2.0).waveforms.sum(1)
    torch.testing.assert_close(guided, expected.clamp(-1, 1), atol=2 / 32768, rtol=0)  # 16-bit files
    assert not torch.allclose(guided, plain)
    assert "mixer_guidance" in json.loads((run.samples / "sampling.json").read_text())["sampling"]
    assert sample_stage(run, 2, seed=0, recipe=guided_recipe) == "done"


def test_recipes_that_differ_only_in_their_sampler_share_one_training(cli, repo, tmp_path, tiny_overrides, tiny_env):
    out = tmp_path / "ablate"
    result = cli("ablate", str(repo / "recipes/bench/synctrack.yaml"), str(repo / "recipes/bench/mixer-guidance.yaml"),
                 *tiny_overrides, "--train-steps", "1", "--samples", "1", "--workers", "1", "--tracker", "librosa",
                 "--out", str(out), env={**tiny_env, "COLUMNS": "200"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "trains exactly as bench-synctrack: its run copied" in " ".join(result.stdout.split())
    ours, theirs = (out / name / "run" / "checkpoints" / "step_00000001" / "model.safetensors"
                    for name in ("bench-mixer-guidance", "bench-synctrack"))
    assert ours.stat().st_ino == theirs.stat().st_ino  # one training, linked
    marker = json.loads((out / "bench-mixer-guidance" / "samples" / SAMPLES_MARKER).read_text())
    assert marker["sampler"]["mixer_guidance"] == 2.0
    assert "sampler" not in json.loads((out / "bench-synctrack" / "samples" / SAMPLES_MARKER).read_text())


def test_the_training_key_ignores_only_name_description_and_sampler(repo):
    from synctrack.experiments.ablation import training_key

    base = load_recipe(repo / "recipes/bench/synctrack.yaml")
    assert training_key(base) == training_key(load_recipe(repo / "recipes/bench/mixer-guidance.yaml"))
    assert training_key(base) == training_key(base.with_overrides(["name=other", "model.sampler.steps=50"]))
    assert training_key(base) != training_key(base.with_overrides(["train.seed=1"]))
    assert training_key(base) != training_key(load_recipe(repo / "recipes/bench/no-global.yaml"))
