"""The instruments of the synthetic world: sixteen timbres, each with its own register and rhythmic role.

Every sound is synthesised once per (instrument, pitch or drum piece, sample rate) as a whole "tone" and
cached; a note is then a slice of its tone, cut at the note's end with a short fade (its release). That
keeps rendering a song to a few array additions per note. Synthesis methods:

- additive partials with per-partial decay and inharmonicity (piano, bass, marimba, bells), with a
  brightness that follows the envelope (brass), or shaped by vowel formants (choir);
- Karplus-Strong plucked strings, computed one period at a time (guitar, pluck);
- sustained harmonic stacks with vibrato and detuned voices (strings, pad, organ, flute, arp);
- frequency modulation (lead);
- shaped noise and pitch-swept sines (the drum kit and hand percussion).

Partials above 0.45 x the sample rate are left out, so the tones do not alias at any rate.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TWO_PI = 2.0 * np.pi
NYQUIST_GUARD = 0.45  # keep partials below this fraction of the sample rate


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def _times(n: int, sample_rate: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sample_rate


def _noise(n: int, sample_rate: int, name: str) -> np.ndarray:
    """White noise, the same for a given (name, rate): drum hits are reproducible."""
    seed = zlib.crc32(f"{name}:{sample_rate}".encode())
    return np.random.default_rng(seed).standard_normal(n)


def _highpass(signal: np.ndarray, times: int = 1) -> np.ndarray:
    """First differences (a gentle high-pass), ``times`` over; the length is kept."""
    for _ in range(times):
        signal = np.diff(signal, prepend=signal[:1])
    return signal


def _attack(t: np.ndarray, seconds: float) -> np.ndarray:
    return np.clip(t / max(seconds, 1e-4), 0.0, 1.0)


def _normalise(tone: np.ndarray) -> np.ndarray:
    peak = np.abs(tone).max()
    return (tone / peak).astype(np.float32) if peak > 0 else tone.astype(np.float32)


def partials(
    phase: np.ndarray,
    ratios: np.ndarray,
    amplitudes: np.ndarray,
    base_hz: float,
    sample_rate: int,
    decays: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """``sum_k a_k * exp(-t / d_k) * sin(r_k * phase)`` ``[N]`` for any (inharmonic) ratios ``r_k``.

    ``phase`` is ``2*pi*f0*t``; partials whose frequency ``r_k * base_hz`` exceeds the guard are dropped.
    """
    keep = ratios * base_hz < NYQUIST_GUARD * sample_rate
    ratios, amplitudes = ratios[keep], amplitudes[keep]
    if not ratios.size:
        return np.zeros_like(phase)
    waves = np.sin(np.outer(ratios, phase))  # float64 keeps the phase exact without a modulo
    waves *= np.exp(-np.outer(1.0 / decays[keep], t))
    return amplitudes @ waves


def harmonics(
    phase: np.ndarray,
    amplitudes: np.ndarray,
    base_hz: float,
    sample_rate: int,
    weight: Callable[[int], np.ndarray | float] | None = None,
) -> np.ndarray:
    """``sum_k a_k * w_k * sin(k * phase)`` for ``k = 1..len(amplitudes)`` ``[N]`` float32, below the guard.

    Uses the recurrence ``sin((k+1)x) = 2 cos(x) sin(kx) - sin((k-1)x)``: one multiply-add per partial
    instead of a sine, which makes sustained tones with many harmonics cheap. ``weight(k)``, when given,
    scales partial ``k`` over time (a brightness envelope).
    """
    twice_cos = (2.0 * np.cos(phase)).astype(np.float32)
    previous = np.zeros(phase.shape, dtype=np.float32)
    current = np.sin(phase).astype(np.float32)
    out = np.zeros(phase.shape, dtype=np.float32)
    for k, amplitude in enumerate(amplitudes, start=1):
        if k * base_hz >= NYQUIST_GUARD * sample_rate:
            break
        if amplitude:
            out += (amplitude * current) if weight is None else (amplitude * weight(k) * current)
        previous, current = current, twice_cos * current - previous
    return out


def vibrato_phase(f0: float, t: np.ndarray, sample_rate: int, rate: float, depth: float, delay: float = 0.0) -> np.ndarray:
    """2*pi * integral of f0 * (1 + depth * sin(2*pi*rate*t)), the depth fading in after ``delay`` s."""
    ramp = np.clip((t - delay) / 0.3, 0.0, 1.0) if delay > 0 else 1.0
    wobble = depth * ramp * np.sin(TWO_PI * rate * t)
    return TWO_PI * f0 * (t + np.cumsum(wobble) / sample_rate)


# -- pitched voices: (midi pitch, sample rate) -> tone -----------------------------------------------------


def piano(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    t = _times(int(2.5 * sample_rate), sample_rate)
    k = np.arange(1, 13, dtype=np.float64)
    ratios = k * np.sqrt(1.0 + 0.0004 * k**2)  # string stiffness stretches the partials
    base = 1.1 * 2.0 ** (-(pitch - 60) / 24.0)
    tone = partials(TWO_PI * f0 * t, ratios, 1.0 / k**1.1, f0, sample_rate, base / (1.0 + 0.35 * (k - 1)), t)
    hammer = _highpass(_noise(t.size, sample_rate, "piano-hammer")) * np.exp(-t / 0.004) * 0.3
    return _normalise((tone + hammer) * _attack(t, 0.002))


def bass(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    t = _times(int(1.6 * sample_rate), sample_rate)
    k = np.arange(1, 9, dtype=np.float64)
    tone = partials(TWO_PI * f0 * t, k, 1.0 / k**1.6, f0, sample_rate, 1.2 / (1.0 + 0.25 * k**2), t)
    thump = np.sin(TWO_PI * 2.0 * f0 * t) * np.exp(-t / 0.015) * 0.4
    return _normalise((tone + thump) * _attack(t, 0.004))


def karplus_strong(f0: float, seconds: float, sample_rate: int, brightness: float, decay_seconds: float, name: str) -> np.ndarray:
    """A plucked string: a noise burst circulating in a delay line of one period, averaged each pass.

    The loop runs at an internal rate that makes the period a whole number of samples (exact pitch), one
    period per step, and is then interpolated to ``sample_rate``.
    """
    period = max(int(round(sample_rate / f0)), 2)
    internal_rate = period * f0
    n = int(seconds * internal_rate) + period + 1
    burst = _noise(period + 1, sample_rate, name)
    burst = brightness * burst + (1.0 - brightness) * np.convolve(burst, np.ones(3) / 3.0, mode="same")
    burst -= burst.mean()  # a burst with an offset would leave a decaying DC step in the tone
    gain = 10.0 ** (-3.0 / (decay_seconds * f0))  # -60 dB after decay_seconds
    line = np.zeros(n)
    line[: period + 1] = burst
    start = period + 1
    while start < n:
        stop = min(start + period, n)
        span = stop - start
        back = start - period
        line[start:stop] = gain * 0.5 * (line[back : back + span] + line[back - 1 : back - 1 + span])
        start = stop
    t_internal = np.arange(n) / internal_rate
    t = _times(int(seconds * sample_rate), sample_rate)
    return np.interp(t, t_internal, line)


def guitar(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    tone = karplus_strong(f0, 2.0, sample_rate, brightness=0.7, decay_seconds=1.6, name=f"guitar{pitch}")
    t = _times(tone.size, sample_rate)
    return _normalise(tone * _attack(t, 0.002))


def pluck(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    tone = karplus_strong(f0, 1.0, sample_rate, brightness=1.0, decay_seconds=0.45, name=f"pluck{pitch}")
    return _normalise(tone)


def marimba(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    t = _times(int(1.0 * sample_rate), sample_rate)
    ratios = np.array([1.0, 3.93, 9.2])  # the tuned bar's partials
    tone = partials(TWO_PI * f0 * t, ratios, np.array([1.0, 0.35, 0.12]), f0, sample_rate, np.array([0.45, 0.1, 0.04]), t)
    return _normalise(tone * _attack(t, 0.001))


def bells(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    t = _times(int(3.0 * sample_rate), sample_rate)
    ratios = np.array([0.5, 1.0, 1.19, 1.56, 2.0, 2.74, 3.76])  # hum, prime, minor third, fifth, nominal...
    amplitudes = np.array([0.5, 1.0, 0.5, 0.3, 0.45, 0.25, 0.15])
    decays = np.array([2.5, 1.8, 1.2, 0.9, 0.8, 0.5, 0.3])
    tone = partials(TWO_PI * f0 * t, ratios, amplitudes, f0, sample_rate, decays, t)
    return _normalise(tone * _attack(t, 0.001))


def brass(pitch: int, sample_rate: int) -> np.ndarray:
    """Harmonics that open up as the note swells: partial k follows the envelope to the power k."""
    f0 = midi_hz(pitch)
    t = _times(int(3.2 * sample_rate), sample_rate)
    envelope = (0.15 + 0.85 * (1.0 - np.exp(-t / 0.05))).astype(np.float32)
    phase = vibrato_phase(f0, t, sample_rate, rate=5.0, depth=0.003, delay=0.3)
    opening = envelope**0.6
    powers = {1: opening}
    for k in range(2, 11):
        powers[k] = powers[k - 1] * opening
    tone = harmonics(phase, 1.0 / np.arange(1, 11) ** 0.7, f0, sample_rate, weight=powers.__getitem__)
    return _normalise(tone * _attack(t, 0.02))


def _sustained(
    f0: float, sample_rate: int, amplitudes: np.ndarray, attack: float, detune_cents: float, vibrato: tuple[float, float, float]
) -> np.ndarray:
    """A held harmonic stack: ``amplitudes`` of harmonics 1..K, one or two detuned voices, vibrato (rate, depth, delay)."""
    t = _times(int(3.2 * sample_rate), sample_rate)
    rate, depth, delay = vibrato
    tone = np.zeros_like(t)
    voices = (-detune_cents, detune_cents) if detune_cents else (0.0,)
    for cents in voices:
        voice_f0 = f0 * 2.0 ** (cents / 1200.0)
        tone += harmonics(vibrato_phase(voice_f0, t, sample_rate, rate, depth, delay), amplitudes, voice_f0, sample_rate)
    return _normalise(tone * (1.0 - np.exp(-t / (attack / 3.0))))


def strings(pitch: int, sample_rate: int) -> np.ndarray:
    k = np.arange(1, 13, dtype=np.float64)
    return _sustained(midi_hz(pitch), sample_rate, np.exp(-k / 7.0) / k, attack=0.15, detune_cents=7.0, vibrato=(5.5, 0.004, 0.25))


def pad(pitch: int, sample_rate: int) -> np.ndarray:
    k = np.arange(1, 7, dtype=np.float64)
    tone = _sustained(midi_hz(pitch), sample_rate, 1.0 / k**2, attack=0.45, detune_cents=12.0, vibrato=(0.3, 0.002, 0.0))
    t = _times(tone.size, sample_rate)
    return _normalise(tone * (1.0 + 0.15 * np.sin(TWO_PI * 0.5 * t)))


def organ(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    t = _times(int(3.2 * sample_rate), sample_rate)
    levels = np.zeros(16)  # drawbars 16', 8', 5 1/3', 4', 2 2/3', 2', 1 1/3', 1' as multiples of f0 / 2
    levels[[0, 1, 2, 3, 5, 7, 11, 15]] = [0.7, 1.0, 0.5, 0.6, 0.35, 0.3, 0.15, 0.12]
    tone = harmonics(TWO_PI * f0 / 2.0 * t, levels, f0 / 2.0, sample_rate)
    click = _highpass(_noise(t.size, sample_rate, "organ-click")) * np.exp(-t / 0.003) * 0.2
    return _normalise((tone + click) * _attack(t, 0.006) * (1.0 + 0.08 * np.sin(TWO_PI * 6.5 * t)))


def choir(pitch: int, sample_rate: int) -> np.ndarray:
    """An "ah" vowel: harmonic amplitudes weighted by three formant resonances."""
    f0 = midi_hz(pitch)
    k = np.arange(1, 40, dtype=np.float64)
    formants = ((730.0, 90.0, 1.0), (1090.0, 110.0, 0.5), (2440.0, 170.0, 0.25))
    amplitudes = sum(gain / (1.0 + ((k * f0 - centre) / width) ** 2) for centre, width, gain in formants) + 0.02 / k
    return _sustained(f0, sample_rate, amplitudes, attack=0.2, detune_cents=9.0, vibrato=(5.0, 0.006, 0.2))


def flute(pitch: int, sample_rate: int) -> np.ndarray:
    f0 = midi_hz(pitch)
    tone = _sustained(f0, sample_rate, np.array([1.0, 0.3, 0.12, 0.05]), attack=0.06, detune_cents=0.0, vibrato=(5.0, 0.005, 0.15))
    t = _times(tone.size, sample_rate)
    breath = _highpass(_noise(t.size, sample_rate, "flute-breath")) * 0.04 * (0.5 + np.exp(-t / 0.08))
    return _normalise(tone + breath)


def arp(pitch: int, sample_rate: int) -> np.ndarray:
    """A square wave (odd harmonics) that decays to a held level."""
    f0 = midi_hz(pitch)
    t = _times(int(1.2 * sample_rate), sample_rate)
    k = np.arange(1, 16, dtype=np.float64)
    tone = harmonics(TWO_PI * f0 * t, np.where(k % 2 == 1, 1.0 / k, 0.0), f0, sample_rate)
    return _normalise(tone * _attack(t, 0.002) * (0.55 + 0.45 * np.exp(-t / 0.08)))


def lead(pitch: int, sample_rate: int) -> np.ndarray:
    """Two-operator FM: a modulator at the carrier's frequency, index lowered for high notes (no aliasing)."""
    f0 = midi_hz(pitch)
    t = _times(int(3.2 * sample_rate), sample_rate)
    index = min(1.8, max(0.2, NYQUIST_GUARD * sample_rate / f0 - 2.0))
    carrier = vibrato_phase(f0, t, sample_rate, rate=6.0, depth=0.005, delay=0.2)
    modulator = np.sin(carrier % TWO_PI) * index * (0.6 + 0.4 * np.exp(-t / 0.1))
    return _normalise(np.sin((carrier + modulator) % TWO_PI) * _attack(t, 0.008))


