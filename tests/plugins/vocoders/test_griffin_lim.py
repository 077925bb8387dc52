"""griffin_lim: an untrained vocoder that gives a 440 Hz tone back at 440 Hz, with its spectral convergence
reported; output length frames x hop for any [B, S]."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synctrack.audio import MelConfig, MelSpectrogram
from synctrack.errors import UserError
from synctrack.plugins.vocoders import GriffinLimVocoder

RATE = 16000

pytestmark = pytest.mark.usefixtures("one_thread")


def tone(seconds: float, freq: float) -> torch.Tensor:
    t = torch.arange(int(seconds * RATE), dtype=torch.float64) / RATE
    return (0.5 * torch.sin(2 * math.pi * freq * t)).float()


def dominant_frequency(audio: torch.Tensor) -> float:
    spectrum = np.abs(np.fft.rfft(audio.numpy() * np.hanning(audio.numel())))
    return float(np.fft.rfftfreq(audio.numel(), 1 / RATE)[np.argmax(spectrum)])


def spectral_convergence(reference: torch.Tensor, estimate: torch.Tensor, front_end: MelSpectrogram) -> float:
    """``|| |STFT(estimate)| - |STFT(reference)| ||_F / || |STFT(reference)| ||_F``."""
    target = front_end.magnitude(reference)
    return float((front_end.magnitude(estimate) - target).norm() / target.norm())


def test_a_440_hz_tone_comes_back_at_440_hz(record_property):
    front_end = MelSpectrogram()
    audio = tone(2.0, 440.0)
    log_mel = front_end(audio)[None, None]  # [1, 1, 64, 200]
    results = {}
    for inverse in ("nnls", "least_squares"):
        out = GriffinLimVocoder(inverse_mel=inverse)(log_mel)[0, 0]
        assert out.shape == audio.shape
        results[inverse] = (dominant_frequency(out), spectral_convergence(audio, out, front_end))
        record_property(f"{inverse}_dominant_hz", results[inverse][0])
        record_property(f"{inverse}_spectral_convergence", results[inverse][1])
        print(f"griffin_lim ({inverse}): dominant {results[inverse][0]:.1f} Hz, spectral convergence {results[inverse][1]:.3f}")
    frequency, convergence = results["nnls"]
    assert abs(frequency - 440.0) <= 5.0
    assert convergence < results["least_squares"][1]  # the default inverse fits the spectrum better


def test_output_is_frames_times_hop_for_any_songs_and_tracks():
    config = MelConfig(n_fft=256, win_length=256, hop_length=64, n_mels=16)
    # float64: in float32 the batched least-squares solve rounds differently for different batch sizes and
    # thread counts (up to 4e-4 after Griffin-Lim, seen with one thread), which would hide a real leak. An
    # NNLS start offset taken from the whole batch's mean once leaked 1e-9 here; rounding noise is ~1e-12.
    vocoder = GriffinLimVocoder(mel=config, iterations=4, nnls_iterations=10).double()
    audio = torch.randn(2, 3, 64 * 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.3
    log_mel = MelSpectrogram(config).double()(audio)
    out = vocoder(log_mel)
    assert out.shape == (2, 3, 20 * 64) and vocoder.sample_rate == 16000
    torch.testing.assert_close(out[1, 2], vocoder(log_mel[1:, 2:])[0, 0], atol=1e-10, rtol=1e-7)  # tracks are independent


def test_bad_input_and_settings_are_explained():
    with pytest.raises(ValueError, match=r"\[B, S, 64, frames\]"):
        GriffinLimVocoder()(torch.zeros(1, 80, 10))
    with pytest.raises(UserError, match="iterations"):
        GriffinLimVocoder(iterations=0)
