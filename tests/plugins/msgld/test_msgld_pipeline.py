"""MSG-LD as a pipeline (recipes/baselines/msgld-tiny.yaml): the mixture condition is made by the pipeline in
training and at sampling time; with and without it the outputs differ, guidance 0 is exactly the
unconditional model; arrangement keeps the given stems; separation runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import synctrack
from synctrack.data import collate_songs
from synctrack.errors import UserError

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "recipes/baselines/msgld-tiny.yaml"
CLIP = 4096  # 0.512 s at 8 kHz
DETERMINISTIC = ["model.encoder.sample_posterior=false"]  # the VAE's posterior mean: encodings repeat exactly


@pytest.fixture
def pipeline(randomized, one_thread):
    pipeline = synctrack.build(RECIPE, DETERMINISTIC)
    randomized(pipeline.denoiser, seed=2, scale=0.1)  # zero-initialised outputs would ignore the mixture
    pipeline.layout.clip_samples, pipeline.layout.instrument_ids = CLIP, [0, 1, 2, 3]
    return pipeline.eval()


def songs(count=2, seed=0):
    dataset = synctrack.load_recipe(RECIPE, [f"data.seed={seed}"]).build("data")
    return collate_songs([dataset[i] for i in range(count)])


def sample(pipeline, **kwargs):
    return pipeline.sample_latents(2, generator=torch.Generator().manual_seed(7), **kwargs)


def test_the_recipe_is_msgld(pipeline):
    assert pipeline.context_kind == "mixture" and pipeline.mixture_use == "condition"
    assert pipeline.denoiser.condition_dropout == 0.1
    paper = synctrack.load_recipe(REPO / "recipes/msgld.yaml")
    assert paper.get("model.sampler.type") == "ddim" and paper.get("model.sampler.steps") == 200
    assert paper.get("model.denoiser.base_channels") == 128 and paper.get("model.denoiser.channel_multipliers") == [1, 2, 3, 5]


def test_training_conditions_on_the_encoded_mixture(pipeline):
    batch = songs()
    seen = []
    original = pipeline.denoiser.forward
    pipeline.denoiser.forward = lambda x, level, tracks, context=None: seen.append(context) or original(x, level, tracks, context)
    pipeline.training_loss(batch, [torch.Generator().manual_seed(i) for i in range(2)])
    expected = pipeline.encode_mixture(batch.mixture)
    assert expected.shape == (2, *pipeline.latent_shape(CLIP))
    assert torch.equal(seen[0], expected)
    # the mixture is encoded as one more track: the same as the encoder applied to [B, 1, L]
    assert torch.equal(expected, pipeline.encoder.encode(batch.mixture[:, None])[:, 0])
    # a batch that carries its own context keeps it
    own = torch.randn_like(expected)
    pipeline.training_loss({"audio": batch.audio, "tracks": batch.tracks, "context": own}, None)
    assert torch.equal(seen[-1], own)


def test_condition_dropout_is_drawn_per_song_while_training(pipeline):
    """The pipeline zeroes a training song's mixture with probability condition_dropout, from the song's own
    generator: the same songs are dropped whether they are encoded together or one at a time."""
    batch = songs(4)
    pipeline.denoiser.condition_dropout = 0.5
    generators = lambda: [torch.Generator().manual_seed(i) for i in range(4)]  # noqa: E731
    pipeline.train()
    together = pipeline.context_from_batch(batch, generators())
    apart = torch.cat([pipeline.context_from_batch({"audio": batch.audio[i : i + 1]}, [g]) for i, g in enumerate(generators())])
    dropped = [bool((song == 0).all()) for song in together]
    assert dropped == [bool((song == 0).all()) for song in apart]
    torch.testing.assert_close(together, apart, rtol=1e-4, atol=1e-5)  # the encoder's batched convolutions round apart
    assert dropped == [True, False, False, True]  # seeds 0..3 draw 0.50, 0.76, 0.62, 0.004: songs 0 and 3 dropped
    pipeline.eval()
    assert not any(bool((song == 0).all()) for song in pipeline.context_from_batch(batch, generators()))


def test_precomputed_latents_need_their_context(pipeline):
    batch = songs()
    latents = pipeline.encode_audio(batch.audio)
    with pytest.raises(UserError, match="give the batch a `context`"):
        pipeline.training_loss({"latents": latents, "tracks": batch.tracks})


def test_the_mixture_changes_the_output_and_zero_guidance_is_the_unconditional_model(pipeline):
    mixture = pipeline.encode_mixture(songs(1).mixture)  # one song, shared by both samples
    unconditional = sample(pipeline)
    conditional = sample(pipeline, mixture=mixture)
    assert not torch.allclose(conditional, unconditional)
    assert torch.equal(sample(pipeline, mixture=mixture, guidance_scale=0.0), unconditional)
    assert not torch.allclose(sample(pipeline, mixture=mixture, guidance_scale=2.0), conditional)
    # an all-zero mixture is the model's "no condition"
    assert torch.equal(sample(pipeline, mixture=torch.zeros_like(mixture)), unconditional)


def test_guidance_combines_the_two_passes():
    """w = 2 on one network evaluation: uncond + 2 (cond - uncond), by hand."""
    pipeline = synctrack.build(RECIPE, DETERMINISTIC)
    torch.nn.init.normal_(pipeline.denoiser.out[-1].weight, std=0.1)
    x = torch.randn(1, 4, *pipeline.latent_shape(CLIP))
    mixture = torch.randn(1, *pipeline.latent_shape(CLIP))
    tracks = synctrack.TrackInfo.full([0, 1, 2, 3], 1)
    pipeline.eval()
    level = torch.tensor([40.0])
    with torch.no_grad():
        cond = pipeline.denoiser(x, level, tracks, mixture)
        uncond = pipeline.denoiser(x, level, tracks, None)
    from synctrack.sampling import SamplingRun

    run = SamplingRun(pipeline.denoiser, pipeline.diffusion, tuple(x.shape), tracks, None, None, None, mixture, 2.0, None, torch.float32)
    with torch.no_grad():
        _, guided = run.evaluate(x, 40)
    assert torch.allclose(guided.noise, uncond + 2.0 * (cond - uncond), atol=1e-6)


def test_arrangement_keeps_the_given_stems_exactly(pipeline):
    batch = songs()
    known = pipeline.encode_audio(batch.audio)
    mask = torch.tensor([[True, True, False, False], [False, False, False, True]])
    latents = sample(pipeline, known=known, known_mask=mask)
    assert torch.equal(latents[mask], known[mask])
    assert not torch.equal(latents[~mask], known[~mask])


def test_separation_runs_and_renders(pipeline):
    batch = songs(1)
    latents = sample(pipeline, mixture=pipeline.encode_mixture(batch.mixture), guidance_scale=2.0)
    audio = pipeline.render(latents).waveforms
    assert audio.shape == (2, 4, CLIP) and torch.isfinite(audio).all()


def test_a_mixture_is_the_context_and_not_both(pipeline):
    mixture = torch.zeros(1, *pipeline.latent_shape(CLIP))
    with pytest.raises(UserError, match="either a mixture or a context"):
        sample(pipeline, mixture=mixture, context=mixture)
    with pytest.raises(UserError, match="mixture_track applies to separation by a sum constraint"):
        sample(pipeline, mixture=mixture, mixture_track=0)


def test_without_the_condition_the_denoiser_declares_none():
    pipeline = synctrack.build(RECIPE, ["model.denoiser.mixture_condition=false"])
    assert pipeline.context_kind is None and not pipeline.denoiser.accepts_context
    assert pipeline.mixture_use is None  # a timestep diffusion over mel latents cannot separate by a sum either
    assert "cannot use a mixture" in pipeline.mixture_problem()
