"""MSDM as a pipeline (recipes/baselines/msdm-tiny.yaml): partial generation keeps the given sources exactly,
Dirac separation returns sources that sum to the mixture, and waveform lengths the U-Net cannot take are
reported before training starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import synctrack
from synctrack.errors import UserError

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "recipes/baselines/msdm-tiny.yaml"
CLIP = 4096  # 1.024 s at 4 kHz


@pytest.fixture
def pipeline(randomized, one_thread):
    pipeline = synctrack.build(RECIPE)
    randomized(pipeline.denoiser, seed=1, scale=0.05)  # zero-initialised outputs would hide the sources' interplay
    pipeline.layout.clip_samples, pipeline.layout.instrument_ids = CLIP, [0, 1, 2, 3]
    pipeline.layout.track_names = ["bass", "drums", "guitar", "piano"]
    return pipeline.eval()


def waveforms(songs=2, seed=0):
    return 0.3 * torch.randn(songs, 4, CLIP, generator=torch.Generator().manual_seed(seed))


def assert_sums_to(sources, mixture):
    """``sources`` [B, S, L] sum to ``mixture`` [B or 1, L] up to float32 rounding of their size (an untrained
    network's sources can be far louder than the mixture)."""
    assert (sources.sum(1) - mixture).abs().max() <= 1e-6 * (sources.abs().sum(1).max() + 1)


def test_the_recipe_is_msdm(pipeline):
    assert pipeline.denoiser.length_multiple == 64 and pipeline.encoder.multiple == 64
    assert (pipeline.diffusion.sigma_data, pipeline.diffusion.p_mean, pipeline.diffusion.p_std) == (0.2, -3.0, 1.0)
    assert pipeline.diffusion.family == "sigma" and pipeline.mixture_use == "constraint"
    paper = synctrack.load_recipe(REPO / "recipes/msdm.yaml")
    assert paper.get("model.sampler") == {"type": "edm_euler", "steps": 150, "sigma_min": 1e-4, "sigma_max": 20.0, "rho": 7.0, "churn": 20.0}
    assert round(paper.get("data.clip_seconds") * paper.get("data.sample_rate")) == 262144


def test_partial_generation_returns_the_given_sources_exactly(pipeline):
    given = waveforms()
    known = pipeline.encode_audio(given)
    mask = torch.tensor([[False, True, False, False], [True, False, True, False]])  # songs give different sources
    latents = pipeline.sample_latents(2, known=known, known_mask=mask, generator=torch.Generator().manual_seed(0))
    assert torch.equal(latents[mask], known[mask])
    audio = pipeline.render(latents).waveforms
    assert audio.shape == (2, 4, CLIP)
    assert torch.equal(audio[mask], given[mask])  # the waveform encoder is exact: the audio comes back bit for bit
    # the generated sources follow the given ones: other given drums, other bass
    other = pipeline.encode_audio(waveforms(seed=5))
    again = pipeline.sample_latents(2, known=other, known_mask=mask, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(again[0, 0], latents[0, 0])


def test_dirac_separation_returns_sources_that_sum_to_the_mixture(pipeline):
    mixture = waveforms(1).sum(1).clamp(-1, 1)  # [1, L]
    latents = pipeline.sample_latents(2, mixture=pipeline.encode_mixture(mixture), generator=torch.Generator().manual_seed(0))
    sources = pipeline.render(latents).waveforms
    assert sources.shape == (2, 4, CLIP) and torch.isfinite(sources).all()
    assert_sums_to(sources, mixture)
    assert not torch.allclose(sources[0], sources[1])  # two different separations of the same mixture


def test_dirac_separation_with_a_given_source(pipeline):
    given = waveforms(1)
    mixture = given.sum(1)
    known_mask = torch.tensor([[False, True, False, False]])
    latents = pipeline.sample_latents(1, known=pipeline.encode_audio(given), known_mask=known_mask, mixture=pipeline.encode_mixture(mixture),
                                      mixture_track=3, generator=torch.Generator().manual_seed(0))
    sources = pipeline.render(latents).waveforms
    assert torch.equal(sources[0, 1], given[0, 1])
    assert_sums_to(sources, mixture)


def test_a_condition_is_refused(pipeline):
    with pytest.raises(UserError, match="takes no condition"):
        pipeline.sample_latents(1, context=torch.zeros(1, 1, CLIP))


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["model.encoder.multiple=1", "data.clip_seconds=1.0"],
         ["waveform length 4000 is not a multiple of 64", "patch_factor x factors = 4 x 4 x 4", "`multiple` to 64"]),
        (["data.tracks=[bass, drums]"], ["built for 4 sources", "the songs have 2 tracks"]),
    ],
)
def test_shapes_the_unet_cannot_take_stop_training_before_the_first_step(overrides, fragments, tmp_path, capsys, one_thread):
    from synctrack.cli import main

    code = main(["train", str(RECIPE), *overrides, "train.steps=1", "train.batch_size=2", "data.num_songs=2",
                 "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    for fragment in fragments:
        assert fragment in " ".join(err.split()), err
    assert not (tmp_path / "run" / "checkpoints").exists()
