"""Atomic writes: the old file survives a failed write; the new one appears whole, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from synctrack.files import atomic_path, write_json_atomically, write_text_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    write_json_atomically(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_parents_are_created_and_permissions_are_ordinary(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_text_atomically(tmp_path / "a" / "b" / "notes.txt", "hello", sync=True)
    finally:
        os.umask(umask)
    assert path.read_text() == "hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_temporary_keeps_the_suffix_writers_rely_on(tmp_path):
    with atomic_path(tmp_path / "x.flac") as temporary:
        assert temporary.suffix == ".flac" and temporary.parent == tmp_path
        temporary.write_bytes(b"data")
    assert (tmp_path / "x.flac").read_bytes() == b"data"


def test_an_atomic_folder_replaces_the_old_one_whole_or_not_at_all(tmp_path):
    from synctrack.files import atomic_folder

    song = tmp_path / "song_000"
    with atomic_folder(song) as staging:
        (staging / "guitar.wav").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(song) as staging:
            (staging / "bass.wav").write_text("new")
            raise RuntimeError("killed mid-song")
    assert [p.name for p in song.iterdir()] == ["guitar.wav"] and [p.name for p in tmp_path.iterdir()] == ["song_000"]
    with atomic_folder(song) as staging:
        (staging / "bass.wav").write_text("new")
    assert [p.name for p in song.iterdir()] == ["bass.wav"]  # no old track beside the new ones
    assert [p.name for p in tmp_path.iterdir()] == ["song_000"]


def test_overwrite_never_empties_the_working_folder_or_home(tmp_path, monkeypatch):
    from synctrack.errors import UserError
    from synctrack.files import clear_folder, output_folder_problem

    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    for folder in (tmp_path, tmp_path.parent, Path.home()):
        assert "refusing to delete its contents" in output_folder_problem(folder, overwrite=True)
        with pytest.raises(UserError, match="refusing to delete the contents"):
            clear_folder(folder)
    assert (tmp_path / "keep.txt").exists()
    (tmp_path / "out" / "old").mkdir(parents=True)
    assert output_folder_problem(tmp_path / "out", overwrite=True) is None
    assert list(clear_folder(tmp_path / "out").iterdir()) == []
