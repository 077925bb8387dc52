"""ddpm and edm: schedules against diffusers, predictions against the truth, losses against a naive computation."""

from __future__ import annotations

import math

import pytest
import torch
from diffusers import DDPMScheduler

from synctrack.errors import ArgumentError
from synctrack.interfaces import Denoiser
from synctrack.plugins.diffusion import DDPM, EDM
from synctrack.tracks import TrackInfo

SHAPE = (3, 2, 2, 5)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (dict(schedule="scaled_linear"), dict(beta_schedule="scaled_linear", beta_start=0.0015, beta_end=0.0195)),
        (dict(schedule="linear", beta_start=1e-4, beta_end=0.02), dict(beta_schedule="linear", beta_start=1e-4, beta_end=0.02)),
        (dict(schedule="cosine"), dict(beta_schedule="squaredcos_cap_v2")),
    ],
)
def test_schedules_match_diffusers(ours, theirs):
    diffusion = DDPM(**ours)
    reference = DDPMScheduler(num_train_timesteps=1000, **theirs).alphas_cumprod.double()
    assert torch.allclose(diffusion.alphas_cumprod, reference, rtol=2e-5, atol=1e-8)


def test_default_schedule_is_ldm_scaled_linear():
    diffusion = DDPM()
    betas = torch.linspace(math.sqrt(0.0015), math.sqrt(0.0195), 1000, dtype=torch.float64) ** 2
    assert torch.equal(diffusion.betas, betas)
    assert diffusion.alpha_bar(-1) == 1.0 and diffusion.alpha_bar(0) == 1 - betas[0]


