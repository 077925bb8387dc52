"""``synthetic``: songs rendered on the fly, with their ground-truth beats. No download, any sample rate.

Item ``i`` of a split is one clip of song ``i``, fully determined by ``(seed, split, i)``: the splits draw
from different random streams, so their songs differ. What a song is made of is decided by one stream and
how ``desync`` moves it by another, so a song and its desynchronised version hold the same notes.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from synctrack.data.items import instrument_ids, make_item
from synctrack.data.segments import clip_length
from synctrack.errors import UserError
from synctrack.interfaces import Dataset
from synctrack.interfaces.data import DatasetSummary
from synctrack.naming import did_you_mean, listing

from .instruments import INSTRUMENTS
from .song import PITCH_NAMES, Desync, Grid, compose, move, onset_times, plan_grid, render

SPLITS = {"train": 0, "validation": 1, "test": 2}
PURPOSES = {"grid": 0, "part": 1, "timing": 2, "missing": 3}
TARGET_RMS = 0.1  # each track's level before its instrument gain (-20 dBFS)
MIX_PEAK = 0.95  # all tracks are scaled down together if their sum would peak above this


def song_tags(grid: Grid, track_names: list[str], patterns: list[str]) -> tuple[list[str], str]:
    """A song's ``name=value`` tags (key, mode, meter, and the drum pattern as its style when drums play) and a
    prompt that says the same in words, for conditioned models (docs/conditioning.md)."""
    key = PITCH_NAMES[grid.tonic]
    tags = [f"key={key}", f"mode={grid.mode}", f"meter={grid.meter}"]
    style = patterns[track_names.index("drums")].split("/")[0] if "drums" in track_names else None
    if style is not None:
        tags.append(f"style={style}")
    words = f"{style.replace('_', ' ')} song" if style else "song"
    prompt = f"a {words} in {key} {grid.mode}, {grid.meter} beats to the bar, at {grid.tempo:.0f} BPM, with {', '.join(track_names)}"
    return tags, prompt


class SyntheticDataset(Dataset):
    """Synthetic multi-track songs with known beats: shared tempo, meter and chords, 16 instruments."""

    def __init__(
        self,
        tracks: list[str] = ["bass", "drums", "guitar", "piano"],  # noqa: B006 - copied, never mutated
        vocabulary: list[str] | None = None,
        split: str = "train",
        sample_rate: int = 16000,
        clip_seconds: float = 10.24,
        num_songs: int = 1000,
        seed: int = 0,
        tempo_range: tuple[float, float] = (90.0, 140.0),
        meters: list[int] = [3, 4],  # noqa: B006
        desync: Desync | None = None,
        missing_probability: float = 0.0,
    ) -> None:
        """A split of ``num_songs`` songs.

        Args:
            tracks: instrument names, one per slot (``synctrack data inspect`` and docs/data.md list them).
            tempo_range: beats per minute, drawn uniformly per song.
            meters: beats per bar, one drawn per song (3 and 4 have patterns written for them).
            desync: shift and jitter tracks against each other and the grid (see :class:`Desync`).
            missing_probability: chance that a slot is silent and masked in a song (one always plays).
        """
        self.track_names = list(tracks)
        unknown = [name for name in self.track_names if name not in INSTRUMENTS]
        if unknown:
            hint = did_you_mean(unknown[0], INSTRUMENTS, f" instruments: {', '.join(INSTRUMENTS)}")
            raise UserError(f"unknown synthetic instrument(s) {listing(unknown)}{hint}")
        self.vocabulary = list(vocabulary) if vocabulary is not None else list(self.track_names)
        self.instrument_ids = instrument_ids(self.track_names, self.vocabulary)
        if split not in SPLITS:
            raise UserError(f"split {split!r} is not valid for the synthetic dataset: use one of {', '.join(SPLITS)}")
        self.split = split
        self.sample_rate = int(sample_rate)
        self.clip_seconds = float(clip_seconds)
        self.clip = clip_length(clip_seconds, self.sample_rate)
        if num_songs < 1:
            raise UserError(f"num_songs must be at least 1, got {num_songs}")
        self.num_songs = num_songs
        self.seed = seed
        low, high = tempo_range
        if not 30.0 <= low <= high <= 300.0:
            raise UserError(f"tempo_range {list(tempo_range)} must be [low, high] beats per minute within 30..300")
        self.tempo_range = (float(low), float(high))
        bad_meters = [m for m in meters if m not in (2, 3, 4, 5, 6, 7)] if meters else ["(empty)"]
        if bad_meters:
            raise UserError(f"meters {list(meters)}: give beats per bar between 2 and 7, e.g. [3, 4]")
        self.meters = list(meters)
        self.desync = desync or Desync()
        if self.desync.shift < 0 or self.desync.jitter < 0:
            raise UserError(f"desync shift and jitter are magnitudes in seconds and must be >= 0, got {self.desync}")
        strangers = [name for name in self.desync.offsets if name not in self.track_names]
        if strangers:
            raise UserError(f"desync.offsets names {listing(strangers)}, which are not tracks [{', '.join(self.track_names)}]")
        if not 0.0 <= missing_probability < 1.0:
            raise UserError(f"missing_probability must be in [0, 1), got {missing_probability}")
        self.missing_probability = missing_probability

    def __len__(self) -> int:
        return self.num_songs

    def song_id(self, index: int) -> str:
        return f"synthetic-{self.split}-{self.seed}-{index:06d}"

    def _rng(self, index: int, purpose: str, name: str = "") -> np.random.Generator:
        """The generator of one purpose (grid, part, timing, missing) of song ``index``, per instrument.

        Keyed by the instrument's name, not its slot: a song's bass line is the same whether the recipe
        asks for 4 or 16 tracks, in any order, and desync never changes the notes.
        """
        key = [self.seed, SPLITS[self.split], index, PURPOSES[purpose], zlib.crc32(name.encode())]
        return np.random.default_rng(np.random.SeedSequence(key))

    def _present(self, index: int) -> list[bool]:
        rng = self._rng(index, "missing")
        present = [bool(rng.random() >= self.missing_probability) for _ in self.track_names]
        if not any(present):
            present[int(rng.integers(len(present)))] = True
        return present

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -self.num_songs <= index < self.num_songs:
            raise IndexError(f"song {index} out of range for {self.num_songs} songs")
        index %= self.num_songs
        grid = plan_grid(self._rng(index, "grid"), self.clip_seconds, self.tempo_range, self.meters)
        present = self._present(index)
        audio = np.zeros((len(self.track_names), self.clip), dtype=np.float32)
        offsets, onsets, patterns = [], [], []
        for slot, name in enumerate(self.track_names):
            instrument, part, timing = INSTRUMENTS[name], self._rng(index, "part", name), self._rng(index, "timing", name)
            notes, pattern = compose(grid, instrument, part)
            gain_db = instrument.gain_db + float(part.uniform(-2.0, 2.0))
            offset = self.desync.offsets.get(name, 0.0) + float(timing.uniform(-self.desync.shift, self.desync.shift))
            notes = move(notes, offset, self.desync.jitter, timing)
            offsets.append(offset)
            patterns.append(pattern)
            if not present[slot]:
                onsets.append([])
                continue
            onsets.append(onset_times(notes, self.clip_seconds))
            track = render(instrument, notes, self.sample_rate, self.clip)
            rms = float(np.sqrt(np.mean(track.astype(np.float64) ** 2)))
            if rms > 1e-8:
                track *= np.float32(TARGET_RMS * 10.0 ** (gain_db / 20.0) / rms)
            audio[slot] = track
        peak = float(np.abs(audio.sum(axis=0)).max())
        if peak > MIX_PEAK:
            audio *= np.float32(MIX_PEAK / peak)
        meta = {
            "song_id": self.song_id(index),
            "split": self.split,
            "index": index,
            "start": 0.0,
            "tempo": grid.tempo,
            "meter": grid.meter,
            "key": grid.key_name,
            "beat_times": grid.beat_times().tolist(),
            "downbeat_times": grid.downbeat_times().tolist(),
            "offsets": offsets,
            "desync": {"shift": self.desync.shift, "jitter": self.desync.jitter},
            "onsets": onsets,
            "patterns": patterns,
            "instruments": list(self.track_names),
        }
        meta["tags"], meta["prompt"] = song_tags(grid, self.track_names, patterns)
        return make_item(audio, self.instrument_ids, present, meta)

    def summary(self) -> DatasetSummary:
        present = {name: 0 for name in self.track_names}
        for index in range(self.num_songs):
            flags = self._present(index)
            for name, here in zip(self.track_names, flags):
                present[name] += int(here)
        seconds = self.num_songs * self.clip_seconds
        return DatasetSummary(songs=self.num_songs, segments=self.num_songs, seconds=seconds, present=present)
