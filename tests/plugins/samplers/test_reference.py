"""The timestep samplers against diffusers' schedulers, step for step, on the same function, noise and timesteps."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from sampler_toys import FixedFunction, relative_error

from synctrack.interfaces import SamplingRequest
from synctrack.tracks import TrackInfo
from synctrack.plugins.diffusion import DDPM
from synctrack.plugins.samplers import DDIMSampler, DDPMSampler, DPMSolverPPSampler

# diffusers' DPM scheduler trips a numpy 2 deprecation inside set_timesteps; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

SHAPE = (2, 3, 2, 4, 3)  # [B, S, C, T, F]
SCHEDULE = dict(num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear")
PREDICTION = {"epsilon": "epsilon", "v": "v_prediction"}


def trajectory(sampler, diffusion, model, seed=0, **kwargs):
    """Our sampler's latents after every step."""
    steps = []
    tracks = TrackInfo.full(range(SHAPE[1]), batch_size=SHAPE[0])
    final = sampler.sample(model, diffusion, SamplingRequest(SHAPE, tracks,
        generator=torch.Generator().manual_seed(seed), on_step=lambda i, level, x: steps.append(x.clone()), **kwargs))
    assert torch.equal(final, steps[-1])
    return steps


def reference(scheduler, model, steps, seed=0, noise_per_step=False, pass_generator=False):
    """diffusers' loop with the same draws: the initial noise, then (when stochastic) one draw per step."""
    generator = torch.Generator().manual_seed(seed)
    scheduler.set_timesteps(steps)
    x = torch.randn(SHAPE, generator=generator)
    out = []
    tracks = TrackInfo.full(range(SHAPE[1]), batch_size=SHAPE[0])
    for t in scheduler.timesteps:
        output = model(x, torch.full((SHAPE[0],), float(t)), tracks)
        if pass_generator:
            x = scheduler.step(output, t, x, generator=generator).prev_sample
        elif noise_per_step:
            x = scheduler.step(output, t, x, eta=1.0, variance_noise=torch.randn(SHAPE, generator=generator)).prev_sample
        else:
            x = scheduler.step(output, t, x).prev_sample
        out.append(x.clone())
    return out


def assert_same_path(ours, theirs):
    assert len(ours) == len(theirs)
    for index, (a, b) in enumerate(zip(ours, theirs)):
        error = relative_error(a, b)
        assert error <= 1e-5, f"step {index}: relative error {error:.2e}"


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize(("spacing", "offset", "steps"), [("leading", 1, 50), ("trailing", 0, 25)])
def test_ddim_matches_diffusers_step_for_step(prediction, eta, spacing, offset, steps):
    model = FixedFunction()
    diffusion = DDPM(prediction=prediction)
    ours = trajectory(DDIMSampler(steps=steps, eta=eta, timestep_spacing=spacing, steps_offset=offset), diffusion, model)
    scheduler = DDIMScheduler(**SCHEDULE, prediction_type=PREDICTION[prediction], clip_sample=False,
                              set_alpha_to_one=True, steps_offset=offset, timestep_spacing=spacing)
    assert_same_path(ours, reference(scheduler, model, steps, noise_per_step=eta > 0))


def test_ddim_final_alpha_first_matches_diffusers_without_alpha_one():
    model = FixedFunction()
    ours = trajectory(DDIMSampler(steps=20, final_alpha="first"), DDPM(), model)
    scheduler = DDIMScheduler(**SCHEDULE, clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    assert_same_path(ours, reference(scheduler, model, 20))


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
@pytest.mark.parametrize("steps", [8, 20])
def test_dpm_solver_pp_matches_diffusers_2m_step_for_step(prediction, steps):
    model = FixedFunction()
    ours = trajectory(DPMSolverPPSampler(steps=steps), DDPM(prediction=prediction), model)
    scheduler = DPMSolverMultistepScheduler(**SCHEDULE, prediction_type=PREDICTION[prediction],
                                            algorithm_type="dpmsolver++", solver_order=2)
    assert_same_path(ours, reference(scheduler, model, steps))


@pytest.mark.parametrize("variance", ["fixed_small", "fixed_large"])
def test_ddpm_matches_diffusers_step_for_step(variance):
    model = FixedFunction()
    ours = trajectory(DDPMSampler(steps=40, variance=variance), DDPM(), model)
    scheduler = DDPMScheduler(**SCHEDULE, clip_sample=False, variance_type=variance)
    assert_same_path(ours, reference(scheduler, model, 40, pass_generator=True))
