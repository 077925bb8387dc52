"""Measurement helpers, checked on their logic (never on how fast anything ran)."""

from __future__ import annotations

import signal

import pytest
import torch

from synctrack import UserError
from synctrack.bench import measure
from synctrack.bench.results import ATTENTION_COLUMNS, read_csv, write_csv
from synctrack.bench.runner import describe_failure, in_process_launcher


class FakeClock:
    """perf_counter that advances only when the measured work runs: one 'second' per call."""

    def __init__(self):
        self.now = 0.0
        self.calls = 0

    def time(self):
        return self.now

    def work(self):
        self.calls += 1
        self.now += 1.0


@pytest.mark.parametrize(("warmup", "repeats", "budget", "timed", "total"), [(1, 3, 100.0, 3, 4), (2, 5, 2.5, 3, 5), (0, 4, 0.1, 1, 1)])
def test_time_calls_warms_up_then_repeats_within_the_budget(monkeypatch, warmup, repeats, budget, timed, total):
    clock = FakeClock()
    monkeypatch.setattr(measure.time, "perf_counter", clock.time)
    times = measure.time_calls(clock.work, warmup=warmup, repeats=repeats, budget=budget)
    assert times == [1.0] * timed and clock.calls == total


def test_peak_memory_sees_a_tensor_allocated_and_freed_inside():
    with measure.PeakMemory("cpu") as peak:
        block = torch.ones(16 * 2**20)  # 64 MiB, touched
        del block
    assert peak.method in ("VmHWM", "ru_maxrss")
    if peak.method == "VmHWM":  # ru_maxrss only moves past the process's earlier peak
        assert 60 * 2**20 <= peak.bytes <= 200 * 2**20


def test_available_memory_is_a_positive_byte_count():
    available = measure.available_memory("cpu")
    assert available is None or available > 2**20


def test_a_worker_failure_is_described_in_one_line():
    assert describe_failure(-signal.SIGKILL, "") == "killed by SIGKILL (out of memory?)"
    assert describe_failure(-signal.SIGSEGV, "") == "killed by SIGSEGV"
    assert describe_failure(1, "Traceback ...\n  File x\nRuntimeError: boom\n\n") == "RuntimeError: boom"
    assert describe_failure(3, "") == "exit code 3"


def test_the_worker_measures_a_matmul_in_process():
    result = in_process_launcher({"kind": "matmul", "size": 64, "device": "cpu", "warmup": 0, "repeats": 2})
    assert len(result["times"]) == 2 and result["gflops_best"] >= result["gflops_median"] > 0


def test_csv_round_trip_parses_numbers_and_empty_cells(tmp_path):
    rows = [{"mixer": "global_cross_track", "spec": "global_cross_track", "backend": "sdpa", "tracks": 8, "time_ms": 12.5,
             "status": "ok", "reason": None, "fraction_of_matmul": 0.61}]  # fmt: skip
    path = tmp_path / "out" / "attention.csv"
    write_csv(path, rows, ATTENTION_COLUMNS)
    (back,) = read_csv(path)
    assert back["tracks"] == 8 and back["time_ms"] == 12.5 and back["fraction_of_matmul"] == 0.61
    assert back["reason"] is None and back["peak_mib"] is None and back["spec"] == "global_cross_track"
    assert [p.name for p in path.parent.iterdir()] == ["attention.csv"]  # no temporary file left behind


def test_reading_a_missing_or_foreign_csv_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"results file not found: .*gone.csv; run `synctrack bench attention"):
        read_csv(tmp_path / "gone.csv")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match=r"other.csv is not a benchmark CSV of this kind: columns \['mixer'"):
        read_csv(tmp_path / "other.csv")
