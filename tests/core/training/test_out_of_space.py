"""A full disk (or a read-only, vanished folder) ends a run with one message and exit 2: what was being
written, where, how much space, the last complete checkpoint and how to go on; nothing half-written stays."""

from __future__ import annotations

import errno
import json

import pytest

from synctrack.cli import main
from synctrack.files import WriteFailure, atomic_folder, atomic_path, write_json_atomically
from synctrack.training import checkpoint as ckpt


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("writer", ["write_weights", "write_trainer_state"])
def test_a_checkpoint_that_does_not_fit_stops_the_run_with_the_last_good_one(toy_recipe, tmp_path, capsys, monkeypatch, writer):
    real = getattr(ckpt, writer)
    calls = []

    def second_save_fails(path, *args, **kwargs):
        calls.append(path)
        if "step_00000004" in str(path):
            no_space()
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ckpt, writer, second_save_fails)
    run = tmp_path / "run"
    code = main(["train", str(toy_recipe(steps=6, checkpoint_every=2)), "--out", str(run), "--no-progress"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "Traceback" not in err
    assert f"step 4: out of space writing checkpoint step_00000004 to {run / 'checkpoints'}" in err
    assert "is free there" in err and f"the last complete checkpoint is {run / 'checkpoints' / 'step_00000002'}" in err
    assert "--resume" in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", "step_00000002"]  # no .tmp-*
    assert ckpt.load_checkpoint(run)["folder"].name == "step_00000002"
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if "event" in line]
    assert events[-1]["event"] == "save failed"


def test_a_library_error_on_a_nearly_full_disk_counts_as_out_of_space(toy_recipe, tmp_path, capsys, monkeypatch):
    import synctrack.files as files

    def torch_zip_error(path, *args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 641600 vs 641492")

    monkeypatch.setattr(ckpt, "write_trainer_state", torch_zip_error)
    monkeypatch.setattr(files, "_free_bytes", lambda path: 4096)
    code = main(["train", str(toy_recipe(steps=2, checkpoint_every=2)), "--out", str(tmp_path / "run"), "--no-progress"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "out of space writing checkpoint step_00000002" in err and "4.0 KB is free there" in err
    assert "no checkpoint of this run is complete yet" in err


def test_a_log_line_that_does_not_fit_names_the_log(toy_recipe, tmp_path, capsys, monkeypatch):
    import synctrack.training.logs as logs

    class FullDisk:
        @staticmethod
        def dumps(*args, **kwargs):
            no_space()

    monkeypatch.setattr(logs, "json", FullDisk)
    code = main(["train", str(toy_recipe(steps=2, checkpoint_every=2)), "--out", str(tmp_path / "run"), "--no-progress"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "out of space writing the training log to" in err and "log.jsonl" in err


@pytest.mark.parametrize(("code", "fragment"), [(errno.ENOSPC, "out of space writing r.json"),
                                                (errno.EROFS, "cannot write r.json to"),
                                                (errno.ENOENT, "the folder vanished while writing")])
def test_the_atomic_writers_turn_place_failures_into_one_message_and_leave_nothing(tmp_path, code, fragment):
    with pytest.raises(WriteFailure, match=fragment):
        with atomic_path(tmp_path / "r.json"):
            raise OSError(code, "failed")
    with pytest.raises(WriteFailure, match=fragment.replace("r.json", "song")):
        with atomic_folder(tmp_path / "song") as staging:
            (staging / "a.wav").write_bytes(b"x")
            raise OSError(code, "failed")
    assert list(tmp_path.iterdir()) == []


def test_a_bug_is_not_taken_for_a_full_disk(tmp_path):
    with pytest.raises(ValueError, match="a bug"):
        with atomic_path(tmp_path / "r.json"):
            raise ValueError("a bug")
    write_json_atomically(tmp_path / "r.json", {"ok": 1})
    assert json.loads((tmp_path / "r.json").read_text()) == {"ok": 1}


def test_audio_and_reports_on_a_full_disk(tmp_path, monkeypatch):
    import numpy as np
    import soundfile

    import synctrack.files as files
    from synctrack.audio import save_audio

    def libsndfile_error(*args, **kwargs):
        raise RuntimeError("Error : System error.")  # what libsndfile says when the disk fills

    monkeypatch.setattr(soundfile, "write", libsndfile_error)
    monkeypatch.setattr(files, "_free_bytes", lambda path: 0)
    with pytest.raises(WriteFailure, match="out of space writing a.wav"):
        save_audio(tmp_path / "a.wav", np.zeros(16, np.float32), 8000)
    assert list(tmp_path.iterdir()) == []
