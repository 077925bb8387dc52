"""The SyncTrack U-Net: any track count with the same weights, songs isolated, tracks equivariant, masked
tracks inert, zero-initialised mixers exact, gradients everywhere, clear errors."""

from __future__ import annotations

import copy

import pytest
import torch

from synctrack import TrackInfo, get_registry
from synctrack.interfaces import Denoiser
from synctrack.recipe import build

VOCABULARY = ["bass", "drums", "guitar", "piano", "strings", "organ", "lead", "pad"]

MIXERS = {
    "none": [],
    "global": [{"type": "global_cross_track", "head_dim": 8}],
    "time-frame": [{"type": "time_cross_track", "scope": "frame", "head_dim": 8}],
    "time-cell": [{"type": "time_cross_track", "scope": "cell", "head_dim": 8}],
    "mix": [{"type": "mix_cross_track", "head_dim": 8}],
    "synctrack": [{"type": "global_cross_track", "head_dim": 8}, {"type": "time_cross_track", "head_dim": 8}],
}


def unet(mixers, randomize=None, conditioner=None, zero_init=None, **overrides) -> Denoiser:
    if zero_init is not None:
        mixers = [{**m, "zero_init": zero_init} for m in mixers]
    node = {
        "type": "unet2d",
        "in_channels": 4,
        "base_channels": 16,
        "channel_multipliers": [1, 2],
        "res_blocks": 1,
        "attention_levels": [1, 2],
        "head_dim": 8,
        "norm_groups": 4,
        "mixers": mixers,
        "conditioner": conditioner or {"type": "instrument_prior", "vocabulary": VOCABULARY, "hidden_dim": 16, "embedding_dim": 32},
        **overrides,
    }
    model = build(node, Denoiser, get_registry()).eval()
    return randomize(model) if randomize else model


def inputs(batch=3, tracks=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, tracks, 4, 8, 4, generator=generator)
    levels = torch.tensor([10.0, 500.0, 999.0])[:batch]
    ids = torch.randint(0, len(VOCABULARY), (batch, tracks), generator=generator)
    present = torch.ones(batch, tracks, dtype=torch.bool)
    if tracks > 2:
        present[0, 1] = False
    return x, levels, TrackInfo(ids, present)


@pytest.mark.parametrize("tracks", [1, 2, 4, 8])
def test_any_track_count_with_the_same_weights(tracks, randomized):
    model = unet(MIXERS["synctrack"], randomized)
    x, levels, info = inputs(batch=2, tracks=tracks)
    out = model(x, levels[:2], info)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("name", MIXERS)
def test_songs_are_isolated_bit_for_bit(name, randomized):
    """In a batch of 3 songs, changing song 2 leaves song 1's output bit-identical.

    The official SyncTrack code fails this for B > 1: its global cross-track attention lets query row
    (song b, track s) read the keys of song (4b + s) mod B.
    """
    assert_songs_isolated(unet(MIXERS[name], randomized))


def assert_songs_isolated(model) -> None:
    x, levels, info = inputs()
    changed = x.clone()
    changed[1] = torch.randn_like(changed[1]) * 3
    with torch.no_grad():
        first, second = model(x, levels, info), model(changed, levels, info)
    assert torch.equal(first[0], second[0]) and torch.equal(first[2], second[2])
    assert not torch.equal(first[1], second[1])


@pytest.mark.parametrize("name", ["global", "time-frame", "time-cell", "mix", "synctrack"])
def test_tracks_do_interact_through_mixers(name, randomized):
    model = unet(MIXERS[name], randomized)
    x, levels, info = inputs()
    changed = x.clone()
    changed[0, 0] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model(x, levels, info)[0, 2], model(changed, levels, info)[0, 2])


def test_without_mixers_tracks_are_independent(randomized):
    model = unet(MIXERS["none"], randomized)
    x, levels, info = inputs()
    changed = x.clone()
    changed[0, 0] += 1.0
    with torch.no_grad():
        assert torch.equal(model(x, levels, info)[0, 2], model(changed, levels, info)[0, 2])


