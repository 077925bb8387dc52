"""Notes on audio that evaluation converts or that disagrees within a song, read from the file headers.

Metrics read every file as mono at their own rate (the beat tracker's, the embedder's), so a stereo track, or
one at another rate than the rest of its set, is converted without error; a track shorter than the others of
its song has no beats after its end, and the computed mix zero-pads it. Each is legitimate, and each usually
means a file that is not what its set claims to be, so the run's notes name them.
"""

from __future__ import annotations

from collections import Counter

from ..audio.io import AudioFormat
from .layout import SongFolder
from .memory import track_format

LISTED = 5  # files or songs named per note; the count says how many in all
LENGTH_TOLERANCE_S = 0.01  # tracks of one song closer than this are the same length


def format_notes(set_name: str, folder: SongFolder) -> list[str]:
    """Notes for the set ``set_name``: files with several channels, files at a rate other than the set's most
    common one, and songs whose tracks (or mix) differ in length. Empty when the set is uniform."""
    formats = {
        (song.name, name): track_format(path)
        for song in folder.songs
        for name, path in [*song.tracks.items(), *([("mix", song.mix)] if song.mix is not None else [])]
    }
    if not formats:
        return []
    notes = []
    multichannel = [f"{song}/{name} ({found.channels} ch)" for (song, name), found in formats.items() if found.channels > 1]
    if multichannel:
        notes.append(f"{set_name}: {len(multichannel)} file(s) have several channels and were averaged to mono: "
                     + _listed(multichannel))
    common_rate, _ = Counter(found.sample_rate for found in formats.values()).most_common(1)[0]
    odd_rates = [f"{song}/{name} ({found.sample_rate} Hz)" for (song, name), found in formats.items()
                 if found.sample_rate != common_rate]
    if odd_rates:
        notes.append(f"{set_name}: {len(odd_rates)} file(s) are not at the set's {common_rate} Hz (each metric "
                     "resamples every file to its own rate): " + _listed(odd_rates))
    uneven = [_lengths(song.name, {name: formats[(song.name, name)] for name in [*song.tracks, *(["mix"] if song.mix else [])]})
              for song in folder.songs]
    uneven = [text for text in uneven if text]
    if uneven:
        notes.append(f"{set_name}: {len(uneven)} song(s) have tracks of unequal length (a track has no beats after "
                     "its end; a computed mix zero-pads the shorter tracks): " + _listed(uneven))
    return notes


def _lengths(song: str, formats: dict[str, AudioFormat]) -> str | None:
    seconds = {name: found.seconds for name, found in formats.items()}
    if max(seconds.values()) - min(seconds.values()) < LENGTH_TOLERANCE_S:
        return None
    return f"{song} (" + ", ".join(f"{name} {value:.2f} s" for name, value in seconds.items()) + ")"


def _listed(items: list[str]) -> str:
    return ", ".join(items[:LISTED]) + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")
