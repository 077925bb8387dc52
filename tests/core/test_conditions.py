"""How the pipeline decides what a mixture means for a model (condition, sum constraint or nothing), and how it
refuses conditions a model cannot take."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "training"))

import engine_toys  # noqa: E402

import synctrack  # noqa: E402
from synctrack import hookimpl  # noqa: E402
from synctrack.errors import RecipeError, UserError  # noqa: E402
from synctrack.plugin_manager import PluginManager, _state  # noqa: E402


class TextConditioned(engine_toys.ToyDenoiser):
    """A denoiser asking for a condition the pipeline does not know how to make."""

    context_kind = "text"


class MixtureConditioned(engine_toys.ToyDenoiser):
    """The toy MLP plus the mean of its mixture condition, so the condition reaches the output."""

    context_kind = "mixture"

    def forward(self, x, noise_level, tracks, context=None):
        out = super().forward(x, noise_level, tracks)
        return out if context is None else out + context.mean() * torch.ones_like(out)


class ConditionToys:
    @staticmethod
    @hookimpl
    def synctrack_register_parts(registry):
        registry.add("denoiser", "toy_text", TextConditioned)
        registry.add("denoiser", "toy_mixture", MixtureConditioned)


@pytest.fixture
def recipe(tmp_path, monkeypatch):
    manager = PluginManager(entry_points=False)
    manager.register(engine_toys.ToyPlugin(), "engine_toys", source="tests")
    manager.register(ConditionToys(), "condition_toys", source="tests")
    monkeypatch.setitem(_state, "registry", manager.load())
    monkeypatch.setitem(_state, "manager", manager)

    def write(denoiser="toy_mlp", encoder="toy_frames", diffusion="ddpm", sampler="ddim"):
        path = tmp_path / "model.yaml"
        lines = ["model:", f"  denoiser: {{type: {denoiser}, features: 16}}", f"  diffusion: {diffusion}",
                 f"  sampler: {{type: {sampler}, steps: 3}}"]
        if encoder:
            lines.insert(1, f"  encoder: {encoder}")
        path.write_text("\n".join(lines) + "\n")
        return path

    return write


def test_an_unknown_condition_kind_is_a_recipe_problem(recipe):
    with pytest.raises(RecipeError, match="declares context_kind 'text', which the pipeline cannot make; known kinds: mixture"):
        synctrack.build(recipe(denoiser="toy_text"))


@pytest.mark.parametrize(
    ("parts", "use"),
    [
        ({"denoiser": "toy_mixture"}, "condition"),
        ({"denoiser": "toy_mixture", "diffusion": "edm", "sampler": "edm_euler"}, "condition"),
        ({"encoder": "", "diffusion": "edm", "sampler": "edm_euler"}, "constraint"),  # the data itself is additive
        ({"diffusion": "edm", "sampler": "edm_euler"}, None),  # toy_frames does not declare itself additive
        ({"encoder": ""}, None),  # a timestep diffusion
    ],
)
def test_what_a_mixture_means(recipe, parts, use):
    assert synctrack.build(recipe(**parts)).mixture_use == use


def test_a_model_that_cannot_use_a_mixture_says_why(recipe):
    pipeline = synctrack.build(recipe(diffusion="edm", sampler="edm_euler"))
    with pytest.raises(UserError) as caught:
        pipeline.sample_latents(1, tracks=[0, 1], length=16, mixture=torch.zeros(1, 4, 4))
    message = str(caught.value)
    assert "cannot use a mixture: its denoiser 'toy_mlp' takes no mixture condition" in message
    assert "diffusion 'edm': 'sigma'; encoder 'toy_frames': not additive" in message


def test_a_condition_for_an_unconditional_denoiser_is_refused(recipe):
    pipeline = synctrack.build(recipe())
    with pytest.raises(UserError, match="denoiser 'toy_mlp' takes no condition"):
        pipeline.sample_latents(1, tracks=[0, 1], length=16, context=torch.zeros(1, 4, 4))


def test_the_mixture_condition_reaches_the_denoiser_in_training_and_sampling(recipe):
    pipeline = synctrack.build(recipe(denoiser="toy_mixture"))
    batch = {"audio": torch.full((2, 2, 16), 0.75), "instrument_ids": torch.tensor([[0, 1], [0, 1]]),
             "track_mask": torch.ones(2, 2, dtype=torch.bool)}
    context = pipeline.context_from_batch(batch)
    # the sum 1.5 clips to 1.0 (Slakh's mixture), then toy_frames doubles it
    assert torch.equal(context, torch.full((2, 4, 4), 2.0))
    one = pipeline.sample_latents(2, tracks=[0, 1], length=16, mixture=pipeline.encode_mixture(torch.ones(16)),
                                  generator=torch.Generator().manual_seed(0))
    none = pipeline.sample_latents(2, tracks=[0, 1], length=16, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(one, none)
