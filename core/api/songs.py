"""Songs held in memory: what :func:`synctrack.sample` returns and :func:`synctrack.evaluate` scores."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch



@dataclass
class Songs:
    """``N`` songs of ``S`` tracks each, as waveforms at one sample rate.

    Attributes:
        waveforms: ``[N, S, L]`` float32 on the CPU, full scale 1.0.
        track_names: ``[S]`` the track of each slot (written as ``<name>.wav``).
        sample_rate: samples per second.
        mels: ``[N, S, n_mels, frames]`` what the model decoded before its vocoder (None when it made
            waveforms directly); :meth:`write` plots them.
        names: ``[N]`` song names (default ``song_000``, ``song_001``, ...), the folder names :meth:`write` uses.
        peaks: ``[N]`` each song's largest absolute sample over its tracks and mix before any normalisation
            (above 1, a WAV of it clips), or None when unknown.
    """

    waveforms: torch.Tensor
    track_names: list[str]
    sample_rate: int
    mels: torch.Tensor | None = None
    names: list[str] = field(default_factory=list)
    peaks: list[float] | None = None

    def __post_init__(self) -> None:
        self.waveforms = torch.as_tensor(self.waveforms).detach().cpu().float()
        self.track_names = list(self.track_names)
        if self.waveforms.dim() != 3 or self.waveforms.shape[1] != len(self.track_names):
            raise ValueError(f"Songs.waveforms must be [N, S, L] with S = {len(self.track_names)} track names "
                             f"({', '.join(self.track_names)}), got shape {tuple(self.waveforms.shape)}")
        if len(set(self.track_names)) != len(self.track_names) or "mix" in self.track_names:
            raise ValueError(f"track names must be distinct and not 'mix' (the mix is written as mix.wav), got {self.track_names}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        self.names = list(self.names) or [f"song_{index:03d}" for index in range(len(self))]
        if len(self.names) != len(self) or len(set(self.names)) != len(self.names):
            raise ValueError(f"{len(self)} songs need {len(self)} distinct names, got {len(self.names)}")
        if self.mels is not None and self.mels.shape[:2] != self.waveforms.shape[:2]:
            raise ValueError(f"mels {tuple(self.mels.shape)} must start with the waveforms' [N, S] = {tuple(self.waveforms.shape[:2])}")

    def __len__(self) -> int:
        return self.waveforms.shape[0]

    def __getitem__(self, index: int | slice | Sequence[int]) -> Songs:
        """The songs at ``index`` (an int, a slice or a list of indices) as a new :class:`Songs`."""
        rows = [index] if isinstance(index, int) else list(range(len(self)))[index] if isinstance(index, slice) else list(index)
        return Songs(
            self.waveforms[rows],
            self.track_names,
            self.sample_rate,
            mels=None if self.mels is None else self.mels[rows],
            names=[self.names[row] for row in rows],
            peaks=None if self.peaks is None else [self.peaks[row] for row in rows],
        )

    @property
    def seconds(self) -> float:
        return self.waveforms.shape[-1] / self.sample_rate

    @property
    def mix(self) -> torch.Tensor:
        """``[N, L]`` each song's tracks summed and clipped to full scale, as ``mix.wav`` holds it."""
        return self.waveforms.sum(dim=1).clamp(-1.0, 1.0)

    def track(self, name: str) -> torch.Tensor:
        """``[N, L]`` one track of every song."""
        if name not in self.track_names:
            raise KeyError(f"no track {name!r}; the tracks are {', '.join(self.track_names)}")
        return self.waveforms[:, self.track_names.index(name)]

    def write(self, folder: str | os.PathLike) -> list[Path]:
        """Write ``folder/<name>/<track>.wav``, ``mix.wav`` and ``mels.png`` for every song (each song appears
        whole, see :func:`synctrack.outputs.write_songs`); returns the song folders."""
        from ..outputs import write_songs

        return write_songs(folder, self.waveforms, self.track_names, self.sample_rate, mels=self.mels, names=self.names)

    @classmethod
    def concatenate(cls, parts: Sequence[Songs]) -> Songs:
        """The songs of several :class:`Songs` with the same tracks, rate and length, in order."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        for part in parts[1:]:
            if (part.track_names, part.sample_rate, part.waveforms.shape[-1]) != (first.track_names, first.sample_rate, first.waveforms.shape[-1]):
                raise ValueError("songs to concatenate must share track names, sample rate and length")
        mels = None if any(part.mels is None for part in parts) else torch.cat([part.mels for part in parts])
        peaks = None if any(part.peaks is None for part in parts) else [p for part in parts for p in part.peaks]
        return cls(torch.cat([part.waveforms for part in parts]), first.track_names, first.sample_rate, mels=mels,
                   names=[name for part in parts for name in part.names], peaks=peaks)

    @classmethod
    def read(cls, folder: str | os.PathLike, sample_rate: int | None = None) -> Songs:
        """The songs of a folder in either layout evaluation reads (``<song>/<track>.wav`` or
        ``stem_<k>/<song>.wav``), resampled to ``sample_rate`` (default: the first file's). Tracks are cut or
        zero-padded to the longest track; a song that lacks a track gets silence there."""
        from ..audio.io import audio_format, load_audio
        from ..eval.layout import read_folder

        found = read_folder(folder)
        rate = sample_rate or audio_format(found.files[0]).sample_rate
        audio = [[load_audio(song.tracks[name], rate) if name in song.tracks else None for name in found.tracks]
                 for song in found.songs]
        length = max(track.shape[0] for song in audio for track in song if track is not None)
        waveforms = np.zeros((len(audio), len(found.tracks), length), dtype=np.float32)
        for row, song in enumerate(audio):
            for slot, track in enumerate(song):
                if track is not None:
                    waveforms[row, slot, : track.shape[0]] = track
        return cls(torch.from_numpy(waveforms), found.tracks, rate, names=[song.name for song in found.songs])
