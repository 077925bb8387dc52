"""What a listening page shows, read from a folder of songs: the songs' files, their evaluation, how they were made.

Everything comes from files the commands write, so ``synctrack report DIR`` rebuilds the page of any run,
older ones included: ``song_<i>/<track>.wav``, ``mix.wav``, ``mels.png`` and ``beats.png`` (``synctrack sample``
and ``eval``), an evaluation report (``synctrack-eval.json`` or ``eval-<tracker>.json``) and ``sampling.json``
(the command, checkpoint and recipe, written by ``synctrack sample`` since the pages exist).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..eval.layout import MIX_NAME, read_folder

SAMPLING_RECORD = "sampling.json"
PICTURES = ("beats.png", "mels.png")  # the first one a song has is shown: beats drawn over the mels, else mels


@dataclass
class SongView:
    """One song on the page: relative paths of its players and picture, and its own metric values."""

    name: str
    tracks: list[tuple[str, str]]  # (track name, relative path), the mix last
    picture: str | None
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class MetricRow:
    set_name: str
    metric: str
    track: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    songs: int
    better: str


@dataclass
class RunView:
    """The page's content."""

    title: str
    songs: list[SongView]
    track_names: list[str]
    metrics: list[MetricRow]
    evaluation: str | None
    tracker: str | None
    notes: list[str]
    command: str | None
    recipe: str | None
    details: dict[str, Any]


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _link(relative: str) -> str:
    """A relative path as a URL: a song folder named ``a#1`` or ``50%`` still points at its files."""
    return quote(relative, safe="/")


def evaluation_reports(folder: Path) -> list[Path]:
    """The evaluation reports written for ``folder``'s songs: ``synctrack-eval.json`` and ``eval-<tracker>.json``."""
    found = []
    for path in sorted(folder.glob("*.json")):
        if path.name == SAMPLING_RECORD:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and "metrics" in data and "values" in data:
            found.append(path)
    return found


def collect(folder: Path, evaluation: Path | None = None) -> RunView:
    """Read ``folder`` (songs in synctrack's layout) with ``evaluation`` (a report of its songs; default: the
    first report found in the folder)."""
    songs_folder = read_folder(folder)
    reports = [evaluation] if evaluation is not None else evaluation_reports(folder)
    report = json.loads(reports[0].read_text(encoding="utf-8")) if reports else None
    per_song: dict[str, dict[str, float]] = {}
    metrics: list[MetricRow] = []
    if report is not None:
        for set_name, values in report.get("values", {}).items():
            for value in values:
                metrics.append(MetricRow(set_name, value["metric"], value["track"], _number(value.get("value")),
                                         _number(value.get("ci_low")), _number(value.get("ci_high")), int(value.get("n") or 0),
                                         value.get("better", "")))
                if set_name == "generated" and value["track"] == "all" and value.get("per_song"):
                    for song, number in value["per_song"].items():
                        if _number(number) is not None:
                            per_song.setdefault(song, {})[value["metric"]] = float(number)
    songs = []
    for song in songs_folder.songs:
        entries = [(name, path) for name, path in song.tracks.items()]
        if song.mix is not None:
            entries.append((MIX_NAME, song.mix))
        picture = next((_link(f"{song.name}/{name}") for name in PICTURES if (folder / song.name / name).is_file()), None)
        songs.append(SongView(song.name, [(name, _link(path.relative_to(folder).as_posix())) for name, path in entries],
                              picture, per_song.get(song.name, {})))
    record_path = folder / SAMPLING_RECORD
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
    return RunView(
        title=str(record.get("title") or folder.name),
        songs=songs,
        track_names=list(songs_folder.tracks),
        metrics=metrics,
        evaluation=reports[0].name if reports else None,
        tracker=((report or {}).get("tracker") or {}).get("name"),
        notes=list((report or {}).get("notes") or []),
        command=record.get("command"),
        recipe=record.get("recipe"),
        details={key: value for key, value in record.items() if key not in ("command", "recipe", "title")},
    )
