"""MSDM's waveform U-Net: sources as channels, patching, lengths, masking and per-song isolation."""

from __future__ import annotations

import pytest
import torch

from synctrack import RecipeError, TrackInfo, get_registry
from synctrack.interfaces import Denoiser
from synctrack.recipe import build

NODE = {"type": "unet1d", "sources": 3, "channels": 8, "patch_factor": 4, "multipliers": [1, 2, 2], "factors": [2, 2],
        "blocks_per_level": [1, 1], "attention_levels": [False, True], "attention_heads": 2, "attention_head_dim": 8,
        "norm_groups": 4}


@pytest.fixture
def model(randomized):
    return randomized(build(NODE, Denoiser, get_registry()).eval())


def test_shapes_and_length_multiple(model):
    assert model.length_multiple == 16
    x = torch.randn(2, 3, 1, 64)
    assert model(x, torch.tensor([-1.0, 0.5]), TrackInfo.full([0, 1, 2], 2)).shape == x.shape
    with pytest.raises(ValueError, match="length 60 must be a multiple of 16"):
        model(torch.randn(2, 3, 1, 60), torch.zeros(2), TrackInfo.full([0, 1, 2], 2))
    with pytest.raises(ValueError, match=r"built for \[B, 3, 1, L\]"):
        model(torch.randn(2, 4, 1, 64), torch.zeros(2), TrackInfo.full([0, 1, 2, 3], 2))


def test_songs_are_isolated_and_sources_interact(model):
    x = torch.randn(3, 3, 1, 64)
    tracks = TrackInfo.full([0, 1, 2], 3)
    changed = x.clone()
    changed[1] += 1.0
    with torch.no_grad():
        out, out_changed = model(x, torch.zeros(3), tracks), model(changed, torch.zeros(3), tracks)
    assert torch.equal(out[0], out_changed[0]) and torch.equal(out[2], out_changed[2])
    source = x.clone()
    source[0, 0] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model(source, torch.zeros(3), tracks)[0, 2], out[0, 2])


def test_masked_sources_are_zero(model):
    tracks = TrackInfo(torch.zeros(1, 3, dtype=torch.long), torch.tensor([[True, False, True]]))
    out = model(torch.randn(1, 3, 1, 32), torch.zeros(1), tracks)
    assert torch.count_nonzero(out[0, 1]) == 0 and torch.count_nonzero(out[0, 0]) > 0


def test_inconsistent_level_lists_are_a_recipe_problem():
    with pytest.raises(RecipeError, match="len\\(multipliers\\) = len\\(factors\\) \\+ 1"):
        build({**NODE, "multipliers": [1, 2]}, Denoiser, get_registry())
