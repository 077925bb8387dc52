"""Slakh2100 in both layouts: grouping, the official filtering rules, segment counts, corrupt files, tempo."""

from __future__ import annotations

import shutil
import sys
import warnings

import mido
import numpy as np
import pytest
import soundfile
import torch
from scipy.signal import resample_poly

from synctrack import get_registry
from synctrack.audio.io import AudioError, load_audio
from synctrack.conditions import SongConditions
from synctrack.data import DataWarning, collate_songs
from synctrack.errors import RecipeError, UserError
from synctrack.interfaces import Dataset
from synctrack.plugins.datasets.slakh import SlakhDataset, StemGroup
from synctrack.plugins.datasets.slakh_msdm import SlakhMSDMDataset
from synctrack.recipe import build

from .conftest import redux_audio, stem_entry, write_midi_tracks, write_redux_song

# The fixtures' songs have no all_src.mid (the tempo tests below write some): that warning is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*have no readable all_src.mid:synctrack.data.sources.DataWarning")

RATE, CLIP = 8000, 0.5  # the fixtures' songs are read at 8 kHz in 0.5 s clips (see conftest.py)
CLIP_SAMPLES = int(CLIP * RATE)


def redux(root, **kwargs) -> SlakhDataset:
    kwargs = {"sample_rate": RATE, "clip_seconds": CLIP, "split": "train", **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        dataset = SlakhDataset(root, **kwargs)
        len(dataset)
    return dataset


def msdm(root, **kwargs) -> SlakhMSDMDataset:
    return SlakhMSDMDataset(root, **{"sample_rate": RATE, "clip_seconds": CLIP, "split": "train", **kwargs})


def dropped(dataset) -> dict[str, str]:
    return {item.song_id: item.reason for item in dataset.dropped}


# -- redux layout ------------------------------------------------------------------------------------------------


def test_redux_drops_by_the_official_rules(redux_root):
    dataset = redux(redux_root)
    assert [song.source.song_id for song in dataset.songs] == ["Track00001"]
    assert dropped(dataset) == {"Track00002": "missing_tracks", "Track00003": "too_short", "Track00004": "unequal_lengths"}
    assert len(dataset) == 2  # 1.3 s = 10400 samples = 2 clips of 4000
    assert dataset.summary().dropped == {"missing_tracks": 1, "too_short": 1, "unequal_lengths": 1}


def test_redux_keeps_a_missing_group_silent_and_masked(redux_root):
    dataset = redux(redux_root, missing="silent")
    assert [song.source.song_id for song in dataset.songs] == ["Track00001", "Track00002"]
    assert [song.segments for song in dataset.songs] == [2, 4]
    assert len(dataset) == 6
    item = dataset[2]  # the first clip of Track00002
    assert item["meta"]["song_id"] == "Track00002"
    assert item["track_mask"].tolist() == [True, True, False, True]
    assert item["audio"].shape == (4, CLIP_SAMPLES)
    assert torch.count_nonzero(item["audio"][2]) == 0
    assert item["instrument_ids"].tolist() == [0, 1, 2, 3]


def test_redux_groups_stems_by_class_and_sums_them(redux_root):
    dataset = redux(redux_root, random_shift=False)
    slots = {name: [file.path.name for file in files] for name, files in zip(dataset.track_names, dataset.songs[0].source.slots)}
    # drums (program 128) by class; both guitars summed; strings S05 in no group; S06 has no file
    assert slots == {"bass": ["S00.flac"], "drums": ["S01.flac"], "guitar": ["S02.flac", "S03.flac"], "piano": ["S04.flac"]}
    song = np.concatenate([dataset[0]["audio"].numpy(), dataset[1]["audio"].numpy()], axis=1)
    folder = redux_root / "train" / "Track00001" / "stems"
    # An independent resampler (scipy's polyphase) on the stems summed by hand.
    guitar = resample_poly(soundfile.read(folder / "S02.flac")[0] + soundfile.read(folder / "S03.flac")[0], 1, 2)
    bass = resample_poly(soundfile.read(folder / "S00.flac")[0], 1, 2)
    inner = slice(200, 2 * CLIP_SAMPLES - 200)  # away from the edges, where the two filters differ
    np.testing.assert_allclose(song[2, inner], guitar[inner], atol=2e-3)
    np.testing.assert_allclose(song[0, inner], bass[inner], atol=2e-3)
    # the guitar slot holds 220 Hz and 330 Hz (S02, S03) and nothing of the strings' 550 Hz
    spectrum = np.abs(np.fft.rfft(song[2]))
    frequencies = np.fft.rfftfreq(song.shape[1], 1 / RATE)
    peaks = {round(float(frequencies[i])) for i in np.argsort(spectrum)[-2:]}
    assert peaks == {220, 330}  # S02 and S03
    assert spectrum[np.argmin(np.abs(frequencies - 550.0))] < 1e-3 * spectrum.max()  # S05, the strings


def test_redux_custom_groups_by_program_and_catch_all(redux_root):
    dataset = redux(
        redux_root,
        tracks=["drums", "clean_guitar", "other"],
        groups={"drums": StemGroup(program_num=[128]), "clean_guitar": StemGroup(inst_class=["guitar"], program_num=[24, 25, 26, 27]), "other": StemGroup()},
        missing="silent",
    )
    first = {name: [f.path.name for f in files] for name, files in zip(dataset.track_names, dataset.songs[0].source.slots)}
    assert first == {"drums": ["S01.flac"], "clean_guitar": ["S02.flac"], "other": ["S00.flac", "S03.flac", "S04.flac", "S05.flac"]}
    # Track00002 has no program 24-27 guitar: kept with that slot masked
    second = dataset.songs[1].source
    assert second.song_id == "Track00002" and second.present == (True, False, True)


def test_redux_splits_and_the_omitted_folder(redux_root):
    both = redux(redux_root, split="train+validation", missing="silent")
    assert [(s.source.split, s.source.song_id) for s in both.songs] == [
        ("train", "Track00001"), ("train", "Track00002"), ("validation", "Track00005")]
    assert len(both) == 2 + 4 + 2
    test = redux(redux_root, split="test")
    assert [s.source.song_id for s in test.songs] == ["Track00006"] and len(test) == 1
    every = {s.source.song_id for split in ("train", "validation", "test") for s in redux(redux_root, split=split, missing="silent").songs}
    assert "Track00007" not in every
    with pytest.raises(UserError, match="split 'omitted' is not valid"):
        SlakhDataset(redux_root, split="omitted")


def test_redux_trusts_files_over_audio_rendered(redux_root):
    # Track00002 lists S03 (piano, audio_rendered: true) with no file: one warning, the stem left out
    with pytest.warns(DataWarning, match=r"1 stem\(s\) marked audio_rendered: true have no FLAC file .*Track00002/stems/S03.flac"):
        dataset = SlakhDataset(redux_root, sample_rate=RATE, clip_seconds=CLIP, missing="silent")
        len(dataset)
    piano = dataset.songs[1].source.slots[3]
    assert [f.path.name for f in piano] == ["S02.flac"]
    # a stem marked not rendered whose file exists is used
    folder = redux_root / "validation" / "Track00005"
    text = (folder / "metadata.yaml").read_text().replace("audio_rendered: true", "audio_rendered: false")
    (folder / "metadata.yaml").write_text(text)
    assert len(redux(redux_root, split="validation")) == 2


def test_segments_are_consecutive_for_evaluation(redux_root):
    dataset = redux(redux_root, split="train", missing="silent", random_shift=False)
    song = dataset.load(dataset.songs[1].source)  # Track00002, 16000 samples
    assert song.shape == (4, 16000)
    for segment in range(4):
        item = dataset[2 + segment]
        assert item["meta"]["segment"] == segment and item["meta"]["start"] == segment * CLIP
        np.testing.assert_array_equal(item["audio"].numpy(), song[:, segment * CLIP_SAMPLES : (segment + 1) * CLIP_SAMPLES])


def test_training_segments_shift_by_up_to_half_a_clip_reproducibly(redux_root):
    dataset = redux(redux_root, missing="silent", seed=3)
    assert dataset.random_shift  # on by default for the train split
    assert not redux(redux_root, split="test").random_shift
    song = dataset.load(dataset.songs[1].source)
    starts = []
    for epoch in range(4):
        dataset.set_epoch(epoch)
        for segment in range(4):
            item = dataset[2 + segment]
            start = round(item["meta"]["start"] * RATE)
            assert segment * CLIP_SAMPLES <= start <= min(segment * CLIP_SAMPLES + CLIP_SAMPLES // 2, 16000 - CLIP_SAMPLES)
            np.testing.assert_array_equal(item["audio"].numpy(), song[:, start : start + CLIP_SAMPLES])
            starts.append(start)
    assert len(set(starts)) > 4  # the shifts vary across clips and epochs
    again = redux(redux_root, missing="silent", seed=3)
    again.set_epoch(2)
    dataset.set_epoch(2)
    assert [again[i]["meta"]["start"] for i in range(6)] == [dataset[i]["meta"]["start"] for i in range(6)]


def test_items_collate_into_a_batch(redux_root):
    dataset = redux(redux_root, missing="silent", random_shift=False)
    batch = collate_songs([dataset[i] for i in range(len(dataset))])
    assert batch.audio.shape == (6, 4, CLIP_SAMPLES)
    assert batch.tracks.mask[:, 2].tolist() == [True, True, False, False, False, False]
    assert torch.allclose(batch.mixture, batch.audio.sum(1).clamp(-1, 1))


def test_redux_vocabulary_gives_the_instrument_ids(redux_root):
    dataset = redux(redux_root, vocabulary=["piano", "organ", "guitar", "drums", "bass"])
    assert dataset[0]["instrument_ids"].tolist() == [4, 3, 2, 0]
    with pytest.raises(UserError, match=r"track\(s\) bass, drums, guitar, piano not in the vocabulary"):
        SlakhDataset(redux_root, vocabulary=["organ"])


def test_bad_group_specs_are_user_errors(redux_root):
    with pytest.raises(UserError, match=r"groups organ are not track slots \[bass, drums, guitar, piano\]"):
        SlakhDataset(redux_root, groups={"organ": StemGroup(inst_class=["Organ"])})
    with pytest.raises(UserError, match=r"groups.drums.program_num: \[200\] outside 0..128"):
        SlakhDataset(redux_root, groups={"drums": StemGroup(program_num=[200])})
    node = {"type": "slakh", "root": str(redux_root), "groups": {"bass": {"inst_clas": ["Bass"]}}}
    with pytest.raises(RecipeError, match="unknown argument 'inst_clas'.*did you mean 'inst_class'"):
        build(node, Dataset, get_registry())
    # a slot whose (default) group matches nothing names the classes that exist
    with pytest.raises(UserError, match=r"track slot\(s\) strngs matched no stem .*inst_class values found: Bass, Drums, Guitar, Piano, Strings"):
        redux(redux_root, tracks=["bass", "strngs"])


def test_missing_root_and_empty_split_are_user_errors(tmp_path, redux_root):
    with pytest.raises(UserError, match="is not a folder"):
        len(SlakhDataset(tmp_path / "nowhere"))
    (tmp_path / "empty" / "train").mkdir(parents=True)
    with pytest.raises(UserError, match="no songs found in .*empty for split 'train'.*metadata.yaml"):
        len(SlakhDataset(tmp_path / "empty"))
    with pytest.raises(UserError, match=r"has no folder 'validation' \(found: train\)"):
        len(SlakhDataset(tmp_path / "empty", split="validation"))


# -- damaged files -----------------------------------------------------------------------------------------------


def test_corrupt_flac_is_an_error_that_names_the_file(redux_root):
    stem = redux_root / "train" / "Track00001" / "stems" / "S02.flac"
    stem.write_bytes(b"fLaC\x00 this is not a FLAC stream" * 10)
    with pytest.raises(AudioError, match=r"Track00001/stems/S02.flac.*on_corrupt: skip"):
        redux(redux_root)


@pytest.mark.filterwarnings("ignore:.*marked audio_rendered")
def test_corrupt_flac_is_skipped_with_a_warning_when_asked(redux_root):
    stem = redux_root / "train" / "Track00001" / "stems" / "S02.flac"
    stem.write_bytes(b"garbage" * 100)
    with pytest.warns(DataWarning, match=r"skipping song Track00001 \(train\): .*S02.flac"):
        dataset = SlakhDataset(redux_root, sample_rate=RATE, clip_seconds=CLIP, on_corrupt="skip", missing="silent")
        len(dataset)
    assert dropped(dataset)["Track00001"] == "unreadable"
    assert [s.source.song_id for s in dataset.songs] == ["Track00002"]


def test_truncated_flac_is_never_read_as_a_shorter_song(redux_root):
    stem = redux_root / "train" / "Track00001" / "stems" / "S00.flac"
    data = stem.read_bytes()
    stem.write_bytes(data[: len(data) // 2])  # the header still announces every frame
    dataset = redux(redux_root, on_corrupt="skip")
    with pytest.raises(AudioError, match=r"S00.flac: (decoded \d+ frames but its header announces \d+|cannot read audio)"):
        dataset[0]


@pytest.mark.filterwarnings("ignore:.*marked audio_rendered")
def test_damaged_metadata_follows_the_corrupt_policy(redux_root):
    (redux_root / "train" / "Track00001" / "metadata.yaml").write_text("stems: [unclosed")
    with pytest.raises(UserError, match=r"Track00001/metadata.yaml: cannot read it"):
        redux(redux_root)
    with pytest.warns(DataWarning, match="skipping song Track00001"):
        dataset = SlakhDataset(redux_root, sample_rate=RATE, clip_seconds=CLIP, on_corrupt="skip", missing="silent")
        len(dataset)
    assert dropped(dataset)["Track00001"] == "unreadable"


# -- MSDM layout -------------------------------------------------------------------------------------------------


def test_msdm_layout_rules_and_counts(msdm_root):
    dataset = msdm(msdm_root)
    assert [s.source.song_id for s in dataset.songs] == ["Track00001"]
    assert dropped(dataset) == {"Track00002": "missing_tracks", "Track00003": "too_short", "Track00004": "unequal_lengths"}
    assert len(dataset) == 2
    kept = msdm(msdm_root, missing="silent")
    assert [s.segments for s in kept.songs] == [2, 4] and len(kept) == 6
    assert kept[2]["track_mask"].tolist() == [True, True, False, True]
    assert len(msdm(msdm_root, split="test")) == 2


def test_msdm_resamples_from_22050(msdm_root):
    dataset = msdm(msdm_root, split="test", random_shift=False)
    audio = np.concatenate([dataset[0]["audio"].numpy(), dataset[1]["audio"].numpy()], axis=1)
    assert audio.shape == (4, 8000)
    reference = load_audio(msdm_root / "test" / "Track00005" / "piano.wav", RATE)
    np.testing.assert_array_equal(audio[3], reference)
    independent = resample_poly(soundfile.read(msdm_root / "test" / "Track00005" / "piano.wav")[0], 320, 882)
    np.testing.assert_allclose(audio[3, 200:-200], independent[200:-200], atol=2e-3)


def test_msdm_any_track_names_from_files(msdm_root):
    dataset = msdm(msdm_root, tracks=["drums", "bass"], split="test")
    assert dataset[0]["instrument_ids"].tolist() == [0, 1]
    assert dataset.summary().present == {"drums": 1, "bass": 1}


def test_msdm_reads_the_files_with_the_core_loader(msdm_root, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(msdm_root, copy)
    bass = (0.2 * np.sin(2 * np.pi * 100.0 * np.arange(16000) / 16000)).astype(np.float32)
    soundfile.write(copy / "test" / "Track00005" / "bass.wav", bass, 16000)
    dataset = msdm(copy, split="test")  # bass at 16 kHz, the rest at 22050 Hz: both 8000 samples at 8 kHz
    with pytest.warns(DataWarning, match=r"bass.wav \(16000 Hz\)"):  # read, and named as unlike the others
        assert len(dataset) == 2


def test_a_stereo_stem_is_named_once_and_read_as_mono(redux_root):
    stem = redux_root / "validation" / "Track00005" / "stems" / "S00.flac"
    audio, rate = soundfile.read(stem, dtype="float32")
    soundfile.write(stem, np.stack([audio, audio], axis=1), rate)
    with pytest.warns(DataWarning, match=r"1 file\(s\) differ from the dataset's mono \d+ Hz files .*S00.flac \(2 channels\)"):
        dataset = SlakhDataset(redux_root, sample_rate=RATE, clip_seconds=CLIP, split="validation")
        len(dataset)
    assert len(dataset) == 2 and dataset[0]["audio"].shape == (4, CLIP_SAMPLES)


# -- tempo from all_src.mid --------------------------------------------------------------------------------------

TICKS = 480  # ticks per beat of the MIDI files written below


def write_midi(path, tempo_track: list[tuple[int, float]], note_track: list[tuple[int, float]] = ()) -> None:
    """A type 1 MIDI file: track 0 holds set_tempo events (absolute tick, BPM), track 1 a few notes and any
    tempo events given for it (a tempo map may be split across tracks)."""
    tracks = []
    for events, notes in ((tempo_track, False), (list(note_track), True)):
        timed = [(tick, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for tick, bpm in events]
        if notes:
            timed += [(tick, mido.Message(kind, note=60, velocity=64)) for beat in range(8)
                      for tick, kind in ((beat * TICKS, "note_on"), (beat * TICKS + TICKS // 2, "note_off"))]
        tracks.append(timed)
    write_midi_tracks(path, tracks, TICKS)


def expected_tempo(middle: float) -> float:
    """Track00008's tempo by hand: 100 BPM; 150 from tick 1600 (1600 / 480 beats at 100 BPM = 2.0 s); 75 from
    tick 2560 (960 ticks = 2 beats later, 0.8 s at 150 BPM: 2.8 s)."""
    return 100.0 if middle < 2.0 else 150.0 if middle < 2.8 else 75.0


@pytest.fixture
def tempo_root(redux_root):
    """redux_root with MIDI: Track00001 without set_tempo (120 BPM), Track00002 without all_src.mid, a new
    4.0 s Track00008 (8 clips) at 100 -> 150 -> 75 BPM, and validation/Track00005 with a damaged file."""
    stems = {"S00": stem_entry("Bass", 33), "S01": stem_entry("Drums", 128, drum=True),
             "S02": stem_entry("Guitar", 25), "S04": stem_entry("Piano", 0)}
    write_redux_song(redux_root / "train" / "Track00008", stems, redux_audio(4.0, list(stems)))
    write_midi(redux_root / "train" / "Track00008" / "all_src.mid", [(0, 100.0), (1600, 150.0)], [(2560, 75.0)])
    write_midi(redux_root / "train" / "Track00001" / "all_src.mid", [])
    (redux_root / "validation" / "Track00005" / "all_src.mid").write_bytes(b"MThd" + b"\x00" * 3)
    return redux_root


def tempo_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DataWarning) and "all_src.mid" in str(w.message)]


def test_redux_tempo_is_the_midi_tempo_at_the_clip_middle(tempo_root):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = SlakhDataset(tempo_root, sample_rate=RATE, clip_seconds=CLIP, split="train+validation", missing="silent", seed=1)
        len(dataset)
    # one warning counts both songs: Track00002 (no file) and Track00005 (damaged)
    assert len(tempo_warnings(caught)) == 1
    assert tempo_warnings(caught)[0].startswith("2 song(s) have no readable all_src.mid, so their items carry no tempo or tags (first: ")
    assert "Track00002/all_src.mid: file not found" in tempo_warnings(caught)[0]
    songs = [song.source.song_id for song in dataset.songs]
    assert songs == ["Track00001", "Track00002", "Track00008", "Track00005"]
    seen = set()
    for epoch in range(3):  # training shifts move the clip middles across the changes
        dataset.set_epoch(epoch)
        for index in range(len(dataset)):
            meta = dataset[index]["meta"]
            middle = meta["start"] + CLIP / 2
            if meta["song_id"] == "Track00008":
                assert meta["tempo"] == pytest.approx(expected_tempo(middle), rel=1e-12), middle
                seen.add(expected_tempo(middle))
            elif meta["song_id"] == "Track00001":
                assert meta["tempo"] == 120.0  # no set_tempo event: MIDI's default
            else:
                assert "tempo" not in meta
    assert seen == {100.0, 150.0, 75.0}


def test_redux_tempo_false_needs_no_mido(tempo_root, monkeypatch):
    monkeypatch.setitem(sys.modules, "mido", None)  # `import mido` now fails, as when it is not installed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = SlakhDataset(tempo_root, sample_rate=RATE, clip_seconds=CLIP, missing="silent", tempo=False, tags=False)
        metas = [dataset[index]["meta"] for index in range(len(dataset))]
    assert len(metas) == 2 + 4 + 8 and not any("tempo" in meta or "tags" in meta for meta in metas)
    assert tempo_warnings(caught) == []
    with pytest.raises(UserError, match=r"tempo: true and tags: true reads each Slakh song's all_src.mid with mido, which is "
                                        r"not installed; pip install mido \(or set tempo: false and tags: false\)"):
        redux(tempo_root)
    with pytest.raises(UserError, match=r"pip install mido \(or set tags: false\)"):
        redux(tempo_root, tempo=False)
    node = {"type": "slakh", "root": str(tempo_root), "tempo": False, "tags": False, "sample_rate": RATE, "clip_seconds": CLIP}
    from_recipe = build(node, Dataset, get_registry())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert "tempo" not in from_recipe[0]["meta"]


def test_slakh_tempo_conditions_a_batch(tempo_root, msdm_root):
    dataset = redux(tempo_root, missing="silent", random_shift=False)
    assert [(song.source.song_id, song.segments) for song in dataset.songs] == [("Track00001", 2), ("Track00002", 4), ("Track00008", 8)]
    first = 2 + 4  # Track00008's first clip
    metas = [dataset[index]["meta"] for index in (0, first + 3, first + 4, first + 5, first + 7)]
    # clip middles 0.25 s (Track00001), then Track00008's 1.75, 2.25, 2.75 and 3.75 s
    conditions = SongConditions.from_meta(metas, {"tempo"})
    assert conditions.fields == {"tempo"} and conditions.tempo.dtype == torch.float32
    torch.testing.assert_close(conditions.tempo, torch.tensor([120.0, 100.0, 150.0, 150.0, 75.0]), rtol=0, atol=1e-4)
    no_midi = dataset[2]["meta"]  # Track00002 has no all_src.mid
    assert no_midi["song_id"] == "Track00002" and "tempo" not in no_midi
    with pytest.raises(UserError, match="conditioned on tempo .* 1 song\\(s\\) of the training data carry no 'tempo' .*Track00002"):
        SongConditions.from_meta([metas[0], no_midi], {"tempo"})
    assert "tempo" not in msdm(msdm_root)[0]["meta"]  # MSDM's layout has no MIDI: no tempo, nothing else changes


def test_slakh_tags_are_the_key_and_meter_at_the_clip_middle_and_condition_a_batch(tempo_root):
    # Track00008 again, now with a key and meters: E minor from 0, 3/4 from tick 1600 (2.0 s, the tempo change),
    # D-flat major from tick 2560 (2.8 s), and its tempo map as before.
    path = tempo_root / "train" / "Track00008" / "all_src.mid"
    midi = mido.MidiFile(path)
    signatures = [(0, mido.MetaMessage("key_signature", key="Em")), (1600, mido.MetaMessage("time_signature", numerator=3)),
                  (2560, mido.MetaMessage("key_signature", key="Db"))]
    existing = [[(tick, message) for tick, message in zip(np.cumsum([m.time for m in track]), track)
                 if message.type != "end_of_track"] for track in midi.tracks]
    write_midi_tracks(path, [*existing, signatures], TICKS)
    dataset = redux(tempo_root, missing="silent", random_shift=False)
    first = 2 + 4  # Track00008's first clip; its clips' middles are 0.25, 0.75, ... 3.75 s
    expected = {0: ["key=E", "mode=minor", "meter=4"], 3: ["key=E", "mode=minor", "meter=4"],  # 1.75 s
                4: ["key=E", "mode=minor", "meter=3"], 5: ["key=E", "mode=minor", "meter=3"],  # 2.25, 2.75 s
                6: ["key=C#", "mode=major", "meter=3"], 7: ["key=C#", "mode=major", "meter=3"]}
    for clip, tags in expected.items():
        assert dataset[first + clip]["meta"]["tags"] == tags, clip
    assert dataset[0]["meta"]["tags"] == ["meter=4"]  # Track00001's MIDI has no key or time signature
    assert "tags" not in dataset[2]["meta"]  # Track00002 has no all_src.mid
    metas = [dataset[index]["meta"] for index in (0, first, first + 6)]
    conditions = SongConditions.from_meta(metas, {"tags"})
    assert conditions.tags == (("meter=4",), ("key=E", "mode=minor", "meter=4"), ("key=C#", "mode=major", "meter=3"))
    untagged = redux(tempo_root, tags=False, missing="silent", random_shift=False)
    assert all("tags" not in untagged[index]["meta"] and "tempo" in untagged[index]["meta"] for index in (0, first, first + 6))


def test_a_prepared_folder_keeps_the_midi_and_gives_the_same_tempo(tempo_root, tmp_path, monkeypatch):
    from synctrack.cli.data import build_for_prepare
    from synctrack.data.prepare import prepare, read_records
    from synctrack.plugins.datasets import slakh

    out = tmp_path / "prepared"

    def unread(*_):
        raise AssertionError("data prepare read a MIDI file: it only copies them")

    with monkeypatch.context() as patch, warnings.catch_warnings():
        patch.setattr(slakh, "read_song_midi", unread)
        warnings.simplefilter("ignore", DataWarning)
        prepare([build_for_prepare("slakh", tempo_root, split, RATE, None, None, "error") for split in ("train", "validation")],
                out, "slakh")
    kept = {song_id: record.get("meta_files") for (_, song_id), record in read_records(out).items() if record["status"] == "ok"}
    assert kept["Track00008"] == kept["Track00001"] == ["all_src.mid"] and kept["Track00002"] == []
    assert (out / "train" / "Track00008" / "all_src.mid").read_bytes() == (tempo_root / "train" / "Track00008" / "all_src.mid").read_bytes()
    options = {"missing": "silent", "random_shift": False, "split": "train+validation"}
    original, cached = redux(tempo_root, **options), redux(out, **options)
    assert len(original) == len(cached)
    for index in range(len(original)):
        a, b = original[index]["meta"], cached[index]["meta"]
        assert (a["song_id"], a["start"], a.get("tempo")) == (b["song_id"], b["start"], b.get("tempo"))
    assert {cached[index]["meta"].get("tempo") for index in range(len(cached))} >= {120.0, 100.0, 150.0, 75.0}
    def warning_on_reading() -> str:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            len(SlakhDataset(out, sample_rate=RATE, clip_seconds=CLIP, split="train", missing="silent"))
        return tempo_warnings(caught)[0]

    assert "prepare it again" not in warning_on_reading()  # Track00002 has no MIDI in the source either
    import json  # make it a folder prepared before the MIDI was kept: no meta_files in its records

    records = [json.loads(line) for line in (out / "songs.jsonl").read_text().splitlines()]
    (out / "songs.jsonl").write_text("".join(json.dumps({k: v for k, v in r.items() if k != "meta_files"}) + "\n" for r in records))
    (out / "train" / "Track00008" / "all_src.mid").unlink()
    message = warning_on_reading()
    assert message.startswith("2 song(s) have no readable all_src.mid") and message.endswith(
        "(this folder was prepared before data prepare kept all_src.mid: prepare it again)")