class Oracle(Denoiser):
    """Knows the clean data and noise; outputs what a perfect network of the given kind would."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.calls = []

    def forward(self, x, noise_level, tracks, context=None):
        self.calls.append((x.clone(), noise_level.clone()))
        return self.target(x, noise_level)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_ddpm_predict_recovers_clean_data_and_noise_from_a_perfect_network(prediction):
    diffusion = DDPM(prediction=prediction)
    x0, noise = torch.randn(SHAPE), torch.randn(SHAPE)
    t = torch.tensor([10.0, 500.0, 990.0])
    x_t = diffusion.add_noise(x0, t, noise)
    a = diffusion.alpha_bar(t).float().reshape(-1, 1, 1, 1)
    v = a.sqrt() * noise - (1 - a).sqrt() * x0
    oracle = Oracle(lambda x, level: noise if prediction == "epsilon" else v)
    result = diffusion.predict(oracle, x_t, t, TrackInfo.full([0, 1], batch_size=3))
    assert torch.allclose(result.x0, x0, atol=2e-4) and torch.allclose(result.noise, noise, atol=2e-5)
    assert torch.equal(oracle.calls[0][1], t)  # the network sees the timestep itself


def naive_ddpm_loss(diffusion, network, x0, mask, t, noise):
    a = diffusion.alphas_cumprod[t].float().reshape(-1, 1, 1, 1)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
    target = noise if diffusion.prediction == "epsilon" else a.sqrt() * noise - (1 - a).sqrt() * x0
    out = network(x_t, t.float(), None)
    losses = []
    for b in range(x0.shape[0]):
        present = [s for s in range(x0.shape[1]) if mask[b, s]]
        losses.append(torch.stack([((out[b, s] - target[b, s]) ** 2).mean() for s in present]).mean())
    return torch.stack(losses)


class Linear(Denoiser):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(0.7))

    def forward(self, x, noise_level, tracks, context=None):
        return self.weight * x + 1e-3 * noise_level.reshape(-1, 1, 1, 1)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_ddpm_loss_equals_a_naive_computation_with_the_same_draws(prediction):
    diffusion, network = DDPM(prediction=prediction), Linear()
    x0 = torch.randn(SHAPE)
    mask = torch.tensor([[True, True], [True, False], [False, True]])
    loss = diffusion.training_loss(network, x0, TrackInfo(torch.zeros(3, 2, dtype=torch.long), mask), generator=torch.Generator().manual_seed(4))
    generator = torch.Generator().manual_seed(4)
    t = torch.randint(0, 1000, (3,), generator=generator)
    noise = torch.randn(SHAPE, generator=generator)
    assert torch.allclose(loss, naive_ddpm_loss(diffusion, network, x0, mask, t, noise), rtol=1e-5)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_min_snr_loss_is_the_clipped_snr_times_the_clean_estimate_error(prediction):
    # Hang et al. 2023: whatever the prediction, the weighted loss is min(SNR, gamma) * ||x0_hat - x0||^2
    gamma = 5.0
    diffusion = DDPM(prediction=prediction, loss_weighting="min_snr", min_snr_gamma=gamma)
    network, x0 = Linear(), torch.randn(SHAPE)
    tracks = TrackInfo.full([0, 1], batch_size=3)
    loss = diffusion.training_loss(network, x0, tracks, generator=torch.Generator().manual_seed(7))
    generator = torch.Generator().manual_seed(7)
    t = torch.randint(0, 1000, (3,), generator=generator)
    noise = torch.randn(SHAPE, generator=generator)
    x_t = diffusion.add_noise(x0, t, noise)
    clean_error = (diffusion.predict(network, x_t, t, tracks).x0 - x0).pow(2).flatten(1).mean(1)
    a = diffusion.alpha_bar(t)
    snr = (a / (1 - a)).float()
    assert torch.allclose(loss, snr.clamp(max=gamma) * clean_error, rtol=1e-4)


def test_min_snr_weight_closed_form_and_plain_default():
    t = torch.tensor([0, 300, 999])
    a = DDPM().alpha_bar(t)
    snr = a / (1 - a)
    assert torch.equal(DDPM().loss_weight(t), torch.ones(3))
    epsilon = DDPM(loss_weighting="min_snr", min_snr_gamma=5.0).loss_weight(t)
    v = DDPM(prediction="v", loss_weighting="min_snr", min_snr_gamma=5.0).loss_weight(t)
    assert torch.allclose(epsilon.double(), snr.clamp(max=5) / snr, rtol=1e-6)
    assert torch.allclose(v.double(), snr.clamp(max=5) / (snr + 1), rtol=1e-6)
    assert epsilon[0] < 0.01 and epsilon[2] == 1.0  # the easiest timestep is weighed down, the hardest not


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(dict(loss_weighting="snr"), "loss_weighting must be 'none' or 'min_snr'"),
     (dict(min_snr_gamma=0.0), "min_snr_gamma must be positive"),
     (dict(prediction="x0"), "prediction must be 'epsilon' or 'v'")],
)
def test_ddpm_rejects_unknown_weighting_and_prediction(arguments, message):
    with pytest.raises(ArgumentError, match=message):
        DDPM(**arguments)


def test_masked_tracks_do_not_change_the_loss():
    diffusion = DDPM()
    x0 = torch.randn(SHAPE)
    mask = torch.tensor([[True, False]] * 3)
    tracks = TrackInfo(torch.zeros(3, 2, dtype=torch.long), mask)

    class PerTrack(Denoiser):  # each track's output depends only on that track
        def forward(self, x, noise_level, tracks, context=None):
            return torch.sin(x)

    changed = x0.clone()
    changed[:, 1] = 100.0
    first = diffusion.training_loss(PerTrack(), x0, tracks, generator=torch.Generator().manual_seed(0))
    second = diffusion.training_loss(PerTrack(), changed, tracks, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, second)


@pytest.mark.parametrize("diffusion", [DDPM(), EDM()], ids=["ddpm", "edm"])
def test_one_generator_per_song_makes_the_loss_independent_of_the_batch_split(diffusion):
    x0 = torch.randn(SHAPE)
    tracks = TrackInfo.full([0, 1], batch_size=3)

    def generators():
        return [torch.Generator().manual_seed(100 + b) for b in range(3)]

    whole = diffusion.training_loss(Linear(), x0, tracks, generator=generators())
    parts = [
        diffusion.training_loss(Linear(), x0[b : b + 1], TrackInfo.full([0, 1]), generator=[generators()[b]]) for b in range(3)
    ]
    assert torch.allclose(whole, torch.cat(parts), rtol=1e-6)


def test_edm_preconditioning_matches_the_paper():
    edm = EDM(sigma_data=0.2)
    sigma = torch.tensor([0.01, 0.2, 5.0])
    c_skip, c_out, c_in, c_noise = edm.preconditioning(sigma)
    s = sigma.double()
    assert torch.allclose(c_skip, 0.04 / (s**2 + 0.04))
    assert torch.allclose(c_out, s * 0.2 / (s**2 + 0.04).sqrt())
    assert torch.allclose(c_in, 1 / (s**2 + 0.04).sqrt())
    assert torch.allclose(c_noise, s.log() / 4)


def test_edm_loss_is_the_weighted_denoising_error():
    """|F - target|^2 (what we compute) equals lambda(sigma) * |D - x0|^2 (the paper's form)."""
    edm, network = EDM(sigma_data=0.3, p_mean=-1.0, p_std=1.0), Linear()
    x0 = torch.randn(SHAPE)
    tracks = TrackInfo.full([0, 1], batch_size=3)
    loss = edm.training_loss(network, x0, tracks, generator=torch.Generator().manual_seed(2))
    generator = torch.Generator().manual_seed(2)
    sigma = (-1.0 + torch.randn(3, generator=generator)).exp()
    noise = torch.randn(SHAPE, generator=generator)
    s = sigma.reshape(-1, 1, 1, 1)
    denoised = edm.predict(network, x0 + s * noise, sigma, tracks).x0
    weight = (s**2 + 0.09) / (s * 0.3) ** 2
    expected = (weight * (denoised - x0) ** 2).flatten(1).mean(1)
    assert torch.allclose(loss, expected, rtol=1e-4)


def test_edm_training_sigmas_are_log_normal():
    edm = EDM(sigma_data=0.2, p_mean=-3.0, p_std=1.0)
    oracle = Oracle(lambda x, level: torch.zeros_like(x))
    edm.training_loss(oracle, torch.zeros(4000, 1, 1), TrackInfo.full([0], batch_size=4000), generator=torch.Generator().manual_seed(0))
    log_sigma = 4 * oracle.calls[0][1]  # the network sees c_noise = ln(sigma) / 4
    assert abs(log_sigma.mean().item() + 3.0) < 0.05 and abs(log_sigma.std().item() - 1.0) < 0.05


def test_edm_predict_with_a_perfect_network_gives_the_clean_data():
    edm = EDM(sigma_data=0.5)
    x0, noise, sigma = torch.randn(SHAPE), torch.randn(SHAPE), torch.tensor([0.05, 1.0, 30.0])
    s = sigma.reshape(-1, 1, 1, 1)

    def perfect(x_in, c_noise):
        c_skip, c_out, _, _ = edm.preconditioning(sigma)
        return ((x0 - c_skip.reshape(-1, 1, 1, 1) * (x0 + s * noise)) / c_out.reshape(-1, 1, 1, 1)).float()

    result = edm.predict(Oracle(perfect), x0 + s * noise, sigma, TrackInfo.full([0, 1], batch_size=3))
    assert torch.allclose(result.x0, x0, atol=1e-4) and torch.allclose(result.noise, noise, atol=1e-3)


class TrackLevels(Denoiser):
    """Records the levels it gets; each track's output depends on that track and its own level only."""

    accepts_track_levels = True

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(0.7))
        self.levels = []

    def forward(self, x, noise_level, tracks, context=None):
        self.levels.append(noise_level)
        return self.weight * x + 1e-3 * noise_level.reshape(*noise_level.shape, *[1] * (x.dim() - noise_level.dim()))


