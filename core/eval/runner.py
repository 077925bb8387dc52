"""The evaluation runner: folders in, an :class:`EvaluationResult` out.

1. Read the generated (and reference) folder in either layout.
2. Fail early: a distribution metric without a reference, an embedder whose weights do not load, a beat
   tracker whose library is missing.
3. Track the beats of every track file of both sets once (cache first, then a process pool).
4. Rhythm and audio metrics on each set; distribution metrics on generated vs reference embeddings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from ..errors import UserError
from ..interfaces.evaluation import BeatSet, BeatTracker, Embedder, EmbeddingSet, Metric, TrackFiles
from .cache import BeatCache
from .extract import embed_folder, extract_beats, song_durations
from .formats import format_notes
from .layout import SongFolder, read_folder
from .memory import TrackEntry
from .result import EvaluationResult
from .values import beating_songs


@dataclass
class EvaluationRequest:
    """What to evaluate and how.

    ``generated`` and ``reference`` are folders (read in either layout) or song sets already read, such as
    :func:`synctrack.eval.memory.memory_folder` makes of songs held in memory. ``metrics`` maps metric names to built metric parts (in report order); ``tracker`` is needed when any
    metric takes beats. ``cache_root=None`` disables the beat cache. ``track_names`` names the
    ``stem_<k>`` folders of the official layout, for both sets.
    """

    generated: Path | SongFolder
    metrics: Mapping[str, Metric]
    tracker: BeatTracker | None = None
    tracker_name: str = ""
    reference: Path | SongFolder | None = None
    workers: int = 1
    cache_root: Path | None = None
    track_names: Sequence[str] | None = None
    confidence: float = 0.95


def default_workers() -> int:
    """Processes for beat tracking: the cores this process may use, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def beat_set(folder: SongFolder, beats: Mapping[TrackEntry, np.ndarray]) -> BeatSet:
    """The beats of a folder's songs, missing tracks as empty lists."""
    empty = np.zeros(0)
    rows = [[beats[song.tracks[name]] if name in song.tracks else empty for name in folder.tracks] for song in folder.songs]
    return BeatSet([song.name for song in folder.songs], list(folder.tracks), rows, song_durations(folder))


def track_files(folder: SongFolder) -> TrackFiles:
    """The track files of a folder's songs, None for missing tracks."""
    rows = [[song.tracks.get(name) for name in folder.tracks] for song in folder.songs]
    return TrackFiles([song.name for song in folder.songs], list(folder.tracks), rows)


def evaluate(request: EvaluationRequest, console: Console | None = None) -> EvaluationResult:
    """Run every metric of ``request``; see the module docstring for the order of work."""
    folders = {"generated": _song_set(request.generated, request.track_names)}
    if request.reference is not None:
        folders["reference"] = _song_set(request.reference, request.track_names)
    if request.track_names and all(folder.layout != "stems" for folder in folders.values()):
        raise UserError("track names name the stem_<k> folders of the official layout; no folder here uses it")
    rhythm = {name: m for name, m in request.metrics.items() if m.inputs == "beats"}
    distribution = {name: m for name, m in request.metrics.items() if m.inputs == "embeddings"}
    audio = {name: m for name, m in request.metrics.items() if m.inputs == "audio"}
    if distribution and request.reference is None:
        raise UserError(f"metric(s) {', '.join(distribution)} compare with a reference set: pass --reference DIR")
    if rhythm and request.tracker is None:
        raise UserError(f"metric(s) {', '.join(rhythm)} need a beat tracker")

    result = EvaluationResult(
        generated=str(folders["generated"].root),
        reference=None if request.reference is None else str(folders["reference"].root),
        layouts={name: folder.layout for name, folder in folders.items()},
        songs={name: [song.name for song in folder.songs] for name, folder in folders.items()},
        tracks={name: list(folder.tracks) for name, folder in folders.items()},
        metrics=list(request.metrics),
        values={name: [] for name in folders},
        confidence=request.confidence,
    )
    for name, folder in folders.items():
        result.notes.extend(format_notes(name, folder))
        incomplete = folder.incomplete_songs()
        if incomplete:
            result.notes.append(
                f"{name}: {len(incomplete)} song(s) lack some of the tracks {', '.join(folder.tracks)} "
                f"(missing tracks count as tracks without beats): {', '.join(incomplete[:5])}"
                + (" ..." if len(incomplete) > 5 else "")
            )
    embedders = _distinct_embedders(distribution)
    for embedder in embedders:
        embedder.prepare()

    if rhythm:
        tracker = request.tracker
        settings = dict(tracker.settings())  # imports the tracker's library: fails before any work
        result.tracker = {"name": request.tracker_name, "settings": settings}
        result.notes.extend(tracker.notes())
        cache = BeatCache(request.cache_root, settings)
        files = [path for folder in folders.values() for path in folder.files]
        beats = extract_beats(files, tracker, cache, request.workers, console)
        result.cache = {
            "folder": None if cache.folder is None else str(cache.folder),
            "hits": cache.hits,
            "misses": cache.misses,
        }
        for set_name, folder in folders.items():
            songs = beat_set(folder, beats)
            result.beats[set_name] = songs
            result.beating[set_name] = beating_songs(songs)
            for metric in rhythm.values():
                result.values[set_name].extend(metric.compute(songs))

    for set_name, folder in folders.items():
        for metric in audio.values():
            result.values[set_name].extend(metric.compute(track_files(folder)))

    if distribution:
        for embedder in embedders:
            result.embedders.append(
                {"label": embedder.label, "comparable_to_published": embedder.comparable_to_published}
            )
            result.notes.extend(embedder.notes())
        embedded: dict[int, dict[str, EmbeddingSet]] = {}
        for metric in distribution.values():
            embedder = metric.embedder
            if id(embedder) not in embedded:
                embedded[id(embedder)] = _embed_both(folders, embedder, result, console)
            sets = embedded[id(embedder)]
            result.values["generated"].extend(metric.compute(sets["generated"], sets["reference"]))
    return result


def _song_set(source: Path | SongFolder, track_names: Sequence[str] | None) -> SongFolder:
    return source if isinstance(source, SongFolder) else read_folder(source, track_names)


def _distinct_embedders(metrics: Mapping[str, Metric]) -> list[Embedder]:
    seen: dict[int, Embedder] = {}
    for metric in metrics.values():
        seen.setdefault(id(metric.embedder), metric.embedder)
    return list(seen.values())


def _embed_both(folders: Mapping[str, SongFolder], embedder: Embedder, result: EvaluationResult, console) -> dict[str, EmbeddingSet]:
    generated, reference = folders["generated"], folders["reference"]
    shared = [name for name in generated.tracks if name in reference.tracks]
    if not shared:
        raise UserError(
            f"FAD compares tracks by name, and the generated tracks ({', '.join(generated.tracks)}) share none "
            f"with the reference tracks ({', '.join(reference.tracks)}); name the stem_<k> folders with --track-names"
        )
    sets = {}
    for set_name, folder in (("generated", generated), ("reference", reference)):
        sets[set_name], computed = embed_folder(folder, embedder, shared, console)
        if computed:
            result.notes.append(f"{set_name}: {computed} song(s) have no mix file; their mix is clip(sum of tracks)")
    return sets
