"""The issue's performance targets, checked against an attention sweep's CSV (no timing here: reading only).

Each target is a :class:`Check` with a verdict (``PASS``, ``FAIL``, or ``MISSING`` when the CSV lacks the
cases it needs, with the command that would measure them) and the measured numbers it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

GLOBAL = "global_cross_track"
LINEAR = "mix_cross_track"
DS2 = (128, 8, 256)  # MusicLDM's grid at downsample 2: T' x F' tokens of D channels
SPEEDUP_TARGET = 3.0
LINEAR_FIT_TOLERANCE = 1.5
QUADRATIC_SLOPE = 1.8  # log-log slope above which memory counts as quadratic (exactly quadratic: 2)
MATMUL_FRACTION_TARGET = 0.6
LARGE_SEQUENCE = 8192
LINEAR_TIME_TARGET = 0.1
MEASURE = "synctrack bench attention --grid musicldm-ds2 --tracks 2,4,8,16,32 --mixers global_cross_track,mix_cross_track"


@dataclass(frozen=True)
class Check:
    target: str
    verdict: str  # PASS, FAIL or MISSING
    measured: str


def _ok(rows: Sequence[dict[str, Any]], mixer: str, backend: str | None = None, grid: tuple[int, int, int] | None = DS2) -> list[dict[str, Any]]:
    return [
        row
        for row in rows
        if row["status"] == "ok"
        and row["mixer"] == mixer
        and (backend is None or row["backend"] == backend)
        and (grid is None or (row["frames"], row["bins"], row["dim"]) == grid)
    ]


def _fastest(rows: Sequence[dict[str, Any]], tracks: int) -> dict[str, Any] | None:
    """The fastest of ``rows`` at ``tracks`` (across backends: what a user would run), or None."""
    found = [row for row in rows if row["tracks"] == tracks]
    return min(found, key=lambda row: row["time_ms"]) if found else None


def sdpa_speedup(rows: Sequence[dict[str, Any]]) -> Check:
    target = f"global mixer: sdpa >= {SPEEDUP_TARGET:g}x faster than naive at S=8 on the ds-2 grid 128x8x256"
    naive, sdpa = _fastest(_ok(rows, GLOBAL, "naive"), 8), _fastest(_ok(rows, GLOBAL, "sdpa"), 8)
    if naive is None or sdpa is None:
        return Check(target, "MISSING", f"needs global_cross_track naive and sdpa at S=8 on 128x8x256 ({MEASURE})")
    ratio = naive["time_ms"] / sdpa["time_ms"]
    verdict = "PASS" if ratio >= SPEEDUP_TARGET else "FAIL"
    return Check(target, verdict, f"naive {naive['time_ms']:.1f} ms / sdpa {sdpa['time_ms']:.1f} ms = {ratio:.2f}x")


def linear_fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``y = a + b x`` through ``points``; returns ``(a, b)``."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return mean_y - slope * mean_x, slope


def loglog_slope(points: Sequence[tuple[float, float]]) -> float:
    """The exponent k of ``y ~ x^k`` fitted in log-log space."""
    return linear_fit([(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0])[1]


def memory_growth(rows: Sequence[dict[str, Any]]) -> Check:
    target = (
        f"global mixer memory: sdpa linear in S (every point within {LINEAR_FIT_TOLERANCE:g}x of a linear fit, S=2..16), "
        f"naive quadratic (log-log slope >= {QUADRATIC_SLOPE:g})"
    )
    sdpa = sorted((r["tracks"], r["peak_mib"]) for r in _ok(rows, GLOBAL, "sdpa") if 2 <= r["tracks"] <= 16 and r["peak_mib"])
    naive = sorted((r["tracks"], r["peak_mib"]) for r in _ok(rows, GLOBAL, "naive") if 2 <= r["tracks"] <= 16 and r["peak_mib"])
    if len(sdpa) < 3 or len(naive) < 2:
        return Check(target, "MISSING", f"needs >= 3 sdpa and >= 2 naive global_cross_track points in S=2..16 on 128x8x256 ({MEASURE})")
    intercept, slope = linear_fit(sdpa)
    worst = 1.0
    for tracks, mib in sdpa:
        fitted = intercept + slope * tracks
        worst = max(worst, math.inf if fitted <= 0 else max(mib / fitted, fitted / mib))
    naive_slope = loglog_slope(naive)
    verdict = "PASS" if worst <= LINEAR_FIT_TOLERANCE and naive_slope >= QUADRATIC_SLOPE else "FAIL"
    sdpa_text = ", ".join(f"S={t}: {m:.0f}" for t, m in sdpa)
    naive_text = ", ".join(f"S={t}: {m:.0f}" for t, m in naive)
    return Check(
        target,
        verdict,
        f"sdpa MiB {sdpa_text}; fit {intercept:.0f} + {slope:.1f} S, worst point {worst:.2f}x off "
        f"(log-log slope {loglog_slope(sdpa):.2f}); naive MiB {naive_text}, log-log slope {naive_slope:.2f}",
    )


def matmul_fraction(rows: Sequence[dict[str, Any]]) -> Check:
    target = f"global mixer attains >= {MATMUL_FRACTION_TARGET:.0%} of the measured fp32 matmul GFLOP/s at N >= {LARGE_SEQUENCE} tokens"
    large = [r for r in _ok(rows, GLOBAL, grid=None) if r["tokens"] >= LARGE_SEQUENCE and r["fraction_of_matmul"] is not None]
    if not large:
        return Check(target, "MISSING", f"needs global_cross_track cases with S*T'*F' >= {LARGE_SEQUENCE} tokens ({MEASURE})")
    best: dict[tuple, dict[str, Any]] = {}  # per grid and track count, the fastest backend
    for row in large:
        key = (row["frames"], row["bins"], row["dim"], row["tracks"])
        if key not in best or row["fraction_of_matmul"] > best[key]["fraction_of_matmul"]:
            best[key] = row
    lowest = min(row["fraction_of_matmul"] for row in best.values())
    details = ", ".join(
        f"N={r['tokens']} ({r['backend']}): {r['gflops']:.0f} GFLOP/s = {r['fraction_of_matmul']:.0%}"
        for r in sorted(best.values(), key=lambda r: r["tokens"])
    )
    matmul = large[0]["matmul_gflops"]
    verdict = "PASS" if lowest >= MATMUL_FRACTION_TARGET else "FAIL"
    return Check(target, verdict, f"matmul {matmul:.0f} GFLOP/s; {details}")


def linear_mixer_time(rows: Sequence[dict[str, Any]]) -> Check:
    target = f"linear mixer (mix_cross_track) time at S=32 < {LINEAR_TIME_TARGET:g} x the global mixer's (fastest backend of each, 128x8x256)"
    linear, full = _fastest(_ok(rows, LINEAR), 32), _fastest(_ok(rows, GLOBAL), 32)
    if linear is None or full is None:
        return Check(target, "MISSING", f"needs mix_cross_track and global_cross_track at S=32 on 128x8x256 ({MEASURE})")
    ratio = linear["time_ms"] / full["time_ms"]
    verdict = "PASS" if ratio < LINEAR_TIME_TARGET else "FAIL"
    return Check(
        target,
        verdict,
        f"mix {linear['time_ms']:.1f} ms ({linear['backend']}) / global {full['time_ms']:.1f} ms ({full['backend']}) = {ratio:.3f}",
    )


TARGETS = (sdpa_speedup, memory_growth, matmul_fraction, linear_mixer_time)


def check_targets(rows: Sequence[dict[str, Any]]) -> list[Check]:
    """Every target of the issue against the rows of one attention sweep."""
    return [target(rows) for target in TARGETS]
