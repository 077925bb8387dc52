"""The log-mel front end: MusicLDM framing (10.24 s -> 1024 frames), agreement with librosa, batching over
[B, S, L], the normalised range, and clear errors for impossible settings."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from synctrack.audio import MelConfig, MelConfigError, MelSpectrogram, check_mel_compatible, mel_filterbank


def tone(seconds: float, freq: float = 440.0, rate: int = 16000, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * rate), dtype=torch.float64) / rate
    return (amplitude * torch.sin(2 * math.pi * freq * t)).float()


def test_musicldm_clip_gives_exactly_1024_frames_of_64_mels():
    front_end = MelSpectrogram()
    waveforms = torch.randn(2, 3, 163840, generator=torch.Generator().manual_seed(0)) * 0.1  # 10.24 s at 16 kHz
    assert front_end(waveforms).shape == (2, 3, 64, 1024)
    assert front_end.config.num_frames(163840) == 1024 and front_end.config.num_samples(1024) == 163840


@pytest.mark.parametrize("length", [1000, 1599, 1600, 1601, 16000])
def test_frames_are_length_floor_divided_by_hop(length):
    assert MelSpectrogram()(torch.zeros(1, length)).shape[-1] == length // 160


def test_matches_librosa_reference():
    """Independent reference: librosa's centred STFT magnitude, its default (Slaney) mel filterbank, log with
    floor 1e-5, and MusicLDM's crop of the trailing frame."""
    audio = (tone(1.0, 440.0) + tone(1.0, 3000.0, amplitude=0.2) + 0.05 * torch.randn(16000)).numpy()
    magnitude = np.abs(librosa.stft(audio, n_fft=1024, hop_length=160, win_length=1024, window="hann", center=True, pad_mode="reflect"))
    basis = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=0.0, fmax=8000.0)
    expected = np.log(np.maximum(basis @ magnitude, 1e-5))[:, : 16000 // 160]
    ours = MelSpectrogram()(torch.from_numpy(audio)).numpy()
    assert ours.shape == expected.shape == (64, 100)
    np.testing.assert_allclose(ours, expected, atol=2e-3)
    np.testing.assert_allclose(mel_filterbank(MelConfig()).T.numpy(), basis, atol=1e-6)


def test_batched_over_songs_and_tracks_equals_one_by_one():
    front_end = MelSpectrogram()
    waveforms = torch.randn(2, 3, 4000, generator=torch.Generator().manual_seed(1)) * 0.3
    batched = front_end(waveforms)
    for b in range(2):
        for s in range(3):
            torch.testing.assert_close(batched[b, s], front_end(waveforms[b, s]), rtol=0, atol=1e-5)


def test_every_setting_is_configurable():
    config = MelConfig(sample_rate=22050, n_fft=2048, win_length=1024, hop_length=256, n_mels=80, f_min=20.0, f_max=None)
    out = MelSpectrogram(config)(torch.zeros(2, 22050))
    assert out.shape == (2, 80, 22050 // 256)
    assert config.top_frequency == 11025.0


def test_normalisation_maps_silence_to_minus_one_and_full_scale_to_at_most_one():
    front_end = MelSpectrogram()
    silence = front_end(torch.zeros(1, 16000))
    torch.testing.assert_close(silence, torch.full_like(silence, math.log(1e-5)))
    torch.testing.assert_close(front_end.normalize(silence), -torch.ones_like(silence))
    assert front_end.normalize(torch.tensor(2.5)).item() == pytest.approx(1.0)
    loudest = max(front_end.normalize(front_end(tone(1.0, f, amplitude=1.0))).max().item() for f in (50.0, 440.0, 4000.0))
    assert 0.8 < loudest <= 1.0
    values = torch.linspace(-12.0, 3.0, 50)
    torch.testing.assert_close(front_end.denormalize(front_end.normalize(values)), values)


def test_gradient_flows_and_is_finite_on_silence():
    """The HiFi-GAN mel loss backpropagates through the front end, including through silent samples."""
    waveforms = torch.zeros(1, 4000, requires_grad=True)
    MelSpectrogram()(waveforms + tone(0.25) * (torch.arange(4000) > 2000)).sum().backward()
    assert torch.isfinite(waveforms.grad).all() and waveforms.grad.abs().sum() > 0


def test_too_short_input_is_explained():
    with pytest.raises(ValueError, match="too short.*512"):
        MelSpectrogram()(torch.zeros(1, 400))


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"win_length": 2048}, "win_length"),
        ({"f_max": 9000.0}, "Nyquist"),
        ({"hop_length": 0}, "hop_length must be positive"),
        ({"f_min": 8000.0}, "f_min"),
        ({"log_max": -20.0}, "log_max"),
    ],
)
def test_impossible_settings_name_the_setting(settings, fragment):
    with pytest.raises(MelConfigError, match=fragment):
        MelConfig(**settings)


def test_encoder_and_vocoder_mels_must_agree():
    class Part:
        def __init__(self, config, decodes_to="mel"):
            self.mel_config, self.decodes_to = config, decodes_to

    check_mel_compatible(Part(MelConfig()), Part(MelConfig()))
    check_mel_compatible(Part(None, decodes_to="waveform"), Part(MelConfig(n_mels=80)))
    with pytest.raises(MelConfigError, match=r"hop_length: 160 != 256; n_mels: 64 != 80"):
        check_mel_compatible(Part(MelConfig()), Part(MelConfig(n_mels=80, hop_length=256)))