@pytest.mark.parametrize("name", MIXERS)
def test_permuting_tracks_with_their_instruments_permutes_the_output(name, randomized):
    model = unet(MIXERS[name], randomized)
    x, levels, info = inputs()
    order = torch.tensor([3, 1, 0, 2])
    with torch.no_grad():
        permuted = model(x[:, order], levels, info.index_tracks(order))
        torch.testing.assert_close(permuted, model(x, levels, info)[:, order], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", MIXERS)
def test_a_masked_track_has_no_influence(name, randomized):
    model = unet(MIXERS[name], randomized)
    x, levels, info = inputs()
    changed = x.clone()
    changed[0, 1] = torch.randn_like(changed[0, 1]) * 10  # song 0, track 1 is masked
    with torch.no_grad():
        out, out_changed = model(x, levels, info), model(changed, levels, info)
    torch.testing.assert_close(out_changed, out, rtol=0, atol=1e-6)
    assert torch.count_nonzero(out[0, 1]) == 0


@pytest.mark.parametrize("name", ["global", "time-frame", "time-cell", "mix", "synctrack"])
def test_zero_init_mixers_give_exactly_the_unet_without_mixers(name, randomized):
    with_mixers = unet(MIXERS[name], zero_init=True)
    randomized(with_mixers)
    for module in with_mixers.modules():  # restore the mixers' zero output projections
        if hasattr(module, "attention") and module.__class__.__name__.endswith("Mixer"):
            torch.nn.init.zeros_(module.attention.to_out[0].weight)
            torch.nn.init.zeros_(module.attention.to_out[0].bias)
    without = unet(MIXERS["none"])
    missing, unexpected = without.load_state_dict(with_mixers.state_dict(), strict=False)
    assert missing == [] and all(".mixers." in key for key in unexpected) and unexpected
    x, levels, info = inputs()
    with torch.no_grad():
        assert torch.equal(with_mixers(x, levels, info), without(x, levels, info))
    with_random_mixers = unet(MIXERS[name], randomized)
    with torch.no_grad():
        assert not torch.equal(with_random_mixers(x, levels, info), without(x, levels, info))


@pytest.mark.parametrize("name", ["global", "time-frame", "time-cell", "mix", "synctrack"])
def test_every_mixer_parameter_receives_a_gradient(name, randomized):
    model = unet(MIXERS[name], randomized).train()
    x, levels, info = inputs()
    model(x, levels, info).square().mean().backward()
    mixer_parameters = [(n, p) for n, p in model.named_parameters() if ".mixers." in n]
    assert mixer_parameters
    for parameter_name, parameter in mixer_parameters:
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, parameter_name


def test_checkpointing_gives_the_same_output_and_gradients(randomized):
    plain = unet(MIXERS["synctrack"], randomized).train()
    checkpointed = copy.deepcopy(plain)
    checkpointed.checkpointing = True
    x, levels, info = inputs()
    for model in (plain, checkpointed):
        model(x, levels, info).square().mean().backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), checkpointed.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.parametrize("join", ["concat", "add"])
def test_embedding_join_sets_the_resblock_embedding_width(join):
    model = unet(MIXERS["none"], embedding_join=join)
    widths = {m.embedding_projection.in_features for m in model.modules() if hasattr(m, "embedding_projection")}
    assert widths == ({128} if join == "concat" else {64})
    x, levels, info = inputs()
    assert model(x, levels, info).shape == x.shape


def test_without_conditioner_tracks_of_a_song_are_interchangeable(randomized):
    model = unet(MIXERS["none"], randomized, conditioner={"type": "none"})
    x, levels, info = inputs()
    x[:, 2] = x[:, 0]
    with torch.no_grad():
        out = model(x, levels, TrackInfo(info.instrument_ids, torch.ones_like(info.mask)))
    torch.testing.assert_close(out[:, 2], out[:, 0])


