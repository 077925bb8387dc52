"""One writer per run folder: a second `synctrack train` into a folder in use exits 2 at once, naming the
holder; a lock left by a process that is gone is taken over with a note."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synctrack.cli import main
from synctrack.training.runlock import LOCK_NAME, RunFolderBusy, run_lock

HERE = Path(__file__).parent


def test_a_second_holder_is_refused_and_the_lock_is_free_again_after(tmp_path):
    run = tmp_path / "run"
    with run_lock(run) as note:
        assert note is None
        holder = json.loads((run / LOCK_NAME).read_text())
        assert holder["pid"] == os.getpid() and holder["host"]
        with pytest.raises(RunFolderBusy, match=rf"is being written by another synctrack process \(pid {os.getpid()} on "):
            with run_lock(run):  # another open file: flock refuses it even in the same process
                pass
    assert not run.exists()  # the lock made the folder and nothing else was written: nothing is left
    run.mkdir()
    (run / "log.jsonl").write_text("")
    with run_lock(run):
        pass
    assert (run / LOCK_NAME).read_text() == "" and (run / "log.jsonl").exists()  # emptied, not deleted


def test_two_real_processes_on_one_run_folder(toy_recipe, tmp_path):
    # the first run is long (400 steps of 0.15 s) and stopped by SIGTERM once the second has been refused: a
    # short one could end while the second process is still starting on a loaded machine, and then rightly
    # resume it (seen in CI)
    recipe = toy_recipe(steps=400, checkpoint_every=5)
    env = {**os.environ, "SYNCTRACK_TEST_STEP_DELAY": "0.15", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(HERE / "run_with_toys.py"), "train", str(recipe), "--out", str(tmp_path / "run"), "--no-progress"]
    first = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = tmp_path / "run" / "log.jsonl"
        deadline = time.monotonic() + 120
        while not (log.exists() and '"checkpoint"' in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.poll() is None, first.communicate()
        started = time.monotonic()
        second = subprocess.run([*command, "--resume"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        message = " ".join(second.stderr.split())
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr
        assert f"is being written by another synctrack process (pid {first.pid} on " in message and f"kill {first.pid}" in message
        assert time.monotonic() - started < 30
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=300)
    assert first.returncode == 143, err  # stopped after its checkpoint, as a preempted run is
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert len(steps) >= 5 and steps == list(range(1, len(steps) + 1))  # one trajectory, not two interleaved


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_note(toy_recipe, tmp_path, capsys):
    recipe = toy_recipe(steps=4, checkpoint_every=2)
    run = tmp_path / "run"
    run.mkdir()
    dead = {"pid": 999999, "host": "somewhere", "started": "2026-01-01T00:00:00", "command": "synctrack train old.yaml"}
    (run / LOCK_NAME).write_text(json.dumps(dead))  # written, never flocked: its process is gone
    assert main(["train", str(recipe), "--out", str(run), "--no-progress"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "took over the lock of" in err and "pid 999999 on somewhere" in err and "no longer running" in err
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any(e.get("event") == "lock taken over" and "999999" in e["message"] for e in events)
    assert (run / LOCK_NAME).read_text() == ""


def test_a_shared_run_is_readable_as_the_umask_says(toy_recipe, tmp_path):
    import stat

    previous = os.umask(0o022)
    try:
        assert main(["train", str(toy_recipe(steps=2, checkpoint_every=1, extra="  sample_every: 2\n")),
                     "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    finally:
        os.umask(previous)
    run = tmp_path / "run"
    for path in [run, *run.rglob("*")]:
        if path.name == LOCK_NAME:
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), f"{path.relative_to(tmp_path)}: {oct(mode)}"
