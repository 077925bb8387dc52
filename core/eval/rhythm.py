"""IRS, CBS and CBD: the SyncTrack rhythm metrics, as pure functions of beat times.

Input everywhere: ``beats[n][s]``, the beat times (seconds, ascending) of track slot ``s`` of song ``n``; a
missing track is an empty list. The definitions follow the official evaluation scripts exactly (see
docs/metrics.md for each rule and where the scripts differ from the paper's prose):

- IRS (lower is better): per track, the population std of the intervals between consecutive beats, in
  seconds; tracks with fewer than 2 beats are skipped; mean over songs per track slot, then mean over the
  slots that have a value.
- CBS (higher is better): cut ``[0, duration)`` into back-to-back windows ``[i*w, i*w + w)``, ``i < T``
  with ``T = ceil((duration - w) / w) + 1``; per window, the fraction of the song's beating tracks (tracks
  with at least one beat anywhere) that have a beat in it; mean over the windows in which some track has a
  beat (0 when no window has one). A song with at most one beating track is NaN and left out; mean over songs.
  Window edges are exact by default (times in whole microseconds, so a beat on an edge always opens the
  later window); ``paper_compat=True`` uses the scripts' float edges instead, where rounding decides.
- CBD (lower is better): for every ordered pair (reference i, target j != i), each reference beat is matched
  to its closest target beat (a tie goes to the later target beat); the match is kept when it lies in
  ``[r - I_prev/2, r + I_next/2)`` around the reference beat ``r`` (``I_prev``/``I_next`` the neighbouring
  reference intervals, the edge intervals replicated), and its error is divided by the half interval on its
  side (``I_next/2`` when the match is at or after ``r``). A reference with fewer than 2 beats or an empty
  target gives nothing. Errors are pooled per reference track (mean, population std, median), averaged over
  the reference tracks that have any, then over songs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

BeatLists = Sequence[Sequence[ArrayLike]]

CBD_STATISTICS: tuple[str, ...] = ("mean", "std", "median")
# The fewest beats a track needs for a rhythm of its own (one inter-beat interval): IRS skips tracks with
# fewer, CBD gives a reference track with fewer no errors, and ``beating_tracks`` does not count them.
MIN_RHYTHM_BEATS = 2


def as_beats(values: ArrayLike, what: str = "beat times") -> np.ndarray:
    """Beat times as a float64 ``[K]`` array; raises ValueError unless 1-D, finite and ascending."""
    beats = np.asarray(values, dtype=np.float64)
    if beats.ndim != 1:
        raise ValueError(f"{what} must be a 1-D list of seconds, got shape {beats.shape}")
    if not np.isfinite(beats).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    if beats.size > 1 and np.any(np.diff(beats) < 0):
        raise ValueError(f"{what} must be in ascending order")
    return beats


def nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` ignoring NaN; NaN (without a warning) where every value is NaN."""
    values = np.asarray(values, dtype=np.float64)
    valid = ~np.isnan(values)
    count = valid.sum(axis=axis)
    total = np.where(valid, values, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _check_rectangular(beats: BeatLists) -> int:
    widths = {len(row) for row in beats}
    if len(widths) > 1:
        raise ValueError(f"every song needs the same number of track slots, got {sorted(widths)}")
    return widths.pop() if widths else 0


# -- IRS ---------------------------------------------------------------------------------------------------


def interval_std(beats: ArrayLike) -> float:
    """Population std (seconds) of the intervals between consecutive beats; NaN with fewer than 2 beats."""
    beats = as_beats(beats)
    if beats.size < MIN_RHYTHM_BEATS:
        return math.nan
    return float(np.std(np.diff(beats)))


def irs_per_track(beats: BeatLists) -> np.ndarray:
    """``[N, S]`` interval stds of every song and track slot (NaN where a track has fewer than 2 beats)."""
    slots = _check_rectangular(beats)
    return np.array([[interval_std(track) for track in song] for song in beats], dtype=np.float64).reshape(len(beats), slots)


def irs_statistic(per_track: np.ndarray) -> np.ndarray:
    """IRS of ``[..., N, S]`` per-track stds: mean over songs per slot, then over the slots with a value."""
    return nanmean(nanmean(per_track, axis=-2), axis=-1)


# -- CBS ---------------------------------------------------------------------------------------------------


def cbs_windows(duration: float, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and ends ``[T]`` covering ``[0, duration)``, with the official scripts' float arithmetic.

    Only ``paper_compat`` CBS uses these: ``i*w`` and ``i*w + w`` are rounded floats, so a beat exactly on an
    edge may land in either window (``3 * 0.07`` is ``0.21000000000000002``, above a beat at 0.21).
    """
    count = int(np.ceil((duration - window) / window)) + 1
    starts = np.arange(count) * window
    return starts, starts + window


MICROSECONDS = 1_000_000  # exact CBS counts time in whole microseconds


def to_microseconds(seconds: ArrayLike) -> np.ndarray:
    """Seconds as whole microseconds (int64, rounded to the nearest), which absorbs float noise like 0.21 * 1e6."""
    return np.rint(np.asarray(seconds, dtype=np.float64) * MICROSECONDS).astype(np.int64)


def cbs_window_microseconds(window: float) -> int:
    """The CBS window as whole microseconds; ValueError unless it is positive and a whole number of them."""
    scaled = float(window) * MICROSECONDS
    whole = round(scaled) if math.isfinite(scaled) else 0
    if whole < 1 or abs(scaled - whole) > 1e-3:
        raise ValueError(
            f"the CBS window must be a positive whole number of microseconds for exact window edges, got {window} s "
            "(or set paper_compat for the official float edges)"
        )
    return whole


def cbs_window_count(duration: float, window: float) -> int:
    """``T = ceil((D - w) / w) + 1`` computed exactly on ``D`` and ``w`` in whole microseconds (``= ceil(D / w)``)."""
    span, width = int(to_microseconds(duration)), cbs_window_microseconds(window)
    return -((width - span) // width) + 1  # ceil((span - width) / width) + 1 in integers


def cbs_hits(beating: Sequence[np.ndarray], duration: float, window: float, paper_compat: bool = False) -> np.ndarray:
    """``[T, J]``: whether beating track ``j`` has a beat in window ``t`` (windows ``[t*w, t*w + w)``).

    By default exact: a beat at ``b`` microseconds is in window ``b // w`` (``w`` in microseconds), so the
    windows tile the line and a beat on an edge opens the later one. ``paper_compat`` compares the beats
    with the float edges of :func:`cbs_windows`, as the official scripts do.
    """
    if paper_compat:
        starts, ends = cbs_windows(duration, window)
        return np.stack([((b[None, :] >= starts[:, None]) & (b[None, :] < ends[:, None])).any(axis=1) for b in beating], axis=1)
    count, width = cbs_window_count(duration, window), cbs_window_microseconds(window)
    hits = np.zeros((count, len(beating)), dtype=bool)
    limit = (count + 1) * window + 1.0  # beats far outside the windows stay outside, and far from int64 overflow
    for j, beats in enumerate(beating):
        index = to_microseconds(np.clip(beats, -1.0, limit)) // width
        hits[index[(index >= 0) & (index < count)], j] = True
    return hits


def cbs_song(tracks: Sequence[ArrayLike], duration: float, window: float = 0.07, paper_compat: bool = False) -> float:
    """CBS of one song: its ``[S]`` beat lists and its clip length in seconds; NaN with < 2 beating tracks.

    ``paper_compat``: the official scripts' float window edges instead of the exact ones.
    """
    if not window > 0:
        raise ValueError(f"the CBS window must be positive, got {window}")
    if not duration > 0:
        raise ValueError(f"the clip duration must be positive, got {duration}")
    if not paper_compat:
        cbs_window_microseconds(window)  # a window exact edges cannot hold fails here, not only for some songs
    lists = [as_beats(track) for track in tracks]
    beating = [beats for beats in lists if beats.size > 0]
    if len(beating) <= 1:
        return math.nan
    hits = cbs_hits(beating, duration, window, paper_compat)  # hits[t, j]: track j has a beat in window t
    per_window = hits.sum(axis=1)
    active = per_window >= 1
    if not active.any():
        return 0.0  # beats only outside the clip: the official scripts score 0, not NaN
    return float(np.mean(per_window[active] / len(beating)))


def cbs_per_song(beats: BeatLists, durations: ArrayLike, window: float = 0.07, paper_compat: bool = False) -> np.ndarray:
    """``[N]`` CBS of every song (NaN for songs with at most one beating track)."""
    durations = np.asarray(durations, dtype=np.float64)
    if durations.shape != (len(beats),):
        raise ValueError(f"need one duration per song: {len(beats)} songs, durations of shape {durations.shape}")
    return np.array([cbs_song(song, float(d), window, paper_compat) for song, d in zip(beats, durations)], dtype=np.float64)


# -- CBD ---------------------------------------------------------------------------------------------------


def closest_indices(reference: np.ndarray, target: np.ndarray) -> np.ndarray:
    """For each reference beat the index of the closest target beat; a tie goes to the later target beat."""
    if target.size == 1:
        return np.zeros(reference.size, dtype=np.int64)
    right = np.clip(np.searchsorted(target, reference), 1, target.size - 1)
    left = right - 1
    closer_left = (reference - target[left]) < (target[right] - reference)
    return right - closer_left.astype(np.int64)


def cbd_pair(reference: ArrayLike, target: ArrayLike) -> np.ndarray:
    """Normalised errors ``[P]`` of the reference beats paired with a target beat (empty when none pair)."""
    reference, target = as_beats(reference, "reference beats"), as_beats(target, "target beats")
    if reference.size < MIN_RHYTHM_BEATS or target.size == 0:
        return np.zeros(0)
    matched = target[closest_indices(reference, target)]
    errors = np.abs(matched - reference)
    intervals = np.diff(reference)
    previous = np.concatenate([intervals[:1], intervals])
    following = np.concatenate([intervals, intervals[-1:]])
    paired = (matched >= reference - previous * 0.5) & (matched < reference + following * 0.5)
    half = np.where(matched >= reference, following * 0.5, previous * 0.5)
    return errors[paired] / half[paired]


def cbd_per_reference(tracks: Sequence[ArrayLike]) -> np.ndarray:
    """``[S, 3]`` (mean, std, median) of the pooled errors of each reference track of one song (NaN if none)."""
    lists = [as_beats(track) for track in tracks]
    stats = np.full((len(lists), len(CBD_STATISTICS)), np.nan)
    for i, reference in enumerate(lists):
        pooled = [cbd_pair(reference, target) for j, target in enumerate(lists) if j != i]
        errors = np.concatenate(pooled) if pooled else np.zeros(0)
        if errors.size:
            stats[i] = (np.mean(errors), np.std(errors), np.median(errors))
    return stats


def cbd_song(tracks: Sequence[ArrayLike]) -> np.ndarray:
    """``[3]`` CBD (mean, std, median) of one song: the mean over its reference tracks that have errors."""
    return nanmean(cbd_per_reference(tracks), axis=0)


# -- beating tracks ---------------------------------------------------------------------------------------


def beating_counts(beats: BeatLists) -> np.ndarray:
    """``[N]`` number of tracks of each song with at least :data:`MIN_RHYTHM_BEATS` beats (float64)."""
    _check_rectangular(beats)
    return np.array([sum(as_beats(track).size >= MIN_RHYTHM_BEATS for track in song) for song in beats], dtype=np.float64)


# -- whole sets -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IrsScores:
    """``per_track [N, S]`` interval stds, ``per_song [N]`` their mean per song, ``value`` the IRS."""

    per_track: np.ndarray
    per_song: np.ndarray
    per_slot: np.ndarray
    value: float


@dataclass(frozen=True)
class CbsScores:
    """``per_song [N]`` CBS values (NaN for skipped songs) and ``value``, their mean."""

    per_song: np.ndarray
    value: float


@dataclass(frozen=True)
class CbdScores:
    """``per_reference [N, S, 3]``, ``per_song [N, 3]`` and ``value [3]``: (mean, std, median) each."""

    per_reference: np.ndarray
    per_song: np.ndarray
    value: np.ndarray


def irs(beats: BeatLists) -> IrsScores:
    """IRS of a set of songs (see the module docstring)."""
    per_track = irs_per_track(beats)
    return IrsScores(
        per_track=per_track,
        per_song=nanmean(per_track, axis=1) if per_track.size else np.full(len(beats), np.nan),
        per_slot=nanmean(per_track, axis=0),
        value=float(irs_statistic(per_track)) if per_track.size else math.nan,
    )


def cbs(beats: BeatLists, durations: ArrayLike, window: float = 0.07, paper_compat: bool = False) -> CbsScores:
    """CBS of a set of songs with window ``window`` seconds (see the module docstring); ``paper_compat``: the
    official scripts' float window edges instead of the exact ones."""
    per_song = cbs_per_song(beats, durations, window, paper_compat)
    return CbsScores(per_song=per_song, value=float(nanmean(per_song, axis=0)) if per_song.size else math.nan)


def cbd(beats: BeatLists) -> CbdScores:
    """CBD (mean, std, median) of a set of songs (see the module docstring)."""
    slots = _check_rectangular(beats)
    per_reference = np.array([cbd_per_reference(song) for song in beats], dtype=np.float64).reshape(
        len(beats), slots, len(CBD_STATISTICS)
    )
    per_song = nanmean(per_reference, axis=1)
    return CbdScores(per_reference=per_reference, per_song=per_song, value=nanmean(per_song, axis=0))
