"""The result of an evaluation, and its JSON and CSV forms (written atomically)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import write_text_atomically
from ..interfaces.evaluation import BeatSet, MetricValue
from .values import BeatingSongs

SUMMARY_COLUMNS = ("set", "metric", "track", "value", "ci_low", "ci_high", "n", "better", "note")
# beating_tracks: the song's tracks with at least 2 detected beats (empty when no beats were tracked);
# flag: why the song is flagged when that is fewer than the set's track slots ("3 of 4 tracks beat (bass: no beats)")
PER_SONG_COLUMNS = ("set", "song", "metric", "track", "value", "beating_tracks", "flag")


@dataclass
class EvaluationResult:
    """Everything an evaluation found.

    ``values`` maps a set name (``generated``, ``reference``) to its metric values; FAD values belong to
    ``generated`` (they compare it with the reference). ``notes`` are statements every report must carry
    (paper-compatible beat decoding, FAD comparability, model licences, incomplete songs). ``beating`` maps a
    set whose beats were tracked to each song's beating tracks and the songs that have fewer than the set's
    track slots (:class:`synctrack.eval.values.BeatingSongs`).
    """

    generated: str
    reference: str | None = None
    layouts: dict[str, str] = field(default_factory=dict)
    songs: dict[str, list[str]] = field(default_factory=dict)
    tracks: dict[str, list[str]] = field(default_factory=dict)
    tracker: dict[str, Any] | None = None
    embedders: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    values: dict[str, list[MetricValue]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    beating: dict[str, BeatingSongs] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    confidence: float = 0.95
    # the beats behind the rhythm metrics, per set (in memory only: pictures and pages draw them)
    beats: dict[str, BeatSet] = field(default_factory=dict, repr=False, compare=False)

    def rows(self) -> Iterator[tuple[str, MetricValue]]:
        for set_name, values in self.values.items():
            for value in values:
                yield set_name, value

    def get(self, metric: str, track: str = "all", set_name: str = "generated") -> MetricValue:
        """The value of ``metric`` for ``track`` in ``set_name``; KeyError when absent."""
        for value in self.values.get(set_name, []):
            if value.metric == metric and value.track == track:
                return value
        raise KeyError(f"no {metric!r} for track {track!r} in set {set_name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated": self.generated,
            "reference": self.reference,
            "layouts": self.layouts,
            "songs": self.songs,
            "tracks": self.tracks,
            "tracker": self.tracker,
            "embedders": self.embedders,
            "metrics": self.metrics,
            "confidence": self.confidence,
            "notes": self.notes,
            "beating_tracks": {name: found.as_dict() for name, found in self.beating.items()},
            "cache": self.cache,
            "values": {name: [v.as_dict() for v in values] for name, values in self.values.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def summary_csv(self) -> str:
        """One row per value: set, metric, track, value, CI, song count, direction, note."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(SUMMARY_COLUMNS)
        for set_name, value in self.rows():
            writer.writerow(
                [set_name, value.metric, value.track, _number(value.value), _number(value.ci_low),
                 _number(value.ci_high), value.n, value.better, value.note]
            )
        return buffer.getvalue()

    def per_song_csv(self) -> str:
        """One row per (set, song, metric, track) with that song's own value, its beating tracks and its flag."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(PER_SONG_COLUMNS)
        for set_name, value in self.rows():
            found = self.beating.get(set_name)
            for song, number in (value.per_song or {}).items():
                count = "" if found is None or song not in found.counts else found.counts[song]
                flag = "" if found is None else found.flags.get(song, "")
                writer.writerow([set_name, song, value.metric, value.track, _number(number), count, flag])
        return buffer.getvalue()

    def write(self, json_path: str | os.PathLike) -> dict[str, Path]:
        """Write ``X.json``, ``X.csv`` (summary) and ``X.per_song.csv`` next to each other; returns the paths."""
        json_path = Path(json_path)
        if json_path.suffix.lower() != ".json":
            json_path = json_path.with_name(json_path.name + ".json")
        paths = {
            "json": json_path,
            "csv": json_path.with_suffix(".csv"),
            "per_song_csv": json_path.with_suffix(".per_song.csv"),
        }
        write_text_atomic(paths["json"], self.to_json() + "\n")
        write_text_atomic(paths["csv"], self.summary_csv())
        write_text_atomic(paths["per_song_csv"], self.per_song_csv())
        return paths


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return repr(float(value))


write_text_atomic = write_text_atomically
