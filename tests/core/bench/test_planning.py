"""Planning a sweep without measuring: declared FLOPs, the naive memory rule, skip reasons, result rows."""

from __future__ import annotations

import pytest

from synctrack import UserError
from synctrack.attention import AttentionShape, naive_peak_bytes
from synctrack.bench import attention, model
from synctrack.bench.options import GRIDS, Grid, parse_mixers
from synctrack.bench.results import GIB
from synctrack.bench.runner import Settings

DS2 = GRIDS["musicldm-ds2"]


def test_attention_flops_and_score_bytes_by_hand():
    shape = AttentionShape(sequences=2, queries=3, keys=5, heads=4, head_dim=8)
    assert shape.flops == 2 * 4 * 3 * 5 * (4 * 8)  # q k^T and weights v: 2 * Nq * Nk * D each, per sequence
    assert shape.score_bytes() == 2 * 4 * 3 * 5 * 4
    assert naive_peak_bytes([shape, AttentionShape(1, 1, 1, 1, 1)]) == 2 * shape.score_bytes()
    assert naive_peak_bytes([]) == 0


def test_the_issue_s_cost_formulas_on_the_ds2_grid():
    """global 4 (S N)^2 D, time frame 4 T' (S F')^2 D, time cell 4 T' F' S^2 D, mix 4 S N^2 D; N = 1024, D = 256."""
    mixers = parse_mixers("global_cross_track,time_cross_track:scope=frame,time_cross_track:scope=cell,mix_cross_track", head_dim=32)
    cases = attention.plan(mixers, ["sdpa"], [8], DS2, batch=1, device="cpu", memory_limit=None)
    flops = {case.mixer.label: case.flops for case in cases}
    n, d, s = 128 * 8, 256, 8
    assert flops == {
        "global_cross_track": 4 * (s * n) ** 2 * d,
        "time_cross_track:scope=frame": 4 * 128 * (s * 8) ** 2 * d,
        "time_cross_track:scope=cell": 4 * 128 * 8 * s**2 * d,
        "mix_cross_track": 4 * s * n**2 * d,
    }
    assert flops["global_cross_track"] == 68_719_476_736  # 68.7 GFLOP for one song of 8 tracks


def test_naive_scores_that_would_not_fit_are_skipped_with_what_they_need():
    """Global attention at S = 32 on ds-2: 8 heads x 32768^2 fp32 scores = 32 GiB, two alive at once."""
    (choice,) = parse_mixers("global_cross_track", head_dim=32)
    cases = attention.plan([choice], ["naive", "sdpa"], [8, 32], DS2, batch=1, device="cpu", memory_limit=16 * GIB)
    skips = {(case.backend, case.tracks): case.skip for case in cases}
    assert skips[("naive", 8)] is None  # 2 x 2 GiB fits in 16 GiB
    assert skips[("naive", 32)] == "needs 64.0 GiB for the naive N^2 scores (16.0 GiB usable)"
    assert skips[("sdpa", 32)] is None  # never materialises the scores
    assert attention.naive_skip_reason(cases[0].shapes, None) is None  # unknown memory: try it


def test_xformers_on_cpu_is_skipped_with_the_reason():
    (choice,) = parse_mixers("mix_cross_track", head_dim=32)
    cases = attention.plan([choice], ["xformers"], [2], Grid(4, 2, 32), batch=1, device="cpu", memory_limit=GIB)
    assert "xformers" in cases[0].skip and ("not installed" in cases[0].skip or "only on cuda" in cases[0].skip)


def test_cases_come_in_mixer_backend_track_order():
    mixers = parse_mixers("global_cross_track,mix_cross_track", head_dim=32)
    cases = attention.plan(mixers, ["naive", "sdpa"], [4, 2], Grid(4, 2, 32), batch=3, device="cpu", memory_limit=GIB)
    assert [(c.mixer.name, c.backend, c.tracks) for c in cases] == [
        (m, b, s) for m in ("global_cross_track", "mix_cross_track") for b in ("naive", "sdpa") for s in (4, 2)
    ]
    assert cases[0].tokens == 4 * 8 and cases[0].job(Settings())["batch"] == 3


