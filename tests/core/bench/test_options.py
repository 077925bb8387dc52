"""Parsing a sweep's options: track lists, token grids, backends and mixer specs, with clear errors."""

from __future__ import annotations

import pytest

from synctrack import UserError
from synctrack.bench.options import GRIDS, Grid, parse_backends, parse_grid, parse_latent_grid, parse_mixers, parse_tracks


def test_track_lists_keep_their_order():
    assert parse_tracks("2,4,8,16,32") == [2, 4, 8, 16, 32]
    assert parse_tracks(" 3 , 1") == [3, 1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("0,2", "'0' is not a positive track count"), ("2,x", "'x' is not a positive track count"),
     ("2,,4", "'' is not a positive track count"), ("-1", "'-1' is not"), ("2,4,2", "2 is listed twice")],
)  # fmt: skip
def test_bad_track_lists_are_explained(text, fragment):
    with pytest.raises(UserError) as caught:
        parse_tracks(text)
    message = str(caught.value)
    assert message.startswith(f"--tracks {text!r}: ") and fragment in message
    if "twice" not in fragment:
        assert "give a list such as 2,4,8,16" in message


def test_grid_presets_are_musicldm_attention_levels():
    """A 256 x 16 latent at downsample 2, 4, 8 with widths 128 x [2, 3, 5]; ds-2 is the issue's 128 x 8 x 256."""
    assert parse_grid("musicldm-ds2") == Grid(128, 8, 256, "musicldm-ds2")
    assert [(g.frames * factor, g.bins * factor) for g, factor in zip(GRIDS.values(), (2, 4, 8))] == [(256, 16)] * 3
    assert [g.dim for g in GRIDS.values()] == [256, 384, 640]


def test_custom_grids():
    grid = parse_grid("4x2x32")
    assert (grid.frames, grid.bins, grid.dim, grid.tokens, grid.label) == (4, 2, 32, 8, "4x2x32")
    assert parse_latent_grid("256x16") == (256, 16)


@pytest.mark.parametrize("text", ["musicldm-ds3", "128x8", "0x8x256", "axbxc", ""])
def test_bad_grids_are_explained(text):
    with pytest.raises(UserError) as caught:
        parse_grid(text)
    message = str(caught.value)
    assert f"--grid {text!r} is not a grid" in message and "musicldm-ds2" in message and "128x8x256" in message


def test_a_misspelled_preset_gets_a_suggestion():
    with pytest.raises(UserError, match=r"did you mean 'musicldm-ds4'"):
        parse_grid("musicldm-ds44")


@pytest.mark.parametrize("text", ["256", "256x0", "16x8x4"])
def test_bad_latent_grids_are_explained(text):
    with pytest.raises(UserError, match=r"is not a latent grid; give TxF .* e\.g\. 256x16"):
        parse_latent_grid(text)


def test_backends():
    assert parse_backends("naive,sdpa,xformers,sdpa") == ["naive", "sdpa", "xformers"]
    with pytest.raises(UserError, match=r"unknown attention backend 'spda' \(did you mean 'sdpa'\?\); choose from naive, sdpa, xformers"):
        parse_backends("naive,spda")


def test_mixer_specs_carry_their_arguments_and_the_head_dim():
    global_, frame, mix = parse_mixers("global_cross_track,time_cross_track:scope=frame,mix_cross_track:reduce=sum:head_dim=16", head_dim=32)
    assert global_.node == {"type": "global_cross_track", "head_dim": 32}
    assert (frame.label, frame.node) == ("time_cross_track:scope=frame", {"type": "time_cross_track", "scope": "frame", "head_dim": 32})
    assert mix.node == {"type": "mix_cross_track", "reduce": "sum", "head_dim": 16}  # its own head_dim wins
    (none,) = parse_mixers("none", head_dim=32)
    assert none.node == {"type": "none"}  # takes no head_dim


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("globl_cross_track", "--mixers: 'globl_cross_track' is not in the mixer registry; did you mean 'global_cross_track'?"),
        ("time_cross_track:scope=bar", "--mixers: mixer 'time_cross_track:scope=bar': scope: expected one of 'frame', 'cell', got 'bar'"),
        ("time_cross_track:scop=frame", "unknown argument 'scop'"),
        ("mix_cross_track:head_dim", "'head_dim' in 'mix_cross_track:head_dim' is not KEY=VALUE"),
        ("mix_cross_track,mix_cross_track", "'mix_cross_track' is listed twice"),
    ],
)
def test_bad_mixer_specs_are_explained(text, fragment):
    with pytest.raises(UserError) as caught:
        parse_mixers(text, head_dim=32)
    assert fragment in str(caught.value)
