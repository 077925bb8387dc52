"""Datasets of songs stored as audio files, one or more files per track slot.

Both Slakh layouts (and a folder written by ``synctrack data prepare``) reduce to the same thing: each
song has, for each track slot, a list of files whose sum is that slot's audio (none when the slot is
missing). A plugin finds those files (:meth:`SongDataset.find_songs`); this module applies the official
preprocessing rules, cuts songs into clips and loads audio:

- every file is resampled to ``sample_rate`` (summing first when the files of a slot share a rate);
- a song is dropped when its files differ in length, when it is shorter than one clip, when it lasts
  ``max_seconds`` (640 s) or longer, when no slot has audio, or, with ``missing: drop``, when a slot is
  missing; with ``missing: silent`` a missing slot is silence with its track mask False;
- a file whose header cannot be read is an error, or with ``on_corrupt: skip`` drops its song with a
  warning naming the file; a file that decodes to fewer frames than its header announces is always an
  error (it would silently shorten the song);
- clips are consecutive; training clips get a seeded random shift of up to half a clip.

Dropped songs are kept in :attr:`SongDataset.dropped` with their reason, so nothing is left out silently.
"""

from __future__ import annotations

import warnings
from collections import Counter, OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from ..audio.io import AudioError, load_audio, resample
from ..errors import UserError
from ..interfaces.data import Dataset, DatasetSummary
from ..naming import listing
from .items import instrument_ids, make_item
from .sources import (  # noqa: F401 - the song records, imported from here before they had a module
    CorruptPolicy,
    DataWarning,
    DroppedSong,
    Song,
    SongSource,
    SourceFile,
    format_warning,
    parse_splits,
    read_header,
)
from .segments import SegmentIndex, clip_length, count_segments, random_shift, segment_start

MissingPolicy = Literal["silent", "drop"]

DEFAULT_MAX_SECONDS = 640.0


