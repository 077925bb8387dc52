"""Separation with a Dirac likelihood (MSDM): the sampling run's mixture constraint, checked against a direct
transcription of MSDM's separator, and its invariants (the tracks sum to the mixture, given tracks stay)."""

from __future__ import annotations

import math

import pytest
import torch
from sampler_toys import FixedFunction, GaussianEDM

from synctrack import TrackInfo, get_registry
from synctrack import noise as draws
from synctrack.interfaces import Diffusion, Sampler, SamplingRequest
from synctrack.recipe import build
from synctrack.sampling import SamplingSettingsError

SIGMA_DATA, MEAN, STD = 0.5, 0.2, 0.6
SHAPE = (3, 4, 1, 32)  # 3 songs of 4 tracks, one channel of 32 samples


def diffusion(name="edm"):
    node = {"type": "edm", "sigma_data": SIGMA_DATA} if name == "edm" else {"type": "ddpm", "num_timesteps": 50}
    return build(node, Diffusion, get_registry())


def sampler(name="edm_euler", **args):
    if name.startswith("edm"):
        args = {"sigma_max": 5.0, **args}  # FixedFunction is no denoiser: keep its values small
    return build({"type": name, **args}, Sampler, get_registry())


def karras(steps, sigma_min, sigma_max, rho):
    low, high = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return [(high + i / (steps - 1) * (low - high)) ** rho for i in range(steps)] + [0.0]


def msdm_separate(mixture, steps, churn, resamples, generator, source_id=0, sigma_min=1e-3, sigma_max=5.0, rho=7.0):
    """MSDM's ``separate_mixture`` with ``differential_with_dirac``, transcribed: the exact Gaussian denoiser
    (every element N(MEAN, STD^2)), Euler steps with churn, ``num_resamples`` repeats; noise drawn in the
    same order as synctrack's run (initial noise, then per step churn noise and re-noising)."""
    sigmas = karras(steps, sigma_min, sigma_max, rho)

    def denoise(x, sigma):
        return MEAN + STD**2 / (STD**2 + sigma**2) * (x - MEAN)

    def differential(x, sigma):
        x = x.clone()
        x[:, [source_id]] = mixture[:, None] - (x.sum(dim=1, keepdim=True) - x[:, [source_id]])
        score = (x - denoise(x, sigma)) / sigma
        return x, score - score[:, [source_id]]

    x = sigmas[0] * draws.normal(SHAPE, generator).double()
    gamma = min(churn / steps, math.sqrt(2) - 1)
    for i in range(steps):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        for r in range(resamples):
            if r > 0:
                x = x + math.sqrt(sigma**2 - sigma_next**2) * draws.normal(SHAPE, generator).double()
            sigma_hat = sigma * (1 + gamma)
            if gamma > 0:
                x = x + math.sqrt(sigma_hat**2 - sigma**2) * draws.normal(SHAPE, generator).double()
            x, d = differential(x, sigma_hat)
            x = x + d * (sigma_next - sigma_hat)
    return x


def assert_sums_to(out, mixture):
    """The tracks of ``out`` [B, S, ...] sum to ``mixture`` [B, ...] up to float32 rounding of their size."""
    assert (out.sum(1) - mixture).abs().max() <= 1e-6 * out.abs().sum(1).max() + 1e-6


def tracks(mask=None):
    info = TrackInfo.full([0, 1, 2, 3], SHAPE[0])
    return info if mask is None else TrackInfo(info.instrument_ids, mask)


