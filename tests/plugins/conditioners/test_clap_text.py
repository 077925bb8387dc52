"""The clap_text conditioner against transformers run directly: a tiny random CLAP text model and a tokenizer
written here (no network), saved with save_pretrained as a real CLAP folder would be."""

from __future__ import annotations

import json

import pytest
import torch
from torch.nn import functional as F

from synctrack import TrackInfo, get_registry
from synctrack.conditions import SongConditions
from synctrack.errors import RecipeError, UserError
from synctrack.interfaces import Conditioner, Denoiser
from synctrack.recipe import build

transformers = pytest.importorskip("transformers")

PROMPTS = ("a rock song at 120 BPM", "a slow waltz in B minor")
# byte-level BPE pieces: the letters, "Ġ" (a space before a word) and a few merges
LETTERS = list("abcdefghijklmnopqrstuvwxyz0123456789") + ["\u0120"]
MERGES = ["\u0120 s", "o n", "\u0120s on", "\u0120son g", "r o", "\u0120 ro", "\u0120ro c", "\u0120roc k"]


def tiny_text_config():
    return transformers.ClapTextConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                       intermediate_size=37, projection_dim=16, max_position_embeddings=96)


def write_tokenizer(folder):
    """A RoBERTa byte-level BPE tokenizer (CLAP's kind) over a small vocabulary, read back from its two files."""
    vocab = {token: index for index, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for piece in LETTERS + ["".join(merge.split()) for merge in MERGES]:
        vocab[piece] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(MERGES) + "\n")
    return transformers.RobertaTokenizer.from_pretrained(folder, local_files_only=True)


@pytest.fixture(scope="module")
def clap(tmp_path_factory):
    """A folder holding a tiny ClapTextModelWithProjection and its tokenizer; the model and tokenizer themselves."""
    folder = tmp_path_factory.mktemp("clap")
    tokenizer = write_tokenizer(folder / "vocab")
    torch.manual_seed(0)
    model = transformers.ClapTextModelWithProjection(tiny_text_config()).eval()
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")
    return folder / "model", model, tokenizer


def conditioner(path, **extra):
    return build({"type": "clap_text", "path": str(path), "embedding_dim": 8, "clap_dim": 16, **extra}, Conditioner, get_registry())


def reference(model, tokenizer, linear, prompts):
    """Linear(normalize(CLAP's text_embeds)), straight from transformers."""
    tokens = tokenizer(list(prompts), padding=True, return_tensors="pt")
    with torch.no_grad():
        embedded = model(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]).text_embeds
    return F.normalize(embedded, dim=-1) @ linear.weight.T + linear.bias


def test_a_prompt_is_clap_s_unit_text_embedding_through_a_linear(clap):
    path, model, tokenizer = clap
    embedder = conditioner(path)
    out = embedder(SongConditions(prompts=PROMPTS))
    assert out.shape == (2, 8)
    with torch.no_grad():
        torch.testing.assert_close(out, reference(model, tokenizer, embedder.projection, PROMPTS))
    assert (out[0] - out[1]).abs().max() > 1e-3  # two prompts, two embeddings
    assert embedder.accepts() == f"a text prompt (CLAP text encoder from {path})"


def test_a_songs_prompt_never_reaches_another_song(clap):
    embedder = conditioner(clap[0])
    batch = ("a song", "a rock song with drums and bass at 99 BPM")  # padding: the first is much shorter
    with torch.no_grad():
        together = embedder(SongConditions(prompts=batch))
        alone = torch.cat([embedder(SongConditions(prompts=(prompt,))) for prompt in batch])
        changed = embedder(SongConditions(prompts=(batch[0], "waltz")))
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-5)
    torch.testing.assert_close(changed[0], together[0], rtol=0, atol=1e-5)


def test_a_frozen_tower_gets_no_gradient_stays_in_eval_and_is_not_saved(clap):
    embedder = conditioner(clap[0])
    embedder.train()
    _, tower = embedder.load()
    embedder.train()  # after the tower is read, too
    assert not tower.training and not any(module.training for module in tower.modules())
    embedder(SongConditions(prompts=PROMPTS)).square().sum().backward()
    assert all(parameter.grad is None and not parameter.requires_grad for parameter in tower.parameters())
    assert embedder.projection.weight.grad is not None and embedder.projection.weight.grad.abs().sum() > 0
    assert set(embedder.state_dict()) == {"projection.weight", "projection.bias"}
    assert [name for name, _ in embedder.named_parameters()] == ["projection.weight", "projection.bias"]


