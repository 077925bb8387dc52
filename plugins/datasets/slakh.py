"""``slakh``: Slakh2100 in its official redux layout, with stems grouped into any list of track slots.

Layout (``root`` is ``slakh2100_flac_redux``)::

    <root>/{train,validation,test}/TrackXXXXX/metadata.yaml
    <root>/{train,validation,test}/TrackXXXXX/stems/Sxx.flac     (mono, 44.1 kHz)
    <root>/{train,validation,test}/TrackXXXXX/all_src.mid        (the song's MIDI: tempo, key and meter)
    <root>/omitted/...                                           (never read)

Each stem of ``metadata.yaml`` (``inst_class``, ``program_num``, ``is_drum``, ``audio_rendered``, ...) goes
to the first track slot whose :class:`StemGroup` it matches, in the order of ``tracks``; the stems of a
slot are summed. A stem's audio is used when its FLAC file exists, whatever ``audio_rendered`` says; a
stem marked rendered whose file is absent is left out and counted in one warning. The song folder is
found from the layout, never from ``audio_dir`` (wrong in at least one released metadata file).

With ``tempo`` (the default) each item's ``meta["tempo"]`` is the BPM in effect at the middle of its clip,
from the set_tempo events of ``all_src.mid`` (read with mido, once per song as the index is built); with
``tags`` (the default) its ``meta["tags"]`` are the key, mode and meter in effect there, from the file's
key_signature and time_signature events (``slakh_midi``). The items of a song whose MIDI is missing or
unreadable carry neither, and one warning counts such songs. ``data prepare`` copies each song's
``all_src.mid`` next to its prepared audio, so a prepared folder gives the same tempo and tags.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synctrack.data.prepare import is_prepared, read_records
from synctrack.data.songs import CorruptPolicy, DataWarning, DroppedSong, MissingPolicy, Song, SongDataset, SongSource
from synctrack.errors import UserError
from synctrack.naming import listing

from .slakh_midi import SongMidi, read_song_midi

PAPER_TRACKS = ("bass", "drums", "guitar", "piano")
DRUM_PROGRAM = 128  # Slakh's program number for drum kits (General MIDI numbers are 0-127)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class StemGroup:
    """Which Slakh stems a track slot sums: a stem joins when it matches every field given.

    ``inst_class`` (case-insensitive, e.g. ``[Bass]``, ``[Synth Lead, Synth Pad]``), ``program_num``
    (0-based General MIDI, drums 128) and ``is_drum``. A group with no field takes every stem that an
    earlier slot did not take (a catch-all ``other`` slot, listed last).
    """

    inst_class: list[str] | None = None
    program_num: list[int] | None = None
    is_drum: bool | None = None

    def matches(self, stem: dict[str, Any]) -> bool:
        if self.inst_class is not None:
            if str(stem.get("inst_class", "")).casefold() not in {name.casefold() for name in self.inst_class}:
                return False
        if self.program_num is not None and stem.get("program_num") not in self.program_num:
            return False
        if self.is_drum is not None and bool(stem.get("is_drum", False)) != self.is_drum:
            return False
        return True


def resolve_groups(tracks: Sequence[str], groups: dict[str, StemGroup] | None) -> list[StemGroup]:
    """One group per slot: the recipe's, or by default ``inst_class: [<slot name>]``. Bad specs raise."""
    groups = dict(groups or {})
    unknown = [name for name in groups if name not in tracks]
    if unknown:
        raise UserError(
            f"groups {listing(unknown)} are not track slots [{', '.join(tracks)}]; "
            "every key of groups must be in tracks (add it to tracks, or remove the group)"
        )
    resolved = []
    for name in tracks:
        group = groups.get(name)
        if isinstance(group, dict):  # built outside a recipe
            group = StemGroup(**group)
        group = group or StemGroup(inst_class=[name])
        bad = [number for number in group.program_num or [] if not 0 <= number <= DRUM_PROGRAM]
        if bad:
            raise UserError(f"groups.{name}.program_num: {bad} outside 0..{DRUM_PROGRAM} (0-based General MIDI; drums are 128)")
        if group.inst_class is not None and not group.inst_class:
            raise UserError(f"groups.{name}.inst_class is an empty list; give class names such as [Bass] or remove the key")
        resolved.append(group)
    return resolved


