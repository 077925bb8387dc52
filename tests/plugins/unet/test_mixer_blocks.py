"""unet2d's mixer blocks (``mixer_block_levels``): where the plan puts them, songs isolated, tracks meeting
through them, exact when zero-initialised, trained, staged with the other mixers, clear errors, and the
model benchmark's no-mixer variant without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from synctrack import RecipeError, get_registry
from synctrack.interfaces import Denoiser
from synctrack.nn import unet_plan
from synctrack.recipe import build
from synctrack.training.staging import stage_mixers

from .test_unet2d import MIXERS, assert_songs_isolated, copy_weights_around, inputs, unet

BENCH = Path(__file__).resolve().parents[3] / "recipes" / "bench" / "synctrack.yaml"
CELL = [{"type": "time_cross_track", "scope": "cell", "head_dim": 8}]


def with_blocks(mixers=(), blocks=CELL, levels=(1,), randomize=None):
    return unet(list(mixers), randomize, mixer_block_levels=list(levels), mixer_block_mixers=blocks,
                attention_levels=[2])


def block_names(model) -> list[str]:
    return [name for name, module in model.named_modules() if type(module).__name__ == "MixerBlock"]


def zero_block_outputs(model):
    """The blocks' mixers as ``zero_init`` leaves them, in an otherwise randomised (trained-like) U-Net."""
    for name in block_names(model):
        for mixer in model.get_submodule(name).mixers:
            torch.nn.init.zeros_(mixer.attention.to_out[0].weight)
            torch.nn.init.zeros_(mixer.attention.to_out[0].bias)
    return model


def test_the_plan_adds_a_mixers_layer_at_the_listed_factors_only():
    plain = unet_plan(4, 16, [1, 2, 4], 1, [4], True)
    planned = unet_plan(4, 16, [1, 2, 4], 1, [4], True, mixer_levels=[1, 2])
    for stage_plain, stage in zip(plain.input + plain.output, planned.input + planned.output):
        kinds = [layer.kind for layer in stage.layers]
        without = [kind for kind in kinds if kind != "mixers"]
        assert without == [layer.kind for layer in stage_plain.layers]  # nothing else moves or changes
        has_res = "res" in kinds
        # after the res (and attention), before an upsampler, and only in res stages of factor 1 and 2; an
        # upsampler closing a factor-4 stage does not make its mixers run at factor 2
        level_before_up = stage.factor * 2 if "up" in kinds else stage.factor
        assert kinds.count("mixers") == int(has_res and level_before_up in (1, 2))
        if "mixers" in kinds:
            assert kinds.index("mixers") == len(without) - ("up" in kinds)
    assert "mixers" not in [layer.kind for layer in planned.middle.layers]


def test_blocks_are_built_at_the_listed_levels_and_only_with_mixers():
    # the test U-Net has two levels and one res block: 1 input and 2 output stages per level hold a ResBlock
    assert len(block_names(with_blocks(levels=[1, 2]))) == 6
    assert len(block_names(with_blocks(levels=[2]))) == 3
    assert block_names(with_blocks(blocks=[], levels=[1, 2])) == []  # a no-mixer ablation empties both lists


@pytest.mark.parametrize("blocks", [CELL, MIXERS["global"]])
def test_songs_are_isolated_bit_for_bit(blocks, randomized):
    assert_songs_isolated(with_blocks(MIXERS["synctrack"], blocks, levels=[1, 2], randomize=randomized))


def test_tracks_meet_through_the_blocks_alone(randomized):
    """No mixers in the attention blocks: a track's output changes with another track only through a block."""
    x, levels, info = inputs()
    changed = x.clone()
    changed[0, 0] += 1.0
    model = with_blocks(levels=[1], randomize=randomized)
    with torch.no_grad():
        assert not torch.allclose(model(x, levels, info)[0, 2], model(changed, levels, info)[0, 2])
        out, out_changed = model(x, levels, info), model(x.index_fill(1, torch.tensor([1]), 5.0), levels, info)
    torch.testing.assert_close(out_changed[0], out[0], rtol=0, atol=1e-6)  # song 0's track 1 is masked
    assert torch.count_nonzero(out[0, 1]) == 0


