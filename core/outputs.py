"""Writing generated songs: one folder per song with a WAV per track, the mix, and a figure of the mels."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .audio import write_song
from .figures import pyplot, save_figure
from .files import atomic_folder


def log_mels(waveforms: torch.Tensor, sample_rate: int, n_mels: int = 64) -> torch.Tensor:
    """Log-mel spectrograms ``[..., n_mels, frames]`` of waveforms ``[..., L]`` for display (10 ms hop)."""
    import torchaudio

    length = waveforms.shape[-1]
    hop = max(sample_rate // 100, 1)
    n_fft = 1 << max(int(np.ceil(np.log2(4 * hop))), 4)
    n_fft = min(n_fft, 1 << max(int(np.floor(np.log2(max(length, 4)))), 2))  # very short clips (tests, previews)
    hop = min(hop, n_fft // 2)
    n_mels = min(n_mels, max(n_fft // 4, 1))
    with warnings.catch_warnings():  # tiny FFTs leave some low mel bands empty: harmless for a picture
        warnings.filterwarnings("ignore", message="At least one mel filterbank has all zero values")
        transform = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels, f_max=sample_rate / 2
        )
    return torch.log(transform(waveforms.detach().float().cpu()).clamp(min=1e-5))


def plot_mels(
    path: str | os.PathLike,
    mels: torch.Tensor | np.ndarray,
    track_names: Sequence[str],
    title: str = "",
    shared_scale: bool = False,
    seconds: float | None = None,
) -> Path:
    """Save one row per track of ``mels`` ``[S, n_mels, frames]`` as a PNG (written atomically).

    Each row has its own colour scale and colour bar, or with ``shared_scale`` one scale for all rows (to
    compare an input with its reconstruction). The vertical axis is the mel band (low at the bottom); the
    horizontal axis is time in seconds when ``seconds`` (the clip's duration) is given, else the frame.
    """
    plt = pyplot()
    mels = mels.detach().float().cpu().numpy() if isinstance(mels, torch.Tensor) else np.asarray(mels, dtype=np.float32)
    rows = mels.shape[0]
    figure, axes = plt.subplots(rows, 1, figsize=(8.8, 1.6 * rows + 0.6), squeeze=False, sharex=True)
    scale = {"vmin": float(mels.min()), "vmax": float(mels.max())} if shared_scale and mels.size else {}
    bands, frames = mels.shape[-2], mels.shape[-1]
    extent = (0.0, seconds if seconds is not None else float(frames), 0.0, float(bands))
    for axis, mel, name in zip(axes[:, 0], mels, track_names):
        image = axis.imshow(mel, origin="lower", aspect="auto", interpolation="nearest", cmap="magma", extent=extent, **scale)
        axis.set_ylabel(f"{name}\nmel band", rotation=0, ha="right", va="center")
        axis.set_yticks([0, bands], ["0", str(bands)])
        figure.colorbar(image, ax=axis, pad=0.01, fraction=0.04, label="log power")
    axes[-1, 0].set_xlabel("seconds" if seconds is not None else "frame")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


NORMALIZED_PEAK = 0.99  # where --normalize puts a song that would clip: a little under full scale


def song_peaks(waveforms: torch.Tensor) -> torch.Tensor:
    """``[B]`` the largest absolute sample of each song ``[B, S, L]``, over its tracks and their sum (the mix):
    above 1, a WAV of the song is clipped."""
    tracks = waveforms.detach().abs().amax(dim=(1, 2))
    mixes = waveforms.detach().sum(dim=1).abs().amax(dim=1)
    return torch.maximum(tracks, mixes).float()


def normalize_peaks(waveforms: torch.Tensor) -> torch.Tensor:
    """Scale each song of ``[B, S, L]`` whose :func:`song_peaks` exceeds 1 down to ``NORMALIZED_PEAK``; one factor
    per song, so its tracks still sum to its mix; songs within full scale are left as they are."""
    peaks = song_peaks(waveforms)
    scale = torch.where(peaks > 1, NORMALIZED_PEAK / peaks.clamp(min=1e-12), torch.ones_like(peaks))
    return waveforms * scale[:, None, None].to(waveforms.dtype)


def write_songs(
    folder: str | os.PathLike,
    waveforms: torch.Tensor,
    track_names: Sequence[str],
    sample_rate: int,
    mels: torch.Tensor | None = None,
    first_index: int = 0,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``folder/song_<i>/<track>.wav``, ``mix.wav`` and ``mels.png`` for waveforms ``[B, S, L]``.

    Songs are numbered from ``first_index``, or named by ``names`` (``[B]`` folder names) when given.
    ``mels`` ``[B, S, n_mels, frames]`` are plotted when given (a model's decoded mels), else log-mels of the
    waveforms. Each song is written into a hidden temporary folder and renamed into place when complete, so
    a song folder never holds a mixture of old and new files, nor half a song. Returns the song folders.
    """
    folder = Path(folder)
    if mels is None:
        mels = log_mels(waveforms, sample_rate)
    if names is None:
        names = [f"song_{first_index + offset:03d}" for offset in range(waveforms.shape[0])]
    elif len(names) != waveforms.shape[0]:
        raise ValueError(f"{waveforms.shape[0]} songs need {waveforms.shape[0]} names, got {len(names)}")
    songs = []
    for name, song, song_mels in zip(names, waveforms, mels):
        song_folder = folder / name
        with atomic_folder(song_folder) as staging:
            write_song(staging, song, track_names, sample_rate)
            plot_mels(staging / "mels.png", song_mels, track_names, title=song_folder.name,
                      seconds=waveforms.shape[-1] / sample_rate)
        songs.append(song_folder)
    return songs
