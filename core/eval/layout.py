"""Reading folders of songs in the two layouts evaluation accepts.

- ``songs`` (synctrack's own, what ``write_song`` writes): ``<dir>/<song>/<track>.wav`` plus an optional
  ``<dir>/<song>/mix.wav``. The mix is not a track: it serves the mix FAD only.
- ``stems`` (the official SyncTrack / MSG-LD scripts): ``<dir>/stem_<k>/<song>.wav``, one folder per track
  slot, with the mixes, when present, in ``<dir>/mix/<song>.wav`` (or ``mixture/``). Track slots are named
  ``stem_<k>`` unless names are given (``bass,drums,...`` in stem order).

Track slots are the union over songs; a song without one of them has that track missing (an empty beat
list). Audio files are ``.wav``, ``.flac`` or ``.ogg``; anything else (a report, a JSON file) is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import UserError

AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")
MIX_NAME = "mix"
MIX_FOLDERS: tuple[str, ...] = ("mix", "mixture")
STEM_FOLDER = re.compile(r"^stem_(\d+)$")

LAYOUT_HELP = (
    "expected <dir>/<song>/<track>.wav (synctrack's layout, with an optional mix.wav per song) or "
    "<dir>/stem_<k>/<song>.wav (the official scripts' layout, mixes in <dir>/mix/<song>.wav)"
)


class LayoutError(UserError):
    """A folder that is not a set of songs in a layout evaluation understands."""


@dataclass(frozen=True)
class Song:
    """One song: its track files by track name, and its mix file when there is one (for a set held in
    memory, :class:`synctrack.eval.memory.MemoryTrack` entries instead of paths)."""

    name: str
    tracks: dict[str, Path]
    mix: Path | None = None


@dataclass(frozen=True)
class SongFolder:
    """The songs of a folder, the union of their track names, and which layout it used."""

    root: Path
    layout: Literal["songs", "stems", "memory"]
    tracks: list[str]
    songs: list[Song] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        """Every track file, song by song (mixes excluded)."""
        return [song.tracks[name] for song in self.songs for name in self.tracks if name in song.tracks]

    def incomplete_songs(self) -> list[str]:
        return [song.name for song in self.songs if len(song.tracks) < len(self.tracks)]


def _audio_files(folder: Path) -> dict[str, Path]:
    """Audio files of a folder by stem; two files with the same stem are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES and not path.name.startswith("."):
            if path.stem in found:
                raise LayoutError(f"{folder}: both {found[path.stem].name} and {path.name} hold {path.stem!r}; keep one")
            found[path.stem] = path
    return found


def read_folder(root: str | Path, track_names: Sequence[str] | None = None) -> SongFolder:
    """Find the songs under ``root`` in either layout; raises :class:`LayoutError` for anything else.

    ``track_names`` names the ``stem_<k>`` folders in order; a folder in the ``songs`` layout names its
    tracks itself and ignores them.
    """
    root = Path(root)
    if not root.exists():
        raise LayoutError(f"{root}: folder not found")
    if not root.is_dir():
        raise LayoutError(f"{root}: not a folder; {LAYOUT_HELP}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    stems = [p for p in folders if STEM_FOLDER.match(p.name)]
    if stems:
        return _read_stems(root, folders, stems, track_names)
    return _read_songs(root, folders)


def _read_stems(root: Path, folders: list[Path], stems: list[Path], track_names: Sequence[str] | None) -> SongFolder:
    stems = sorted(stems, key=lambda p: int(STEM_FOLDER.match(p.name).group(1)))
    mixes = [p for p in folders if p.name in MIX_FOLDERS]
    others = [p for p in folders if p not in stems and p not in mixes and _audio_files(p)]
    if others:
        raise LayoutError(
            f"{root}: mixes the two layouts: stem folders ({', '.join(p.name for p in stems)}) next to song "
            f"folders ({', '.join(p.name for p in others[:3])}); {LAYOUT_HELP}"
        )
    if len(mixes) > 1:
        raise LayoutError(f"{root}: both mix/ and mixture/ exist; keep one")
    names = [p.name for p in stems]
    if track_names:
        if len(track_names) != len(stems) or len(set(track_names)) != len(track_names) or MIX_NAME in track_names:
            raise LayoutError(
                f"{root}: {len(stems)} stem folders ({', '.join(names)}) need {len(stems)} distinct track names "
                f"(not 'mix'), got {list(track_names)}"
            )
        names = list(track_names)
    per_stem = [_audio_files(folder) for folder in stems]
    mix_files = _audio_files(mixes[0]) if mixes else {}
    song_names = sorted(set().union(*per_stem))
    if not song_names:
        raise LayoutError(f"{root}: the stem folders hold no audio files; {LAYOUT_HELP}")
    songs = [
        Song(song, {name: files[song] for name, files in zip(names, per_stem) if song in files}, mix_files.get(song))
        for song in song_names
    ]
    return SongFolder(root, "stems", names, songs)


def _read_songs(root: Path, folders: list[Path]) -> SongFolder:
    songs = []
    for folder in folders:
        files = _audio_files(folder)
        mix = files.pop(MIX_NAME, None)
        if files:
            songs.append(Song(folder.name, files, mix))
    if not songs:
        loose = _audio_files(root)
        hint = f" (it holds {len(loose)} loose audio files: put each song in its own folder)" if loose else ""
        raise LayoutError(f"{root}: no songs found{hint}; {LAYOUT_HELP}")
    tracks = sorted(set().union(*(song.tracks for song in songs)))
    return SongFolder(root, "songs", tracks, songs)
