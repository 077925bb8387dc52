"""Song-level conditions (issue 17): the tempo and tags conditioners against their formulas, the null embedding
of a dropped condition, condition dropout, classifier-free guidance, and songs that never see each other's
conditions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import synctrack
from synctrack import TrackInfo, get_registry
from synctrack.conditions import SongConditions, parse_tags
from synctrack.data import collate_songs
from synctrack.errors import RecipeError, UserError
from synctrack.interfaces import Conditioner, Denoiser
from synctrack.recipe import build

REPO = Path(__file__).resolve().parents[3]
TAGS = ["key=C", "key=D", "mode=major", "mode=minor", "meter=3", "meter=4", "style=rock"]
TINY = ["data.clip_seconds=1.28", "model.denoiser.base_channels=8", "model.denoiser.head_dim=8", "model.denoiser.norm_groups=4",
        "model.denoiser.mixers[0].head_dim=8", "model.denoiser.mixers[1].head_dim=8"]


def conditioner(node):
    return build(node, Conditioner, get_registry())


def tiny_unet(**extra):
    node = {"type": "unet2d", "in_channels": 1, "base_channels": 8, "channel_multipliers": [1, 2], "res_blocks": 1,
            "attention_levels": [2], "head_dim": 8, "norm_groups": 4,
            "mixers": [{"type": "global_cross_track", "head_dim": 8}, {"type": "time_cross_track", "scope": "cell", "head_dim": 8}],
            "song_conditioners": [{"type": "tempo", "embedding_dim": 8, "hidden_dim": 8},
                                  {"type": "tags", "vocabulary": TAGS, "embedding_dim": 8, "hidden_dim": 8}], **extra}
    torch.manual_seed(0)
    return wake(build(node, Denoiser, get_registry())).eval()


def wake(module):
    """Give the zero-initialised weights (residual branches' last layers, the output, the nulls) random values,
    so that a condition reaches the output as it does once trained."""
    with torch.no_grad():
        for parameter in module.parameters():
            if not parameter.any():
                parameter.normal_(std=0.1)
    return module


def conditions(tempo, tags, keep=None):
    return SongConditions(tempo=torch.tensor(tempo, dtype=torch.float32), tags=tuple(tuple(t) for t in tags),
                          keep=None if keep is None else torch.tensor(keep))


def test_tempo_is_fourier_features_of_the_log_tempo_through_an_mlp():
    tempo = conditioner({"type": "tempo", "embedding_dim": 5, "hidden_dim": 7, "frequencies": 3, "min_bpm": 40.0, "max_bpm": 250.0})
    bpm = torch.tensor([40.0, 120.0, 250.0])
    out = tempo(SongConditions(tempo=bpm))
    first, _, second = tempo.mlp
    for song, value in enumerate(bpm.tolist()):
        unit = math.log(value / 40.0) / math.log(250.0 / 40.0)
        angles = [math.pi * 2**k * unit for k in range(3)]
        features = torch.tensor([unit, *map(math.sin, angles), *map(math.cos, angles)])
        hidden = torch.nn.functional.silu(features @ first.weight.T + first.bias)
        torch.testing.assert_close(out[song], hidden @ second.weight.T + second.bias)
    assert out.shape == (3, 5)


def test_tags_are_a_multi_hot_through_an_mlp_and_unknown_tags_are_named():
    tags = conditioner({"type": "tags", "vocabulary": TAGS, "embedding_dim": 4, "hidden_dim": 6})
    asked = SongConditions(tags=(("key=D", "mode=minor"), (), ("style=rock",)))
    hot = torch.zeros(3, len(TAGS))
    hot[0, [1, 3]] = 1.0
    hot[2, 6] = 1.0
    first, _, second = tags.mlp
    torch.testing.assert_close(tags(asked), torch.nn.functional.silu(hot @ first.weight.T + first.bias) @ second.weight.T + second.bias)
    with pytest.raises(UserError, match=r"tag 'style=funk' is not one this model was trained with; tags: key=C\|D; "
                                        r"mode=major\|minor; meter=3\|4; style=rock"):
        tags.check(SongConditions(tags=(("style=funk",),)))
    tags.check(SongConditions(tags=(("style=funk",),), keep=torch.tensor([False])))  # a dropped song asks nothing
    tags.train()
    tags(SongConditions(tags=(("style=funk",),)))  # unknown: ignore skips it in training data
    strict = conditioner({"type": "tags", "vocabulary": TAGS, "unknown": "error"}).train()
    with pytest.raises(UserError, match=r"a training song has the tag 'style=funk', which is not in the tags conditioner's "
                                        r"vocabulary \(key=C, .*style=rock\): add it to the vocabulary, or set unknown: ignore"):
        strict(SongConditions(tags=(("style=funk",),)))
    with pytest.raises(RecipeError, match="name=value entries, e.g. \\[key=C, mode=minor\\]; got \\['rock'\\]"):
        conditioner({"type": "tags", "vocabulary": ["rock"]})


def test_tempo_out_of_range_and_malformed_tags_are_user_errors():
    tempo = conditioner({"type": "tempo"})
    with pytest.raises(UserError, match="tempo 500 BPM is outside what this model takes \\(tempo: 30 to 300 BPM\\)"):
        tempo.check(SongConditions(tempo=torch.tensor([120.0, 500.0])))
    assert parse_tags("key=C, mode=minor style=rock") == ("key=C", "mode=minor", "style=rock")
    with pytest.raises(UserError, match="'style' is not a tag; write name=value tags"):
        parse_tags("key=C,style")


def test_conditions_come_from_each_songs_metadata_or_a_clear_error():
    metas = [{"song_id": "a", "tempo": 100.0, "tags": ["key=C"]}, {"song_id": "b", "tempo": 120, "tags": []}]
    made = SongConditions.from_meta(metas, {"tempo", "tags"})
    assert made.tempo.tolist() == [100.0, 120.0] and made.tags == (("key=C",), ()) and made.prompts is None
    with pytest.raises(UserError, match="conditioned on prompt .* 2 song\\(s\\) of the training data carry no 'prompt' .*first: a"):
        SongConditions.from_meta(metas, {"prompt"})
    one = SongConditions(tempo=torch.tensor([90.0]))
    assert one.per_song(3).tempo.tolist() == [90.0] * 3
    with pytest.raises(UserError, match="hold 2 songs; give one"):
        made.per_song(3)


def test_the_synthetic_world_tags_every_song():
    from synctrack.plugins.datasets.synthetic import SyntheticDataset

    item = SyntheticDataset(num_songs=2, clip_seconds=1.0, tracks=["bass", "drums"])[1]
    meta = item["meta"]
    style = meta["patterns"][1].split("/")[0]
    assert meta["tags"] == [f"key={meta['key'].split()[0]}", f"mode={meta['key'].split()[1]}", f"meter={meta['meter']}", f"style={style}"]
    assert f"{meta['tempo']:.0f} BPM" in meta["prompt"] and "bass, drums" in meta["prompt"]


@pytest.mark.parametrize("slot", ["timestep", "cross_attention"])
def test_an_unconditional_pass_gets_the_null_embeddings(slot):
    unet = tiny_unet(song_condition_slot=slot)
    x, level = torch.randn(2, 3, 1, 8, 4), torch.tensor([300, 700])
    tracks = TrackInfo.full([0, 1, 2], batch_size=2)
    asked = conditions([100.0, 130.0], [["key=C"], ["mode=minor", "style=rock"]])
    dropped = asked.dropped(torch.tensor([False, False]))
    with torch.no_grad():
        unconditional, all_dropped, conditional = unet(x, level, tracks), unet(x, level, tracks, dropped), unet(x, level, tracks, asked)
        for null, embedded in zip(unet.song_conditioning.nulls, unet.song_conditioning.embeddings(dropped, 2)):
            assert torch.equal(embedded, null.expand(2, -1))
    assert torch.equal(unconditional, all_dropped)
    assert (conditional - unconditional).abs().amax(dim=(1, 2, 3, 4)).min() > 1e-4  # the condition reaches both songs


@pytest.mark.parametrize("slot", ["timestep", "cross_attention"])
def test_a_songs_condition_never_reaches_another_song(slot):
    unet = tiny_unet(song_condition_slot=slot)
    x, level = torch.randn(2, 3, 1, 8, 4), torch.tensor([500, 500])
    tracks = TrackInfo.full([0, 1, 2], batch_size=2)
    with torch.no_grad():
        base = unet(x, level, tracks, conditions([100.0, 130.0], [["key=C"], ["mode=minor"]]))
        changed = unet(x, level, tracks, conditions([100.0, 70.0], [["key=C"], ["style=rock", "meter=3"]]))
        dropped = unet(x, level, tracks, conditions([100.0, 130.0], [["key=C"], ["mode=minor"]], keep=[True, False]))
    torch.testing.assert_close(changed[0], base[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(dropped[0], base[0], rtol=0, atol=1e-6)
    assert (changed[1] - base[1]).abs().max() > 1e-4 and (dropped[1] - base[1]).abs().max() > 1e-4


def test_the_cross_attention_slot_attends_in_every_attention_block_and_leaves_the_timestep_alone():
    unet = tiny_unet(song_condition_slot="cross_attention")
    blocks = [module for module in unet.modules() if type(module).__name__ == "AttentionBlock"]
    assert blocks and all(block.cross_attn is not None for block in blocks)
    assert all(block.cross_attn is None for block in tiny_unet().modules() if type(block).__name__ == "AttentionBlock")
    level, tracks = torch.tensor([300]), TrackInfo.full([0, 1], batch_size=1)
    with torch.no_grad():  # the timestep embedding is the unconditional one whatever is asked
        assert torch.equal(unet.embed(level, tracks, conditions([150.0], [["key=D"]])), unet.embed(level, tracks))


def test_a_condition_of_the_wrong_level_or_a_dropout_without_conditions_is_refused():
    with pytest.raises(RecipeError, match="song_conditioners takes song-level conditioners .* InstrumentPrior embeds each track"):
        tiny_unet(song_conditioners=[{"type": "instrument_prior", "vocabulary": ["bass"]}])
    with pytest.raises(RecipeError, match="conditioner takes a per-track conditioner; TempoConditioner is song-level"):
        tiny_unet(conditioner={"type": "tempo"})
    with pytest.raises(RecipeError, match="condition_dropout drops song conditions, but this unet2d has no song_conditioners"):
        tiny_unet(song_conditioners=[], condition_dropout=0.1)


@pytest.fixture(scope="module")
def pipeline():
    built = synctrack.build(REPO / "recipes/conditioning/bench-tempo.yaml", [*TINY, "model.diffusion.clip_x0=null"])
    torch.manual_seed(1)
    wake(built.denoiser)
    built.layout.clip_samples, built.layout.instrument_ids = 20480, [0, 1, 2, 3]
    return built


def test_condition_dropout_really_drops_each_song_by_its_own_draw(pipeline):
    from synctrack.plugins.datasets.synthetic import SyntheticDataset

    dataset = SyntheticDataset(num_songs=400, clip_seconds=0.1)
    batch = collate_songs([{**dataset[0], "meta": {**dataset[0]["meta"], "tempo": 80.0 + i % 70}} for i in range(400)])
    generators = [torch.Generator().manual_seed(i) for i in range(400)]
    pipeline.train()
    try:
        made = pipeline.context_from_batch(batch, generators)
        half = pipeline.context_from_batch(collate_songs([{**dataset[0], "meta": {**dataset[0]["meta"], "tempo": 80.0 + i % 70}}
                                                          for i in range(200, 400)]),
                                           [torch.Generator().manual_seed(i) for i in range(200, 400)])
    finally:
        pipeline.eval()
    kept = made.kept()
    assert 0.05 <= 1 - kept.float().mean().item() <= 0.16  # condition_dropout: 0.1 of 400 songs
    assert torch.equal(half.kept(), kept[200:])  # a song's draw does not depend on the batch around it
    assert made.tempo.tolist() == [80.0 + i % 70 for i in range(400)]
    assert torch.equal(pipeline.context_from_batch(batch, generators).kept(), torch.ones(400, dtype=torch.bool))  # eval: none


def test_guidance_one_is_the_conditional_model_zero_the_unconditional_and_w_extrapolates(pipeline):
    asked = SongConditions(tempo=torch.tensor([128.0]), tags=(("style=rock", "meter=4"),))

    def draw(**options):
        return pipeline.sample_latents(2, [0, 1, 2, 3], steps=1, generator=torch.Generator().manual_seed(5), **options)

    class Fixed(torch.nn.Module):
        """The pipeline's denoiser with the conditions built in: an unconditional model that is the conditional one."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x, level, tracks, context=None):
            assert context is None
            return self.inner(x, level, tracks, asked.per_song(x.shape[0]))

    unconditional, zero, one, three = draw(), draw(context=asked, guidance_scale=0.0), draw(context=asked, guidance_scale=1.0), draw(context=asked, guidance_scale=3.0)
    inner = pipeline.denoiser
    try:
        pipeline.denoiser = Fixed(inner)
        pipeline.denoiser.context_kind, pipeline.denoiser.song_conditioners = None, lambda: []
        conditional = draw()
    finally:
        pipeline.denoiser = inner
    assert torch.equal(zero, unconditional) and torch.equal(one, conditional)
    assert (one - zero).abs().max() > 1e-4
    # one DDIM step is affine in the prediction: w = 3 lands at uncond + 3 (cond - uncond)
    torch.testing.assert_close(three, zero + 3.0 * (one - zero), rtol=0, atol=1e-4)


@pytest.mark.parametrize(("asked", "message"), [
    (SongConditions(prompts=("a funk song",)), "this model was not trained with a text prompt: it accepts tempo: 30 to 300 BPM; tags: key="),
    (SongConditions(tempo=torch.tensor([400.0])), "tempo 400 BPM is outside what this model takes"),
    (SongConditions(tags=(("style=funk",),)), "tag 'style=funk' is not one this model was trained with; tags: key=C|C#"),
])
def test_a_condition_the_model_cannot_take_is_named_with_what_it_accepts(pipeline, asked, message):
    with pytest.raises(UserError, match=message.replace("|", r"\|")):
        pipeline.sample_latents(1, [0, 1, 2, 3], steps=1, context=asked)


def test_an_unconditional_model_refuses_a_tempo():
    plain = synctrack.build(REPO / "recipes/bench/synctrack.yaml", TINY)
    plain.layout.clip_samples, plain.layout.instrument_ids = 20480, [0, 1, 2, 3]
    with pytest.raises(UserError, match="not trained with tempo: it accepts no song condition"):
        plain.sample_latents(1, [0, 1, 2, 3], steps=1, context=SongConditions(tempo=torch.tensor([120.0])))