def test_a_trainable_tower_is_read_when_built_trained_and_saved(clap):
    path, model, tokenizer = clap
    embedder = conditioner(path, trainable=True).eval()
    assert embedder.loaded is not None and not embedder.tower.training
    with torch.no_grad():
        torch.testing.assert_close(embedder(SongConditions(prompts=PROMPTS)), reference(model, tokenizer, embedder.projection, PROMPTS))
    embedder.train()
    assert embedder.tower.training
    embedder(SongConditions(prompts=PROMPTS)).square().sum().backward()
    assert embedder.tower.text_projection.linear1.weight.grad.abs().sum() > 0
    assert any(key.startswith("tower.text_model.") for key in embedder.state_dict())


def test_a_whole_clap_model_in_a_musicldm_folder_gives_clap_s_text_features(clap, tmp_path):
    """MusicLDM's diffusers folder: text_encoder/ (a whole ClapModel, its audio half unused) and tokenizer/."""
    _, _, tokenizer = clap
    audio = transformers.ClapAudioConfig(depths=[1, 1], num_attention_heads=[1, 1], hidden_size=16, patch_embeds_hidden_size=8,
                                         window_size=4, spec_size=32, num_mel_bins=16, patch_stride=(4, 4), projection_dim=16)
    torch.manual_seed(1)
    whole = transformers.ClapModel(transformers.ClapConfig(text_config=tiny_text_config().to_dict(), audio_config=audio.to_dict(),
                                                           projection_dim=16)).eval()
    whole.save_pretrained(tmp_path / "musicldm" / "text_encoder")
    tokenizer.save_pretrained(tmp_path / "musicldm" / "tokenizer")
    embedder = conditioner(tmp_path / "musicldm")
    tokens = tokenizer(list(PROMPTS), padding=True, return_tensors="pt")
    with torch.no_grad():
        features = whole.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        features = features if isinstance(features, torch.Tensor) else features.pooler_output  # transformers 5: an output
        linear = embedder.projection
        torch.testing.assert_close(embedder(SongConditions(prompts=PROMPTS)), features @ linear.weight.T + linear.bias)


def test_a_missing_or_wrong_folder_and_an_empty_prompt_are_named(clap, tmp_path):
    missing = tmp_path / "no-clap-here"
    lazy = conditioner(missing)  # a frozen tower is read on first use
    with pytest.raises(UserError, match=f"clap_text: {missing} is not a folder; give path: a local folder holding a CLAP model"):
        lazy.check(SongConditions(prompts=PROMPTS))
    with pytest.raises(RecipeError, match=f"clap_text.*{missing} is not a folder"):
        conditioner(missing, trainable=True)
    with pytest.raises(UserError, match="embeds text in 16 dimensions; set clap_dim: 16 \\(it is 512\\)"):
        conditioner(clap[0], clap_dim=512).load()
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UserError, match="config.json is a 'bert' model, not a CLAP model"):
        conditioner(tmp_path / "bert").load()
    embedder = conditioner(clap[0])
    with pytest.raises(UserError, match="prompt ' ' is not a text prompt: give some words \\(a text prompt \\(CLAP"):
        embedder.check(SongConditions(prompts=("a song", " ")))
    embedder.check(SongConditions(prompts=("a song", ""), keep=torch.tensor([True, False])))  # a dropped song asks nothing


def test_a_unet_conditioned_on_a_prompt_runs_and_each_song_hears_its_own(clap):
    node = {"type": "unet2d", "in_channels": 1, "base_channels": 8, "channel_multipliers": [1, 2], "res_blocks": 1,
            "attention_levels": [2], "head_dim": 8, "norm_groups": 4, "mixers": [{"type": "global_cross_track", "head_dim": 8}],
            "song_conditioners": [{"type": "clap_text", "path": str(clap[0]), "embedding_dim": 8, "clap_dim": 16}]}
    torch.manual_seed(0)
    unet = build(node, Denoiser, get_registry()).eval()
    with torch.no_grad():  # the zero-initialised layers (outputs, nulls) random, so that the prompt reaches the output
        for parameter in unet.parameters():
            if not parameter.any():
                parameter.normal_(std=0.1)
    x, level = torch.randn(2, 3, 1, 8, 4), torch.tensor([500, 500])
    tracks = TrackInfo.full([0, 1, 2], batch_size=2)
    with torch.no_grad():
        base = unet(x, level, tracks, SongConditions(prompts=PROMPTS))
        changed = unet(x, level, tracks, SongConditions(prompts=(PROMPTS[0], "drums only")))
        unconditional = unet(x, level, tracks)
    assert base.shape == x.shape and torch.isfinite(base).all()
    torch.testing.assert_close(changed[0], base[0], rtol=0, atol=1e-6)
    assert (changed[1] - base[1]).abs().max() > 1e-4 and (unconditional - base).abs().max() > 1e-4
