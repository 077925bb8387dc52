"""Beat extraction over many files (cached, in parallel processes) and embedding extraction for FAD.

Beat tracking is CPU-bound Python/numba work, so it runs in a process pool when there is enough of it to pay for
starting the pool (a few files, as in a quick look or a test, are faster in this process). Workers are *spawned*, not
forked: the parent has torch's and rich's threads running, and a forked child can inherit their locks
held. Each worker limits torch to one thread so ``workers`` processes use about ``workers`` cores.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..interfaces.evaluation import BeatTracker, Embedder, EmbeddingSet
from .cache import BeatCache
from .layout import SongFolder
from .memory import TrackEntry, read_track, track_digest, track_format
from .rhythm import as_beats


@contextmanager
def progress_bar(description: str, total: int, console: Console | None) -> Iterator:
    """A rich progress bar; yields ``advance()``."""
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console or Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


def track_file(tracker: BeatTracker, entry: TrackEntry) -> np.ndarray:
    """Beat times ``[K]`` of one track (a file or samples in memory), read at the tracker's working rate."""
    rate = tracker.sample_rate or track_format(entry).sample_rate
    waveform = read_track(entry, rate)
    return as_beats(tracker.track(waveform, rate), f"beat times of {_label(entry)} from the tracker")


def _label(entry: TrackEntry) -> str:
    return str(entry) if isinstance(entry, Path) else entry.name


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


# What starting one spawned worker costs: a fresh interpreter importing torch, the tracker and its numba cache
# (about WORKER_START_SECONDS on two idle CPU cores; docs/metrics.md, "Beat tracking in worker processes").
WORKER_START_SECONDS = 8.0


def _pool_pays(seconds_per_file: float, files: int, workers: int) -> bool:
    """Whether ``workers`` processes finish ``files`` files sooner than this process would, start-up included:
    the pool saves ``(1 - 1 / workers)`` of the serial time and costs a worker's start."""
    return files > 1 and seconds_per_file * files * (1.0 - 1.0 / workers) > WORKER_START_SECONDS


def extract_beats(
    files: Sequence[TrackEntry],
    tracker: BeatTracker,
    cache: BeatCache,
    workers: int = 1,
    console: Console | None = None,
) -> dict[TrackEntry, np.ndarray]:
    """Beat times of every track (a file or samples in memory), from the cache where possible; the rest in
    ``workers`` processes when there is enough of it to pay for starting them (``_pool_pays``), else here.

    Returns beats by entry. A user error in a worker (an unreadable file) stops the pool and is raised.
    """
    files = list(dict.fromkeys(f if not isinstance(f, str) else Path(f) for f in files))
    beats: dict[TrackEntry, np.ndarray] = {}
    digests = {path: track_digest(path) for path in files}
    todo = []
    for path in files:
        cached = cache.get(digests[path])
        if cached is None:
            todo.append(path)
        else:
            beats[path] = cached
    if not todo:
        return beats
    with progress_bar(f"tracking beats ({len(beats)} cached)", len(todo), console) as advance:

        def track_here(path: TrackEntry) -> None:
            beats[path] = track_file(tracker, path)
            cache.put(digests[path], beats[path])
            advance()

        # The first file in this process: numba compiles (and caches) the tracker once, instead of every worker
        # compiling and writing the same cache entries at the same time; it also pays the tracker's imports.
        track_here(todo.pop(0))
        seconds_per_file = 0.0
        if workers > 1 and todo:  # a second file tells what one file costs, without the imports
            started = time.perf_counter()
            track_here(todo.pop(0))
            seconds_per_file = time.perf_counter() - started
        if workers <= 1 or not _pool_pays(seconds_per_file, len(todo), workers):
            for path in todo:
                track_here(path)
            return beats
        context = multiprocessing.get_context("spawn")
        with futures.ProcessPoolExecutor(min(workers, len(todo)), mp_context=context, initializer=_init_worker) as pool:
            pending = {pool.submit(track_file, tracker, path): path for path in todo}
            try:
                for done in futures.as_completed(pending):
                    path = pending[done]
                    beats[path] = done.result()
                    cache.put(digests[path], beats[path])
                    advance()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    return beats


def song_durations(folder: SongFolder) -> np.ndarray:
    """``[N]`` clip length (seconds) of each song: its longest track, from the file headers (or the arrays)."""
    durations = []
    for song in folder.songs:
        durations.append(max(track_format(entry).seconds for entry in song.tracks.values()))
    return np.array(durations, dtype=np.float64)


def embed_folder(folder: SongFolder, embedder: Embedder, tracks: Sequence[str], console: Console | None = None) -> tuple[EmbeddingSet, int]:
    """Embeddings of the given tracks and of the mix of every song.

    A song without a mix file gets the mix ``clip(sum of its tracks, -1, 1)``, shorter tracks zero-padded.
    Returns the set and how many mixes were computed that way.
    """
    rate = embedder.sample_rate
    per_track: dict[str, list[np.ndarray | None]] = {name: [] for name in [*tracks, "mix"]}
    computed_mixes = 0
    with progress_bar(f"embedding ({embedder.label})", len(folder.songs), console) as advance:
        for song in folder.songs:
            audio = {name: read_track(entry, rate) for name, entry in song.tracks.items()}
            for name in tracks:
                per_track[name].append(_embed(embedder, audio[name], rate) if name in audio else None)
            if song.mix is not None:
                mix = read_track(song.mix, rate)
            else:
                computed_mixes += 1
                length = max(len(a) for a in audio.values())
                mix = np.zeros(length, dtype=np.float32)
                for waveform in audio.values():
                    mix[: len(waveform)] += waveform
                mix = np.clip(mix, -1.0, 1.0)
            per_track["mix"].append(_embed(embedder, mix, rate))
            advance()
    width = next((e.shape[1] for rows in per_track.values() for e in rows if e is not None), 0)
    filled = {name: [e if e is not None else np.zeros((0, width)) for e in rows] for name, rows in per_track.items()}
    embedding_set = EmbeddingSet(
        songs=[song.name for song in folder.songs],
        embeddings=filled,
        embedder=embedder.label,
        comparable_to_published=embedder.comparable_to_published,
    )
    return embedding_set, computed_mixes


def _embed(embedder: Embedder, waveform: np.ndarray, rate: int) -> np.ndarray:
    embeddings = np.asarray(embedder.embed(waveform[None, :], rate), dtype=np.float64)
    if embeddings.ndim != 2:
        raise ValueError(f"embedder {embedder.label} returned shape {embeddings.shape}, expected [M, E]")
    return embeddings
