"""Tracks held in memory, read by evaluation exactly as it reads files.

Evaluation sees a set of songs as a :class:`~synctrack.eval.layout.SongFolder` whose track entries are
paths or :class:`MemoryTrack` objects; the three functions here (:func:`read_track`, :func:`track_format`,
:func:`track_digest`) are the only places that tell them apart. A song set sampled in memory is therefore
scored by the same code as a folder of WAVs, and, with ``written`` (the default of
:func:`memory_folder`), to the same numbers: the samples are clipped and rounded to 16-bit PCM as
:func:`synctrack.audio.write_song` writes them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from ..audio.io import AudioFormat, audio_format, load_audio, resample
from ..errors import UserError
from .cache import file_digest
from .layout import MIX_NAME, Song, SongFolder



@dataclass(frozen=True, eq=False)
class MemoryTrack:
    """One track's samples ``[L]`` float32 at ``sample_rate``; ``name`` says where it came from in messages."""

    name: str
    waveform: np.ndarray = field(repr=False)
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.waveform.shape[0] / self.sample_rate


TrackEntry = Path | MemoryTrack  # what a Song's track (and mix) entries hold


def as_written(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[L]`` samples as a 16-bit WAV (what :func:`synctrack.audio.save_audio` writes) stores and reads them
    back: clipped to full scale and rounded by libsndfile itself, through a WAV in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(waveform, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    buffer.seek(0)
    samples, _ = soundfile.read(buffer, dtype="float32")
    return samples


def read_track(entry: TrackEntry, sample_rate: int | None = None) -> np.ndarray:
    """Mono float32 ``[L]`` of a track file or a :class:`MemoryTrack`, resampled to ``sample_rate`` (None: as is)."""
    if isinstance(entry, MemoryTrack):
        if sample_rate is None or sample_rate == entry.sample_rate:
            return entry.waveform
        return np.ascontiguousarray(resample(entry.waveform, entry.sample_rate, sample_rate), dtype=np.float32)
    return load_audio(entry, sample_rate)


def track_format(entry: TrackEntry) -> AudioFormat:
    """Frames, rate and channels of a track, from its header or its array."""
    if isinstance(entry, MemoryTrack):
        return AudioFormat(entry.waveform.shape[0], entry.sample_rate, 1)
    return audio_format(entry)


def track_digest(entry: TrackEntry) -> str:
    """The beat cache's content key: SHA-256 of a file's bytes, or of a memory track's rate and samples."""
    if isinstance(entry, MemoryTrack):
        digest = hashlib.sha256(f"memory:{entry.sample_rate}:".encode())
        digest.update(np.ascontiguousarray(entry.waveform, dtype=np.float32).tobytes())
        return digest.hexdigest()
    return file_digest(entry)


def memory_folder(
    waveforms: np.ndarray,
    track_names: Sequence[str],
    sample_rate: int,
    song_names: Sequence[str],
    label: str = "in memory",
    written: bool = True,
) -> SongFolder:
    """A :class:`SongFolder` over songs ``[N, S, L]`` held in memory, each with its mix (the sum of its tracks,
    clipped, as ``mix.wav`` holds it).

    ``written`` rounds every track and mix as a 16-bit WAV stores it, so that scores equal those of the folder
    :meth:`synctrack.Songs.write` writes; without it the float samples are scored as they are.
    """
    waveforms = np.asarray(waveforms, dtype=np.float32)
    if waveforms.ndim != 3 or waveforms.shape[1] != len(track_names) or waveforms.shape[0] != len(song_names):
        raise ValueError(f"waveforms must be [N, S, L] with N = {len(song_names)} songs and S = {len(track_names)} "
                         f"tracks, got shape {tuple(waveforms.shape)}")
    if not np.isfinite(waveforms).all():
        song = int(np.argwhere(~np.isfinite(waveforms))[0][0])
        raise UserError(f"{label}: song {song_names[song]} holds NaN or infinite samples; metrics of such audio mean nothing")
    songs = []
    for song_name, song in zip(song_names, waveforms):
        entries = {**dict(zip(track_names, song)), MIX_NAME: np.clip(song.sum(axis=0), -1.0, 1.0)}
        if written:
            entries = {name: as_written(samples, sample_rate) for name, samples in entries.items()}
        tracks = {name: MemoryTrack(f"{song_name}/{name}", samples, sample_rate) for name, samples in entries.items()}
        mix = tracks.pop(MIX_NAME)
        songs.append(Song(song_name, tracks, mix))
    return SongFolder(Path(label), "memory", list(track_names), songs)