def test_the_instrument_prior_distinguishes_identical_tracks(randomized):
    model = unet(MIXERS["none"], randomized)
    x, levels, info = inputs()
    x[:, 2] = x[:, 0]
    ids = info.instrument_ids.clone()
    ids[:, 0], ids[:, 2] = 0, 3
    with torch.no_grad():
        out = model(x, levels, TrackInfo(ids, torch.ones_like(info.mask)))
    assert not torch.allclose(out[:, 2], out[:, 0])


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda x, l, i: (x[:, :, :3], l, i), "built for 4 latent channels, got 3"),
        (lambda x, l, i: (x[..., :7, :], l, i), "latent grid 7 x 4 must be divisible by 2"),
        (lambda x, l, i: (x, l[:2], i), "noise_level must be [B] = [3]"),
        (lambda x, l, i: (x[:, :3], l, i), "latents are [B, S] = [3, 3] but tracks are [3, 4]"),
        (lambda x, l, i: (x[0], l, i), "takes latents [B, S, C, T, F]"),
    ],
)
def test_bad_inputs_are_explained(change, fragment):
    model = unet(MIXERS["none"], conditioner={"type": "none"})
    x, levels, info = change(*inputs())
    with pytest.raises(ValueError) as caught:
        model(x, levels, info)
    assert fragment in str(caught.value)


def test_impossible_widths_are_a_recipe_problem():
    from synctrack import RecipeError

    with pytest.raises(RecipeError, match=r"denoiser 'unet2d' refused its arguments: channel width 24"):
        build({"type": "unet2d", "base_channels": 24, "channel_multipliers": [1], "head_dim": 16}, Denoiser, get_registry())


def test_one_level_per_track_equal_across_tracks_is_one_level_per_song(randomized):
    model = unet(MIXERS["synctrack"], randomized)
    x, levels, info = inputs()
    with torch.no_grad():
        # equal up to rounding: the time MLP runs on B*S rows instead of B
        assert torch.allclose(model(x, levels, info), model(x, levels[:, None].expand(-1, 4), info), atol=1e-5, rtol=1e-5)


def test_a_tracks_own_level_reaches_that_track_and_the_others_only_through_mixers(randomized):
    x, levels, info = inputs()
    per_track = levels[:, None].repeat(1, 4)
    changed = per_track.clone()
    changed[0, 0] = 900.0
    with torch.no_grad():
        alone = unet(MIXERS["none"], randomized)
        assert not torch.allclose(alone(x, per_track, info)[0, 0], alone(x, changed, info)[0, 0])
        assert torch.equal(alone(x, per_track, info)[0, 2], alone(x, changed, info)[0, 2])
        assert torch.equal(alone(x, per_track, info)[1:], alone(x, changed, info)[1:])
        mixed = unet(MIXERS["synctrack"], randomized)
        assert not torch.allclose(mixed(x, per_track, info)[0, 2], mixed(x, changed, info)[0, 2])


def test_levels_of_the_wrong_shape_name_both_accepted_shapes():
    model = unet(MIXERS["none"], conditioner={"type": "none"})
    x, levels, info = inputs()
    with pytest.raises(ValueError, match=r"\[B\] = \[3\] or \[B, S\] = \[3, 4\], got \(3, 3\)"):
        model(x, levels[:, None].expand(-1, 3), info)


def test_rotary_time_positions_add_no_weights_are_seen_and_keep_songs_and_tracks_apart(randomized):
    rotary = unet(MIXERS["synctrack"], randomized, self_attention_position="rotary", second_self_attention=True)
    plain = unet(MIXERS["synctrack"], self_attention_position="none", second_self_attention=True)
    assert plain.load_state_dict(rotary.state_dict()) is not None  # strict: the same keys, no new weights
    x, levels, info = inputs()
    with torch.no_grad():
        assert not torch.allclose(rotary(x, levels, info), plain(x, levels, info))
        order = torch.tensor([3, 1, 0, 2])  # track order still does not matter
        torch.testing.assert_close(rotary(x[:, order], levels, info.index_tracks(order)),
                                   rotary(x, levels, info)[:, order], rtol=1e-4, atol=1e-5)
    assert_songs_isolated(rotary)


def copy_weights_around(source, target, block_type: str) -> None:
    """Copy ``source``'s weights into ``target``, a U-Net with the same layers but no ``block_type`` blocks.
    Blocks shift the slots of the layers after them, so this goes layer by layer in order, not by key."""
    blocks = [name for name, module in source.named_modules() if type(module).__name__ == block_type]
    kept = [module for name, module in source.named_modules()
            if not list(module.children()) and not any(name.startswith(block + ".") for block in blocks)]
    target_layers = [module for module in target.modules() if not list(module.children())]
    assert len(target_layers) == len(kept)
    for layer, weights in zip(target_layers, kept):
        layer.load_state_dict(weights.state_dict())