def test_a_width_the_heads_cannot_split_is_a_user_error():
    mixers = parse_mixers("global_cross_track", head_dim=32)
    with pytest.raises(UserError, match=r"--mixers global_cross_track: cannot be built for 48-channel tokens: .*head_dim 32"):
        attention.plan(mixers, ["sdpa"], [2], Grid(4, 2, 48), batch=1, device="cpu", memory_limit=None)


def test_case_rows_derive_gflops_from_the_declared_flops():
    (choice,) = parse_mixers("global_cross_track", head_dim=32)
    (case,) = attention.plan([choice], ["sdpa"], [8], DS2, batch=1, device="cpu", memory_limit=None)
    result = {"times": [0.5, 0.4, 0.6], "peak_bytes": 96 * 2**20, "memory_method": "VmHWM", "threads": 2}
    row = attention.case_row(case, result, matmul_gflops=200.0, device="cpu")
    assert row["status"] == "ok" and row["runs"] == 3 and row["time_ms"] == pytest.approx(500.0)
    assert row["time_min_ms"] == pytest.approx(400.0) and row["peak_mib"] == pytest.approx(96.0)
    assert row["gflops"] == pytest.approx(68.719476736 / 0.5)
    assert row["fraction_of_matmul"] == pytest.approx(68.719476736 / 0.5 / 200.0)
    assert (row["heads"], row["head_dim"], row["tokens"]) == (8, 32, 8192)
    failed = attention.case_row(case, {"error": "killed by SIGKILL (out of memory?)"}, 200.0, "cpu")
    assert failed["status"] == "failed" and failed["reason"] == "killed by SIGKILL (out of memory?)" and "time_ms" not in failed


def test_model_plan_measures_each_track_count_without_then_with_mixers(repo):
    from synctrack import load_recipe

    recipe = load_recipe(repo / "recipes/tiny.yaml")
    cases = model.plan("recipes/tiny.yaml", recipe, ["model.denoiser.dropout=0.0"], [1, 4], (16, 8), batch=2)
    assert [(c.tracks, c.variant) for c in cases] == [(1, "without mixers"), (1, "with mixers"), (4, "without mixers"), (4, "with mixers")]
    assert cases[0].overrides == ("model.denoiser.dropout=0.0", "model.denoiser.mixers=[]")
    assert cases[1].overrides == ("model.denoiser.dropout=0.0",) and cases[1].mixers == "global_cross_track+time_cross_track"
    bare = load_recipe(repo / "recipes/ablations/no-mixers.yaml")
    assert [c.variant for c in model.plan("x.yaml", bare, [], [2], (16, 8), 1)] == ["without mixers"]


def test_model_overheads_are_ratios_to_the_run_without_mixers():
    rows = [
        {"tracks": 2, "variant": "without mixers", "status": "ok", "time_ms": 100.0, "peak_mib": 50.0},
        {"tracks": 2, "variant": "with mixers", "status": "ok", "time_ms": 150.0, "peak_mib": 60.0},
        {"tracks": 4, "variant": "without mixers", "status": "failed"},
        {"tracks": 4, "variant": "with mixers", "status": "ok", "time_ms": 300.0, "peak_mib": 90.0},
    ]
    model.add_overheads(rows)
    assert rows[1]["time_overhead"] == pytest.approx(1.5) and rows[1]["memory_overhead"] == pytest.approx(1.2)
    assert "time_overhead" not in rows[3] and "time_overhead" not in rows[0]


def test_meta_build_takes_no_memory():
    (choice,) = parse_mixers("global_cross_track", head_dim=32)
    built = attention.build_on_meta(choice, 640)
    assert all(p.device.type == "meta" for p in built.parameters())
    assert built.attention_shapes(2, 3, (32, 2))[0] == AttentionShape(2, 3 * 64, 3 * 64, 20, 32)