def mixture_of(seed=0):
    return 0.5 * torch.randn(SHAPE[0], *SHAPE[2:], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(("churn", "resamples"), [(0.0, 1), (20.0, 1), (20.0, 2)])
def test_matches_msdm_dirac_separator_step_for_step(churn, resamples):
    mixture = mixture_of()
    settings = {"steps": 12, "sigma_min": 1e-3, "sigma_max": 5.0, "rho": 7.0, "churn": churn, "resamples": resamples}
    ours = sampler(**settings).sample(GaussianEDM(SIGMA_DATA, MEAN, STD), diffusion(), SamplingRequest(SHAPE, tracks(),
        generator=torch.Generator().manual_seed(4), mixture=mixture.float()))
    reference = msdm_separate(mixture, 12, churn, resamples, torch.Generator().manual_seed(4))
    free = reference[:, 1:]
    # MSDM leaves the solved source where the last evaluation put it; synctrack solves it once more at the end
    solved = mixture[:, None] - free.sum(dim=1, keepdim=True)
    scale = reference.abs().max()
    assert (ours[:, 1:].double() - free).abs().max() < 2e-5 * scale
    assert (ours[:, :1].double() - solved).abs().max() < 2e-5 * scale
    # and it separates: the free tracks differ from what generation without the mixture gives
    unconstrained = sampler(**settings).sample(GaussianEDM(SIGMA_DATA, MEAN, STD), diffusion(), SamplingRequest(SHAPE, tracks(),
        generator=torch.Generator().manual_seed(4)))
    assert (unconstrained[:, 1:].double() - free).abs().max() > 0.1


@pytest.mark.parametrize("name", ["edm_euler", "edm_heun"])
def test_separated_tracks_sum_to_the_mixture(name):
    mixture = mixture_of(1).float()
    out = sampler(name, steps=6, churn=5.0).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(),
        generator=torch.Generator().manual_seed(0), mixture=mixture))
    assert_sums_to(out, mixture)
    assert not torch.allclose(out[:, 0], out[:, 1])  # the tracks are not a trivial split


def test_steps_move_along_the_constraint():
    mixture = mixture_of(2).float()
    states = []
    sampler(steps=5).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(),
        generator=torch.Generator().manual_seed(0), mixture=mixture, on_step=lambda i, level, x: states.append(x)))
    assert len(states) == 5
    for state in states:  # every intermediate state already sums to the mixture
        assert_sums_to(state, mixture)


def test_given_and_absent_tracks_with_a_mixture():
    mask = torch.ones(SHAPE[:2], dtype=torch.bool)
    mask[1, 3] = False  # song 1 has no fourth track
    known = torch.randn(SHAPE, generator=torch.Generator().manual_seed(3))
    known_mask = torch.zeros(SHAPE[:2], dtype=torch.bool)
    known_mask[:, 0] = True  # the first track is given: the second becomes the solved one
    mixture = mixture_of(3).float()
    out = sampler(steps=5, churn=10.0).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(mask),
        known=known, known_mask=known_mask, generator=torch.Generator().manual_seed(1), mixture=mixture))
    assert torch.equal(out[:, 0], known[:, 0])
    assert torch.equal(out[1, 3], torch.zeros_like(out[1, 3]))
    assert_sums_to(out, mixture)


def test_the_solved_track_can_be_chosen():
    mixture = mixture_of(4).float()

    def separate(**choice):
        return sampler(steps=4).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(),
            generator=torch.Generator().manual_seed(0), mixture=mixture, **choice))

    first, last, explicit_first = separate(), separate(mixture_track=-1), separate(mixture_track=0)
    assert torch.equal(first, explicit_first)  # the default is the first track not given
    assert_sums_to(last, mixture)
    assert not torch.allclose(first, last)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: sampler("ddim", steps=3).sample(FixedFunction(), diffusion("ddpm"), SamplingRequest(SHAPE, tracks(),
            mixture=mixture_of().float())),
         "needs a 'sigma' diffusion"),
        (lambda: sampler(steps=3).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(),
            mixture=torch.zeros(3, 32))),
         "the mixture must be [B, ...] = [3, 1, 32]"),
        (lambda: sampler(steps=3).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(),
            mixture=mixture_of().float(), mixture_track=7)),
         "mixture_track 7 is not a track index of 4 tracks"),
        (lambda: sampler(steps=3).sample(FixedFunction(), diffusion(), SamplingRequest(SHAPE, tracks(),
            mixture=mixture_of().float(), known=torch.zeros(SHAPE), known_mask=torch.ones(SHAPE[:2], dtype=torch.bool))),
         "every present track is given"),
    ],
)
def test_bad_separation_requests_are_explained(call, fragment):
    with pytest.raises((SamplingSettingsError, ValueError)) as caught:
        call()
    assert fragment in str(caught.value)


def test_resamples_must_be_positive():
    with pytest.raises(Exception, match="resamples must be at least 1"):
        sampler(steps=3, resamples=0)
