"""``synctrack bench``: bad arguments exit 2 before anything is measured; small sweeps write their CSV,
PNG and JSON; the report reads a CSV. Nothing here asserts on a timing."""

from __future__ import annotations

import csv
import json

import pytest

from synctrack import UserError
from synctrack.bench.runner import in_process_launcher
from synctrack.cli import main
from synctrack.cli.main import build_parser

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["attention", "--tracks", "0,2"], "--tracks '0,2': '0' is not a positive track count"),
        (["attention", "--grid", "128x8"], "--grid '128x8' is not a grid"),
        (["attention", "--grid", "musicldm-ds3"], "did you mean"),
        (["attention", "--mixers", "global_cross_trak"], "did you mean 'global_cross_track'?"),
        (["attention", "--backends", "naive,flash"], "unknown attention backend 'flash'"),
        (["attention", "--grid", "4x2x48"], "cannot be built for 48-channel tokens"),
        (["attention", "--grid", "4x2x32", "--device", "cuda"], None),  # only an error without CUDA
        (["model", "recipes/none.yaml"], "recipe file not found: recipes/none.yaml"),
        (["model", "recipes/tiny.yaml", "model.denoiser"], "bad override 'model.denoiser'"),
        (["model", "recipes/tiny.yaml", "model.denoiser.base_channel=8"], "unknown argument 'base_channel'"),
        (["model", "recipes/tiny.yaml", "--grid", "256"], "--grid '256' is not a latent grid"),
        (["model", "recipes/tiny.yaml", "--tracks", "2,2"], "--tracks '2,2': 2 is listed twice"),
        (["report", "nowhere.csv"], "results file not found: nowhere.csv"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_message(capsys, monkeypatch, repo, argv, fragment):
    import torch

    monkeypatch.chdir(repo)
    if fragment is None:
        if torch.cuda.is_available():
            pytest.skip("CUDA is available here")
        fragment = "--device cuda: torch sees no CUDA device here"
    code, out, err = run(capsys, "bench", *argv)
    assert code == 2 and fragment in err and "Traceback" not in out + err
    assert "sweep:" not in out  # nothing was planned for measurement


@pytest.mark.parametrize("argv", [["attention", "--repeats", "0"], ["attention", "--batch", "x"], ["model"], ["attention", "--budget", "-1"]])
def test_malformed_options_are_argparse_errors(capsys, argv):
    with pytest.raises(SystemExit) as caught:
        main(["bench", *argv])
    assert caught.value.code == 2
    assert "usage: synctrack bench" in capsys.readouterr().err


def parse(*argv):
    return build_parser().parse_args(["bench", *argv])


def test_a_tiny_attention_sweep_writes_csv_png_and_json(tmp_path, capsys):
    args = parse("attention", "--tracks", "1,2", "--grid", "4x2x32", "--repeats", "1", "--matmul-size", "64", "--threads", "1",
                 "--mixers", "global_cross_track,mix_cross_track,time_cross_track:scope=cell", "--out", str(tmp_path))  # fmt: skip
    assert args.handler(args, launch=in_process_launcher) == 0
    out = capsys.readouterr().out
    assert "fp32 matmul 64^2:" in out and "mixer forward on 4x2x32 tokens" in out
    with (tmp_path / "attention.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["spec"], r["backend"], r["tracks"]) for r in rows] == [
        (m, b, s) for m in ("global_cross_track", "mix_cross_track", "time_cross_track:scope=cell")
        for b in ("naive", "sdpa", "xformers") for s in ("1", "2")
    ]  # fmt: skip
    for r in rows:
        if r["backend"] == "xformers":  # no CUDA here (or no xformers): skipped with the reason, never attempted
            assert r["status"] == "skipped" and "xformers" in r["reason"] and r["time_ms"] == ""
            continue
        assert r["status"] == "ok" and int(r["runs"]) == 1 and float(r["time_ms"]) > 0 and r["memory_method"]
        flops = float(r["attention_gflop"]) * 1e9
        assert float(r["gflops"]) == pytest.approx(flops / (float(r["time_ms"]) / 1e3) / 1e9, rel=1e-3)
        assert float(r["fraction_of_matmul"]) == pytest.approx(float(r["gflops"]) / float(r["matmul_gflops"]), rel=1e-3)
    global_s2 = next(r for r in rows if r["spec"] == "global_cross_track" and r["tracks"] == "2")
    assert float(global_s2["attention_gflop"]) * 1e9 == pytest.approx(4 * 16**2 * 32)  # 4 (S N)^2 D
    assert (tmp_path / "attention.png").read_bytes().startswith(PNG_MAGIC)
    meta = json.loads((tmp_path / "attention.json").read_text())
    assert meta["command"].startswith("synctrack bench attention --tracks 1,2 --mixers global_cross_track,")
    assert meta["matmul"]["size"] == 64 and meta["matmul"]["gflops_best"] > 0
    assert meta["grid"] == {"name": "", "frames": 4, "bins": 2, "dim": 32}


def test_a_tiny_model_sweep_reports_the_overhead_of_the_mixers(tmp_path, capsys, repo, monkeypatch):
    monkeypatch.chdir(repo)
    args = parse("model", "recipes/tiny.yaml", "model.denoiser.dropout=0.0", "--tracks", "1,2", "--grid", "8x4",
                 "--warmup", "0", "--repeats", "1", "--threads", "1", "--out", str(tmp_path))  # fmt: skip
    assert args.handler(args, launch=in_process_launcher) == 0
    assert "recipes/tiny.yaml: one training step" in capsys.readouterr().out
    with (tmp_path / "model-tiny.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["tracks"], r["variant"]) for r in rows] == [
        ("1", "without mixers"), ("1", "with mixers"), ("2", "without mixers"), ("2", "with mixers")
    ]
    for r in rows:
        assert r["status"] == "ok" and r["channels"] == "4" and (r["frames"], r["bins"]) == ("8", "4")
    without, with_ = rows[2], rows[3]
    assert int(with_["parameters"]) > int(without["parameters"])  # the mixers' weights
    assert float(with_["time_overhead"]) == pytest.approx(float(with_["time_ms"]) / float(without["time_ms"]), rel=1e-3)
    assert float(with_["memory_overhead"]) == pytest.approx(float(with_["peak_mib"]) / float(without["peak_mib"]), rel=1e-3)
    assert (tmp_path / "model-tiny.png").read_bytes().startswith(PNG_MAGIC)
    meta = json.loads((tmp_path / "model-tiny.json").read_text())
    assert meta["command"].startswith("synctrack bench model recipes/tiny.yaml model.denoiser.dropout=0.0 --tracks 1,2 --grid 8x4")


def test_a_grid_the_denoiser_refuses_stops_the_sweep_with_a_user_error(tmp_path, repo, monkeypatch):
    monkeypatch.chdir(repo)
    args = parse("model", "recipes/tiny.yaml", "--tracks", "1,2", "--grid", "9x4", "--warmup", "0", "--repeats", "1", "--out", str(tmp_path))
    with pytest.raises(UserError, match=r"tiny.yaml: the denoiser refused a \[B, S, C, T, F\] = \[1, 1, 4, 9, 4\] input: latent grid 9 x 4 must be divisible by 2 \(2 levels\); choose another --grid"):
        args.handler(args, launch=in_process_launcher)
    assert not (tmp_path / "model-tiny.csv").exists()


def test_end_to_end_each_case_in_a_fresh_process_then_the_report(cli, tmp_path, capsys):
    """The real thing, tiny: the matmul calibration and the case run as `python -m synctrack.bench.worker`."""
    result = cli("bench", "attention", "--tracks", "2", "--grid", "4x2x32", "--repeats", "1", "--matmul-size", "64",
                 "--threads", "1", "--mixers", "mix_cross_track", "--backends", "sdpa,xformers", "--out", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    with (tmp_path / "attention.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["backend"], r["status"]) for r in rows] == [("sdpa", "ok"), ("xformers", "skipped")]
    assert rows[0]["memory_method"] in ("VmHWM", "ru_maxrss") and rows[0]["threads"] == "1"
    assert (tmp_path / "attention.png").read_bytes().startswith(PNG_MAGIC)

    code, out, _ = run(capsys, "bench", "report", str(tmp_path / "attention.csv"))
    lines = [line for line in out.splitlines() if line.startswith(("PASS:", "FAIL:", "MISSING:"))]
    assert code == 0 and len(lines) == 4 and all(line.startswith("MISSING:") for line in lines)  # nothing at ds-2 sizes
    assert run(capsys, "bench", "report", str(tmp_path / "attention.csv"), "--strict")[0] == 1


def test_table_prints_either_csv_as_markdown(tmp_path, capsys):
    from synctrack.bench.results import ATTENTION_COLUMNS, MODEL_COLUMNS, write_csv

    base = {"spec": "mix_cross_track", "mixer": "mix_cross_track", "tracks": 8, "tokens": 8192, "attention_gflop": 8.59}
    write_csv(tmp_path / "attention.csv", [
        {**base, "backend": "sdpa", "status": "ok", "time_ms": 298.4, "peak_mib": 58.2, "gflops": 28.8, "fraction_of_matmul": 0.78},
        {**base, "backend": "naive", "status": "skipped", "reason": "needs 4.0 GiB for the naive N^2 scores (2.0 GiB usable)"},
        {**base, "backend": "xformers", "status": "skipped", "reason": "the module 'xformers' is not installed"},
    ], ATTENTION_COLUMNS)  # fmt: skip
    code, out, _ = run(capsys, "bench", "table", str(tmp_path / "attention.csv"))
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("| mixer | backend | S | tokens S N | GFLOP | time (ms) |")
    assert lines[2] == "| `mix_cross_track` | sdpa | 8 | 8192 | 8.59 | 298.4 | 58 | 28.8 | 78% |  |"
    assert lines[3] == "| `mix_cross_track` | naive | 8 | 8192 | 8.59 |  |  |  |  | skipped: needs 4.0 GiB for the naive N^2 scores (2.0 GiB usable) |"
    assert len(lines) == 4  # the xformers row (cannot run here) is left out

    write_csv(tmp_path / "model.csv", [
        {"variant": "with mixers", "mixers": "global_cross_track", "tracks": 2, "status": "ok", "time_ms": 1636.3,
         "peak_mib": 125.1, "time_overhead": 2.99, "memory_overhead": 1.24},
    ], MODEL_COLUMNS)  # fmt: skip
    code, out, _ = run(capsys, "bench", "table", str(tmp_path / "model.csv"))
    assert out.strip().splitlines()[2] == "| 2 | with mixers (`global_cross_track`) | 1636 | 125 | 2.99 | 1.24 |  |"


def test_the_model_table_shows_the_spread_and_warns_when_repeats_disagree(tmp_path, capsys, repo, monkeypatch):
    monkeypatch.chdir(repo)
    monkeypatch.setenv("COLUMNS", "80")

    calls = []

    def launch(job):  # the real case, then the times a busy machine would give: S=2 with mixers 10 and 13 ms
        result = in_process_launcher(job)
        calls.append(result)
        result["times"] = [0.010, 0.013] if len(calls) == 4 else [0.010, 0.010]
        return result

    args = parse("model", "recipes/tiny.yaml", "model.denoiser.dropout=0.0", "--tracks", "1,2", "--grid", "8x4",
                 "--warmup", "0", "--repeats", "2", "--threads", "1", "--out", str(tmp_path))  # fmt: skip
    assert args.handler(args, launch=launch) == 0
    captured = capsys.readouterr()
    table = [line.split() for line in captured.out.splitlines() if line.lstrip().startswith(("1 ", "2 "))]
    assert table[3][:6] == ["2", "with", "mixers", "11.5", "10.0-13.0", table[3][5]]
    assert table[2][:5] == ["2", "without", "mixers", "10.0", "10.0-10.0"]
    assert all(len(line.rstrip()) <= 80 for line in captured.out.splitlines())
    warning = " ".join(captured.err.split())
    assert "the repeats of 1 case(s) disagree by more than 20% of their median: with mixers S=2 (26%)" in warning
    with (tmp_path / "model-tiny.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    assert float(rows[3]["time_max_ms"]) == pytest.approx(13.0) and float(rows[3]["time_min_ms"]) == pytest.approx(10.0)


def test_a_sweep_csv_from_before_the_max_column_still_reads(tmp_path):
    from synctrack.bench.results import MODEL_COLUMNS, read_sweep, time_spread, write_csv

    old = [c for c in MODEL_COLUMNS if c != "time_max_ms"]
    write_csv(tmp_path / "old.csv", [{"recipe": "r", "variant": "with mixers", "tracks": 2, "status": "ok", "time_ms": 5.0,
                                      "time_min_ms": 4.0, "runs": 3}], old)  # fmt: skip
    kind, rows = read_sweep(tmp_path / "old.csv")
    assert kind == "model" and rows[0]["time_ms"] == 5.0 and time_spread(rows[0]) is None
    assert time_spread({"status": "ok", "runs": 3, "time_min_ms": 4.0, "time_ms": 5.0, "time_max_ms": 6.0}) == pytest.approx(0.4)