# -- the drum kit and hand percussion: (piece, sample rate) -> hit ------------------------------------------


def _swept_sine(t: np.ndarray, sample_rate: int, start_hz: float, end_hz: float, sweep: float) -> np.ndarray:
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / sweep)
    return np.sin((TWO_PI * np.cumsum(frequency) / sample_rate) % TWO_PI)


def drum_piece(piece: str, sample_rate: int) -> np.ndarray:
    """One hit of a kit piece: kick, snare, hat, open_hat, crash, shaker, clap, tambourine, conga_hi, conga_lo."""
    lengths = {"kick": 0.35, "snare": 0.3, "hat": 0.08, "open_hat": 0.5, "crash": 2.0, "shaker": 0.1, "clap": 0.25,
               "tambourine": 0.2, "conga_hi": 0.3, "conga_lo": 0.35}
    t = _times(int(lengths[piece] * sample_rate), sample_rate)
    noise = _noise(t.size, sample_rate, piece)
    if piece == "kick":
        hit = _swept_sine(t, sample_rate, 160.0, 48.0, 0.03) * np.exp(-t / 0.13) + noise * np.exp(-t / 0.002) * 0.25
    elif piece == "snare":
        tone = np.sin(TWO_PI * 185.0 * t) * np.exp(-t / 0.04) * 0.6 + np.sin(TWO_PI * 330.0 * t) * np.exp(-t / 0.03) * 0.3
        hit = tone + _highpass(noise) * np.exp(-t / 0.09) * 0.5
    elif piece == "hat":
        hit = _highpass(noise, 2) * np.exp(-t / 0.012)
    elif piece == "open_hat":
        hit = _highpass(noise, 2) * np.exp(-t / 0.15)
    elif piece == "crash":
        hit = _highpass(noise, 2) * np.exp(-t / 0.5)
    elif piece == "shaker":
        hit = _highpass(noise) * _attack(t, 0.006) * np.exp(-t / 0.03)
    elif piece == "clap":
        bursts = sum(np.where(t >= lag, np.exp(-(t - lag) / 0.004), 0.0) for lag in (0.0, 0.009, 0.018))
        hit = _highpass(noise) * (bursts + 0.4 * np.exp(-t / 0.05))
    elif piece == "tambourine":
        hit = _highpass(noise, 3) * np.exp(-t / 0.06)
    elif piece in ("conga_hi", "conga_lo"):
        high, low = (360.0, 320.0) if piece == "conga_hi" else (240.0, 205.0)
        hit = _swept_sine(t, sample_rate, high, low, 0.02) * np.exp(-t / 0.1) + noise * np.exp(-t / 0.002) * 0.15
    else:
        raise KeyError(piece)
    return _normalise(hit * _attack(t, 0.0008))


