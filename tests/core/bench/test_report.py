"""The issue's targets, judged on synthetic sweep rows: PASS, FAIL, MISSING, and the ratios they print."""

from __future__ import annotations

import pytest

from synctrack.bench.report import check_targets, linear_fit, loglog_slope


def row(mixer, backend, tracks, time_ms, peak_mib, fraction=None, grid=(128, 8, 256), status="ok"):
    frames, bins, dim = grid
    return {
        "mixer": mixer, "spec": mixer, "backend": backend, "tracks": tracks, "frames": frames, "bins": bins,
        "dim": dim, "tokens": tracks * frames * bins, "status": status, "time_ms": time_ms, "peak_mib": peak_mib,
        "gflops": None if fraction is None else 100.0 * fraction, "matmul_gflops": 100.0, "fraction_of_matmul": fraction,
    }  # fmt: skip


def sweep(speedup=4.0, sdpa_memory=lambda s: 20 + 30 * s, naive_memory=lambda s: 5 + 64 * s * s, fraction=0.7, linear_ratio=0.05):
    rows = []
    for s in (2, 4, 8, 16, 32):
        sdpa_time = 10.0 * s * s
        rows.append(row("global_cross_track", "sdpa", s, sdpa_time, sdpa_memory(s), fraction if s >= 8 else 0.3))
        if s <= 16:
            rows.append(row("global_cross_track", "naive", s, sdpa_time * speedup, naive_memory(s), 0.2))
        else:
            rows.append(row("global_cross_track", "naive", s, None, None, status="skipped"))
        rows.append(row("mix_cross_track", "sdpa", s, 10.0 * 32 * 32 * linear_ratio * s / 32, 10.0 + s, 0.5))
    return rows


def verdicts(rows):
    return [check.verdict for check in check_targets(rows)]


def test_a_sweep_meeting_every_target_passes():
    checks = check_targets(sweep())
    assert [c.verdict for c in checks] == ["PASS"] * 4
    assert "= 4.00x" in checks[0].measured
    assert "naive" in checks[1].measured and "log-log slope" in checks[1].measured
    assert "= 70%" in checks[2].measured
    assert "= 0.050" in checks[3].measured


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"speedup": 2.0}, 0),
        ({"sdpa_memory": lambda s: 5 + 4 * s * s}, 1),  # sdpa memory quadratic: far from a linear fit
        ({"naive_memory": lambda s: 100 + 10 * s}, 1),  # naive memory linear: not the quadratic growth expected
        ({"fraction": 0.5}, 2),
        ({"linear_ratio": 0.2}, 3),
    ],
)
def test_each_target_fails_on_its_own(change, failing):
    expected = ["PASS"] * 4
    expected[failing] = "FAIL"
    assert verdicts(sweep(**change)) == expected


def test_targets_without_their_cases_are_missing_and_say_how_to_measure_them():
    rows = [r for r in sweep() if r["tracks"] < 8]  # no S = 8 or 32, two points for a fit, N < 8192 tokens
    checks = check_targets(rows)
    assert [c.verdict for c in checks] == ["MISSING"] * 4
    assert "synctrack bench attention --grid musicldm-ds2" in checks[0].measured
    assert [c.verdict for c in check_targets([])] == ["MISSING"] * 4


def test_other_grids_do_not_count_for_grid_specific_targets():
    rows = [{**r, "frames": 64, "bins": 4, "dim": 384} for r in sweep()]
    assert verdicts(rows) == ["MISSING", "MISSING", "PASS", "MISSING"]  # the GFLOP/s target holds on any grid


def test_fits():
    assert linear_fit([(1, 3), (2, 5), (3, 7)]) == pytest.approx((1.0, 2.0))
    assert loglog_slope([(2, 12), (4, 48), (8, 192)]) == pytest.approx(2.0)