def test_separate_track_levels_zero_is_the_one_level_training_draw_for_draw():
    x0, tracks = torch.randn(SHAPE), TrackInfo.full([0, 1], batch_size=3)
    shared, network = DDPM(), TrackLevels()
    plain = shared.training_loss(network, x0, tracks, generator=torch.Generator().manual_seed(3))
    zero = DDPM(separate_track_levels=0.0).training_loss(network, x0, tracks, generator=torch.Generator().manual_seed(3))
    assert torch.equal(plain, zero)
    assert all(levels.shape == (3,) for levels in network.levels)


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
@pytest.mark.parametrize("weighting", ["none", "min_snr"])
def test_separate_track_levels_loss_equals_a_naive_per_track_computation(prediction, weighting):
    diffusion, network = DDPM(prediction=prediction, loss_weighting=weighting, separate_track_levels=1.0), TrackLevels()
    x0 = torch.randn(SHAPE)
    mask = torch.tensor([[True, True], [True, False], [False, True]])
    loss = diffusion.training_loss(network, x0, TrackInfo(torch.zeros(3, 2, dtype=torch.long), mask),
                                   generator=torch.Generator().manual_seed(4))
    # the same draws by hand: song timesteps, noise, one coin per song, then one timestep per track
    generator = torch.Generator().manual_seed(4)
    torch.randint(0, 1000, (3,), generator=generator)
    noise = torch.randn(SHAPE, generator=generator)
    torch.rand((3,), generator=generator)
    t = torch.randint(0, 1000, (3 * 2,), generator=generator).reshape(3, 2)
    assert torch.equal(network.levels[0], t.float())
    expected = []
    for b in range(3):
        errors = []
        for s in range(2):
            if not mask[b, s]:
                continue
            a = diffusion.alphas_cumprod[t[b, s]].float()
            x_t = a.sqrt() * x0[b, s] + (1 - a).sqrt() * noise[b, s]
            target = noise[b, s] if prediction == "epsilon" else a.sqrt() * noise[b, s] - (1 - a).sqrt() * x0[b, s]
            out = 0.7 * x_t + 1e-3 * t[b, s].float()
            snr = a.double() / (1 - a.double())
            if weighting == "none":
                weight = 1.0
            else:
                weight = float(snr.clamp(max=5.0) / (snr if prediction == "epsilon" else snr + 1))
            errors.append(weight * ((out - target) ** 2).mean())
        expected.append(torch.stack(errors).mean())
    assert torch.allclose(loss, torch.stack(expected), rtol=1e-5)


