"""MSG-LD's 3-D U-Net: stems as channels over (latent channels, time, frequency), the mixture condition."""

from __future__ import annotations

import pytest
import torch

from synctrack import TrackInfo, get_registry
from synctrack.interfaces import Denoiser
from synctrack.recipe import build

NODE = {"type": "unet3d", "sources": 3, "latent_channels": 2, "base_channels": 8, "channel_multipliers": [1, 2],
        "res_blocks": 1, "attention_levels": [2], "head_dim": 8, "norm_groups": 4}
TRACKS = TrackInfo.full([0, 1, 2], 2)


@pytest.fixture
def model(randomized):
    return randomized(build(NODE, Denoiser, get_registry()).eval())


def inputs(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 2, 8, 4, generator=generator), torch.tensor([3.0, 600.0])


def test_downsampling_keeps_the_latent_channel_depth(model):
    x, levels = inputs()
    assert model(x, levels, TRACKS).shape == x.shape
    depths = set()
    model.input_blocks[-1].register_forward_hook(lambda m, i, o: depths.add(tuple(o.shape[2:])))
    model(x, levels, TRACKS)
    assert depths == {(2, 4, 2)}  # depth 2 kept, time and frequency halved once


def test_the_mixture_condition_changes_the_output_and_zero_means_absent(model):
    x, levels = inputs()
    mixture = x.sum(dim=1)
    with torch.no_grad():
        unconditional = model(x, levels, TRACKS)
        conditional = model(x, levels, TRACKS, context=mixture)
        zero = model(x, levels, TRACKS, context=torch.zeros_like(mixture))
    assert not torch.allclose(conditional, unconditional)
    assert torch.equal(zero, unconditional)


def test_the_denoiser_itself_never_drops_the_condition(randomized):
    """Condition dropout is the pipeline's (from each song's generator); the network only reads what it gets."""
    model = randomized(build({**NODE, "condition_dropout": 1.0}, Denoiser, get_registry()))
    x, levels = inputs()
    mixture = x.sum(dim=1)
    with torch.no_grad():
        trained = model.train()(x, levels, TRACKS, context=mixture)
        evaluated = model.eval()(x, levels, TRACKS, context=mixture)
        unconditional = model(x, levels, TRACKS)
    assert torch.equal(trained, evaluated) and not torch.equal(trained, unconditional)


def test_songs_are_isolated(model):
    x, levels = inputs()
    x3 = torch.cat([x, x[:1]])
    tracks = TrackInfo.full([0, 1, 2], 3)
    changed = x3.clone()
    changed[1] += 2.0
    with torch.no_grad():
        out, out_changed = model(x3, torch.tensor([3.0, 600.0, 9.0]), tracks), model(changed, torch.tensor([3.0, 600.0, 9.0]), tracks)
    assert torch.equal(out[0], out_changed[0]) and torch.equal(out[2], out_changed[2])


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda m, x, l: m(x[:, :2], l, TrackInfo.full([0, 1], 2)), "built for [B, 3, 2, T, F]"),
        (lambda m, x, l: m(x, l, TRACKS, context=torch.zeros(2, 2, 8)), "mixture condition must be [B, C, T, F] = [2, 2, 8, 4]"),
        (lambda m, x, l: m(x[..., :7, :], l, TRACKS), "latent grid 7 x 4 must be divisible by 2"),
    ],
)
def test_bad_inputs_are_explained(model, call, fragment):
    x, levels = inputs()
    with pytest.raises(ValueError) as caught:
        call(model, x, levels)
    assert fragment in str(caught.value)
