"""What a Slakh song's ``all_src.mid`` says about the song as a whole: its tempo, key and meter over time.

Slakh2100 has no style labels, but its MIDI files (from the Lakh MIDI dataset) carry ``set_tempo``,
``key_signature`` and ``time_signature`` meta events, and those are what the conditioners can be given: the
tempo in BPM, and the tags ``key=<tonic>``, ``mode=major|minor`` and ``meter=<beats to the bar>`` in the
synthetic world's spelling (docs/conditioning.md). A key signature is what the file's author typed, not a
key estimate, and many Lakh files carry none or a default one: the tags are as good as the files.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIDI_DEFAULT_TEMPO = 500_000  # microseconds per quarter note before a MIDI file's first set_tempo (120 BPM)
MIDI_DEFAULT_METER = 4  # the MIDI standard assumes 4/4 before a file's first time_signature
# mido names a key signature by its place on the circle of fifths (Db, Gb and Cb major; D#, G# and A# minor);
# the synthetic world's tags use one spelling per pitch class
TONIC_SPELLING = {"Db": "C#", "Gb": "F#", "Cb": "B", "D#": "Eb", "G#": "Ab", "A#": "Bb"}


@dataclass(frozen=True)
class Changes:
    """A value that changes over a song: ``values[i]`` from ``times[i]`` seconds on (ascending); ``before``
    until the first change."""

    times: tuple[float, ...]
    values: tuple[Any, ...]
    before: Any = None

    def at(self, seconds: float) -> Any:
        """The value in effect ``seconds`` into the song (a change at exactly ``seconds`` counts)."""
        change = bisect.bisect_right(self.times, seconds) - 1
        return self.values[change] if change >= 0 else self.before


def key_tags(key: str) -> list[str]:
    """mido's key signature (``"C"``, ``"F#m"``, ``"Bbm"``) -> ``["key=F#", "mode=minor"]``."""
    minor = key.endswith("m")
    tonic = key[:-1] if minor else key
    return [f"key={TONIC_SPELLING.get(tonic, tonic)}", f"mode={'minor' if minor else 'major'}"]


@dataclass(frozen=True)
class SongMidi:
    """A song's tempo (BPM), key tags and meter over time, in seconds from the start of its MIDI file."""

    tempo: Changes
    key: Changes
    meter: Changes

    def tags_at(self, seconds: float) -> list[str]:
        """The ``name=value`` tags in effect at ``seconds``: key and mode where the file gives a key, and the
        meter (the time signature's numerator: ``meter=6`` for 6/8, which a 3|4 vocabulary skips)."""
        key = self.key.at(seconds)
        return [*(key or []), f"meter={self.meter.at(seconds)}"]


def read_song_midi(path: Path, mido: Any) -> SongMidi:
    """The tempo, key and meter events of the MIDI file ``path``, at times in seconds from its own tempo map.

    Events from every track count (a tempo map may be split across tracks); at one tick the later track wins,
    as ``mido.merge_tracks`` orders them. Raises ``OSError``, ``EOFError``, ``ValueError`` or
    ``mido.KeySignatureError`` for a file mido cannot read.
    """
    midi = mido.MidiFile(path)
    if midi.ticks_per_beat <= 0:  # a negative division is SMPTE frames, which has no beats to count
        raise ValueError(f"time division {midi.ticks_per_beat} is not in ticks per beat")
    events: list[tuple[int, str, Any]] = []  # (tick, kind, value)
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "set_tempo":
                if message.tempo <= 0:
                    raise ValueError(f"set_tempo of {message.tempo} microseconds per beat at tick {tick}")
                events.append((tick, "tempo", message.tempo))
            elif message.type == "key_signature":
                events.append((tick, "key", key_tags(message.key)))
            elif message.type == "time_signature":
                events.append((tick, "meter", message.numerator))
    events.sort(key=lambda event: event[0])  # stable
    seconds, last_tick, tempo = 0.0, 0, MIDI_DEFAULT_TEMPO
    found: dict[str, tuple[list[float], list[Any]]] = {"tempo": ([], []), "key": ([], []), "meter": ([], [])}
    for tick, kind, value in events:
        seconds += (tick - last_tick) * tempo / (1e6 * midi.ticks_per_beat)
        last_tick = tick
        if kind == "tempo":
            tempo, value = value, 60e6 / value
        times, values = found[kind]
        times.append(seconds)
        values.append(value)
    (tempo_times, bpm), (key_times, keys), (meter_times, meters) = found["tempo"], found["key"], found["meter"]
    return SongMidi(Changes(tuple(tempo_times), tuple(bpm), 60e6 / MIDI_DEFAULT_TEMPO),
                    Changes(tuple(key_times), tuple(keys)),
                    Changes(tuple(meter_times), tuple(meters), MIDI_DEFAULT_METER))