class SongDataset(Dataset):
    """Clips of songs read from audio files; subclasses implement :meth:`find_songs`.

    Items follow :mod:`synctrack.data.items`; ``meta`` holds ``song_id``, ``split``, ``segment`` (clip
    number in the song), ``start`` (seconds into the song), ``num_segments`` and what the subclass's
    :meth:`clip_meta` adds (Slakh: ``tempo``).

    Building one checks its arguments only; the folder is indexed on first use (``len``, an item,
    :meth:`summary`), and problems with the files are :class:`UserError` s raised then.
    """

    splits: ClassVar[tuple[str, ...]] = ("train", "validation", "test")

    def __init__(
        self,
        root: Path,
        tracks: Sequence[str],
        vocabulary: Sequence[str] | None,
        split: str,
        sample_rate: int,
        clip_seconds: float,
        missing: MissingPolicy = "drop",
        on_corrupt: CorruptPolicy = "error",
        max_seconds: float = DEFAULT_MAX_SECONDS,
        random_shift: bool | None = None,
        seed: int = 0,
        cache_songs: int = 1,
    ) -> None:
        self.root = Path(root)
        self.track_names = list(tracks)
        self.vocabulary = list(vocabulary) if vocabulary is not None else list(self.track_names)
        self.instrument_ids = instrument_ids(self.track_names, self.vocabulary)
        self.split = split
        self.split_names = parse_splits(split, self.splits)
        self.sample_rate = int(sample_rate)
        self.clip_seconds = float(clip_seconds)
        self.clip = clip_length(clip_seconds, self.sample_rate)
        self.missing = missing
        self.on_corrupt = on_corrupt
        self.max_seconds = float(max_seconds)
        self.random_shift = any(name == "train" for name in self.split_names) if random_shift is None else random_shift
        self.seed = seed
        self.epoch = 0
        self.cache_songs = max(0, int(cache_songs))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._indexed = False

    # -- the index, built on first use so that building a recipe never touches the disk ---------------------

    def _ensure_index(self) -> None:
        if self._indexed:
            return
        if not self.root.is_dir():
            raise UserError(f"data root {self.root} is not a folder; point root at the dataset folder{self.layout_hint()}")
        from .prepare import is_prepared, prepared_songs

        if is_prepared(self.root):
            sources, dropped = prepared_songs(self)
        else:
            sources, dropped = self.find_songs()
        if not sources and not dropped:
            raise UserError(f"no songs found in {self.root} for split {self.split!r}{self.layout_hint()}")
        self._sources, self._dropped = sources, list(dropped)
        odd = format_warning(sources, self.sample_rate)
        if odd:
            warnings.warn(f"{self.root}: {odd}", DataWarning, stacklevel=2)
        self._songs: list[Song] = []
        for source in sources:
            song = self._apply_rules(source)
            if song is not None:
                self._songs.append(song)
        if not self._songs:
            raise UserError(
                f"no usable song in {self.root} for split {self.split!r}: {len(self._dropped)} dropped "
                f"({dropped_listing(self._dropped)}); see docs/data.md for the rules"
            )
        self._index = SegmentIndex([song.segments for song in self._songs])
        if self.reads_song_meta:
            self.read_song_meta(self._songs)
        self._indexed = True

    @property
    def sources(self) -> list[SongSource]:
        """Every intact song found, before the rules that depend on the recipe."""
        self._ensure_index()
        return self._sources

    @property
    def songs(self) -> list[Song]:
        """The songs used, in order."""
        self._ensure_index()
        return self._songs

    @property
    def dropped(self) -> list[DroppedSong]:
        """Every song left out, and why."""
        self._ensure_index()
        return self._dropped

    # -- what a subclass provides ---------------------------------------------------------------------------

    def find_songs(self) -> tuple[list[SongSource], list[DroppedSong]]:
        """The songs of ``self.split_names`` under ``self.root`` and the songs dropped while finding them."""
        raise NotImplementedError

    def layout_hint(self) -> str:
        """Text appended to "no songs found": what the layout looks like."""
        return ""

    def slot_settings(self) -> dict[str, Any]:
        """What decides each slot's audio (JSON-able), recorded by ``data prepare`` and checked on reuse."""
        return {name: name for name in self.track_names}

    # False for a reader that never asks for items (``data prepare``): it copies the files of
    # :meth:`song_meta_files` and need not read them
    reads_song_meta = True

    def read_song_meta(self, songs: Sequence[Song]) -> None:
        """Read, once, what :meth:`clip_meta` needs of the songs used (called as the index is built)."""

    def song_meta_files(self, source: SongSource) -> list[Path]:
        """The song's files, besides its audio, that :meth:`read_song_meta` reads (Slakh: ``all_src.mid``);
        ``data prepare`` copies those that exist next to the prepared audio, so a prepared folder keeps them."""
        return []

    def clip_meta(self, song: Song, start: float) -> dict[str, Any]:
        """Keys added to the ``meta`` of the clip of ``song`` that starts ``start`` seconds in (default none)."""
        return {}

    def split_folder(self, split: str) -> Path:
        """``root/split``; a missing folder is a :class:`UserError` listing the folders there."""
        folder = self.root / split
        if not folder.is_dir():
            found = sorted(path.name for path in self.root.iterdir() if path.is_dir())
            raise UserError(f"{self.root} has no folder {split!r} (found: {listing(found)}){self.layout_hint()}")
        return folder

    # -- rules -----------------------------------------------------------------------------------------------

    def source_from_files(self, song_id: str, split: str, slots: Sequence[Sequence[Path]]) -> SongSource | DroppedSong:
        """Read the headers of a song's files and check that they have one length at ``sample_rate``."""
        read: list[tuple[SourceFile, ...]] = []
        for paths in slots:
            files = []
            for path in paths:
                header = read_header(Path(path), song_id, split, self.on_corrupt)
                if isinstance(header, DroppedSong):
                    return header
                files.append(header)
            read.append(tuple(files))
        source = SongSource(song_id, split, tuple(read))
        lengths = {file.length_at(self.sample_rate) for file in source.files()}
        if len(lengths) > 1:
            detail = ", ".join(f"{file.path.name}: {file.frames} frames at {file.sample_rate} Hz" for file in source.files())
            return DroppedSong(song_id, split, "unequal_lengths", f"stems differ in length ({detail})")
        return source

    def _drop(self, source: SongSource, reason: str, detail: str) -> None:
        self._dropped.append(DroppedSong(source.song_id, source.split, reason, detail))

    def _apply_rules(self, source: SongSource) -> Song | None:
        files = source.files()
        if not files:
            self._drop(source, "no_audio", "no stem in any track slot")
            return None
        num_samples = files[0].length_at(self.sample_rate)
        seconds = num_samples / self.sample_rate
        if num_samples < self.clip:
            self._drop(source, "too_short", f"{seconds:.2f} s < one clip of {self.clip_seconds} s")
            return None
        if seconds >= self.max_seconds:
            self._drop(source, "too_long", f"{seconds:.1f} s >= max_seconds {self.max_seconds}")
            return None
        absent = [name for name, present in zip(self.track_names, source.present) if not present]
        if absent and self.missing == "drop":
            self._drop(source, "missing_tracks", f"no audio for {', '.join(absent)}")
            return None
        return Song(source, num_samples, count_segments(num_samples, self.clip))

    # -- items -----------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        self._ensure_index()
        return len(self._index)

    def set_epoch(self, epoch: int) -> None:
        """Choose the training shifts of epoch ``epoch`` (the trainer calls this at each epoch)."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> dict[str, Any]:
        self._ensure_index()
        song_number, segment = self._index.locate(index)
        song = self.songs[song_number]
        shift = random_shift(self.clip, self.seed, self.epoch, index) if self.random_shift else 0
        start = segment_start(segment, song.num_samples, self.clip, shift)
        audio = self._song_audio(song_number)[:, start : start + self.clip]
        meta = {
            "song_id": song.source.song_id,
            "split": song.source.split,
            "segment": segment,
            "num_segments": song.segments,
            "start": start / self.sample_rate,
            **self.clip_meta(song, start / self.sample_rate),
        }
        return make_item(audio, self.instrument_ids, song.source.present, meta)

    def _song_audio(self, song_number: int) -> np.ndarray:
        if song_number in self._cache:
            self._cache.move_to_end(song_number)
            return self._cache[song_number]
        song = self.songs[song_number]
        audio = self.load(song.source, song.num_samples)
        if self.cache_songs:
            self._cache[song_number] = audio
            while len(self._cache) > self.cache_songs:
                self._cache.popitem(last=False)
        return audio

    def load(self, source: SongSource, num_samples: int | None = None) -> np.ndarray:
        """A song's audio ``[S, N]`` at ``sample_rate``: each slot the sum of its files, missing slots silent."""
        if num_samples is None:
            num_samples = source.files()[0].length_at(self.sample_rate) if source.files() else 0
        audio = np.zeros((len(source.slots), num_samples), dtype=np.float32)
        for slot, files in enumerate(source.slots):
            if files:
                audio[slot] = _sum_files(files, self.sample_rate, num_samples)
        return audio

    # -- summary ---------------------------------------------------------------------------------------------

    def summary(self) -> DatasetSummary:
        present = {name: 0 for name in self.track_names}
        for song in self.songs:
            for name, here in zip(self.track_names, song.source.present):
                present[name] += int(here)
        return DatasetSummary(
            songs=len(self.songs),
            segments=len(self),
            seconds=sum(song.num_samples for song in self.songs) / self.sample_rate,
            present=present,
            dropped=dict(Counter(dropped.reason for dropped in self.dropped)),
        )