# -- instruments ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    """An instrument: its voice, register (MIDI pitches), rhythmic role, note release and mix level.

    ``voice(key, sample_rate)`` returns the tone of a pitch (or, for kits, of a piece name); a note plays
    the tone from its start and fades it out over ``release`` seconds after the note ends.
    """

    name: str
    voice: Callable[[int | str, int], np.ndarray]
    role: str
    low: int = 0
    high: int = 127
    release: float = 0.05
    gain_db: float = 0.0

    @property
    def pitched(self) -> bool:
        return self.role not in ("drums", "percussion")


INSTRUMENTS: dict[str, Instrument] = {
    instrument.name: instrument
    for instrument in (
        Instrument("bass", bass, "bass", 28, 52, release=0.03, gain_db=0.0),
        Instrument("drums", drum_piece, "drums", release=0.0, gain_db=2.0),
        Instrument("guitar", guitar, "strum", 45, 72, release=0.06, gain_db=-2.0),
        Instrument("piano", piano, "piano", 48, 84, release=0.12, gain_db=-2.0),
        Instrument("strings", strings, "sustain", 55, 79, release=0.25, gain_db=-4.0),
        Instrument("organ", organ, "organ", 48, 72, release=0.03, gain_db=-5.0),
        Instrument("lead", lead, "melody", 67, 88, release=0.04, gain_db=-3.0),
        Instrument("brass", brass, "stabs", 55, 74, release=0.06, gain_db=-3.0),
        Instrument("pad", pad, "pad", 48, 72, release=0.5, gain_db=-6.0),
        Instrument("pluck", pluck, "arpeggio16", 60, 84, release=0.03, gain_db=-4.0),
        Instrument("percussion", drum_piece, "percussion", release=0.0, gain_db=-4.0),
        Instrument("choir", choir, "sustain", 55, 76, release=0.3, gain_db=-5.0),
        Instrument("bells", bells, "bells", 72, 96, release=0.8, gain_db=-6.0),
        Instrument("marimba", marimba, "arpeggio8", 60, 84, release=0.2, gain_db=-3.0),
        Instrument("flute", flute, "long_melody", 72, 93, release=0.08, gain_db=-4.0),
        Instrument("arp", arp, "arpeggio16", 60, 84, release=0.02, gain_db=-6.0),
    )
}


def fade_tail(tone: np.ndarray, sample_rate: int, seconds: float = 0.01) -> np.ndarray:
    """The tone with its last ``seconds`` faded out: a tone cut while still sounding would click."""
    samples = min(int(seconds * sample_rate), tone.size // 4)
    if samples > 1:
        tone[-samples:] *= (0.5 * (1.0 + np.cos(np.pi * np.arange(samples) / samples))).astype(tone.dtype)
    return tone


class ToneCache:
    """Tones by (instrument, key, sample rate), least recently used evicted beyond ``max_bytes``."""

    def __init__(self, max_bytes: int = 96 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._tones: OrderedDict[tuple[str, int | str, int], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, instrument: Instrument, key: int | str, sample_rate: int) -> np.ndarray:
        cache_key = (instrument.name, key, sample_rate)
        with self._lock:
            tone = self._tones.get(cache_key)
            if tone is not None:
                self._tones.move_to_end(cache_key)
                return tone
        tone = fade_tail(instrument.voice(key, sample_rate), sample_rate)
        tone.setflags(write=False)
        with self._lock:
            if cache_key not in self._tones:
                self._tones[cache_key] = tone
                self._bytes += tone.nbytes
            while self._bytes > self.max_bytes and len(self._tones) > 1:
                _, evicted = self._tones.popitem(last=False)
                self._bytes -= evicted.nbytes
        return tone


TONES = ToneCache()
