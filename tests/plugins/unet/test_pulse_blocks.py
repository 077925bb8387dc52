"""unet2d's pulse blocks (``pulse_block_levels``): where the plan puts them and at which factor, per-track (tracks
and songs stay apart), the identity when fresh, a gradient from the first step, and clear errors."""

from __future__ import annotations

import pytest
import torch

from synctrack import RecipeError
from synctrack.nn import unet_plan

from .test_unet2d import MIXERS, assert_songs_isolated, copy_weights_around, inputs, unet

LAGS = [2, 6]  # the test U-Net's clip has 8 frames: lags of 2-6 frames at factor 1, 1-3 at factor 2


def with_pulse(mixers=(), levels=(1, 2), randomize=None, **overrides):
    return unet(list(mixers), randomize, pulse_block_levels=list(levels), pulse_lags=LAGS, **overrides)


def pulse_blocks(model) -> list[torch.nn.Module]:
    return [module for module in model.modules() if type(module).__name__ == "PulseBlock"]


def test_the_plan_puts_a_pulse_layer_after_each_res_of_the_listed_levels_with_its_factor():
    plain = unet_plan(4, 16, [1, 2, 4], 1, [4], True)
    planned = unet_plan(4, 16, [1, 2, 4], 1, [4], True, pulse_levels=[1, 4])
    for stage_plain, stage in zip(plain.input + plain.output, planned.input + planned.output):
        kinds = [layer.kind for layer in stage.layers]
        assert [kind for kind in kinds if kind != "pulse"] == [layer.kind for layer in stage_plain.layers]
        for layer in stage.layers:
            if layer.kind == "pulse":
                # it reads the grid of the res before it, even in a stage an upsampler closes
                assert layer.factor == stage.layers[0].factor and layer.factor in (1, 4)
        level_before_up = stage.factor * 2 if "up" in kinds else stage.factor
        assert kinds.count("pulse") == int("res" in kinds and level_before_up in (1, 4))
    assert "pulse" not in [layer.kind for layer in planned.middle.layers]


def test_each_level_gets_its_lags_in_its_own_frames():
    model = with_pulse(levels=[1, 2])
    assert len(pulse_blocks(model)) == 6  # two levels, one res block: 1 input and 2 output stages per level
    assert sorted({block.lag_range for block in pulse_blocks(model)}) == [(1, 3), (2, 6)]


def test_songs_are_isolated_bit_for_bit(randomized):
    assert_songs_isolated(with_pulse(MIXERS["synctrack"], randomize=randomized))


def test_tracks_stay_independent_without_mixers(randomized):
    """A pulse block reads one track's own frames: it is not a cross-track path."""
    model = with_pulse(randomize=randomized)
    x, levels, info = inputs()
    changed = x.clone()
    changed[0, 0] += 1.0
    with torch.no_grad():
        out, out_changed = model(x, levels, info), model(changed, levels, info)
    assert not torch.equal(out[0, 0], out_changed[0, 0])
    assert torch.equal(out[0, 2], out_changed[0, 2])


def test_fresh_blocks_give_exactly_the_unet_without_them(randomized):
    with_blocks = with_pulse(MIXERS["synctrack"], randomize=randomized)
    for block in pulse_blocks(with_blocks):  # as built: the output projection starts at zero
        torch.nn.init.zeros_(block.proj_out.weight)
        torch.nn.init.zeros_(block.proj_out.bias)
    plain = unet(MIXERS["synctrack"])
    copy_weights_around(with_blocks, plain, "PulseBlock")
    x, levels, info = inputs()
    with torch.no_grad():
        assert torch.equal(with_blocks(x, levels, info), plain(x, levels, info))


def test_a_fresh_block_gets_a_gradient_in_a_trained_unet(randomized):
    model = with_pulse(randomize=randomized).train()
    for block in pulse_blocks(model):
        torch.nn.init.zeros_(block.proj_out.weight)
    x, levels, info = inputs()
    model(x, levels, info).square().mean().backward()
    for block in pulse_blocks(model):
        assert block.proj_out.weight.grad.abs().sum() > 0
        assert block.qkv.weight.grad is not None


def test_fresh_steering_gives_exactly_the_unsteered_unet(randomized):
    steered, plain = with_pulse(MIXERS["synctrack"], pulse_steering=True), with_pulse(MIXERS["synctrack"])
    randomized(plain)
    state = plain.state_dict()
    for block_name, block in steered.named_modules():
        if type(block).__name__ == "PulseBlock":  # as built: the steering map starts at zero
            assert not block.steer[1].weight.any() and not block.steer[1].bias.any()
            state.update({f"{block_name}.steer.1.{key}": value for key, value in block.steer[1].state_dict().items()})
    steered.load_state_dict(state)
    x, levels, info = inputs()
    with torch.no_grad():
        assert torch.equal(steered(x, levels, info), plain(x, levels, info))


def test_steering_reads_the_embedding_per_song_and_learns_from_the_first_step(randomized):
    model = with_pulse(pulse_steering=True, randomize=randomized).train()
    blocks = pulse_blocks(model)
    for block in blocks:  # as built: a zero map, which must still get a gradient
        torch.nn.init.zeros_(block.steer[1].weight)
        torch.nn.init.zeros_(block.steer[1].bias)
    x, levels, info = inputs()
    model(x, levels, info).square().mean().backward()
    assert all(block.steer[1].weight.grad.abs().sum() > 0 for block in blocks)
    model.eval()
    with torch.no_grad():
        flat = model(x, levels, info)
        for block in blocks:  # a weight and no bias: whatever changes comes from the embedding
            torch.nn.init.normal_(block.steer[1].weight, std=5.0)
        steered = model(x, levels, info)
    assert not torch.allclose(flat, steered)
    assert_songs_isolated(model)


def test_a_steered_block_needs_the_embedding_and_an_unsteered_one_refuses_it():
    steered = pulse_blocks(with_pulse(pulse_steering=True))[0]
    plain = pulse_blocks(with_pulse())[0]
    x = torch.randn(2, steered.norm.num_channels, 8, 4)
    with pytest.raises(ValueError, match="a steered PulseBlock needs the embedding"):
        steered(x)
    with pytest.raises(ValueError, match="an unsteered one takes none"):
        plain(x, torch.randn(2, 64))


def test_a_level_the_unet_does_not_have_is_a_recipe_problem_naming_its_levels():
    with pytest.raises((RecipeError, ValueError), match=r"pulse_block_levels \[4\] .*factors are \[1, 2\]"):
        with_pulse(levels=[1, 4])


@pytest.mark.parametrize("lags, message", [([6, 2], r"pulse_lags \[6, 2\] must be \[low, high\]"),
                                           ([1], r"pulse_lags: expected 2 elements"),
                                           ([1, 1], r"pulse_lags \[1, 1\] hold no whole lag at factor 2")])
def test_bad_lags_are_recipe_problems(lags, message):
    with pytest.raises((RecipeError, ValueError), match=message):
        unet([], pulse_block_levels=[1, 2], pulse_lags=lags)
