"""Mixer guidance: ``independent + w * (coupled - independent)``, the independent pass with the mixers off.

The toy denoiser adds a mixer's update to a fixed per-track function, and every sampler's prediction is affine
in the network's output, so guidance w must equal the same toy with its mixer's update scaled by w: a closed
form, for every registered sampler."""

from __future__ import annotations

import pytest
import torch
from sampler_toys import FixedFunction, relative_error

from synctrack import get_registry
from synctrack.interfaces import Mixer, SamplingRequest
from synctrack.plugins.diffusion import DDPM, EDM
from synctrack.sampling import SamplingSettingsError, mixers_switched_off
from synctrack.tracks import TrackInfo

SAMPLERS = [part.name for part in get_registry().parts("sampler")]
SHAPE = (2, 3, 2, 8)


class SongMean(Mixer):
    """Each track gets ``weight`` times the mean of the song's tracks: an exchange between tracks."""

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, tokens, grid, track_mask):
        return self.weight * tokens.mean(1, keepdim=True).expand_as(tokens)


class WithMixer(FixedFunction):
    """FixedFunction plus a mixer's update on the tokens ``[B, S, N, 1]`` of ``x``."""

    calls = 0

    def __init__(self, weight: float = 0.7) -> None:
        super().__init__()
        self.mixer = SongMean(weight)

    def forward(self, x, noise_level, tracks, context=None):
        type(self).calls += 1
        tokens = x.reshape(*x.shape[:2], -1, 1)
        update = self.mixer(tokens, (x.shape[-2], x.shape[-1]), tracks.mask).reshape(x.shape)
        return super().forward(x, noise_level, tracks, context) + update


def sample(name, denoiser, sampler_arguments=None, diffusion=None, **request):
    sampler = get_registry().get("sampler", name).factory(steps=5, **(sampler_arguments or {}))
    if diffusion is None:
        diffusion = DDPM(num_timesteps=100) if sampler.diffusion_family == "timestep" else EDM()
    tracks = TrackInfo.full([0, 1, 2], batch_size=SHAPE[0])
    return sampler.sample(denoiser, diffusion, SamplingRequest(SHAPE, tracks, generator=torch.Generator().manual_seed(0),
                                                               **request))


@pytest.mark.parametrize("name", SAMPLERS)
def test_guidance_w_scales_what_the_mixers_add(name):
    guided = sample(name, WithMixer(0.7), mixer_guidance=2.5)
    assert relative_error(guided, sample(name, WithMixer(0.7 * 2.5))) < 1e-5
    assert not torch.allclose(guided, sample(name, WithMixer(0.7)))
    # the recipe's default, overridden by the request
    assert torch.equal(sample(name, WithMixer(0.7), {"mixer_guidance": 2.5}), guided)
    assert torch.equal(sample(name, WithMixer(0.7), {"mixer_guidance": 2.5}, mixer_guidance=1.0), sample(name, WithMixer(0.7)))
    # w = 0 is the model with its tracks alone, exactly
    assert torch.equal(sample(name, WithMixer(0.7), mixer_guidance=0.0), sample(name, WithMixer(0.0)))


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_a_clipped_clean_estimate_is_clipped_after_guidance(prediction):
    """Guidance acts on the network's output, so clip_x0 bounds the guided estimate: still the scaled mixer."""
    clipped = DDPM(num_timesteps=100, clip_x0=0.5, prediction=prediction)
    guided = sample("ddim", WithMixer(0.7), diffusion=clipped, mixer_guidance=2.5)
    assert relative_error(guided, sample("ddim", WithMixer(0.7 * 2.5), diffusion=clipped)) < 1e-5


@pytest.mark.parametrize("name", ["ddim", "edm_heun"])
def test_it_composes_with_classifier_free_guidance(name):
    """FixedFunction adds its context: CFG g with context c is context g * c, and the mixer's update is scaled by w."""
    context = 0.3 * torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))
    both = sample(name, WithMixer(0.7), context=context, guidance_scale=2.0, mixer_guidance=3.0)
    assert relative_error(both, sample(name, WithMixer(2.1), context=2.0 * context)) < 1e-5


def test_one_pass_at_w_1_two_otherwise_and_the_mixers_are_back_on():
    model = WithMixer()
    counts = []
    for scale in (1.0, 2.0, 0.0):
        WithMixer.calls = 0
        sample("ddim", model, mixer_guidance=scale)
        counts.append(WithMixer.calls)
        assert model.mixer.active
    assert counts == [5, 10, 5]


def test_switched_off_mixers_come_back_as_they_were_even_after_an_error():
    model = WithMixer()
    model.mixer.active = False  # switched off by someone else (a staged run): stays off
    with mixers_switched_off(model):
        assert not model.mixer.active
    assert not model.mixer.active
    model.mixer.active = True
    with pytest.raises(RuntimeError), mixers_switched_off(model):
        raise RuntimeError("stop")
    assert model.mixer.active


@pytest.mark.parametrize("name", ["ddim", "edm_euler"])
def test_a_model_without_mixers_refuses_mixer_guidance(name):
    with pytest.raises(SamplingSettingsError, match="mixer guidance 2 needs cross-track mixers, and this denoiser has none"):
        sample(name, FixedFunction(), mixer_guidance=2.0)
    assert torch.equal(sample(name, FixedFunction(), mixer_guidance=1.0), sample(name, FixedFunction()))