def test_separate_track_levels_picks_songs_at_the_given_rate_and_keeps_songs_independent_of_the_batch():
    diffusion = DDPM(separate_track_levels=0.3)
    x0, tracks = torch.randn(400, 3, 1, 2), TrackInfo.full([0, 1, 2], batch_size=400)
    network = TrackLevels()
    whole = diffusion.training_loss(network, x0, tracks, generator=[torch.Generator().manual_seed(b) for b in range(400)])
    levels = network.levels[0]
    separate = (levels != levels[:, :1]).any(1).float().mean()
    assert 0.22 < separate < 0.38  # 0.3, less the rare songs whose three fresh draws coincide
    one = diffusion.training_loss(TrackLevels(), x0[7:8], TrackInfo.full([0, 1, 2]), generator=[torch.Generator().manual_seed(7)])
    assert torch.allclose(whole[7:8], one, rtol=1e-6)


def test_edm_separate_track_levels_gives_each_track_its_own_preconditioning():
    diffusion, network = EDM(separate_track_levels=1.0), TrackLevels()
    x0, tracks = torch.randn(SHAPE), TrackInfo.full([0, 1], batch_size=3)
    loss = diffusion.training_loss(network, x0, tracks, generator=torch.Generator().manual_seed(5))
    generator = torch.Generator().manual_seed(5)
    torch.randn((3,), generator=generator)
    noise = torch.randn(SHAPE, generator=generator)
    torch.rand((3,), generator=generator)
    sigma = (diffusion.p_mean + diffusion.p_std * torch.randn((6,), generator=generator)).exp().reshape(3, 2)
    expected = torch.zeros(3)
    for b in range(3):
        for s in range(2):
            c_skip, c_out, c_in, c_noise = (c.float() for c in diffusion.preconditioning(sigma[b, s]))
            x = x0[b, s] + sigma[b, s] * noise[b, s]
            raw = 0.7 * (c_in * x) + 1e-3 * c_noise
            expected[b] += ((raw - (x0[b, s] - c_skip * x) / c_out) ** 2).mean() / 2
    assert torch.allclose(loss, expected, rtol=1e-4)


@pytest.mark.parametrize("factory", [DDPM, EDM])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_separate_track_levels_must_be_a_probability(factory, value):
    with pytest.raises(ArgumentError, match="separate_track_levels is a probability in \\[0, 1\\]"):
        factory(separate_track_levels=value)