def _canonical(group: StemGroup) -> dict[str, Any]:
    """The group as JSON that compares equal for equal meaning (class names casefolded, lists sorted)."""
    spec = dataclasses.asdict(group)
    if group.inst_class is not None:
        spec["inst_class"] = sorted({name.casefold() for name in group.inst_class})
    if group.program_num is not None:
        spec["program_num"] = sorted(set(group.program_num))
    return spec


def prepared_without_meta_files(root: Path) -> bool:
    """Whether ``root`` was written by a ``data prepare`` that did not yet copy the songs' MIDI files."""
    return is_prepared(root) and any("meta_files" not in record for record in read_records(root).values()
                                     if record.get("status") == "ok")


class SlakhDataset(SongDataset):
    """Slakh2100 redux (metadata.yaml + stems/Sxx.flac), stems grouped into track slots."""

    def __init__(
        self,
        root: Path,
        tracks: list[str] = list(PAPER_TRACKS),
        vocabulary: list[str] | None = None,
        split: str = "train",
        sample_rate: int = 16000,
        clip_seconds: float = 10.24,
        groups: dict[str, StemGroup] | None = None,
        tempo: bool = True,
        tags: bool = True,
        missing: MissingPolicy = "drop",
        on_corrupt: CorruptPolicy = "error",
        max_seconds: float = 640.0,
        random_shift: bool | None = None,
        seed: int = 0,
        cache_songs: int = 1,
    ) -> None:
        """Slakh2100 redux at ``root``.

        Args:
            groups: per track slot, the stems it sums (see :class:`StemGroup`); default: the slot name
                as ``inst_class``, so ``[bass, drums, guitar, piano]`` is the paper's grouping.
            tempo: give each item ``meta["tempo"]`` (BPM at the clip's middle) from the song's ``all_src.mid``;
                needs mido.
            tags: give each item ``meta["tags"]`` (``key=``, ``mode=`` and ``meter=`` at the clip's middle) from the
                same file's key and time signatures; needs mido.
            missing: ``drop`` a song with an empty slot (the paper), or keep it with that slot ``silent``
                and masked.
            on_corrupt: ``error`` on an unreadable file or metadata.yaml, or ``skip`` its song with a warning.
            max_seconds: songs this long or longer are dropped (640 s, as the official code).
            random_shift: shift training clips by up to half a clip; default: on for the train split.
        """
        self.groups = resolve_groups(list(tracks), groups)
        self.tempo, self.tags = tempo, tags
        self._midi: dict[tuple[str, str], SongMidi] = {}  # (split, song_id) -> what the song's all_src.mid says
        super().__init__(
            root, tracks, vocabulary, split, sample_rate, clip_seconds, missing, on_corrupt, max_seconds, random_shift, seed, cache_songs
        )

    def layout_hint(self) -> str:
        return "; expected the Slakh2100 redux layout <root>/<split>/TrackXXXXX/{metadata.yaml, stems/Sxx.flac}"

    def slot_settings(self) -> dict[str, Any]:
        # A slot's stems depend on every earlier slot (first match wins), so each records the chain.
        chain = [(name, _canonical(group)) for name, group in zip(self.track_names, self.groups)]
        return {name: [list(link) for link in chain[: number + 1]] for number, name in enumerate(self.track_names)}

    def song_meta_files(self, source: SongSource) -> list[Path]:
        return [self.root / source.split / source.song_id / "all_src.mid"] if self.tempo or self.tags else []

    def read_song_meta(self, songs: Sequence[Song]) -> None:
        # the same path in a prepared folder: data prepare copies each song's all_src.mid next to its audio
        wanted = [name for name, on in (("tempo", self.tempo), ("tags", self.tags)) if on]
        if not wanted:
            return
        try:
            import mido  # only here: with tempo: false and tags: false mido is not needed
        except ImportError:
            raise UserError(
                f"{' and '.join(f'{name}: true' for name in wanted)} reads each Slakh song's all_src.mid with mido, "
                f"which is not installed; pip install mido (or set {' and '.join(f'{name}: false' for name in wanted)})"
            ) from None
        unread: list[str] = []
        for song in songs:
            split, song_id = song.source.split, song.source.song_id
            path = self.root / split / song_id / "all_src.mid"
            try:
                self._midi[(split, song_id)] = read_song_midi(path, mido)
            except FileNotFoundError:
                unread.append(f"{path}: file not found")
            except (OSError, EOFError, ValueError, mido.KeySignatureError) as error:
                unread.append(f"{path}: cannot read it ({type(error).__name__}: {error})")
        if unread:
            again = " (this folder was prepared before data prepare kept all_src.mid: prepare it again)" if (
                prepared_without_meta_files(self.root)) else ""
            warnings.warn(
                f"{len(unread)} song(s) have no readable all_src.mid, so their items carry no {' or '.join(wanted)} "
                f"(first: {unread[0]})"
                f"{again}",
                DataWarning,
                stacklevel=4,
            )

    def clip_meta(self, song: Song, start: float) -> dict[str, Any]:
        midi = self._midi.get((song.source.split, song.source.song_id))
        if midi is None:
            return {}
        middle = start + self.clip / self.sample_rate / 2
        meta: dict[str, Any] = {}
        if self.tempo:
            meta["tempo"] = midi.tempo.at(middle)  # BPM at the clip's middle
        if self.tags:
            meta["tags"] = midi.tags_at(middle)
        return meta

    def find_songs(self) -> tuple[list[SongSource], list[DroppedSong]]:
        sources: list[SongSource] = []
        dropped: list[DroppedSong] = []
        matched = [False] * len(self.track_names)
        classes: set[str] = set()
        unrendered: list[Path] = []
        for split in self.split_names:
            folder = self.split_folder(split)
            for song in sorted(path for path in folder.iterdir() if path.is_dir()):
                stems = self._read_metadata(song, split)
                if isinstance(stems, DroppedSong):
                    dropped.append(stems)
                    continue
                slots: list[list[Path]] = [[] for _ in self.track_names]
                for stem_id, stem in sorted(stems.items()):
                    path = song / "stems" / f"{stem_id}.flac"
                    if not path.exists():
                        if stem.get("audio_rendered", False):
                            unrendered.append(path)
                        continue
                    classes.add(str(stem.get("inst_class")))
                    for slot, group in enumerate(self.groups):
                        if group.matches(stem):
                            slots[slot].append(path)
                            matched[slot] = True
                            break
                found = self.source_from_files(song.name, split, slots)
                (dropped if isinstance(found, DroppedSong) else sources).append(found)
        unmatched = [name for name, hit in zip(self.track_names, matched) if not hit]
        if sources and unmatched:
            raise UserError(
                f"track slot(s) {listing(unmatched)} matched no stem in {self.root} ({self.split}); inst_class values "
                f"found: {listing(classes)}. Fix tracks, or give groups, e.g. groups: {{{unmatched[0]}: {{inst_class: [...]}}}}"
            )
        if unrendered:
            warnings.warn(
                f"{len(unrendered)} stem(s) marked audio_rendered: true have no FLAC file and are left out "
                f"(first: {unrendered[0]}); the files on disk are trusted",
                DataWarning,
                stacklevel=3,
            )
        return sources, dropped

    def _read_metadata(self, song: Path, split: str) -> dict[str, dict[str, Any]] | DroppedSong:
        path = song / "metadata.yaml"
        problem = None
        try:
            metadata = yaml.load(path.read_text(), Loader=_Loader)
            stems = metadata.get("stems") if isinstance(metadata, dict) else None
            if not isinstance(stems, dict) or not all(isinstance(stem, dict) for stem in stems.values()):
                problem = f"{path}: no 'stems' mapping of Sxx: {{inst_class, program_num, ...}}"
        except FileNotFoundError:
            problem = f"{path}: file not found"
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            problem = f"{path}: cannot read it ({type(error).__name__})"
        if problem is None:
            return stems
        if self.on_corrupt == "error":
            raise UserError(f"{problem}; set on_corrupt: skip to leave its song out with a warning")
        warnings.warn(f"skipping song {song.name} ({split}): {problem}", DataWarning, stacklevel=4)
        return DroppedSong(song.name, split, "unreadable", problem)
