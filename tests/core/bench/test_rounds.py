"""``--rounds``: the sweep runs its cases alternately, round after round, and pools each case's timed calls."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from synctrack.bench.runner import merge_rounds, run_jobs
from synctrack.cli.main import build_parser


def quiet() -> Console:
    return Console(file=io.StringIO())


def recording_launcher(results: dict[str, list[dict]]):
    """A launcher that hands out each job's next canned result and records the order jobs ran in."""
    order: list[str] = []

    def launch(job):
        order.append(job["name"])
        return results[job["name"]].pop(0)

    return launch, order


def timed(*seconds: float, peak: int = 100) -> dict:
    return {"times": list(seconds), "peak_bytes": peak, "memory_method": "VmHWM"}


def test_rounds_alternate_the_cases_and_pool_their_calls():
    launch, order = recording_launcher({
        "a": [timed(1.0, 2.0, peak=100), timed(3.0, peak=300), timed(4.0, peak=200)],
        "b": [timed(5.0), timed(6.0), timed(7.0)],
    })  # fmt: skip
    jobs = [("a", {"name": "a"}), ("skipped", None), ("b", {"name": "b"})]
    a, skipped, b = run_jobs(jobs, launch, quiet(), rounds=3)
    assert order == ["a", "b", "a", "b", "a", "b"]
    assert a["times"] == [1.0, 2.0, 3.0, 4.0] and a["peak_bytes"] == 300 and a["rounds"] == 3
    assert b["times"] == [5.0, 6.0, 7.0]
    assert skipped is None


def test_one_round_returns_each_result_as_the_worker_gave_it():
    launch, order = recording_launcher({"a": [timed(1.0)], "b": [timed(2.0)]})
    results = run_jobs([("a", {"name": "a"}), ("b", {"name": "b"})], launch, quiet())
    assert order == ["a", "b"] and results == [timed(1.0), timed(2.0)]


def test_a_case_that_failed_is_not_run_again_and_stays_failed():
    launch, order = recording_launcher({
        "a": [timed(1.0), {"error": "out of memory"}],
        "b": [{"error": "killed by SIGKILL"}],
        "c": [timed(2.0), timed(3.0), timed(4.0)],
    })  # fmt: skip
    a, b, c = run_jobs([(name, {"name": name}) for name in "abc"], launch, quiet(), rounds=3)
    assert order == ["a", "b", "c", "a", "c", "c"]
    assert a == {"error": "out of memory"} and b == {"error": "killed by SIGKILL"}
    assert c["times"] == [2.0, 3.0, 4.0]


def test_a_stop_in_the_first_round_ends_the_sweep_there():
    launch, order = recording_launcher({"a": [timed(1.0)], "b": [{"invalid": "grid"}], "c": []})
    results = run_jobs([(name, {"name": name}) for name in "abc"], launch, quiet(),
                       stop=lambda result: "invalid" in result, rounds=2)  # fmt: skip
    assert order == ["a", "b"]
    assert results == [timed(1.0), {"invalid": "grid"}]


def test_merge_keeps_the_first_round_s_other_fields():
    first = {**timed(1.0), "parameters": 7, "threads": 2}
    merged = merge_rounds([first, {**timed(2.0), "parameters": 7, "threads": 2}])
    assert merged["parameters"] == 7 and merged["threads"] == 2 and merged["times"] == [1.0, 2.0]
    assert first["times"] == [1.0]  # the worker's own result is not changed


def test_the_model_sweep_with_rounds_times_each_case_in_every_round(tmp_path, repo, monkeypatch):
    monkeypatch.chdir(repo)
    seen = []

    def launch(job):  # canned timings: the case (tracks, with or without mixers) in the order the sweep asks
        mixers = "mixers=[]" not in " ".join(job["overrides"])
        seen.append((job["tracks"], mixers))
        return {"times": [0.010 * len(seen)], "peak_bytes": 2**20, "memory_method": "VmHWM", "parameters": 1, "channels": 4}

    args = build_parser().parse_args(["bench", "model", "recipes/tiny.yaml", "--tracks", "1,2", "--grid", "8x4",
                                      "--repeats", "1", "--rounds", "2", "--out", str(tmp_path)])  # fmt: skip
    assert args.handler(args, launch=launch) == 0
    assert seen == [(1, False), (1, True), (2, False), (2, True)] * 2
    with (tmp_path / "model-tiny.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    # case k ran as calls k and k + 4: its median is the mean of the two, its runs 2
    assert [float(row["time_ms"]) for row in rows] == pytest.approx([30.0, 40.0, 50.0, 60.0])
    assert [row["runs"] for row in rows] == ["2"] * 4
    meta = json.loads((tmp_path / "model-tiny.json").read_text())
    assert "--rounds 2" in meta["command"] and meta["rounds"] == 2


def test_rounds_must_be_positive(capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["bench", "model", "recipes/tiny.yaml", "--rounds", "0"])
    assert stopped.value.code == 2
    assert "--rounds" in capsys.readouterr().err
