"""synctrack.build: one pipeline from a recipe, its checks, training loss, sampling, rendering and reloading."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "training"))

import engine_toys  # noqa: E402

import synctrack  # noqa: E402
from synctrack.errors import RecipeError, UserError  # noqa: E402
from synctrack.plugin_manager import _state  # noqa: E402
from synctrack.sampling import IncompatiblePartsError  # noqa: E402
from synctrack.training.checkpoint import save_checkpoint  # noqa: E402
from synctrack.data import collate_songs  # noqa: E402

MODEL = """\
name: toy
model:
  encoder: {encoder}
  denoiser: {{type: toy_mlp, features: 16}}
  diffusion: {diffusion}
  sampler: {sampler}
{vocoder}"""


@pytest.fixture
def recipe(tmp_path, monkeypatch):
    manager, registry = engine_toys.make_registry()
    monkeypatch.setitem(_state, "registry", registry)
    monkeypatch.setitem(_state, "manager", manager)
    monkeypatch.chdir(tmp_path)

    def write(encoder="toy_frames", diffusion="ddpm", sampler="{type: ddim, steps: 4}", vocoder=""):
        path = tmp_path / "model.yaml"
        path.write_text(MODEL.format(encoder=encoder, diffusion=diffusion, sampler=sampler, vocoder=vocoder))
        return path

    return write


def batch(songs=3, tracks=2):
    dataset = engine_toys.ToySongs(num_songs=songs, tracks=tracks, length=16)
    return collate_songs([dataset[i] for i in range(songs)])


def test_build_returns_one_pipeline_of_the_recipes_parts(recipe):
    pipeline = synctrack.build(recipe(), ["model.sampler.steps=7"])
    assert isinstance(pipeline.denoiser, engine_toys.ToyDenoiser) and isinstance(pipeline.encoder, engine_toys.ToyFrames)
    assert pipeline.sampler.steps == 7 and pipeline.diffusion.family == "timestep" and pipeline.vocoder is None
    assert pipeline.recipe.get("model.sampler.steps") == 7 and pipeline.sample_rate == 8000


def test_the_frozen_front_end_stays_in_eval_mode(recipe):
    pipeline = synctrack.build(recipe(encoder="toy_mel", vocoder="  vocoder: toy_vocoder\n"))
    pipeline.train()
    assert pipeline.denoiser.training and not pipeline.encoder.training and not pipeline.vocoder.training
    pipeline.eval()
    assert not pipeline.denoiser.training


def test_missing_parts_are_listed_together(recipe, tmp_path):
    (tmp_path / "empty.yaml").write_text("model: {encoder: toy_frames}\n")
    with pytest.raises(RecipeError) as caught:
        synctrack.build(tmp_path / "empty.yaml")
    message = str(caught.value)
    assert "3 problems" in message and "model.denoiser: missing" in message and "model.sampler: missing" in message
    assert "registered: ddim, ddpm, dpm_solver_pp, edm_euler, edm_heun" in message


def test_a_sampler_of_the_wrong_family_names_the_right_ones(recipe):
    with pytest.raises(IncompatiblePartsError) as caught:
        synctrack.build(recipe(diffusion="edm"))
    assert str(caught.value) == (
        "model.sampler: sampler 'ddim' works with 'timestep' diffusions (like 'ddpm'), but model.diffusion 'edm' is a "
        "'sigma' diffusion; use one of: edm_euler, edm_heun"
    )


def test_separate_track_levels_need_a_denoiser_that_takes_them(recipe):
    with pytest.raises(RecipeError) as caught:
        synctrack.build(recipe(diffusion="{type: ddpm, separate_track_levels: 0.5}"))
    message = str(caught.value)
    assert "model.diffusion" in message and "denoiser 'toy_mlp' takes one level per song" in message
    assert "set separate_track_levels: 0" in message
    assert synctrack.build(recipe(diffusion="{type: ddpm, separate_track_levels: 0.0}")).diffusion.separate_track_levels == 0


def test_a_waveform_encoder_takes_no_vocoder(recipe):
    with pytest.raises(RecipeError, match="model.vocoder: encoder 'toy_frames' decodes to waveforms"):
        synctrack.build(recipe(vocoder="  vocoder: toy_vocoder\n"))


def test_training_loss_is_per_song_and_trains_only_the_denoiser(recipe):
    pipeline = synctrack.build(recipe())
    losses = pipeline.training_loss(batch(), generator=torch.Generator().manual_seed(0))
    assert losses.shape == (3,) and torch.isfinite(losses).all()
    losses.mean().backward()
    assert all(p.grad is not None for p in pipeline.denoiser.parameters())
    assert pipeline.encoder.scale.grad is None and not pipeline.encoder.scale.requires_grad
    assert pipeline.layout.latent_shape == [4, 4]  # learned from the encoded batch


def test_precomputed_latents_skip_the_encoder(recipe):
    pipeline = synctrack.build(recipe())
    songs = batch()
    latents = pipeline.encoder.encode(songs.audio)
    with_audio = pipeline.training_loss(songs, generator=torch.Generator().manual_seed(1))
    songs_with_latents = {"latents": latents, "audio": torch.full_like(songs.audio, float("nan")),
                          "instrument_ids": songs.tracks.instrument_ids, "track_mask": songs.tracks.mask}
    assert torch.equal(with_audio, pipeline.training_loss(songs_with_latents, generator=torch.Generator().manual_seed(1)))


def test_sample_gives_waveforms_and_keeps_given_tracks(recipe):
    pipeline = synctrack.build(recipe())
    waveforms = pipeline.sample(2, [0, 1], length=16, generator=torch.Generator().manual_seed(0))
    assert waveforms.shape == (2, 2, 16)
    known = pipeline.encode_audio(batch(songs=2).audio)
    mask = torch.tensor([[True, False], [False, True]])
    latents = pipeline.sample_latents(2, [0, 1], length=16, known=known, known_mask=mask, generator=torch.Generator().manual_seed(0))
    assert torch.equal(latents[mask], known[mask])


def test_mel_encoders_render_mels_and_need_a_vocoder_for_audio(recipe):
    with_vocoder = synctrack.build(recipe(encoder="toy_mel", vocoder="  vocoder: toy_vocoder\n"))
    latents = with_vocoder.sample_latents(1, [0, 1], length=16)
    rendered = with_vocoder.render(latents)
    assert rendered.mels.shape == (1, 2, 4, 4) and rendered.waveforms.shape == (1, 2, 16)
    without = synctrack.build(recipe(encoder="toy_mel"))
    with pytest.raises(UserError, match="decodes to mels but has no vocoder"):
        without.sample(1, [0, 1], length=16)


def test_what_to_generate_must_be_known(recipe):
    pipeline = synctrack.build(recipe())
    with pytest.raises(UserError, match="which tracks to generate is unknown"):
        pipeline.sample(1, length=16)
    with pytest.raises(UserError, match="the clip length is unknown"):
        pipeline.sample(1, [0, 1])


def test_load_pipeline_rebuilds_the_model_with_its_ema_weights(recipe, tmp_path):
    pipeline = synctrack.build(recipe())
    pipeline.layout = synctrack.pipeline.SongLayout(["bass", "drums"], [0, 1], 16, [4, 4], 8000)
    trained = {f"denoiser.{k}": v for k, v in pipeline.denoiser.state_dict().items()}
    averaged = {k: v + 0.5 for k, v in trained.items()}
    save_checkpoint(tmp_path / "run", 3, trained, {"version": 1}, pipeline.recipe.dump(),
                    {"layout": pipeline.layout.to_dict()}, ema_weights=averaged)

    loaded = synctrack.load_pipeline(tmp_path / "run")
    assert loaded.layout == pipeline.layout
    for key, value in loaded.denoiser.state_dict().items():
        assert torch.equal(value, averaged[f"denoiser.{key}"])
    raw = synctrack.load_pipeline(tmp_path / "run", ema=False, overrides=["model.sampler.steps=2"])
    assert raw.sampler.steps == 2
    pipeline.denoiser.load_state_dict({k[len("denoiser."):]: v for k, v in trained.items()})
    first = raw.sample(1, generator=torch.Generator().manual_seed(4))
    second = pipeline.sample(1, steps=2, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, second)


def test_an_untrained_front_end_is_named_and_a_trained_or_weightless_one_is_not(repo):
    from synctrack.pipeline import build, untrained_front_end

    tiny = build(repo / "recipes/tiny.yaml")
    note = untrained_front_end(tiny)
    assert "model.encoder 'mel_vae' and model.vocoder 'hifigan' have no init:" in note and "recipes/demo.yaml" in note
    tiny.recipe = tiny.recipe.with_overrides(["model.encoder.init={from: vae.ckpt}"])  # as if it loaded weights
    assert untrained_front_end(tiny).startswith("model.vocoder 'hifigan' has no init:")
    assert untrained_front_end(build(repo / "recipes/bench/synctrack.yaml")) is None  # log-mel and Griffin-Lim
