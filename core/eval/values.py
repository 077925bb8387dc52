"""The pure metrics as reported numbers: each value with its per-song values and bootstrap interval.

Metric parts (``synctrack.plugins.metrics``) call these; they hold no arithmetic of their own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..interfaces.evaluation import BeatSet, EmbeddingSet, MetricValue
from . import rhythm
from .bootstrap import bootstrap_ci
from .frechet import fad_estimate


@dataclass(frozen=True)
class Bootstrap:
    """How confidence intervals are drawn: resamples of the songs, coverage, seed."""

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class BeatingSongs:
    """How many tracks of each song of a set beat, against the set's track slots.

    A track *beats* when its beat tracker found at least :data:`rhythm.MIN_RHYTHM_BEATS` (2) beats in it: the
    count of the ``beating_tracks`` metric. A track with no beat drops out of CBS (which then compares fewer
    tracks, so silencing a track raises it); a track with one beat gives CBD and IRS nothing. ``flags`` holds
    the songs with fewer beating tracks than ``tracks``, each with its reason (``"3 of 4 tracks beat (bass: no
    beats)"``); a missing track file counts as a track without beats.
    """

    tracks: int
    counts: dict[str, int]
    flags: dict[str, str]

    @property
    def summary(self) -> str:
        """``"2 of 16 songs: not every track beats"``."""
        return f"{len(self.flags)} of {len(self.counts)} songs: not every track beats"

    def as_dict(self) -> dict[str, object]:
        return {"tracks": self.tracks, "min_beats": rhythm.MIN_RHYTHM_BEATS, "songs": len(self.counts),
                "flagged": len(self.flags), "summary": self.summary, "counts": dict(self.counts),
                "flags": dict(self.flags)}


def beating_songs(beats: BeatSet) -> BeatingSongs:
    """Each song's beating tracks (at least :data:`rhythm.MIN_RHYTHM_BEATS` beats) and the songs that lack some."""
    counts: dict[str, int] = {}
    flags: dict[str, str] = {}
    for song, tracks in zip(beats.songs, beats.beats):
        found = [rhythm.as_beats(track).size for track in tracks]
        silent = [(name, size) for name, size in zip(beats.tracks, found) if size < rhythm.MIN_RHYTHM_BEATS]
        counts[song] = len(found) - len(silent)
        if silent:
            why = ", ".join(f"{name}: {'no' if size == 0 else size} beat{'' if size == 1 else 's'}" for name, size in silent)
            flags[song] = f"{counts[song]} of {len(beats.tracks)} tracks beat ({why})"
    return BeatingSongs(len(beats.tracks), counts, flags)


def _beating_note(beats: BeatSet) -> str:
    """``"; 2 of 16 songs: not every track beats ..."`` for a CBS or CBD note, or nothing when all do."""
    found = beating_songs(beats)
    if not found.flags:
        return ""
    return (f"; {found.summary} (>= {rhythm.MIN_RHYTHM_BEATS} beats each of {found.tracks}), "
            "flagged in the per-song CSV")


def _per_song(songs: list[str], values: np.ndarray) -> dict[str, float]:
    return {song: float(value) for song, value in zip(songs, values)}


def _count(values: np.ndarray) -> int:
    return int((~np.isnan(values)).sum())


