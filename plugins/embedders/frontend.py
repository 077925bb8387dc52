"""VGGish's input: 0.96 s examples of 96 x 64 log-mel frames at 16 kHz.

The framing of the reference VGGish (its ``vggish_input``/``mel_features``): a 25 ms periodic Hann window
(400 samples) every 10 ms (160 samples), no padding; the magnitude of a 512-point FFT; 64 mel bands from
125 to 7500 Hz on the HTK mel scale ``1127 ln(1 + f/700)``, each a triangle interpolated in mel units over
the FFT bins (the DC bin excluded); ``log(mel + 0.01)``; then non-overlapping examples of 96 frames.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
WINDOW_SECONDS = 0.025
HOP_SECONDS = 0.010
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96  # 0.96 s
EXAMPLE_HOP_FRAMES = 96


def hertz_to_mel(frequencies: np.ndarray) -> np.ndarray:
    """HTK mel scale."""
    return 1127.0 * np.log1p(np.asarray(frequencies, dtype=np.float64) / 700.0)


def mel_matrix(fft_bins: int, sample_rate: int = SAMPLE_RATE, bands: int = MEL_BANDS,
               low_hz: float = MEL_MIN_HZ, high_hz: float = MEL_MAX_HZ) -> np.ndarray:
    """``[fft_bins, bands]`` weights from FFT magnitudes to mel bands (triangles in mel units, DC zero)."""
    nyquist = sample_rate / 2.0
    if not 0.0 <= low_hz < high_hz <= nyquist:
        raise ValueError(f"need 0 <= low_hz < high_hz <= {nyquist}, got {low_hz}, {high_hz}")
    bins_mel = hertz_to_mel(np.linspace(0.0, nyquist, fft_bins))
    edges = np.linspace(hertz_to_mel(low_hz), hertz_to_mel(high_hz), bands + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def frame(signal: np.ndarray, length: int, hop: int) -> np.ndarray:
    """``[F, length]`` frames of ``signal`` every ``hop`` samples, no padding (``F = 0`` if too short)."""
    count = 0 if len(signal) < length else 1 + (len(signal) - length) // hop
    if count == 0:
        return np.zeros((0, length), dtype=signal.dtype)
    index = np.arange(length)[None, :] + hop * np.arange(count)[:, None]
    return signal[index]


def log_mel(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``[F, 64]`` VGGish log-mel frames of a mono ``[L]`` waveform at ``sample_rate``."""
    window_length = int(round(WINDOW_SECONDS * sample_rate))
    hop_length = int(round(HOP_SECONDS * sample_rate))
    fft_length = 2 ** int(np.ceil(np.log2(window_length)))
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(window_length) / window_length)  # periodic Hann
    frames = frame(np.asarray(waveform, dtype=np.float64), window_length, hop_length)
    magnitude = np.abs(np.fft.rfft(frames * window, fft_length))
    mel = magnitude @ mel_matrix(fft_length // 2 + 1, sample_rate)
    return np.log(mel + LOG_OFFSET)


def examples(waveform: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``[M, 96, 64]`` float32 VGGish examples (``M = 0`` for clips shorter than about 0.975 s)."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"VGGish examples are made at {SAMPLE_RATE} Hz, got {sample_rate}; resample first")
    frames = log_mel(waveform, sample_rate)
    count = 0 if len(frames) < EXAMPLE_FRAMES else 1 + (len(frames) - EXAMPLE_FRAMES) // EXAMPLE_HOP_FRAMES
    if count == 0:
        return np.zeros((0, EXAMPLE_FRAMES, MEL_BANDS), dtype=np.float32)
    index = np.arange(EXAMPLE_FRAMES)[None, :] + EXAMPLE_HOP_FRAMES * np.arange(count)[:, None]
    return frames[index].astype(np.float32)
