"""Beat pictures for a page: each song's ``beats.png``, every track's mel with the beats the metrics used."""

from __future__ import annotations

from pathlib import Path

from ..interfaces.evaluation import BeatSet


def draw_beat_pictures(folder: Path, beats: BeatSet) -> list[Path]:
    """``folder/<song>/beats.png`` for every song of ``beats`` whose folder holds its track files (see
    :func:`synctrack.eval.plots.plot_song_beats`); returns the pictures written."""
    from ..eval.plots import plot_song_beats

    written = []
    for song, row in zip(beats.songs, beats.beats):
        song_folder = folder / song
        present = [name for name in beats.tracks if (song_folder / f"{name}.wav").is_file()]
        if not present:
            continue
        times = {name: track for name, track in zip(beats.tracks, row) if name in present}
        written.append(plot_song_beats(song_folder, present, times, song_folder / "beats.png", song))
    return written
