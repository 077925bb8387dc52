"""A synthetic song: a tempo, a meter, a key and a chord progression shared by every track, and one
note pattern per instrument on that grid; then the clip rendered from it.

Time is in seconds from the clip start. Beat ``k`` (any integer) falls at ``phase + k * beat``; the clip
starts ``phase`` seconds before beat 0 (so the first beat is not always at 0 s) and its first beat sits at
a random position of its bar. Notes are generated from one bar before the clip, so sounds that started
earlier ring into it, as in a clip cut from a longer song. Every onset lies on the sixteenth-note grid
(a strummed chord spreads its strings over a few milliseconds after the grid point), until ``Desync``
moves them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .instruments import TONES, Instrument

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Progressions as 0-based scale degrees, one chord per bar.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3), (0, 3, 4, 4), (5, 3, 0, 4), (0, 5, 3, 4), (1, 4, 0, 0), (0, 3, 0, 4)),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 5, 3, 4), (0, 3, 6, 2)),
}


@dataclass
class Desync:
    """Moves tracks off the shared grid: the negative control for rhythm metrics.

    Attributes:
        shift: each track moves by its own offset drawn uniformly from ``[-shift, shift]`` seconds.
        jitter: each onset moves further by its own draw from ``[-jitter, jitter]`` seconds (the notes of a
            chord move together).
        offsets: fixed offsets in seconds by track name, added to the drawn ones (``{drums: 0.03}``).
    """

    shift: float = 0.0
    jitter: float = 0.0
    offsets: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """One event: onset (s from the clip start), pitch (or drum piece), length (s; None: the whole hit), velocity."""

    time: float
    key: int | str
    length: float | None
    velocity: float


@dataclass
class Grid:
    """The shared musical grid of a song."""

    tempo: float
    meter: int
    phase: float
    first_position: int  # position in its bar of beat 0
    tonic: int
    mode: str
    progression: tuple[int, ...]
    clip_seconds: float

    @property
    def beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def bar(self) -> float:
        return self.beat * self.meter

    @property
    def scale(self) -> tuple[int, ...]:
        return MAJOR if self.mode == "major" else MINOR

    def beats(self) -> range:
        """Beat numbers from one bar before the clip to its end."""
        first = -self.meter - 1
        last = math.ceil((self.clip_seconds - self.phase) / self.beat)
        return range(first, last + 1)

    def time(self, beat: float) -> float:
        return self.phase + beat * self.beat

    def position(self, beat: int) -> int:
        return (beat + self.first_position) % self.meter

    def bar_number(self, beat: int) -> int:
        return (beat + self.first_position) // self.meter

    def chord(self, beat: int) -> list[int]:
        """Pitch classes of the bar's triad, root first (diatonic: stacked scale thirds)."""
        degree = self.progression[self.bar_number(beat) % len(self.progression)]
        scale = self.scale
        return [(self.tonic + scale[(degree + step) % 7]) % 12 for step in (0, 2, 4)]

    def beat_times(self) -> np.ndarray:
        """Ground-truth beats inside the clip, ``[K]`` seconds."""
        times = np.array([self.time(k) for k in self.beats()])
        return times[(times >= 0) & (times < self.clip_seconds)]

    def downbeat_times(self) -> np.ndarray:
        times = np.array([self.time(k) for k in self.beats() if self.position(k) == 0])
        return times[(times >= 0) & (times < self.clip_seconds)]

    @property
    def key_name(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {self.mode}"


def plan_grid(rng: np.random.Generator, clip_seconds: float, tempo_range: tuple[float, float], meters: list[int]) -> Grid:
    tempo = float(rng.uniform(*tempo_range))
    meter = int(rng.choice(meters))
    mode = "major" if rng.random() < 0.6 else "minor"
    choices = PROGRESSIONS[mode]
    return Grid(
        tempo=tempo,
        meter=meter,
        phase=float(rng.uniform(0.0, 60.0 / tempo)),
        first_position=int(rng.integers(meter)),
        tonic=int(rng.integers(12)),
        mode=mode,
        progression=choices[int(rng.integers(len(choices)))],
        clip_seconds=clip_seconds,
    )


# -- pitches ---------------------------------------------------------------------------------------------------


def lowest_at_least(pitch_class: int, floor: int) -> int:
    return floor + (pitch_class - floor) % 12


def voicing(chord: list[int], instrument: Instrument, voices: int, centre: float = 0.4) -> list[int]:
    """``voices`` pitches of ``chord`` stacked in close position from a point ``centre`` up the register."""
    floor = int(instrument.low + centre * (instrument.high - instrument.low - 12))
    pitches = [lowest_at_least(chord[0], floor)]
    step = 1
    while len(pitches) < voices:
        pitches.append(lowest_at_least(chord[step % 3], pitches[-1] + 1))
        step += 1
    while pitches[-1] > instrument.high and pitches[0] - 12 >= instrument.low:
        pitches = [pitch - 12 for pitch in pitches]
    return pitches


def bass_pitch(pitch_class: int, instrument: Instrument) -> int:
    return lowest_at_least(pitch_class, instrument.low + 4)


class Melody:
    """A random walk over the scale inside a register; strong beats land on chord tones."""

    def __init__(self, grid: Grid, instrument: Instrument, rng: np.random.Generator) -> None:
        self.grid, self.rng = grid, rng
        self.pitches = [p for p in range(instrument.low, instrument.high + 1) if (p - grid.tonic) % 12 in grid.scale]
        self.index = len(self.pitches) // 2

    def next(self, chord: list[int], strong: bool) -> int:
        self.index = int(np.clip(self.index + self.rng.choice([-2, -1, -1, 0, 1, 1, 2]), 0, len(self.pitches) - 1))
        if strong:  # move to the nearest chord tone
            candidates = [i for i, p in enumerate(self.pitches) if p % 12 in chord]
            self.index = min(candidates, key=lambda i: abs(i - self.index))
        return self.pitches[self.index]


# -- rhythmic roles: (grid, instrument, rng) -> notes ----------------------------------------------------------


def _drums(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    style = str(rng.choice(["rock", "four_on_floor", "backbeat"])) if grid.meter == 4 else "waltz"
    subdivision = 4 if grid.tempo < 112 and rng.random() < 0.4 else 2
    open_hat = rng.random() < 0.5
    crash = rng.random() < 0.6
    kicks = {"rock": {0, 2}, "four_on_floor": {0, 1, 2, 3}, "backbeat": {0}, "waltz": {0}}[style]
    snares = {"rock": {1, 3}, "four_on_floor": {1, 3}, "backbeat": {1, 3}, "waltz": {1, 2}}[style]
    extra_kick = style == "backbeat" or (style == "rock" and rng.random() < 0.5)  # on the "and" of the third beat
    notes = []
    for k in grid.beats():
        position, t = grid.position(k), grid.time(k)
        accent = 1.0 if position == 0 else 0.85
        if position in kicks:
            notes.append(Note(t, "kick", None, accent))
        if position in snares:
            notes.append(Note(t, "snare", None, 0.9 if style != "waltz" or position == 1 else 0.6))
        if crash and position == 0 and grid.bar_number(k) % 4 == 0:
            notes.append(Note(t, "crash", None, 0.5))
        for step in range(subdivision):
            last_eighth = step == subdivision - 1 and position == grid.meter - 1
            piece = "open_hat" if open_hat and last_eighth and subdivision == 2 else "hat"
            velocity = (0.9 if step == 0 else 0.55) * (0.8 + 0.2 * accent)
            notes.append(Note(t + step * grid.beat / subdivision, piece, None, velocity))
        if extra_kick and position == 2:
            notes.append(Note(t + grid.beat / 2, "kick", None, 0.7))
    return notes, f"{style}/{'16ths' if subdivision == 4 else '8ths'}"


def _percussion(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    style = str(rng.choice(["shaker", "congas"]))
    notes = []
    for k in grid.beats():
        position, t = grid.position(k), grid.time(k)
        if style == "shaker":
            for step in range(4):
                notes.append(Note(t + step * grid.beat / 4, "shaker", None, 0.9 if step == 0 else 0.45))
            if position % 2 == 1:
                notes.append(Note(t, "clap", None, 0.8))
        else:
            notes.append(Note(t, "conga_lo" if position % 2 == 0 else "conga_hi", None, 0.9))
            notes.append(Note(t + grid.beat / 2, "conga_hi", None, 0.6))
            if position == grid.meter - 1:
                notes.append(Note(t + 0.75 * grid.beat, "tambourine", None, 0.5))
    return notes, style


def _bass(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    style = str(rng.choice(["quarters", "eighths", "root_fifth"]))
    notes = []
    for k in grid.beats():
        chord, position, t = grid.chord(k), grid.position(k), grid.time(k)
        root = bass_pitch(chord[0], instrument)
        accent = 1.0 if position == 0 else 0.8
        if style == "quarters":
            notes.append(Note(t, root, 0.9 * grid.beat, accent))
        elif style == "eighths":
            notes.append(Note(t, root, 0.45 * grid.beat, accent))
            notes.append(Note(t + grid.beat / 2, root + (12 if position == grid.meter - 1 else 0), 0.45 * grid.beat, 0.6))
        else:
            fifth = root + 7 if root + 7 <= instrument.high else root - 5
            notes.append(Note(t, root if position % 2 == 0 else fifth, 0.9 * grid.beat, accent))
    return notes, style


def _strum(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    style = str(rng.choice(["eighths", "quarters", "halves"]))
    spread = float(rng.uniform(0.003, 0.007))  # seconds between strings of one strum
    notes = []
    for k in grid.beats():
        chord, t = grid.chord(k), grid.time(k)
        pitches = voicing(chord, instrument, 5, centre=0.2)
        if style == "halves" and grid.position(k) % 2:
            continue
        hits = [(0.0, 1.0, False), (0.5, 0.5, True)] if style == "eighths" else [(0.0, 0.9, False)]  # (beat, velocity, up)
        for offset, velocity, upstroke in hits:
            order = pitches[::-1][:3] if upstroke else pitches
            length = {"eighths": 0.45, "quarters": 0.9, "halves": 1.9}[style] * grid.beat
            for string, pitch in enumerate(order):
                notes.append(Note(t + offset * grid.beat + string * spread, pitch, length, velocity * (1.0 - 0.05 * string)))
    return notes, style


def _piano(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    style = str(rng.choice(["block", "halves", "arpeggio"]))
    notes = []
    for k in grid.beats():
        chord, position, t = grid.chord(k), grid.position(k), grid.time(k)
        right = voicing(chord, instrument, 3, centre=0.45)
        left = lowest_at_least(chord[0], instrument.low)
        if style == "block":
            notes += [Note(t, pitch, 0.85 * grid.beat, 0.9 if position == 0 else 0.7) for pitch in right]
            if position == 0:
                notes.append(Note(t, left, grid.bar * 0.95, 0.8))
        elif style == "halves":
            if position % 2 == 0:
                length = min(2, grid.meter - position) * grid.beat * 0.95
                notes += [Note(t, pitch, length, 0.85) for pitch in [left, *right]]
            else:
                notes.append(Note(t, right[-1] + 12 if right[-1] + 12 <= instrument.high else right[-1], 0.45 * grid.beat, 0.5))
        else:
            tones = [left + 12, *right]
            for step in range(2):
                pitch = tones[(2 * position + step) % len(tones)]
                notes.append(Note(t + step * grid.beat / 2, pitch, 0.5 * grid.beat, 0.8 if step == 0 else 0.6))
    return notes, style


def _held_chords(voices: int, centre: float, per_bar: int):
    def role(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
        notes = []
        span = grid.meter // per_bar if grid.meter % per_bar == 0 else grid.meter
        for k in grid.beats():
            if grid.position(k) % span:
                continue
            pitches = voicing(grid.chord(k), instrument, voices, centre=centre)
            notes += [Note(grid.time(k), pitch, span * grid.beat, 0.8) for pitch in pitches]
        return notes, f"{per_bar}_per_bar"

    return role


def _organ(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    if rng.random() < 0.5:
        return _held_chords(4, 0.35, 2)(grid, instrument, rng)
    notes = []  # short chords on every beat, accented on the beat after the downbeat (gospel-ish pulse)
    for k in grid.beats():
        pitches = voicing(grid.chord(k), instrument, 4, centre=0.35)
        velocity = 0.9 if grid.position(k) % 2 else 0.7
        notes += [Note(grid.time(k), pitch, 0.7 * grid.beat, velocity) for pitch in pitches]
    return notes, "pulse"


def _stabs(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    style = str(rng.choice(["backbeat", "push"]))
    notes = []
    for k in grid.beats():
        position, t = grid.position(k), grid.time(k)
        pitches = voicing(grid.chord(k), instrument, 3, centre=0.5)
        if style == "backbeat" and position % 2 == 1:
            notes += [Note(t, pitch, 0.4 * grid.beat, 0.9) for pitch in pitches]
        elif style == "push" and position == 0:
            notes += [Note(t, pitch, 0.6 * grid.beat, 0.95) for pitch in pitches]
            notes += [Note(t + 1.5 * grid.beat, pitch, 0.4 * grid.beat, 0.75) for pitch in pitches]
    return notes, style


def _melody(grid: Grid, instrument: Instrument, rng: np.random.Generator, long_notes: bool = False) -> tuple[list[Note], str]:
    melody = Melody(grid, instrument, rng)
    rhythms = [[(0.0, 1.0)], [(0.0, 0.5), (0.5, 0.5)], [(0.0, 0.75), (0.75, 0.25)], []]
    weights = [0.4, 0.35, 0.15, 0.1]
    notes = []
    beat_iter = iter(grid.beats())
    for k in beat_iter:
        chord, position, t = grid.chord(k), grid.position(k), grid.time(k)
        if long_notes and position % 2 == 0 and position + 1 < grid.meter:
            notes.append(Note(t, melody.next(chord, True), 1.9 * grid.beat, 0.85))
            next(beat_iter, None)  # the note holds over the next beat
            continue
        for start, length in rhythms[int(rng.choice(len(rhythms), p=weights))]:
            strong = start == 0.0 and position % 2 == 0
            pitch = melody.next(chord, strong)
            notes.append(Note(t + start * grid.beat, pitch, 0.95 * length * grid.beat, 0.9 if start == 0 else 0.7))
    return notes, "long" if long_notes else "phrases"


def _arpeggio(steps_per_beat: int):
    def role(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
        direction = str(rng.choice(["up", "up_down"]))
        steps = steps_per_beat if grid.tempo < 125 or steps_per_beat == 2 else 2
        notes = []
        for k in grid.beats():
            chord, position, t = grid.chord(k), grid.position(k), grid.time(k)
            tones = voicing(chord, instrument, 4, centre=0.3)
            cycle = tones + tones[-2:0:-1] if direction == "up_down" else tones
            for step in range(steps):
                pitch = cycle[(position * steps + step) % len(cycle)]
                notes.append(Note(t + step * grid.beat / steps, pitch, 0.9 * grid.beat / steps, 0.9 if step == 0 else 0.6))
        return notes, f"{direction}/{steps}"

    return role


def _bells(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    notes = []
    for k in grid.beats():
        position = grid.position(k)
        if position == 0 or (grid.meter == 4 and position == 2):
            pitches = voicing(grid.chord(k), instrument, 3, centre=0.3)
            notes.append(Note(grid.time(k), pitches[int(rng.integers(3))], 2 * grid.beat, 0.9 if position == 0 else 0.7))
    return notes, "chimes"


ROLES = {
    "drums": _drums,
    "percussion": _percussion,
    "bass": _bass,
    "strum": _strum,
    "piano": _piano,
    "sustain": _held_chords(4, 0.3, 1),
    "pad": _held_chords(4, 0.25, 1),
    "organ": _organ,
    "stabs": _stabs,
    "melody": _melody,
    "long_melody": lambda grid, instrument, rng: _melody(grid, instrument, rng, long_notes=True),
    "arpeggio16": _arpeggio(4),
    "arpeggio8": _arpeggio(2),
    "bells": _bells,
}


def compose(grid: Grid, instrument: Instrument, rng: np.random.Generator) -> tuple[list[Note], str]:
    """The notes of one instrument and the name of the pattern it chose."""
    return ROLES[instrument.role](grid, instrument, rng)


# -- timing and rendering ----------------------------------------------------------------------------------------


def move(notes: list[Note], offset: float, jitter: float, rng: np.random.Generator) -> list[Note]:
    """Notes shifted by ``offset``, each onset further by its own uniform draw in ``[-jitter, jitter]``.

    Notes that start together (a chord, a kick with a hat) share their onset's draw: the player is late or
    early as a whole.
    """
    if not notes or (offset == 0.0 and jitter == 0.0):
        return notes
    onsets = sorted({note.time for note in notes})
    draws = dict(zip(onsets, rng.uniform(-jitter, jitter, size=len(onsets)) if jitter else np.zeros(len(onsets))))
    return [Note(note.time + offset + float(draws[note.time]), note.key, note.length, note.velocity) for note in notes]


_FADES: dict[int, np.ndarray] = {}


def _fade(samples: int) -> np.ndarray:
    """A raised-cosine fade from 1 to 0 over ``samples``."""
    fade = _FADES.get(samples)
    if fade is None:
        fade = (0.5 * (1.0 + np.cos(np.pi * np.arange(samples) / samples))).astype(np.float32)
        _FADES[samples] = fade
    return fade


def render(instrument: Instrument, notes: list[Note], sample_rate: int, num_samples: int) -> np.ndarray:
    """The track ``[num_samples]``: each note's tone from its onset, faded out over the release after its end."""
    out = np.zeros(num_samples, dtype=np.float32)
    release = int(round(instrument.release * sample_rate))
    for note in notes:
        start = int(round(note.time * sample_rate))
        if start >= num_samples:
            continue
        tone = TONES.get(instrument, note.key, sample_rate)
        held = tone.size if note.length is None else min(tone.size, int(round(note.length * sample_rate)))
        end = min(tone.size, held + release) if note.length is not None else tone.size
        if start + end <= 0:
            continue
        sound = tone[:end] * np.float32(note.velocity)
        if end > held:
            sound[held:end] *= _fade(release)[: end - held]
        first = max(0, -start)
        stop = min(end, num_samples - start)
        out[start + first : start + stop] += sound[first:stop]
    return out


def onset_times(notes: list[Note], clip_seconds: float) -> list[float]:
    """Distinct onsets inside the clip, ascending (a chord counts once)."""
    times = sorted({round(note.time, 6) for note in notes if 0.0 <= note.time < clip_seconds})
    return times
