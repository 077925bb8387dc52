"""VGGish's log-mel front end against a loop-by-loop version of its definition; the offline embedder."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synctrack import get_registry
from synctrack.plugins.embedders import frontend

RATE = 16000


def naive_mel_matrix(fft_bins, bands=64, low=125.0, high=7500.0, rate=RATE):
    mel = lambda f: 1127.0 * math.log(1.0 + f / 700.0)  # noqa: E731 - the HTK formula, inline
    edges = [mel(low) + (mel(high) - mel(low)) * i / (bands + 1) for i in range(bands + 2)]
    matrix = np.zeros((fft_bins, bands))
    for k in range(1, fft_bins):  # the DC bin carries no weight
        m = mel(k * (rate / 2) / (fft_bins - 1))
        for b in range(bands):
            lower, centre, upper = edges[b], edges[b + 1], edges[b + 2]
            matrix[k, b] = max(0.0, min((m - lower) / (centre - lower), (upper - m) / (upper - centre)))
    return matrix


def naive_log_mel(signal):
    window = [0.5 - 0.5 * math.cos(2 * math.pi * n / 400) for n in range(400)]
    dft = np.exp(-2j * np.pi * np.outer(np.arange(257), np.arange(512)) / 512)  # 512-point DFT, first 257 bins
    weights = naive_mel_matrix(257)
    rows = []
    for start in range(0, len(signal) - 400 + 1, 160):
        frame = np.zeros(512)
        frame[:400] = [signal[start + n] * window[n] for n in range(400)]
        rows.append(np.log(np.abs(dft @ frame) @ weights + 0.01))
    return np.array(rows)


def test_mel_matrix_matches_the_definition():
    np.testing.assert_allclose(frontend.mel_matrix(257), naive_mel_matrix(257), atol=1e-12)


def test_log_mel_matches_the_definition():
    signal = np.random.default_rng(0).uniform(-0.5, 0.5, 3200)
    np.testing.assert_allclose(frontend.log_mel(signal), naive_log_mel(signal), rtol=1e-9, atol=1e-9)


def test_examples_are_non_overlapping_blocks_of_96_frames():
    signal = np.random.default_rng(1).normal(size=3 * RATE).astype(np.float32)
    frames = frontend.log_mel(signal)
    assert len(frames) == 1 + (3 * RATE - 400) // 160 == 298
    batch = frontend.examples(signal)
    assert batch.shape == (3, 96, 64) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[2], frames[192:288], rtol=1e-6)
    assert frontend.examples(np.zeros(RATE // 2, np.float32)).shape == (0, 96, 64)
    with pytest.raises(ValueError, match="16000"):
        frontend.examples(signal, 22050)


def test_a_tone_lights_the_band_around_its_frequency():
    tone = np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)
    band = int(np.argmax(frontend.log_mel(tone).mean(axis=0)))
    edges = np.linspace(frontend.hertz_to_mel(125.0), frontend.hertz_to_mel(7500.0), 66)
    assert abs(edges[band + 1] - frontend.hertz_to_mel(1000.0)) < (edges[1] - edges[0])


def test_offline_embedder_is_named_and_reported_as_not_comparable():
    part = get_registry().get("embedder", "logmel_not_comparable")
    embedder = part.factory()
    assert "not_comparable" in part.name and embedder.label == part.name
    assert not embedder.comparable_to_published
    assert any("NOT comparable with published FAD" in note for note in embedder.notes())
    signal = np.random.default_rng(2).normal(scale=0.1, size=(2, 2 * RATE)).astype(np.float32)
    embeddings = embedder.embed(signal, RATE)
    assert embeddings.shape == (4, 128)  # 2 clips x 2 examples
    first = frontend.examples(signal[0])[0]
    np.testing.assert_allclose(embeddings[0], np.concatenate([first.mean(0), first.std(0)]), rtol=1e-6)
    np.testing.assert_array_equal(embedder.embed(signal, RATE), embeddings)  # deterministic
    assert embedder.embed(signal[:, ::2], RATE // 2).shape == (4, 128)  # other rates are resampled
