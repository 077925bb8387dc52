"""A cache of resampled, grouped audio (``synctrack data prepare``) and reading it back.

Decoding 44.1 kHz FLAC stems, summing them into groups and resampling costs far more than a training step
needs, so ``data prepare`` does it once. The output folder holds::

    synctrack_prepared.json          settings: dataset, source root, sample rate, tracks, what each slot holds
    songs.jsonl                      one line per finished song (appended; the record of progress)
    <split>/<song_id>/<track>.wav    16-bit PCM at the prepared rate, one file per present track slot
    <split>/<song_id>/<file>         the song's other files its reader needs (Slakh: all_src.mid, the tempo)

Each song's files are written atomically and only then recorded, so an interrupted run resumes where it
stopped: recorded songs whose files exist are skipped, a torn last line is discarded. Songs that cannot be
used at all (unreadable files with ``on_corrupt: skip``, stems of unequal length) are recorded as
``skipped`` with their reason. The rules that depend on the recipe (clip length, 640 s limit, missing
tracks) are applied when the folder is read, so one prepared folder serves any clip length.

A dataset whose ``root`` holds ``synctrack_prepared.json`` reads the cache instead of the original layout;
it checks that the cache holds its tracks with the same settings (for Slakh: the same stem groups).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio.io import AudioError, save_audio
from ..errors import UserError
from ..files import atomic_path, write_json_atomically
from ..naming import first_difference, listing
from .sources import DataWarning, DroppedSong, SongSource, SourceFile

if TYPE_CHECKING:  # the datasets read prepared folders through this module: a type, not an import
    from .songs import SongDataset

FORMAT = "synctrack-prepared"
VERSION = 1
MANIFEST_NAME = "synctrack_prepared.json"
RECORDS_NAME = "songs.jsonl"
INTRINSIC = ("unreadable", "unequal_lengths")  # reasons that hold whatever the recipe says


def is_prepared(root: Path) -> bool:
    """Whether ``root`` is a folder written by ``synctrack data prepare``."""
    return (Path(root) / MANIFEST_NAME).is_file()


def read_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: cannot read the prepared-data manifest ({error}); run synctrack data prepare again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{path} is not a synctrack prepared-data manifest (format {FORMAT!r} expected)")
    if manifest.get("version") != VERSION:
        found = manifest.get("version")
        raise UserError(f"{path}: prepared with format version {found}, this synctrack reads {VERSION}; prepare again")
    return manifest


def read_records(root: Path, repair: bool = False) -> dict[tuple[str, str], dict[str, Any]]:
    """The song records by ``(split, song_id)`` (a later line wins).

    A last line cut short by an interruption is ignored, and removed from the file when ``repair``.
    """
    path = Path(root) / RECORDS_NAME
    if not path.exists():
        return {}
    text = path.read_text()
    *lines, tail = text.split("\n")  # every record ends with a newline: `tail` is what an interruption cut
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            records[(record["split"], record["song_id"])] = record
        except (json.JSONDecodeError, KeyError, TypeError):
            raise UserError(f"{path}:{number}: damaged record; delete the line (its song will be prepared again)") from None
    if repair and tail:
        with open(path, "r+") as handle:
            handle.truncate(len(text) - len(tail))
    return records


def prepared_songs(dataset: SongDataset) -> tuple[list[SongSource], list[DroppedSong]]:
    """The songs of a prepared folder for ``dataset`` (its root, splits, tracks and slot settings)."""
    root = dataset.root
    manifest = read_manifest(root)
    stored = manifest.get("slots", {})
    absent = [name for name in dataset.track_names if name not in stored]
    if absent:
        raise UserError(
            f"{root} was prepared with tracks [{', '.join(stored)}] and has no {listing(absent)}; "
            "prepare again with those tracks, or point root at the original dataset"
        )
    wanted = dataset.slot_settings()
    differing = [name for name in dataset.track_names if stored[name] != wanted[name]]
    if differing:
        # the first difference only: a slot's settings are the whole chain of groups before it (1,500 characters)
        detail = first_difference(stored[differing[0]], wanted[differing[0]])
        raise UserError(
            f"{root} was prepared with other settings for {listing(differing)}; the first difference, in track "
            f"{differing[0]!r}: {detail}; prepare again into a new folder"
        )
    rate = int(manifest["sample_rate"])
    records = read_records(root)
    sources: list[SongSource] = []
    dropped: list[DroppedSong] = []
    for split in dataset.split_names:
        if not manifest.get("splits", {}).get(split, {}).get("complete", False):
            warnings.warn(
                f"{root}: split {split!r} was not fully prepared; run synctrack data prepare again to finish it",
                DataWarning,
                stacklevel=3,
            )
        chosen = sorted((record for (s, _), record in records.items() if s == split), key=lambda r: r["song_id"])
        for record in chosen:
            if record["status"] != "ok":
                dropped.append(DroppedSong(record["song_id"], split, record["reason"], record.get("detail", "")))
                continue
            folder = root / split / record["song_id"]
            slots = tuple(
                (SourceFile(folder / f"{name}.wav", int(record["num_samples"]), rate),) if record["present"][name] else ()
                for name in dataset.track_names
            )
            sources.append(SongSource(record["song_id"], split, slots))
    return sources, dropped


@dataclass
class PrepareReport:
    """What a ``prepare`` run did: songs written now, found already written, and skipped (now or before)."""

    written: int = 0
    reused: int = 0
    skipped: int = 0


def prepare(
    datasets: Sequence[SongDataset],
    out: Path,
    dataset_name: str,
    on_song: Callable[[str], None] | None = None,
) -> PrepareReport:
    """Write every intact song of ``datasets`` (one per split) to ``out``; resumes an interrupted run.

    ``on_song(song_id)`` is called after each song (for progress bars). Audio that cannot be decoded is an
    :class:`AudioError`, or with the dataset's ``on_corrupt: skip`` a warning and a ``skipped`` record.
    """
    out = Path(out)
    if not datasets:
        raise ValueError("prepare needs at least one dataset")
    first = datasets[0]
    if any(out.resolve() == dataset.root.resolve() for dataset in datasets):
        raise UserError(f"--out {out} is the dataset root; give a new folder for the prepared data")
    settings = {
        "format": FORMAT,
        "version": VERSION,
        "dataset": dataset_name,
        "sample_rate": first.sample_rate,
        "tracks": first.track_names,
        "slots": first.slot_settings(),
    }
    manifest = _start_manifest(out, settings, str(first.root))
    records = read_records(out, repair=True)
    report = PrepareReport()
    with open(out / RECORDS_NAME, "a") as log:
        for dataset in datasets:
            (split,) = dataset.split_names
            manifest["splits"][split] = {"complete": False}
            write_json(out / MANIFEST_NAME, manifest)
            for dropped in dataset.dropped:
                if dropped.reason in INTRINSIC:
                    if (split, dropped.song_id) not in records:
                        head = {"split": split, "song_id": dropped.song_id}
                        _append(log, {**head, "status": "skipped", "reason": dropped.reason, "detail": dropped.detail})
                    report.skipped += 1
            for source in dataset.sources:
                record = records.get((split, source.song_id))
                if record is not None and _finished(out, record, dataset.track_names):
                    if record["status"] == "ok":
                        report.reused += 1
                    else:
                        report.skipped += 1
                else:
                    written = _write_song(out, dataset, source)
                    _append(log, written)
                    if written["status"] == "ok":
                        report.written += 1
                    else:
                        report.skipped += 1
                if on_song is not None:
                    on_song(source.song_id)
            manifest["splits"][split]["complete"] = True
            write_json(out / MANIFEST_NAME, manifest)
    return report


def _start_manifest(out: Path, settings: dict[str, Any], source_root: str) -> dict[str, Any]:
    if (out / MANIFEST_NAME).exists():
        manifest = read_manifest(out)
        differing = [key for key, value in settings.items() if manifest.get(key) != value]
        if differing:
            detail = "; ".join(f"{key}: " + first_difference(manifest.get(key), settings[key], "folder has", "asked") for key in differing)
            raise UserError(f"{out} holds data prepared with other settings ({detail}); use another --out or delete it")
        return manifest
    if out.exists() and any(out.iterdir()):
        raise UserError(f"--out {out} exists and is not a prepared-data folder; give an empty or new folder")
    manifest = {**settings, "source_root": source_root, "splits": {}}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MANIFEST_NAME, manifest)
    return manifest


def _finished(out: Path, record: dict[str, Any], tracks: Sequence[str]) -> bool:
    if record["status"] != "ok":
        return True
    folder = out / record["split"] / record["song_id"]
    return all((folder / f"{name}.wav").exists() for name in tracks if record["present"].get(name)) and all(
        (folder / name).exists() for name in record.get("meta_files", ()))


def _write_song(out: Path, dataset: SongDataset, source: SongSource) -> dict[str, Any]:
    head = {"split": source.split, "song_id": source.song_id}
    try:
        audio = dataset.load(source)
    except AudioError as error:
        if dataset.on_corrupt == "error":
            raise AudioError(f"{error} (song {source.song_id}); pass --on-corrupt skip to leave such songs out") from None
        warnings.warn(f"skipping song {source.song_id} ({source.split}): {error}", DataWarning, stacklevel=3)
        return {**head, "status": "skipped", "reason": "unreadable", "detail": str(error)}
    folder = out / source.split / source.song_id
    present = dict(zip(dataset.track_names, source.present))
    peaks = {}
    for name, track in zip(dataset.track_names, audio):
        if not present[name]:
            continue
        peaks[name] = float(np.abs(track).max()) if track.size else 0.0
        if peaks[name] > 1.0:
            warnings.warn(
                f"song {source.song_id}: track {name} peaks at {peaks[name]:.3f} and is clipped to [-1, 1] in the cache",
                DataWarning,
                stacklevel=3,
            )
        save_audio(folder / f"{name}.wav", track, dataset.sample_rate)
    kept = []
    for path in dataset.song_meta_files(source):  # e.g. Slakh's all_src.mid, which holds the song's tempo
        if path.is_file():
            with atomic_path(folder / path.name, suffix=path.suffix) as temporary:
                shutil.copyfile(path, temporary)
            kept.append(path.name)
    return {**head, "status": "ok", "num_samples": int(audio.shape[1]), "present": present, "peak": peaks,
            "meta_files": kept}


def _append(log, record: dict[str, Any]) -> None:
    log.write(json.dumps(record, sort_keys=True) + "\n")
    log.flush()
    os.fsync(log.fileno())


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (temp file + rename)."""
    write_json_atomically(path, data)
