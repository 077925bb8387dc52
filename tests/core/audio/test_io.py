"""Audio I/O: formats and rates load correctly; bad files give errors naming the file; writes are atomic."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from synctrack.audio import AudioError, load_audio, save_audio, write_song
from synctrack.audio.io import AudioFormat, audio_format, conversion


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


def test_a_nan_sample_is_located_with_what_to_do(tmp_path):
    audio = np.zeros((50, 2), np.float32)
    audio[17, 1] = np.inf
    audio[30, 0] = np.nan
    soundfile.write(tmp_path / "bad.wav", audio, 16000, subtype="FLOAT")
    with pytest.raises(AudioError) as caught:
        load_audio(tmp_path / "bad.wav")
    message = str(caught.value)
    assert "bad.wav: sample 17 of 50 (channel 1) is inf" in message and "2 sample(s) in all" in message
    assert "regenerate or re-render this file" in message


def test_the_header_says_what_reading_will_convert(tmp_path):
    soundfile.write(tmp_path / "stereo.wav", np.zeros((44100 * 3, 2), np.float32), 44100)
    found = audio_format(tmp_path / "stereo.wav")
    assert found == AudioFormat(frames=132300, sample_rate=44100, channels=2) and found.seconds == 3.0
    assert conversion(found, 16000, 10.24) == ("2 channels averaged to mono; resampled 44100 -> 16000 Hz; "
                                               "3.00 s zero-padded to the clip's 10.24 s")
    assert conversion(found, 44100, 2.0) == "2 channels averaged to mono; 3.00 s cut to the clip's 2.00 s"
    assert conversion(AudioFormat(16000, 16000, 1), 16000, 1.0) is None
    assert conversion(AudioFormat(16000, 16000, 1), 16000) is None