def irs_values(beats: BeatSet, bootstrap: Bootstrap = Bootstrap()) -> list[MetricValue]:
    """IRS over all track slots, then per slot."""
    scores = rhythm.irs(beats.beats)
    per_track = scores.per_track.reshape(len(beats.songs), len(beats.tracks))
    low, high = bootstrap_ci(per_track, rhythm.irs_statistic, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
    rows = [
        MetricValue(
            "irs", "all", scores.value, low, high, _count(scores.per_song), "lower",
            _per_song(beats.songs, scores.per_song),
            "std of inter-beat intervals (s); per song: mean over its tracks; value: mean over songs per slot, then over slots",
        )
    ]
    for slot, name in enumerate(beats.tracks):
        column = per_track[:, slot]
        low, high = bootstrap_ci(column, _mean_over_songs, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
        rows.append(
            MetricValue("irs", name, float(scores.per_slot[slot]), low, high, _count(column), "lower",
                        _per_song(beats.songs, column))
        )
    return rows


def cbs_values(beats: BeatSet, window: float = 0.07, bootstrap: Bootstrap = Bootstrap(),
               paper_compat: bool = False) -> list[MetricValue]:
    """CBS with windows of ``window`` seconds; ``paper_compat``: the official scripts' float window edges."""
    scores = rhythm.cbs(beats.beats, beats.durations, window, paper_compat)
    low, high = bootstrap_ci(scores.per_song, _mean_over_songs, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
    skipped = len(beats.songs) - _count(scores.per_song)
    note = f"window {window * 1000:g} ms"
    if paper_compat:
        note += "; PAPER-COMPATIBLE float window edges (a beat on an edge falls by rounding)"
    if skipped:
        note += f"; {skipped} song(s) with at most one track with beats left out"
    note += _beating_note(beats)
    return [MetricValue("cbs", "all", scores.value, low, high, _count(scores.per_song), "higher",
                        _per_song(beats.songs, scores.per_song), note)]


def cbd_values(beats: BeatSet, bootstrap: Bootstrap = Bootstrap()) -> list[MetricValue]:
    """CBD: the mean normalised error (``cbd``), and the std and median (``cbd_std``, ``cbd_median``)."""
    scores = rhythm.cbd(beats.beats)
    rows = []
    beating = _beating_note(beats)
    for index, statistic in enumerate(rhythm.CBD_STATISTICS):
        column = scores.per_song[:, index]
        low, high = bootstrap_ci(column, _mean_over_songs, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
        name = "cbd" if statistic == "mean" else f"cbd_{statistic}"
        rows.append(
            MetricValue(name, "all", float(scores.value[index]), low, high, _count(column), "lower",
                        _per_song(beats.songs, column), f"{statistic} of normalised cross-track beat errors{beating}")
        )
    return rows


def beating_tracks_values(beats: BeatSet, bootstrap: Bootstrap = Bootstrap()) -> list[MetricValue]:
    """Beating tracks: per song, how many of its tracks have a rhythm (at least two beats)."""
    counts = rhythm.beating_counts(beats.beats)
    low, high = bootstrap_ci(counts, _mean_over_songs, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
    value = float(counts.mean()) if counts.size else math.nan
    return [MetricValue("beating_tracks", "all", value, low, high, counts.size, "higher", _per_song(beats.songs, counts),
                        f"tracks with >= {rhythm.MIN_RHYTHM_BEATS} beats per song, of {len(beats.tracks)}; "
                        "CBS and CBD only compare sets whose counts agree")]


def track_correlation_values(songs: list[str], per_song: np.ndarray, bootstrap: Bootstrap = Bootstrap()) -> list[MetricValue]:
    """Track correlation from its ``[N]`` per-song values (NaN for songs with fewer than two sounding tracks)."""
    low, high = bootstrap_ci(per_song, _mean_over_songs, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
    value = float(rhythm.nanmean(per_song, axis=0)) if per_song.size else math.nan
    skipped = len(songs) - _count(per_song)
    note = "mean pairwise Pearson correlation of the tracks' log-mels; 1 = copies; compare with held-out songs"
    if skipped:
        note += f"; {skipped} song(s) with fewer than two sounding tracks left out"
    return [MetricValue("track_correlation", "all", value, low, high, _count(per_song), "lower",
                        _per_song(songs, per_song), note)]


def fad_values(generated: EmbeddingSet, reference: EmbeddingSet, bootstrap: Bootstrap = Bootstrap(200)) -> list[MetricValue]:
    """FAD per track and for the mix, for the names present in both sets (``mix`` last).

    Two rows per name: ``fad``, the bias-corrected estimate with its basic bootstrap interval (which
    contains it), and ``fad_plain``, the plain FD of the full sets, biased upwards, with no interval
    (:func:`synctrack.eval.frechet.fad_estimate`).
    """
    names = [name for name in generated.embeddings if name in reference.embeddings]
    names = [name for name in names if name != "mix"] + (["mix"] if "mix" in names else [])
    comparable = generated.comparable_to_published and reference.comparable_to_published
    base_note = f"embedder {generated.embedder}"
    if not comparable:
        base_note += ": NOT comparable with published FAD (VGGish) numbers"
    rows = []
    for name in names:
        ours = [e for e in generated.embeddings[name] if len(e)]
        theirs = [e for e in reference.embeddings[name] if len(e)]
        rows_gen, rows_ref = sum(len(e) for e in ours), sum(len(e) for e in theirs)
        note = base_note
        if rows_gen < 2 or rows_ref < 2:
            note += f"; too few embeddings ({rows_gen} generated, {rows_ref} reference)"
            rows.append(MetricValue("fad", name, math.nan, math.nan, math.nan, 0, "lower", None, note))
            rows.append(MetricValue("fad_plain", name, math.nan, math.nan, math.nan, 0, "lower", None, note))
            continue
        estimate = fad_estimate(ours, theirs, bootstrap.resamples, bootstrap.confidence, bootstrap.seed)
        width = ours[0].shape[1]
        if min(rows_gen, rows_ref) <= width:
            note += (f"; fewer embeddings ({min(rows_gen, rows_ref)}) than dimensions ({width}): covariance is "
                     "rank-deficient and the bias correction only partial, so compare sets of equal size only")
        if estimate.resamples:
            corrected = (f"; bias-corrected: 2 x plain FD ({estimate.plain:.4g}) - median of {estimate.resamples} "
                         f"resampled FDs ({estimate.resampled_median:.4g}), clipped at 0; basic bootstrap interval")
        else:
            corrected = "; no resamples, so no bias-corrected estimate: see fad_plain"
        if estimate.exceeded:
            corrected += "; the resampling bias is as large as the FD: too few songs to tell it from 0"
        rows.append(MetricValue("fad", name, estimate.value, estimate.ci_low, estimate.ci_high, len(ours), "lower",
                                None, note + corrected))
        rows.append(MetricValue("fad_plain", name, estimate.plain, math.nan, math.nan, len(ours), "lower", None,
                                note + "; plain FD of the full sets, biased upwards for small sets; the interval "
                                "on the fad row belongs to its bias-corrected estimate, not to this value"))
    return rows


def _mean_over_songs(values: np.ndarray) -> np.ndarray:
    """``[B, N, ...]`` -> ``[B, ...]``: mean over songs, skipping NaN."""
    return rhythm.nanmean(values, axis=1)
