"""Atomic writes: the old file survives a failed write; the new one appears whole, with ordinary permissions."""

from __future__ import annotations

import os
import stat

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
