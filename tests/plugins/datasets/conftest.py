"""Small Slakh folders in both layouts, written as real audio files, with hand-computed expectations.

Files are written at 16 kHz (redux) or 22050 Hz (MSDM layout) and read at 8 kHz with 0.5 s clips
(4000 samples), so every length below is exact: a song of D seconds has D * 8000 samples and
floor(D * 8000 / 4000) consecutive clips.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

RATE = 8000  # the rate datasets are read at in these tests
CLIP = 0.5  # seconds: 4000 samples at RATE
REDUX_RATE = 16000
MSDM_RATE = 22050


def tone(seconds: float, rate: int, hz: float, amplitude: float = 0.2) -> np.ndarray:
    """A sine that identifies its stem (each stem of a song has its own frequency)."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def stem_entry(inst_class: str, program: int, *, drum: bool = False, rendered: bool = True, plugin: str = "kontakt.nkm", name: str = "") -> dict:
    """One stem of metadata.yaml, with the keys of the released files."""
    entry = {
        "audio_rendered": rendered,
        "inst_class": inst_class,
        "is_drum": drum,
        "midi_program_name": name or inst_class,
        "midi_saved": True,
        "plugin_name": plugin,
        "program_num": program,
    }
    if rendered:
        entry["integrated_loudness"] = -20.5
    return entry


def write_redux_song(folder: Path, stems: dict[str, dict], audio: dict[str, np.ndarray], audio_dir: str | None = None) -> None:
    """``folder/metadata.yaml`` and ``folder/stems/Sxx.flac`` for the stems that have audio."""
    (folder / "stems").mkdir(parents=True)
    (folder / "MIDI").mkdir()
    metadata = {
        "UUID": "1a81ae092884234f3264e2f45927f00a",
        "audio_dir": audio_dir or f"{folder.name}/stems",
        "midi_dir": f"{folder.name}/MIDI",
        "normalization_factor": -13.0,
        "normalized": True,
        "overall_gain": 0.1827,
        "stems": stems,
        "target_peak": -1.0,
    }
    (folder / "metadata.yaml").write_text(yaml.safe_dump(metadata, sort_keys=True))
    for stem_id, samples in audio.items():
        soundfile.write(folder / "stems" / f"{stem_id}.flac", samples, REDUX_RATE, subtype="PCM_16", format="FLAC")


# Frequencies per stem, so a test can tell which stems were summed into a slot.
HZ = {"S00": 110.0, "S01": 300.0, "S02": 220.0, "S03": 330.0, "S04": 440.0, "S05": 550.0, "S06": 660.0}


def write_midi_tracks(path: Path, tracks: list[list[tuple[int, object]]], ticks_per_beat: int = 480) -> None:
    """A type 1 MIDI file with one track per list of (absolute tick, mido message), in tick order."""
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    for events in tracks:
        track, last = mido.MidiTrack(), 0
        for tick, message in sorted(events, key=lambda event: event[0]):
            track.append(message.copy(time=tick - last))
            last = tick
        midi.tracks.append(track)
    midi.save(path)


def redux_audio(seconds: float, stem_ids: list[str]) -> dict[str, np.ndarray]:
    return {stem_id: tone(seconds, REDUX_RATE, HZ[stem_id]) for stem_id in stem_ids}


