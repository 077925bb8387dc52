"""File-backed songs: splits, decoding checked against headers, and the records of a prepared folder."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from synctrack.audio.io import AudioError
from synctrack.data import SourceFile, parse_splits
from synctrack.data.prepare import RECORDS_NAME, read_records
from synctrack.data.songs import _sum_files
from synctrack.errors import UserError


def test_parse_splits():
    allowed = ("train", "validation", "test")
    assert parse_splits("train", allowed) == ["train"]
    assert parse_splits("train+validation", allowed) == ["train", "validation"]
    for bad in ("omitted", "train+omitted", "", "+"):
        with pytest.raises(UserError, match="is not valid: use one of train, validation, test"):
            parse_splits(bad, allowed)


def write(path, seconds, rate, hz):
    samples = (0.25 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)
    soundfile.write(path, samples, rate, subtype="FLOAT")
    return samples


def test_files_are_summed_then_resampled(tmp_path):
    a = write(tmp_path / "a.wav", 0.5, 16000, 200.0)
    b = write(tmp_path / "b.wav", 0.5, 16000, 300.0)
    files = [SourceFile(tmp_path / "a.wav", 8000, 16000), SourceFile(tmp_path / "b.wav", 8000, 16000)]
    assert np.allclose(_sum_files(files, 16000, 8000), a + b)
    downsampled = _sum_files(files, 8000, 4000)
    assert downsampled.shape == (4000,)
    assert np.allclose(downsampled[100:-100], (a + b)[::2][100:-100], atol=5e-3)  # low tones survive decimation


def test_files_at_different_rates_are_resampled_one_by_one(tmp_path):
    write(tmp_path / "a.wav", 0.5, 16000, 200.0)
    write(tmp_path / "b.wav", 0.5, 22050, 200.0)
    files = [SourceFile(tmp_path / "a.wav", 8000, 16000), SourceFile(tmp_path / "b.wav", 11025, 22050)]
    total = _sum_files(files, 8000, 4000)
    reference = 2 * 0.25 * np.sin(2 * np.pi * 200.0 * np.arange(4000) / 8000)
    assert np.allclose(total[100:-100], reference[100:-100], atol=5e-3)


def test_a_file_shorter_than_its_header_is_an_error(tmp_path):
    write(tmp_path / "a.wav", 0.5, 16000, 200.0)
    with pytest.raises(AudioError, match=r"a.wav: decoded 8000 frames but its header announces 9000"):
        _sum_files([SourceFile(tmp_path / "a.wav", 9000, 16000)], 16000, 9000)


def test_records_survive_a_torn_last_line(tmp_path):
    path = tmp_path / RECORDS_NAME
    path.write_text('{"split": "train", "song_id": "A", "status": "ok"}\n{"split": "train", "song_id": "B", "sta')
    assert list(read_records(tmp_path)) == [("train", "A")]
    assert path.read_text().endswith("B\", \"sta")  # reading alone changes nothing
    read_records(tmp_path, repair=True)
    assert path.read_text() == '{"split": "train", "song_id": "A", "status": "ok"}\n'
    path.write_text('{"split": "train", "song_id": "A"}\nnot json\n{"split": "train", "song_id": "C"}\n')
    with pytest.raises(UserError, match=rf"{RECORDS_NAME}:2: damaged record"):
        read_records(tmp_path)


def test_files_unlike_the_rest_of_the_dataset_are_named_once(tmp_path):
    from synctrack.data.songs import SongSource, format_warning

    def song(name, *files):
        return SongSource(name, "train", tuple((file,) for file in files))

    uniform = [song(f"s{i}", SourceFile(tmp_path / f"s{i}-bass.flac", 100, 44100), SourceFile(tmp_path / f"s{i}-drums.flac", 100, 44100))
               for i in range(3)]
    assert format_warning(uniform, 16000) is None
    odd = [*uniform, song("s3", SourceFile(tmp_path / "s3-bass.wav", 50, 22050), SourceFile(tmp_path / "s3-drums.wav", 100, 44100, 2))]
    assert format_warning(odd, 16000) == ("2 file(s) differ from the dataset's mono 44100 Hz files and are converted on "
                                          "reading (averaged to mono, resampled to 16000 Hz): s3-bass.wav (22050 Hz), "
                                          "s3-drums.wav (2 channels)")