def test_zero_init_blocks_give_exactly_the_unet_without_them(randomized):
    with_zero_blocks = zero_block_outputs(with_blocks(MIXERS["synctrack"], levels=[1, 2], randomize=randomized))
    plain = unet(MIXERS["synctrack"], attention_levels=[2])
    copy_weights_around(with_zero_blocks, plain, "MixerBlock")
    x, levels, info = inputs()
    with torch.no_grad():
        assert torch.equal(with_zero_blocks(x, levels, info), plain(x, levels, info))
        assert not torch.equal(with_blocks(MIXERS["synctrack"], levels=[1, 2], randomize=randomized)(x, levels, info),
                               plain(x, levels, info))


def test_every_block_parameter_gets_a_gradient_from_a_zero_start(randomized):
    """Zero-initialised, a block is the identity, yet its output projections get a gradient at once (in a
    trained U-Net: a fresh one's zero output convolution would hide every gradient)."""
    model = zero_block_outputs(with_blocks(levels=[1, 2], randomize=randomized)).train()
    x, levels, info = inputs()
    model(x, levels, info).square().mean().backward()
    to_out = [(n, p) for n, p in model.named_parameters() if n.endswith("attention.to_out.0.weight")]
    assert len(to_out) == 6
    for name, parameter in to_out:
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_a_staged_run_switches_the_blocks_off_with_the_other_mixers(randomized):
    model = with_blocks(MIXERS["time-cell"], levels=[1], randomize=randomized)
    block_parameters = {id(p) for name in block_names(model) for p in model.get_submodule(name).parameters()}
    idle = stage_mixers([model], step=0, mixers_from_step=10)
    assert block_parameters and block_parameters <= idle
    x, levels, info = inputs()
    changed = x.clone()
    changed[0, 0] += 1.0
    with torch.no_grad():
        assert torch.equal(model(x, levels, info)[0, 2], model(changed, levels, info)[0, 2])
    stage_mixers([model], step=10, mixers_from_step=10)
    with torch.no_grad():
        assert not torch.equal(model(x, levels, info)[0, 2], model(changed, levels, info)[0, 2])


def test_a_level_the_unet_does_not_have_is_a_recipe_problem_naming_its_levels():
    with pytest.raises((RecipeError, ValueError), match=r"mixer_block_levels \[8\] .*factors are \[1, 2\]"):
        with_blocks(levels=[1, 8])


def test_the_model_benchmark_takes_the_blocks_out_of_its_no_mixer_variant(tmp_path):
    from synctrack.bench.model import mixer_names, no_mixer_overrides
    from synctrack.recipe import load_recipe

    recipe_path = tmp_path / "fine.yaml"
    recipe_path.write_text(
        f"base: {BENCH}\n"
        "model:\n  denoiser:\n    mixer_block_levels: [1, 2]\n"
        "    mixer_block_mixers: [{type: time_cross_track, scope: cell, head_dim: 16}]\n"
    )
    recipe = load_recipe(recipe_path)
    assert mixer_names(recipe) == ["global_cross_track", "time_cross_track", "time_cross_track (block)"]
    assert no_mixer_overrides(recipe) == ("model.denoiser.mixers=[]", "model.denoiser.mixer_block_mixers=[]")
    plain = load_recipe(BENCH)
    assert no_mixer_overrides(plain) == ("model.denoiser.mixers=[]",)
    denoiser = build(load_recipe(recipe_path, no_mixer_overrides(recipe)).get("model.denoiser"), Denoiser, get_registry())
    assert block_names(denoiser) == [] and not any(".mixers." in key for key in denoiser.state_dict())
