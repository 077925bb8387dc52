"""Interfaces of evaluation: beat trackers, embedders and metrics, and the data metrics exchange.

A rhythm metric (``inputs = "beats"``) takes a :class:`BeatSet`: for each song, the beat times of each of
its ``S`` track slots. A distribution metric (``inputs = "embeddings"``) takes two :class:`EmbeddingSet`
(generated and reference) made by its ``embedder``. Both return :class:`MetricValue` rows: a value, its
bootstrap confidence interval and the per-song values behind it. An audio metric (``inputs = "audio"``)
takes a :class:`TrackFiles`: the track files of each song, which it reads itself. The arithmetic lives in
:mod:`synctrack.eval`; metric parts are thin wrappers around it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from .base import PartInterface


@dataclass
class BeatSet:
    """Beat times of a set of songs.

    Attributes:
        songs: ``[N]`` song names.
        tracks: ``[S]`` track-slot names, shared by every song.
        beats: ``[N][S]`` float64 arrays of beat times in seconds, ascending; a missing track and a track
            without beats are both an empty array.
        durations: ``[N]`` clip lengths in seconds (the longest track of each song).
    """

    songs: list[str]
    tracks: list[str]
    beats: list[list[np.ndarray]]
    durations: np.ndarray

    def __post_init__(self) -> None:
        self.durations = np.asarray(self.durations, dtype=np.float64)
        if len(self.beats) != len(self.songs) or self.durations.shape != (len(self.songs),):
            raise ValueError(
                f"a BeatSet of {len(self.songs)} songs needs {len(self.songs)} beat lists and durations, "
                f"got {len(self.beats)} and {self.durations.shape}"
            )
        for song, row in zip(self.songs, self.beats):
            if len(row) != len(self.tracks):
                raise ValueError(f"song {song!r} has {len(row)} beat lists for {len(self.tracks)} track slots")


@dataclass
class TrackFiles:
    """The track files of a set of songs, for metrics that read the audio itself.

    Attributes:
        songs: ``[N]`` song names.
        tracks: ``[S]`` track-slot names, shared by every song.
        files: ``[N][S]`` paths, None where a song lacks the track; for songs held in memory, objects with
            ``waveform`` ``[L]`` and ``sample_rate`` instead. ``synctrack.eval.memory.read_track(entry, rate)``
            reads either kind at ``rate``.
    """

    songs: list[str]
    tracks: list[str]
    files: list[list[Any]]


@dataclass
class EmbeddingSet:
    """Embeddings of a set of songs, per track and for the mix.

    Attributes:
        songs: ``[N]`` song names.
        embeddings: track name (or ``"mix"``) -> ``[N]`` arrays ``[M_i, E]`` (``M_i`` may be 0 for a song
            that lacks the track).
        embedder: the label of the embedder that made them.
        comparable_to_published: whether distances may be compared with published FAD numbers.
    """

    songs: list[str]
    embeddings: dict[str, list[np.ndarray]]
    embedder: str
    comparable_to_published: bool = False


@dataclass
class MetricValue:
    """One number of an evaluation, with its bootstrap confidence interval.

    ``track`` is ``"all"`` for a song-level metric, a track name, or ``"mix"``. ``per_song`` maps each song
    to its own value (NaN where the metric skipped the song), or is None for a set-level metric such as FAD.
    ``n`` counts the songs that contributed.
    """

    metric: str
    track: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    better: Literal["lower", "higher"]
    per_song: dict[str, float] | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        def clean(x: float) -> float | None:
            return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)

        return {
            "metric": self.metric,
            "track": self.track,
            "value": clean(self.value),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "n": self.n,
            "better": self.better,
            "note": self.note,
            "per_song": None if self.per_song is None else {k: clean(v) for k, v in self.per_song.items()},
        }


class BeatTracker(PartInterface):
    """``track(waveform [L] float32, sample_rate) -> beat times [K]`` in seconds, ascending.

    ``settings()`` returns everything that changes the result (name, library version, parameters): the
    beat cache keys on it. ``sample_rate`` is the rate the tracker works at (hosts load audio at that rate
    to avoid resampling twice); ``track`` accepts any rate. ``notes()`` lists what a report must say about
    the numbers (a paper-compatible mode, a model licence).
    """

    registry_kind: ClassVar[str] = "beat_tracker"
    sample_rate: int | None = None

    def track(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        raise NotImplementedError

    def settings(self) -> Mapping[str, Any]:
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []


class Embedder(PartInterface):
    """``embed(waveforms [N, L], sample_rate) -> embeddings [M, E]`` for Frechet distances.

    ``label`` names the embedder in every report; ``comparable_to_published`` says whether distances from
    it may be compared with published FAD. ``prepare()`` loads weights (hosts call it before reading any
    audio, so a bad weights file fails early).
    """

    registry_kind: ClassVar[str] = "embedder"
    comparable_to_published: bool = False
    sample_rate: int = 16000

    @property
    def label(self) -> str:
        return type(self).__name__

    def prepare(self) -> None:
        """Load what the embedder needs; default: nothing."""

    def embed(self, waveforms: np.ndarray, sample_rate: int) -> np.ndarray:
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []


class Metric(PartInterface):
    """Named numbers from a generated set (and a reference set where the metric needs one).

    ``inputs`` says what :meth:`compute` takes: ``"beats"`` (a :class:`BeatSet`; ``reference`` unused, the
    host evaluates a reference set by a second call) or ``"embeddings"`` (two :class:`EmbeddingSet`, made by
    the metric's ``embedder``) or ``"audio"`` (a :class:`TrackFiles`; like ``"beats"``, one call per set).
    """

    registry_kind: ClassVar[str] = "metric"
    inputs: ClassVar[Literal["beats", "embeddings", "audio"]] = "beats"

    def compute(self, generated: Any, reference: Any = None) -> Sequence[MetricValue]:
        raise NotImplementedError


class RhythmMetric(Metric):
    """A metric of beat times: ``compute(beats: BeatSet) -> [MetricValue]``."""

    inputs: ClassVar[Literal["beats", "embeddings", "audio"]] = "beats"

    def compute(self, generated: BeatSet, reference: Any = None) -> Sequence[MetricValue]:
        raise NotImplementedError


class AudioMetric(Metric):
    """A metric of the tracks' audio: ``compute(files: TrackFiles) -> [MetricValue]``."""

    inputs: ClassVar[Literal["beats", "embeddings", "audio"]] = "audio"

    def compute(self, generated: TrackFiles, reference: Any = None) -> Sequence[MetricValue]:
        raise NotImplementedError


class DistributionMetric(Metric):
    """A metric comparing embedding distributions: ``compute(generated, reference) -> [MetricValue]``."""

    inputs: ClassVar[Literal["beats", "embeddings", "audio"]] = "embeddings"
    embedder: Embedder

    def compute(self, generated: EmbeddingSet, reference: EmbeddingSet | None = None) -> Sequence[MetricValue]:
        raise NotImplementedError


__all__ = [
    "AudioMetric",
    "BeatSet",
    "BeatTracker",
    "DistributionMetric",
    "Embedder",
    "EmbeddingSet",
    "Metric",
    "MetricValue",
    "RhythmMetric",
    "TrackFiles",
]
