"""``slakh_msdm``: Slakh2100 as pre-rendered for MSDM, one WAV per track under each song folder.

Layout: ``<root>/{train,validation,test}/TrackXXXXX/{bass,drums,guitar,piano}.wav`` (22050 Hz). The file
names are the track slots, so any ``tracks`` list whose files exist works; a missing file is a missing
track (the song is dropped, or kept with that slot silent and masked, as ``missing`` says).
"""

from __future__ import annotations

from pathlib import Path

from synctrack.data.songs import CorruptPolicy, DroppedSong, MissingPolicy, SongDataset, SongSource

PAPER_TRACKS = ("bass", "drums", "guitar", "piano")


class SlakhMSDMDataset(SongDataset):
    """Slakh2100 in MSDM's pre-rendered layout (<split>/TrackXXXXX/<track>.wav)."""

    def __init__(
        self,
        root: Path,
        tracks: list[str] = list(PAPER_TRACKS),
        vocabulary: list[str] | None = None,
        split: str = "train",
        sample_rate: int = 16000,
        clip_seconds: float = 10.24,
        missing: MissingPolicy = "drop",
        on_corrupt: CorruptPolicy = "error",
        max_seconds: float = 640.0,
        random_shift: bool | None = None,
        seed: int = 0,
        cache_songs: int = 1,
    ) -> None:
        """MSDM's Slakh folders at ``root``; the arguments are those of ``slakh`` without ``groups``."""
        super().__init__(
            root, tracks, vocabulary, split, sample_rate, clip_seconds, missing, on_corrupt, max_seconds, random_shift, seed, cache_songs
        )

    def layout_hint(self) -> str:
        names = ",".join(self.track_names)
        return f"; expected MSDM's layout <root>/<split>/TrackXXXXX/{{{names}}}.wav"

    def find_songs(self) -> tuple[list[SongSource], list[DroppedSong]]:
        sources: list[SongSource] = []
        dropped: list[DroppedSong] = []
        for split in self.split_names:
            for song in sorted(path for path in self.split_folder(split).iterdir() if path.is_dir()):
                slots = [[song / f"{name}.wav"] if (song / f"{name}.wav").exists() else [] for name in self.track_names]
                found = self.source_from_files(song.name, split, slots)
                (dropped if isinstance(found, DroppedSong) else sources).append(found)
        return sources, dropped
