"""Reading and writing audio files.

soundfile does the file I/O (torchaudio.load/save need ffmpeg, which these machines lack); torchaudio does
the resampling. Every failure a user can cause (a missing, unreadable, empty or NaN-containing file) raises
:class:`AudioError` naming the file. Writes are atomic: a crash never leaves a half-written WAV behind.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio

from ..errors import UserError
from ..files import atomic_path


class AudioError(UserError):
    """An audio file that cannot be used; the message names the file."""


def load_audio(path: str | os.PathLike, sample_rate: int | None = None) -> np.ndarray:
    """Read ``path`` as float32 mono ``[L]``, downmixing channels and resampling to ``sample_rate``.

    ``sample_rate=None`` keeps the file's rate. Integer PCM of any width is scaled to [-1, 1).
    """
    path = Path(path)
    _check_file(path)
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"{path}: cannot read audio ({error}); is it a complete WAV/FLAC/OGG file?") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no samples (zero length)")
    finite = np.isfinite(data)
    if not finite.all():
        frame, channel = (int(i) for i in np.argwhere(~finite)[0])
        raise AudioError(
            f"{path}: sample {frame} of {data.shape[0]} (channel {channel}) is {data[frame, channel]} and "
            f"{int((~finite).sum())} sample(s) in all are NaN or infinite: metrics of such audio mean nothing; "
            "regenerate or re-render this file, or remove it"
        )
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sample_rate is not None and rate != sample_rate:
        mono = resample(mono, rate, sample_rate)
    return np.ascontiguousarray(mono, dtype=np.float32)


def _check_file(path: Path) -> None:
    """An :class:`AudioError` for a path that is not a file (libsndfile would say "Format not recognised")."""
    if not path.exists():
        raise AudioError(f"{path}: audio file not found")
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file: give one WAV/FLAC/OGG file")


def audio_duration(path: str | os.PathLike) -> tuple[int, int]:
    """``(frames, sample_rate)`` of a file from its header, without reading the samples."""
    found = audio_format(path)
    return found.frames, found.sample_rate


@dataclass(frozen=True)
class AudioFormat:
    """What a file's header says: ``frames`` per channel, ``sample_rate`` (Hz) and ``channels``."""

    frames: int
    sample_rate: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def audio_format(path: str | os.PathLike) -> AudioFormat:
    """The :class:`AudioFormat` of a file, from its header (no samples are read)."""
    _check_file(Path(path))
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
        raise AudioError(f"{path}: cannot read audio header ({error})") from None
    return AudioFormat(info.frames, info.samplerate, info.channels)


def conversion(found: AudioFormat, sample_rate: int, clip_seconds: float | None = None) -> str | None:
    """What reading a file of format ``found`` at ``sample_rate`` (and fitting it to ``clip_seconds``) does to
    it, in words (e.g. ``"2 channels averaged to mono; resampled 44100 -> 16000 Hz"``), or None when nothing."""
    done = []
    if found.channels > 1:
        done.append(f"{found.channels} channels averaged to mono")
    if found.sample_rate != sample_rate:
        done.append(f"resampled {found.sample_rate} -> {sample_rate} Hz")
    if clip_seconds is not None and abs(found.seconds - clip_seconds) * sample_rate >= 1:
        fit = "zero-padded" if found.seconds < clip_seconds else "cut"
        done.append(f"{found.seconds:.2f} s {fit} to the clip's {clip_seconds:.2f} s")
    return "; ".join(done) or None


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample ``[..., L]`` float audio with torchaudio's band-limited sinc interpolation."""
    if source_rate == target_rate:
        return audio
    tensor = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    return torchaudio.functional.resample(tensor, source_rate, target_rate).numpy()


def save_audio(path: str | os.PathLike, audio: np.ndarray | torch.Tensor, sample_rate: int, subtype: str = "PCM_16") -> Path:
    """Write mono ``[L]`` (or ``[L, C]``) audio atomically; values are clipped to [-1, 1]."""
    path = Path(path)
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise ValueError(f"refusing to write {path}: the audio contains NaN or infinite samples")
    with atomic_path(path, suffix=path.suffix or ".wav") as temporary:
        soundfile.write(temporary, np.clip(audio, -1.0, 1.0), sample_rate, subtype=subtype, format=_format_of(path))
    return path


def write_song(folder: str | os.PathLike, tracks: np.ndarray | torch.Tensor, track_names: Sequence[str], sample_rate: int) -> dict[str, Path]:
    """Write one song: ``<folder>/<track>.wav`` for each of ``tracks`` ``[S, L]``, plus ``mix.wav``.

    The mix is the sum of the tracks clipped to [-1, 1] (the Slakh/MSDM convention). Returns the paths by
    name, ``mix`` included.
    """
    if isinstance(tracks, torch.Tensor):
        tracks = tracks.detach().cpu().numpy()
    tracks = np.asarray(tracks, dtype=np.float32)
    if tracks.ndim != 2 or tracks.shape[0] != len(track_names):
        raise ValueError(f"tracks must be [S, L] with S = {len(track_names)} names, got shape {tracks.shape}")
    if "mix" in track_names or len(set(track_names)) != len(track_names):
        raise ValueError(f"track names must be unique and not 'mix', got {list(track_names)}")
    folder = Path(folder)
    written = {name: save_audio(folder / f"{name}.wav", audio, sample_rate) for name, audio in zip(track_names, tracks)}
    written["mix"] = save_audio(folder / "mix.wav", np.clip(tracks.sum(axis=0), -1.0, 1.0), sample_rate)
    return written


def _format_of(path: Path) -> str:
    formats = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
    return formats.get(path.suffix.lower(), "WAV")
