"""Absurd log-mels (what an untrained model decodes to) give finite audio: the valid log-mel range is a true
bound for audio in [-1, 1], and the vocoders and the ``mel`` encoder clamp to it."""

from __future__ import annotations

import math

import pytest
import torch

from synctrack.audio import MelConfig, MelSpectrogram, log_mel_range
from synctrack.plugins.encoders import MelEncoder
from synctrack.plugins.vocoders import GriffinLimVocoder, HifiGanVocoder

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = MelConfig(sample_rate=8000, n_fft=256, win_length=256, hop_length=64, n_mels=16, f_max=4000.0)
ABSURD = [300.0, -300.0, 1e4, float("inf"), -float("inf")]


def loud_signals(rate: int, length: int) -> torch.Tensor:
    """Full-scale signals that put as much energy as possible into one band or all bands: ``[K, L]``."""
    t = torch.arange(length) / rate
    generator = torch.Generator().manual_seed(0)
    signals = [torch.ones(length), -torch.ones(length), torch.sign(torch.randn(length, generator=generator))]
    for frequency in (50.0, 440.0, 1000.0, 3000.0, 0.45 * rate):
        signals += [torch.sin(2 * math.pi * frequency * t), torch.sign(torch.sin(2 * math.pi * frequency * t))]
    chirp = torch.sin(2 * math.pi * (20 + (rate / 2 - 20) * t / (2 * t[-1])) * t)
    return torch.stack([*signals, chirp])


@pytest.mark.parametrize("config", [MelConfig(), TINY], ids=["musicldm", "tiny"])
def test_the_valid_range_bounds_every_full_scale_signal(config):
    low, high = log_mel_range(config)
    assert low == pytest.approx(math.log(config.log_floor))
    mels = MelSpectrogram(config)(loud_signals(config.sample_rate, config.sample_rate))
    assert float(mels.min()) >= low - 1e-6
    assert float(mels.max()) <= high
    assert high - float(mels.max()) < 2.0  # a bound, but not a loose one: the loudest tones come within e^2
    clamped = MelSpectrogram(config).clamp_to_range(mels)
    assert torch.equal(clamped, mels)  # real audio is never changed by the clamp


def absurd_mels(config: MelConfig, frames: int = 12) -> torch.Tensor:
    """``[1, len(ABSURD) + 1, n_mels, frames]``: each track one absurd value, the last alternating +-300."""
    tracks = [torch.full((config.n_mels, frames), value) for value in ABSURD]
    tracks.append(300.0 * (-1.0) ** torch.arange(config.n_mels * frames).reshape(config.n_mels, frames))
    return torch.stack(tracks)[None]


def test_griffin_lim_gives_finite_audio_for_absurd_mels():
    vocoder = GriffinLimVocoder(TINY, iterations=4, nnls_iterations=20)
    audio = vocoder(absurd_mels(TINY))
    assert audio.shape == (1, len(ABSURD) + 1, 12 * 64)
    assert torch.isfinite(audio).all()
    # +300 means "as loud as audio gets", -300 silence
    assert audio[0, 0].abs().max() > 1e-3 and audio[0, 1].abs().max() < 1e-3


def test_griffin_lim_used_to_overflow_without_the_clamp():
    """The bug this guards against: exp(300) overflows float32 and the inverse mel scale turns it into NaN."""
    vocoder = GriffinLimVocoder(TINY, iterations=4, nnls_iterations=20)
    with torch.no_grad():
        unclamped = vocoder.inverse_scale(torch.exp(torch.full((1, 16, 12), 300.0)))
    assert not torch.isfinite(unclamped).all()
    assert torch.isfinite(vocoder.linear_magnitude(torch.full((1, 16, 12), 300.0))).all()


def test_hifigan_gives_finite_audio_for_absurd_mels():
    vocoder = HifiGanVocoder(TINY, upsample_rates=[4, 4, 4], upsample_kernel_sizes=[8, 8, 8], upsample_initial_channel=32,
                             resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]])
    mels = absurd_mels(TINY)
    mels[0, 0] = 1e30  # large enough to overflow inside the generator without the clamp
    with torch.no_grad():
        audio = vocoder(mels)
        assert torch.isfinite(audio).all()
        low, high = log_mel_range(TINY)
        torch.testing.assert_close(audio[:, :2], vocoder(torch.stack([torch.full((16, 12), high), torch.full((16, 12), low)])[None]))


def test_the_mel_encoder_decodes_absurd_latents_into_the_valid_range():
    encoder = MelEncoder(TINY)
    latents = torch.tensor([-300.0, -5.0, 0.0, 5.0, 300.0, float("inf")]).repeat(16, 1).T[None, None, None]  # [1, 1, 1, 6, 16]
    mel = encoder.decode(latents)
    low, high = log_mel_range(TINY)
    assert mel.min() == low and mel.max() == high
    assert torch.isfinite(GriffinLimVocoder(TINY, iterations=2, nnls_iterations=5)(mel)).all()
    # values inside the range decode as before: the normalised 0 is the middle of [floor, log_max]
    assert mel[0, 0, 0, 2].item() == pytest.approx((low + TINY.log_max) / 2)


def test_nan_is_not_hidden():
    """A model that produced NaN is broken; the clamp leaves NaN for `synctrack sample` to report."""
    assert torch.isnan(MelSpectrogram(TINY).clamp_to_range(torch.tensor([float("nan")]))).all()