def _sum_files(files: Sequence[SourceFile], sample_rate: int, num_samples: int) -> np.ndarray:
    """Decode ``files``, check each against its header, sum them and resample to ``sample_rate`` ``[N]``."""
    rates = {file.sample_rate for file in files}
    shared = rates.pop() if len(rates) == 1 else None
    total = None
    for file in files:
        audio = load_audio(file.path, None if shared else sample_rate)
        expected = file.frames if shared else file.length_at(sample_rate)
        if audio.shape[0] != expected:
            raise AudioError(
                f"{file.path}: decoded {audio.shape[0]} frames but its header announces {file.frames}; the file is "
                "truncated or damaged. Replace it, or run `synctrack data prepare` with --on-corrupt skip to leave "
                "its song out"
            )
        total = audio if total is None else total + audio
    if shared is not None:
        total = resample(total, shared, sample_rate)
    if total.shape[0] != num_samples:  # lengths were checked against the headers; this is a bug
        raise RuntimeError(f"{files[0].path}: expected {num_samples} samples after resampling, got {total.shape[0]}")
    return total


def dropped_listing(dropped: Sequence[DroppedSong]) -> str:
    """``"2 too_short, 1 unreadable"`` for messages."""
    counts = Counter(item.reason for item in dropped)
    return listing(f"{count} {reason}" for reason, count in counts.items())
