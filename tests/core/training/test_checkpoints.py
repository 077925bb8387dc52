"""Checkpoints: atomic writes (even under SIGKILL), weights-only loading, clear errors for damaged files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from synctrack.training import checkpoint as ckpt
from synctrack.training.rng_state import capture_rng_state, restore_rng_state

RECIPE = "name: toy\n"


def weights(value: float) -> dict[str, torch.Tensor]:
    return {"denoiser.weight": torch.full((4, 4), value), "denoiser.bias": torch.arange(4.0)}


def save(run: Path, step: int, **kwargs) -> Path:
    state = {"version": 1, "step": step, "rng": capture_rng_state(), "nested": {"a": [1, 2.5, "x", None]}}
    return ckpt.save_checkpoint(run, step, weights(float(step)), state, RECIPE, {"layout": {}}, ema_weights=weights(-step), **kwargs)


def test_a_checkpoint_round_trips(tmp_path):
    folder = save(tmp_path, 5)
    loaded = ckpt.load_checkpoint(tmp_path)
    assert loaded["folder"] == folder and folder.name == "step_00000005"
    assert torch.equal(loaded["weights"]["denoiser.weight"], torch.full((4, 4), 5.0))
    assert torch.equal(loaded["ema"]["denoiser.weight"], torch.full((4, 4), -5.0))
    assert loaded["trainer"]["nested"] == {"a": [1, 2.5, "x", None]} and loaded["recipe"] == RECIPE
    assert loaded["meta"]["step"] == 5
    for path in (tmp_path, tmp_path / "checkpoints", folder, folder / "model.safetensors"):
        assert ckpt.resolve_checkpoint(path) == folder


def test_random_states_survive_a_weights_only_round_trip(tmp_path):
    import random

    import numpy as np

    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    save(tmp_path, 1)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    restore_rng_state(ckpt.load_checkpoint(tmp_path)["trainer"]["rng"])
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0]) and (expected[1] == again[1]).all() and expected[2] == again[2]


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    for step in (1, 2, 3, 4):
        save(tmp_path, step, keep=2)
    assert sorted(p.name for p in ckpt.checkpoint_folders(tmp_path / "checkpoints")) == ["step_00000003", "step_00000004"]
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "step_00000004"


def test_a_write_that_fails_half_way_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    save(tmp_path, 1)

    def half_then_fail(path, state):
        Path(path).write_bytes(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "write_trainer_state", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save(tmp_path, 2)
    assert ckpt.latest_checkpoint(tmp_path).name == "step_00000001"
    assert not (tmp_path / "checkpoints" / "step_00000002").exists()
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))
    assert ckpt.load_checkpoint(tmp_path)["trainer"]["step"] == 1


KILLED_WRITER = """
import sys, time
from pathlib import Path
import torch
from synctrack.training import checkpoint as ckpt
from synctrack.training.rng_state import capture_rng_state, restore_rng_state

run = Path(sys.argv[1])
state = {"version": 1, "step": 1}
ckpt.save_checkpoint(run, 1, {"w": torch.ones(64, 64)}, state, "name: toy\\n", {})
real = ckpt.write_weights

def slow(path, tensors, metadata):
    real(path, tensors, metadata)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])   # half of the file is on disk...
    (run / "ready").touch()
    time.sleep(120)                                    # ...when the process is killed

ckpt.write_weights = slow
ckpt.save_checkpoint(run, 2, {"w": torch.full((64, 64), 2.0)}, {"version": 1, "step": 2}, "name: toy\\n", {})
"""


def test_a_process_killed_while_writing_leaves_the_previous_checkpoint_loadable(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER)
    run = tmp_path / "run"
    process = subprocess.Popen([sys.executable, str(script), str(run)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run / "ready").exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the writer never reached the middle of its second checkpoint"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    partial = list((run / "checkpoints").glob(".tmp-step_00000002-*"))
    assert partial and (partial[0] / "model.safetensors").exists()  # the half-written file is there...
    loaded = ckpt.load_checkpoint(run)  # ...but invisible: latest still names the complete checkpoint
    assert loaded["folder"].name == "step_00000001" and torch.equal(loaded["weights"]["w"], torch.ones(64, 64))
    ckpt.save_checkpoint(run, 3, {"w": torch.zeros(1)}, {"version": 1, "step": 3}, "name: toy\n", {})
    assert not list((run / "checkpoints").glob(".tmp-*"))  # the next save clears the debris


def test_saving_a_step_again_leaves_a_complete_checkpoint_wherever_a_kill_strikes(tmp_path, monkeypatch):
    """A run resumed from an earlier checkpoint saves a step that already has a folder. The run folder is
    copied just before every rename and deletion of that save: each copy is what a SIGKILL at that moment
    leaves. Every one must load step 2 (old or new, never the new one then the old one again), and the next
    save into it must leave no debris."""
    run = tmp_path / "run"
    save(run, 1)
    save(run, 2)
    copies: list[Path] = []

    def copy_first(real):
        def wrapper(*args, **kwargs):
            copies.append(tmp_path / f"killed-{len(copies)}")
            shutil.copytree(run, copies[-1], symlinks=True)
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(os, "replace", copy_first(os.replace))
    monkeypatch.setattr(shutil, "rmtree", copy_first(shutil.rmtree))
    ckpt.save_checkpoint(run, 2, weights(20.0), {"version": 1, "step": 2}, RECIPE, {})
    monkeypatch.undo()
    assert len(copies) >= 4  # latest, the two renames, latest again, the deletion

    seen = [float(ckpt.load_checkpoint(copy)["weights"]["denoiser.weight"][0, 0]) for copy in copies]
    assert set(seen) <= {2.0, 20.0} and seen == sorted(seen), seen  # the old checkpoint, then the new one
    for copy in [*copies, run]:
        ckpt.save_checkpoint(copy, 3, weights(3.0), {"version": 1, "step": 3}, RECIPE, {})
        root = copy / "checkpoints"
        assert sorted(p.name for p in root.iterdir()) == ["latest", "step_00000001", "step_00000002", "step_00000003"], copy
        assert ckpt.load_checkpoint(root / "step_00000002")["trainer"]["step"] == 2


class RunsCode:
    """An object whose unpickling would run a shell command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_trainer_state_whose_pickle_would_run_code_is_refused(tmp_path):
    folder = save(tmp_path, 1)
    marker = tmp_path / "code-ran"
    torch.save({"version": 1, "step": 1, "payload": RunsCode(marker)}, folder / "trainer.pt")
    with pytest.raises(ckpt.CheckpointError) as caught:
        ckpt.load_checkpoint(tmp_path)
    message = str(caught.value)
    assert "refusing to load" in message and "trainer.pt" in message and "would run code" in message
    assert "(it would call posix.system)" in message  # names what the pickle wanted to call
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.safetensors", "ema.safetensors", "trainer.pt"])
def test_a_truncated_file_is_a_clear_error(tmp_path, name):
    folder = save(tmp_path, 1)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 3])
    with pytest.raises(ckpt.CheckpointError, match=f"{name} is damaged or truncated"):
        ckpt.load_checkpoint(folder)


def test_missing_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="checkpoint not found: .*nowhere"):
        ckpt.resolve_checkpoint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint in"):
        ckpt.resolve_checkpoint(tmp_path / "empty")
    folder = save(tmp_path / "run", 1)
    (folder / "trainer.pt").unlink()
    with pytest.raises(ckpt.CheckpointError, match="trainer state not found"):
        ckpt.load_checkpoint(folder)
