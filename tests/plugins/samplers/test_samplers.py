"""Every sampler: closed-form answers on Gaussian data, partial generation, guidance, seeding, pairing errors."""

from __future__ import annotations

import math

import pytest
import torch
from sampler_toys import FixedFunction, GaussianEDM, GaussianEpsilon, ode_map_edm, relative_error

from synctrack import get_registry
from synctrack.interfaces import Denoiser, SamplingRequest
from synctrack.plugins.diffusion import DDPM, EDM
from synctrack.plugins.samplers import EDMEulerSampler, EDMHeunSampler, DDPMSampler
from synctrack.sampling import IncompatiblePartsError
from synctrack.tracks import TrackInfo

SAMPLERS = [part.name for part in get_registry().parts("sampler")]
STOCHASTIC = {"ddpm": {}, "ddim": {"eta": 1.0}, "dpm_solver_pp": {}, "edm_euler": {"churn": 5.0}, "edm_heun": {"churn": 5.0}}


def make_sampler(name: str, **arguments):
    return get_registry().get("sampler", name).factory(**arguments)


def diffusion_for(sampler):
    return DDPM(num_timesteps=100) if sampler.diffusion_family == "timestep" else EDM()


def test_every_registered_sampler_is_covered():
    assert set(SAMPLERS) == set(STOCHASTIC)


# -- closed-form answers ----------------------------------------------------------------------------------

MEAN, STD = 0.5, 0.5


@pytest.mark.parametrize(("sampler_class", "steps", "tolerance"), [(EDMHeunSampler, 64, 0.01), (EDMEulerSampler, 128, 0.06)])
def test_edm_samplers_follow_the_exact_ode_map_of_gaussian_data(sampler_class, steps, tolerance):
    """Data N(mean, std^2): the probability-flow ODE maps x(sigma_max) to mean + (x - mean) * std / sqrt(std^2 + sigma_max^2)."""
    shape, tracks = (2, 2, 2048), TrackInfo.full([0, 1], batch_size=2)
    network = GaussianEDM(sigma_data=0.5, mean=MEAN, std=STD)
    out = sampler_class(steps=steps).sample(network, EDM(sigma_data=0.5), SamplingRequest(shape, tracks,
        generator=torch.Generator().manual_seed(0)))
    start = torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 80.0
    exact = ode_map_edm(start, 80.0, MEAN, STD)
    assert (out - exact).abs().max() < tolerance
    assert abs(out.mean().item() - MEAN) < 0.02 and abs(out.std().item() - STD) < 0.02


@pytest.mark.parametrize(("sampler_class", "order"), [(EDMHeunSampler, 2), (EDMEulerSampler, 1)])
def test_edm_samplers_converge_at_their_order(sampler_class, order):
    shape, tracks = (1, 1, 1024), TrackInfo.full([0])
    network, edm = GaussianEDM(sigma_data=0.5, mean=MEAN, std=STD), EDM(sigma_data=0.5)
    exact = ode_map_edm(torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 80.0, 80.0, MEAN, STD)
    errors = [
        (sampler_class(steps=steps).sample(network, edm, SamplingRequest(shape, tracks,
            generator=torch.Generator().manual_seed(0))) - exact).abs().max().item()
        for steps in (32, 64)
    ]
    ratio = errors[0] / errors[1]
    assert 2**order * 0.8 < ratio < 2**order * 1.25, errors


def test_edm_heun_with_churn_samples_the_gaussian():
    shape, tracks = (4, 2, 4096), TrackInfo.full([0, 1], batch_size=4)
    network = GaussianEDM(sigma_data=0.5, mean=MEAN, std=STD)
    out = EDMHeunSampler(steps=64, churn=20.0).sample(network, EDM(sigma_data=0.5), SamplingRequest(shape, tracks,
        generator=torch.Generator().manual_seed(1)))
    assert abs(out.mean().item() - MEAN) < 0.02 and abs(out.std().item() - STD) < 0.02


def test_ddpm_ancestral_chain_samples_the_gaussian():
    diffusion = DDPM()
    shape, tracks = (4, 2, 4096), TrackInfo.full([0, 1], batch_size=4)
    out = DDPMSampler().sample(GaussianEpsilon(diffusion, MEAN, STD), diffusion, SamplingRequest(shape, tracks,
        generator=torch.Generator().manual_seed(0)))
    assert abs(out.mean().item() - MEAN) < 0.02 and abs(out.std().item() - STD) < 0.02