@pytest.fixture
def redux_root(tmp_path) -> Path:
    """slakh2100_flac_redux in miniature. Expected at 8 kHz with 0.5 s clips:

    train/Track00001  1.3 s, all four groups (guitar = S02 + S03; strings S05 unused; S06 piano not
                      rendered, plugin "None", no file; drums program 128); 2 clips; audio_dir is wrong
                      on purpose (it is never used)
    train/Track00002  2.0 s, no guitar stem; S03 piano marked rendered but its file is missing; 4 clips
                      when missing tracks are kept, else dropped as missing_tracks
    train/Track00003  0.4 s: too_short
    train/Track00004  bass 1.0 s, drums 1.2 s: unequal_lengths
    validation/Track00005  1.0 s, 2 clips
    test/Track00006   0.9 s, 1 clip
    omitted/Track00007     never read
    """
    root = tmp_path / "slakh2100_flac_redux"
    full = {
        "S00": stem_entry("Bass", 33, name="Electric Bass (finger)"),
        "S01": stem_entry("Drums", 128, drum=True, name="Drums"),
        "S02": stem_entry("Guitar", 25, name="Acoustic Guitar (steel)"),
        "S03": stem_entry("Guitar", 29, name="Overdriven Guitar"),
        "S04": stem_entry("Piano", 0, name="Acoustic Grand Piano"),
        "S05": stem_entry("Strings", 48, name="String Ensemble 1"),
        "S06": stem_entry("Piano", 4, rendered=False, plugin="None", name="Electric Piano 1"),
    }
    write_redux_song(root / "train" / "Track00001", full, redux_audio(1.3, ["S00", "S01", "S02", "S03", "S04", "S05"]),
                     audio_dir="Volumes/data/generated/Track00999/stems")
    no_guitar = {
        "S00": stem_entry("Bass", 34),
        "S01": stem_entry("Drums", 128, drum=True),
        "S02": stem_entry("Piano", 0),
        "S03": stem_entry("Piano", 1),  # rendered: true, but no file
    }
    write_redux_song(root / "train" / "Track00002", no_guitar, redux_audio(2.0, ["S00", "S01", "S02"]))
    four = {key: full[key] for key in ("S00", "S01", "S02", "S04")}
    write_redux_song(root / "train" / "Track00003", four, redux_audio(0.4, ["S00", "S01", "S02", "S04"]))
    unequal = {**redux_audio(1.0, ["S00", "S02", "S04"]), "S01": tone(1.2, REDUX_RATE, HZ["S01"])}
    write_redux_song(root / "train" / "Track00004", four, unequal)
    write_redux_song(root / "validation" / "Track00005", four, redux_audio(1.0, ["S00", "S01", "S02", "S04"]))
    write_redux_song(root / "test" / "Track00006", four, redux_audio(0.9, ["S00", "S01", "S02", "S04"]))
    write_redux_song(root / "omitted" / "Track00007", four, redux_audio(3.0, ["S00", "S01", "S02", "S04"]))
    return root


@pytest.fixture
def msdm_root(tmp_path) -> Path:
    """MSDM's layout in miniature (22050 Hz WAVs). Expected at 8 kHz with 0.5 s clips:

    train/Track00001  1.3 s, four stems, 2 clips
    train/Track00002  2.0 s, no guitar.wav: 4 clips when kept, else missing_tracks
    train/Track00003  0.3 s: too_short
    train/Track00004  drums 1.0 s, the rest 1.5 s: unequal_lengths
    test/Track00005   1.0 s, 2 clips
    """
    root = tmp_path / "slakh2100_msdm"
    frequencies = {"bass": 110.0, "drums": 300.0, "guitar": 220.0, "piano": 440.0}

    def song(split: str, name: str, seconds: dict[str, float]) -> None:
        folder = root / split / name
        folder.mkdir(parents=True)
        for track, duration in seconds.items():
            soundfile.write(folder / f"{track}.wav", tone(duration, MSDM_RATE, frequencies[track]), MSDM_RATE, subtype="PCM_16")

    song("train", "Track00001", dict.fromkeys(frequencies, 1.3))
    song("train", "Track00002", {"bass": 2.0, "drums": 2.0, "piano": 2.0})
    song("train", "Track00003", dict.fromkeys(frequencies, 0.3))
    song("train", "Track00004", {"bass": 1.5, "drums": 1.0, "guitar": 1.5, "piano": 1.5})
    song("test", "Track00005", dict.fromkeys(frequencies, 1.0))
    return root
