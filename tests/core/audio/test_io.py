"""Audio I/O: formats and rates load correctly; bad files give errors naming the file; writes are atomic."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from synctrack.audio import AudioError, load_audio, save_audio, write_song


def tone(seconds=0.5, rate=16000, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "FLOAT"])
def test_pcm_widths_load_to_the_same_float_signal(tmp_path, subtype):
    path = tmp_path / f"x_{subtype}.wav"
    soundfile.write(path, tone(), 16000, subtype=subtype)
    loaded = load_audio(path)
    assert loaded.dtype == np.float32 and loaded.shape == (8000,)
    tolerance = {"PCM_U8": 1e-2, "PCM_16": 1e-4, "PCM_24": 1e-6, "FLOAT": 1e-7}[subtype]
    assert np.max(np.abs(loaded - tone())) < tolerance


def test_stereo_is_downmixed_and_flac_loads(tmp_path):
    left, right = tone(freq=440.0), tone(freq=660.0)
    soundfile.write(tmp_path / "s.flac", np.stack([left, right], axis=1), 16000, subtype="PCM_24")
    loaded = load_audio(tmp_path / "s.flac")
    assert np.max(np.abs(loaded - (left + right) / 2)) < 1e-5


def test_resampling_44100_to_16000_keeps_the_tone(tmp_path):
    soundfile.write(tmp_path / "a.wav", tone(seconds=1.0, rate=44100), 44100, subtype="FLOAT")
    loaded = load_audio(tmp_path / "a.wav", 16000)
    assert loaded.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(loaded))
    assert abs(np.argmax(spectrum) * 16000 / len(loaded) - 440.0) <= 1.0
    np.testing.assert_allclose(loaded[2000:14000], tone(1.0, 16000)[2000:14000], atol=2e-3)


def test_bad_files_are_named(tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk")
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    soundfile.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2], np.float32), 16000, subtype="FLOAT")
    for name, fragment in [("corrupt.wav", "cannot read audio"), ("empty.wav", "zero length"),
                           ("nan.wav", "NaN or infinite"), ("missing.wav", "not found")]:
        with pytest.raises(AudioError, match=fragment) as caught:
            load_audio(tmp_path / name)
        assert name in str(caught.value)


def test_write_song_writes_tracks_and_clipped_mix(tmp_path):
    tracks = np.stack([tone(freq=220.0), tone(freq=330.0), np.full(8000, 0.9, np.float32)])
    paths = write_song(tmp_path / "song", tracks, ["bass", "piano", "pad"], 16000)
    assert sorted(paths) == ["bass", "mix", "pad", "piano"]
    mix = load_audio(paths["mix"])
    np.testing.assert_allclose(mix, np.clip(tracks.sum(0), -1, 1), atol=1e-4)
    assert [p.name for p in (tmp_path / "song").iterdir() if p.name.startswith(".")] == []


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    path = save_audio(tmp_path / "keep.wav", tone(), 16000)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="NaN"):
        save_audio(path, np.array([np.nan], np.float32), 16000)
    with pytest.raises(Exception):
        save_audio(path, tone(), 16000, subtype="NOT_A_SUBTYPE")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]