# -- partial generation -----------------------------------------------------------------------------------

SHAPE = (2, 3, 2, 8)


def known_setup():
    known = torch.randn(SHAPE, generator=torch.Generator().manual_seed(7))
    mask = torch.tensor([[True, False, False], [False, True, True]])
    return known, mask


@pytest.mark.parametrize("name", SAMPLERS)
def test_partial_generation_returns_the_given_tracks_exactly(name):
    sampler = make_sampler(name, steps=6, **STOCHASTIC[name])
    known, mask = known_setup()
    tracks = TrackInfo.full([0, 1, 2], batch_size=2)
    out = sampler.sample(FixedFunction(), diffusion_for(sampler), SamplingRequest(SHAPE, tracks,
        known=known, known_mask=mask, generator=torch.Generator().manual_seed(0)))
    assert torch.equal(out[mask], known[mask])
    free = sampler.sample(FixedFunction(), diffusion_for(sampler), SamplingRequest(SHAPE, tracks,
        generator=torch.Generator().manual_seed(0)))
    assert not torch.allclose(out[~mask], free[~mask])  # the generated tracks saw the given ones


class TiedTracks(Denoiser):
    """Exact EDM raw network for songs whose tracks all carry the same u ~ N(0, 1) (sigma_data 1)."""

    def forward(self, x_in, noise_level, tracks, context=None):
        sigma = (4 * noise_level.double()).exp().reshape(-1, 1, 1)
        total = sigma**2 + 1
        x = x_in.double() * total.sqrt()
        posterior = (x.sum(1, keepdim=True) / sigma**2) / (1 + x.shape[1] / sigma**2)
        return ((posterior - x / total) / (sigma / total.sqrt())).float()


def test_generated_tracks_follow_the_given_ones():
    """When every track is the same signal, re-noising the known track makes the others converge to it."""
    shape, tracks = (2, 3, 2048), TrackInfo.full([0, 1, 2], batch_size=2)
    signal = torch.randn(2, 1, 2048, generator=torch.Generator().manual_seed(5))
    known = torch.cat([signal, torch.zeros(2, 2, 2048)], dim=1)
    mask = torch.tensor([[True, False, False]] * 2)
    sampler, edm = EDMHeunSampler(steps=50, churn=10.0), EDM(sigma_data=1.0)
    given = sampler.sample(TiedTracks(), edm, SamplingRequest(shape, tracks,
        known=known, known_mask=mask, generator=torch.Generator().manual_seed(0)))
    free = sampler.sample(TiedTracks(), edm, SamplingRequest(shape, tracks, generator=torch.Generator().manual_seed(0)))
    target = signal.expand(-1, 2, -1)
    assert relative_error(given[:, 1:], target) < 0.1
    assert relative_error(free[:, 1:], target) > 1.0


def test_absent_tracks_come_back_zero():
    sampler = make_sampler("ddim", steps=3)
    tracks = TrackInfo(torch.zeros(2, 3, dtype=torch.long), torch.tensor([[True, True, False], [True, True, True]]))
    out = sampler.sample(FixedFunction(), DDPM(num_timesteps=100), SamplingRequest(SHAPE, tracks,
        generator=torch.Generator().manual_seed(0)))
    assert torch.equal(out[0, 2], torch.zeros(SHAPE[2:])) and out[1, 2].abs().sum() > 0


# -- guidance ---------------------------------------------------------------------------------------------


class CountingFunction(FixedFunction):
    calls = 0

    def forward(self, x, noise_level, tracks, context=None):
        type(self).calls += 1
        return super().forward(x, noise_level, tracks, context)


