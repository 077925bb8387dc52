"""HiFi-GAN's objective: the paper's discriminators, least-squares losses recomputed from the discriminator
outputs, zero mel and feature losses for a perfect generator, and a training step that the issue-5 trainer
can copy."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import parametrize

from synctrack.plugins.vocoders import HifiGanObjective, HifiGanVocoder
from synctrack.plugins.vocoders.hifigan_objective import PeriodDiscriminator

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_VOCODER = dict(upsample_initial_channel=32, resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]])


def waves(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.tanh(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 0.3)


def test_paper_discriminators():
    objective = HifiGanObjective()
    periods = [d.period for d in objective.period_discriminators]
    assert periods == [2, 3, 5, 7, 11] and len(objective.scale_discriminators) == 3
    first, second = objective.scale_discriminators[0], objective.scale_discriminators[1]
    assert type(first.convs[0].parametrizations.weight[0]).__name__ == "_SpectralNorm"
    assert type(second.convs[0].parametrizations.weight[0]).__name__ == "_WeightNorm"
    assert first.convs[3].groups == 16 and first.convs[1].groups == 4
    assert objective.mel_weight == 45.0 and objective.feature_weight == 2.0
    scores, features = objective.discriminate(waves(2, 1, 2000))
    assert len(scores) == 8 and [len(f) for f in features] == [6] * 5 + [8] * 3


def test_period_discriminator_folds_by_its_period_with_reflect_padding():
    discriminator = PeriodDiscriminator(period=7, width_divisor=16)
    _, features = discriminator(waves(1, 1, 100))  # 100 -> reflect-padded to 105 = 15 x 7
    assert features[0].shape[-1] == 7 and features[0].shape[-2] == 5  # ceil(15 / 3) rows after stride 3
    assert all(parametrize.is_parametrized(conv, "weight") for conv in discriminator.convs)


def test_losses_equal_their_least_squares_definitions():
    objective = HifiGanObjective(width_divisor=16)
    real, fake = waves(2, 3, 1600, seed=1), waves(2, 3, 1600, seed=2)
    loss, logs = objective.discriminator_loss(real, fake)
    real_scores, _ = objective.discriminate(real.reshape(-1, 1, 1600))
    fake_scores, fake_features = objective.discriminate(fake.reshape(-1, 1, 1600))
    expected = sum(((1 - r) ** 2).mean() + (f**2).mean() for r, f in zip(real_scores, fake_scores))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs["discriminator"] == pytest.approx(logs["discriminator_period"] + logs["discriminator_scale"], rel=1e-5)

    g_loss, g_logs = objective.generator_loss(real, fake)
    assert g_logs["adversarial"] == pytest.approx(sum(((1 - f) ** 2).mean() for f in fake_scores).item(), rel=1e-5)
    mel_l1 = (objective.front_end(fake) - objective.front_end(real)).abs().mean()
    assert g_logs["mel_l1"] == pytest.approx(mel_l1.item(), rel=1e-5)
    assert g_loss.item() == pytest.approx(g_logs["adversarial"] + 2 * g_logs["feature_matching"] + 45 * g_logs["mel_l1"], rel=1e-5)


def test_a_perfect_generator_has_zero_mel_and_feature_losses():
    # eval: in training mode spectral norm runs a power-iteration step on every call, so the first scale
    # discriminator's weights differ slightly between the real and the fake pass (as in the original code)
    objective = HifiGanObjective(width_divisor=16).eval()
    real = waves(3, 1600, seed=3)
    _, logs = objective.generator_loss(real, real.clone())
    assert logs["mel_l1"] == 0.0 and logs["feature_matching"] == 0.0


def test_discriminator_loss_does_not_reach_the_generator_and_shapes_must_match():
    objective = HifiGanObjective(width_divisor=16)
    fake = waves(2, 1600, seed=4).requires_grad_()
    objective.discriminator_loss(waves(2, 1600), fake)[0].backward()
    assert fake.grad is None
    with pytest.raises(ValueError, match="one shape"):
        objective.discriminator_loss(waves(2, 1600), waves(2, 1632))


def test_one_generator_and_discriminator_step_as_the_trainer_runs_it():
    """The loop issue 5 wires: D step on detached fakes, then G step; each optimiser owns its parameters."""
    torch.manual_seed(0)
    vocoder = HifiGanVocoder(**TINY_VOCODER, training={"width_divisor": 16})
    objective = vocoder.training_objective()
    assert isinstance(objective, HifiGanObjective)
    generator_optimizer = torch.optim.AdamW(vocoder.parameters(), lr=2e-4, betas=(0.8, 0.99))
    discriminator_optimizer = torch.optim.AdamW(objective.parameters(), lr=2e-4, betas=(0.8, 0.99))
    real = waves(2, 1, 32 * 160, seed=5)  # [B, S, L] segments, L a multiple of hop
    real_mel = objective.front_end(real)  # [B, S, 64, 32]: the generator's input
    fake = vocoder(real_mel)
    assert fake.shape == real.shape

    d_loss, d_logs = objective.discriminator_loss(real, fake)
    discriminator_optimizer.zero_grad()
    d_loss.backward()
    discriminator_optimizer.step()
    assert all(p.grad is None for p in vocoder.parameters())

    before = [p.detach().clone() for p in vocoder.parameters()]
    g_loss, g_logs = objective.generator_loss(real, fake, real_mel=real_mel)
    generator_optimizer.zero_grad()
    g_loss.backward()
    generator_optimizer.step()
    assert all(torch.isfinite(torch.tensor(v)) for v in {**d_logs, **g_logs}.values())
    assert any(not torch.equal(b, p) for b, p in zip(before, vocoder.parameters()))
