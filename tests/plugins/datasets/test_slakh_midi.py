"""A Slakh song's tempo, key and meter from its all_src.mid, against times worked out by hand."""

from __future__ import annotations

import mido
import pytest

from synctrack.plugins.datasets.slakh_midi import key_tags, read_song_midi

from .conftest import write_midi_tracks

TICKS = 480


def write_events(path, tracks: list[list[tuple[int, mido.MetaMessage]]]) -> None:
    write_midi_tracks(path, tracks, TICKS)


def tempo(bpm: float) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))


def meter(numerator: int, denominator: int) -> mido.MetaMessage:
    return mido.MetaMessage("time_signature", numerator=numerator, denominator=denominator)


def key(name: str) -> mido.MetaMessage:
    return mido.MetaMessage("key_signature", key=name)


@pytest.mark.parametrize(
    ("signature", "tags"),
    [
        ("C", ["key=C", "mode=major"]),
        ("Bbm", ["key=Bb", "mode=minor"]),
        ("Db", ["key=C#", "mode=major"]),  # one spelling per pitch class, the synthetic world's
        ("A#m", ["key=Bb", "mode=minor"]),
        ("Gb", ["key=F#", "mode=major"]),
        ("Cb", ["key=B", "mode=major"]),
        ("F#m", ["key=F#", "mode=minor"]),
    ],
)
def test_key_signatures_become_key_and_mode_tags(signature, tags):
    assert key_tags(signature) == tags


def test_tempo_key_and_meter_change_at_the_times_the_tempo_map_gives(tmp_path):
    # By hand: 100 BPM from 0; 3/4 from tick 960 (2 beats at 100 BPM: 1.2 s); 150 BPM and F# minor from tick 1600
    # (1600 / 480 beats at 100 BPM: 2.0 s); 6/8 from tick 2560 (960 ticks = 2 beats at 150 BPM later: 2.8 s).
    path = tmp_path / "all_src.mid"
    write_events(path, [
        [(0, tempo(100.0)), (0, key("Db")), (960, meter(3, 4)), (1600, tempo(150.0))],
        [(1600, key("F#m")), (2560, meter(6, 8))],  # a second track: the map may be split across tracks
    ])
    song = read_song_midi(path, mido)
    assert song.tempo.times == pytest.approx((0.0, 2.0))
    assert song.meter.times == pytest.approx((1.2, 2.8))
    assert song.key.times == pytest.approx((0.0, 2.0))
    expected = {
        0.5: (100.0, ["key=C#", "mode=major", "meter=4"]),  # before the first time signature: MIDI's 4/4
        1.2: (100.0, ["key=C#", "mode=major", "meter=3"]),  # a change at exactly that time counts
        1.9: (100.0, ["key=C#", "mode=major", "meter=3"]),
        2.5: (150.0, ["key=F#", "mode=minor", "meter=3"]),
        3.0: (150.0, ["key=F#", "mode=minor", "meter=6"]),
    }
    for seconds, (bpm, tags) in expected.items():
        assert song.tempo.at(seconds) == pytest.approx(bpm, rel=1e-12), seconds
        assert song.tags_at(seconds) == tags, seconds


def test_a_file_without_meta_events_gives_midis_defaults_and_no_key(tmp_path):
    path = tmp_path / "all_src.mid"
    write_events(path, [[]])
    song = read_song_midi(path, mido)
    assert song.tempo.at(10.0) == 120.0
    assert song.tags_at(10.0) == ["meter=4"]


def test_a_non_positive_tempo_is_refused(tmp_path):
    path = tmp_path / "all_src.mid"
    write_events(path, [[(0, tempo(100.0))]])
    midi = mido.MidiFile(path)
    midi.tracks[0][0] = mido.MetaMessage("set_tempo", tempo=0)
    midi.save(path)
    with pytest.raises(ValueError, match="set_tempo of 0 microseconds per beat at tick 0"):
        read_song_midi(path, mido)