@pytest.mark.parametrize("name", SAMPLERS)
def test_classifier_free_guidance_combines_conditional_and_unconditional(name):
    """FixedFunction adds its context to its output, so guidance w with context c equals plain c * w."""
    sampler = make_sampler(name, steps=5)
    diffusion, tracks = diffusion_for(sampler), TrackInfo.full([0, 1, 2], batch_size=2)
    context = 0.3 * torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))

    def run(**kwargs):
        return sampler.sample(FixedFunction(), diffusion, SamplingRequest(SHAPE, tracks,
            generator=torch.Generator().manual_seed(0), **kwargs))

    guided = run(context=context, guidance_scale=2.5)
    assert relative_error(guided, run(context=2.5 * context)) < 1e-5
    assert torch.equal(run(context=context, guidance_scale=0.0), run())
    assert not torch.allclose(guided, run(context=context))
    CountingFunction.calls = 0
    make_sampler(name, steps=5).sample(CountingFunction(), diffusion, SamplingRequest(SHAPE, tracks, context=context))
    single = CountingFunction.calls
    CountingFunction.calls = 0
    make_sampler(name, steps=5, guidance_scale=2.0).sample(CountingFunction(), diffusion, SamplingRequest(SHAPE, tracks,
        context=context))
    assert CountingFunction.calls == 2 * single  # scale 1 runs the conditional pass only


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_guidance_acts_on_the_raw_output_so_a_clipped_estimate_is_clipped_after_it(prediction):
    """As diffusers' pipelines guide the noise prediction before the scheduler clips: with clip_x0, guidance w
    with context c must still equal plain c * w. Guiding each clipped pass instead fails this."""
    diffusion, tracks = DDPM(num_timesteps=100, clip_x0=0.5, prediction=prediction), TrackInfo.full([0, 1, 2], batch_size=2)
    context = 0.3 * torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))

    def run(**kwargs):
        return make_sampler("ddim", steps=5).sample(FixedFunction(), diffusion, SamplingRequest(SHAPE, tracks,
            generator=torch.Generator().manual_seed(0), **kwargs))

    guided = run(context=context, guidance_scale=2.5)
    assert relative_error(guided, run(context=2.5 * context)) < 1e-5
    assert torch.equal(run(context=context, guidance_scale=0.0), run())


# -- seeding and errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLERS)
def test_a_seed_reproduces_a_sample_exactly(name):
    sampler = make_sampler(name, steps=4, **STOCHASTIC[name])
    known, mask = known_setup()
    tracks = TrackInfo.full([0, 1, 2], batch_size=2)

    def run(seed):
        return sampler.sample(FixedFunction(), diffusion_for(sampler), SamplingRequest(SHAPE, tracks,
            known=known, known_mask=mask, generator=torch.Generator().manual_seed(seed)))

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))


@pytest.mark.parametrize("name", SAMPLERS)
def test_a_sampler_refuses_a_diffusion_of_the_other_family(name):
    sampler = make_sampler(name, steps=2)
    wrong = EDM() if sampler.diffusion_family == "timestep" else DDPM()
    with pytest.raises(IncompatiblePartsError, match=f"works with '{sampler.diffusion_family}' diffusions"):
        sampler.sample(FixedFunction(), wrong, SamplingRequest(SHAPE, TrackInfo.full([0, 1, 2], batch_size=2)))


def test_bad_shapes_are_reported():
    sampler, diffusion = make_sampler("ddim", steps=2), DDPM(num_timesteps=100)
    tracks = TrackInfo.full([0, 1, 2], batch_size=2)
    with pytest.raises(ValueError, match="tracks are"):
        sampler.sample(FixedFunction(), diffusion, SamplingRequest((2, 4, 8), tracks))
    with pytest.raises(ValueError, match="known latents"):
        sampler.sample(FixedFunction(), diffusion, SamplingRequest(SHAPE, tracks,
            known=torch.zeros(2, 3, 8), known_mask=torch.ones(2, 3, dtype=torch.bool)))
    with pytest.raises(ValueError, match="steps must be in 1 .. 100"):
        sampler.sample(FixedFunction(), diffusion, SamplingRequest(SHAPE, tracks, steps=101))


def test_karras_schedule_runs_from_sigma_max_to_sigma_min_then_zero():
    from synctrack.plugins.samplers.edm import karras_sigmas

    sigmas = karras_sigmas(10, 1e-4, 20.0, 7.0)
    assert len(sigmas) == 11 and sigmas[-1] == 0.0
    assert math.isclose(sigmas[0], 20.0) and math.isclose(sigmas[-2], 1e-4)
    assert all(a > b for a, b in zip(sigmas, sigmas[1:]))
    # equal steps in sigma^(1/rho)
    roots = [s ** (1 / 7) for s in sigmas[:-1]]
    gaps = [a - b for a, b in zip(roots, roots[1:])]
    assert max(gaps) - min(gaps) < 1e-9
