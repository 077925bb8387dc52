"""What a dataset of song files is made of, before any audio is read: the files of each track slot of a
song (:class:`SongSource`), the songs left out and why (:class:`DroppedSong`), and the header checks that
find them. Shared by the datasets (:mod:`.songs`) and the prepared-data cache (:mod:`.prepare`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..audio.io import AudioError, audio_format
from ..errors import UserError

CorruptPolicy = Literal["error", "skip"]


class DataWarning(UserWarning):
    """Something in a dataset was skipped (a damaged file, a clipped group); the message names it."""


@dataclass(frozen=True)
class SourceFile:
    """An audio file with the frame count and rate its header gives."""

    path: Path
    frames: int
    sample_rate: int
    channels: int = 1

    def length_at(self, sample_rate: int) -> int:
        """Samples after resampling to ``sample_rate`` (torchaudio's output length)."""
        if sample_rate == self.sample_rate:
            return self.frames
        return math.ceil(self.frames * sample_rate / self.sample_rate)


@dataclass(frozen=True)
class SongSource:
    """A song as found on disk: ``slots[s]`` holds the files summed into track slot ``s`` (empty: missing)."""

    song_id: str
    split: str
    slots: tuple[tuple[SourceFile, ...], ...]

    @property
    def present(self) -> tuple[bool, ...]:
        return tuple(bool(files) for files in self.slots)

    def files(self) -> list[SourceFile]:
        return [file for files in self.slots for file in files]


@dataclass(frozen=True)
class Song:
    """A song that passed the rules: its source, length at the dataset's rate and number of clips."""

    source: SongSource
    num_samples: int
    segments: int


@dataclass(frozen=True)
class DroppedSong:
    """A song left out, with the rule that dropped it (``reason``) and the details."""

    song_id: str
    split: str
    reason: str  # unreadable, unequal_lengths, too_short, too_long, missing_tracks, no_audio
    detail: str


def read_header(path: Path, song_id: str, split: str, on_corrupt: CorruptPolicy) -> SourceFile | DroppedSong:
    """The header of ``path``; an unreadable header raises, or with ``skip`` warns and drops the song."""
    try:
        found = audio_format(path)
    except AudioError as error:
        if on_corrupt == "error":
            raise AudioError(f"{error}; set on_corrupt: skip to leave its song out with a warning") from None
        warnings.warn(f"skipping song {song_id} ({split}): {error}", DataWarning, stacklevel=2)
        return DroppedSong(song_id, split, "unreadable", str(error))
    return SourceFile(path, found.frames, found.sample_rate, found.channels)


def format_warning(sources: Sequence[SongSource], sample_rate: int) -> str | None:
    """One line naming the files unlike the rest of the dataset (several channels, or a rate other than the
    most common one), which reading converts like every file (to mono at ``sample_rate``); None when uniform.
    Such a file is usually one that does not belong: the line says which, once."""
    files = [file for source in sources for file in source.files()]
    if not files:
        return None
    common, _ = Counter(file.sample_rate for file in files).most_common(1)[0]
    odd = [f"{file.path.name} ({file.sample_rate} Hz)" for file in files if file.sample_rate != common]
    odd += [f"{file.path.name} ({file.channels} channels)" for file in files if file.channels > 1]
    if not odd:
        return None
    listed = ", ".join(odd[:5]) + (f" and {len(odd) - 5} more" if len(odd) > 5 else "")
    return (f"{len(odd)} file(s) differ from the dataset's mono {common} Hz files and are converted on reading "
            f"(averaged to mono, resampled to {sample_rate} Hz): {listed}")


def parse_splits(split: str, allowed: Sequence[str]) -> list[str]:
    """``"train"`` or ``"train+validation"`` -> ``["train", "validation"]``, checked against ``allowed``."""
    names = [name.strip() for name in split.split("+") if name.strip()]
    bad = [name for name in names if name not in allowed]
    if not names or bad:
        choices = ", ".join(allowed)
        raise UserError(f"split {split!r} is not valid: use one of {choices} or join them with '+' (train+validation)")
    return names
