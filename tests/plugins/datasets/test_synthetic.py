"""The synthetic world: determinism, ids and grid, drum onsets on the beats, desync, beat-trackability."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import butter, sosfilt
from torch.utils.data import DataLoader

from synctrack import get_registry
from synctrack.data import collate_songs
from synctrack.errors import RecipeError, UserError
from synctrack.interfaces import Dataset
from synctrack.plugins.datasets.synthetic import INSTRUMENTS, Desync, SyntheticDataset
from synctrack.plugins.datasets.synthetic.instruments import midi_hz
from synctrack.recipe import build, load_recipe

PAPER = ["bass", "drums", "guitar", "piano"]
RECIPES = Path(__file__).resolve().parents[3] / "recipes" / "scaling" / "bench"


def synthetic(**kwargs) -> SyntheticDataset:
    return SyntheticDataset(**{"num_songs": 8, "sample_rate": 16000, "clip_seconds": 4.0, **kwargs})


def energy_onsets(signal: np.ndarray, sample_rate: int, hop: float = 0.002, rise_db: float = 10.0, gap: float = 0.03) -> np.ndarray:
    """Times where the energy above 1 kHz jumps ``rise_db`` over its mean of the previous 10 ms (and is
    within 40 dB of the loudest frame).

    A plain detector written for these tests: drum attacks are broadband, so a high-pass keeps them and
    removes the low sines (a kick's tail) whose slow waves would fake rises; frames of ``hop`` seconds,
    one onset per ``gap`` at most.
    """
    sos = butter(4, 1000.0, btype="highpass", fs=sample_rate, output="sos")
    high = sosfilt(sos, signal.astype(np.float64))
    size = max(1, int(round(hop * sample_rate)))
    frames = len(high) // size
    energy = (high[: frames * size].reshape(frames, size) ** 2).mean(axis=1) + 1e-12
    history = max(1, int(round(0.010 / hop)))
    floor = energy.max() * 1e-4  # a gate 40 dB under the loudest frame: the end of a faint tail is no onset
    onsets, last = [], -np.inf
    for frame in range(history, frames):
        time = frame * size / sample_rate
        rise = 10 * np.log10(energy[frame] / energy[frame - history : frame].mean())
        if energy[frame] > floor and rise > rise_db and time - last > gap:
            onsets.append(time)
            last = time
    return np.array(onsets)


def nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each time, the distance to the closest target."""
    return np.abs(times[:, None] - targets[None, :]).min(axis=1)


def sixteenths(meta: dict, clip_seconds: float) -> np.ndarray:
    beat = 60.0 / meta["tempo"]
    first = meta["beat_times"][0]
    return first + beat / 4 * np.arange(-8, int(clip_seconds / beat * 4) + 8)


def test_items_are_deterministic_given_seed_split_and_index():
    a, b = synthetic(seed=5), synthetic(seed=5)
    first, again = a[3], b[3]
    assert torch.equal(first["audio"], again["audio"]) and first["meta"] == again["meta"]
    assert torch.equal(a[3]["audio"], first["audio"])  # a second read of the same item
    assert not torch.equal(a[4]["audio"], first["audio"])
    assert not torch.equal(synthetic(seed=6)[3]["audio"], first["audio"])


def test_splits_hold_different_songs():
    songs = {}
    for split in ("train", "validation", "test"):
        dataset = synthetic(split=split, num_songs=4)
        for index in range(4):
            item = dataset[index]
            songs[item["meta"]["song_id"]] = (item["meta"]["tempo"], item["meta"]["key"], item["audio"][0, :4000].sum().item())
    assert len(songs) == 12
    assert len(set(songs.values())) == 12  # no two songs share tempo, key and bass audio


def test_ids_and_beat_grid_are_consistent():
    vocabulary = list(INSTRUMENTS)
    dataset = synthetic(tracks=["piano", "drums", "bass"], vocabulary=vocabulary, num_songs=6)
    assert dataset.vocabulary == vocabulary
    for index in range(6):
        item = dataset[index]
        meta = item["meta"]
        assert item["instrument_ids"].tolist() == [vocabulary.index(name) for name in ("piano", "drums", "bass")]
        assert meta["instruments"] == ["piano", "drums", "bass"]
        beats, downbeats, beat = np.array(meta["beat_times"]), np.array(meta["downbeat_times"]), 60.0 / meta["tempo"]
        assert 90.0 <= meta["tempo"] <= 140.0 and meta["meter"] in (3, 4)
        assert 0.0 <= beats[0] < beat and beats[-1] < 4.0 <= beats[-1] + beat
        np.testing.assert_allclose(np.diff(beats), beat, rtol=1e-9)
        assert set(np.round(downbeats, 9)) <= set(np.round(beats, 9))
        np.testing.assert_allclose(np.diff(downbeats), meta["meter"] * beat, rtol=1e-9)
        # every note of the drums and the bass starts on the sixteenth grid of those beats
        grid = sixteenths(meta, 4.0)
        for slot in (1, 2):
            assert nearest(np.array(meta["onsets"][slot]), grid).max() < 1e-5
        assert nearest(np.array(meta["onsets"][2]), beats).max() < 1e-5 or meta["patterns"][2] == "eighths"


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050])
def test_drum_onsets_fall_on_the_beats(sample_rate):
    dataset = synthetic(sample_rate=sample_rate, num_songs=6, tracks=["drums", "bass"])
    for index in range(6):
        item = dataset[index]
        assert item["audio"].shape == (2, int(round(4.0 * sample_rate)))
        meta = item["meta"]
        onsets = energy_onsets(item["audio"][0].numpy(), sample_rate)
        beats = np.array(meta["beat_times"])
        inside = beats[(beats > 0.02) & (beats < 3.98)]
        assert nearest(inside, onsets).max() <= 0.020, (index, meta["patterns"])  # a hit on every beat
        assert nearest(onsets, sixteenths(meta, 4.0)).max() <= 0.020  # and nothing off the grid


def test_beat_times_do_not_depend_on_the_sample_rate():
    low, high = synthetic(sample_rate=8000)[2]["meta"], synthetic(sample_rate=22050)[2]["meta"]
    assert low["beat_times"] == high["beat_times"] and low["onsets"] == high["onsets"]


def test_a_part_does_not_depend_on_the_other_tracks():
    few = synthetic(tracks=["bass", "drums"])[1]
    many = synthetic(tracks=["drums", "piano", "strings", "bass"])[1]
    assert few["meta"]["onsets"][0] == many["meta"]["onsets"][3]
    bass_few, bass_many = few["audio"][0].numpy(), many["audio"][3].numpy()
    scale = float(bass_many @ bass_few) / float(bass_few @ bass_few)  # the mix guard may scale all tracks
    np.testing.assert_allclose(bass_many, scale * bass_few, atol=1e-5)


def test_desync_moves_a_track_by_the_offset_asked():
    base = synthetic(tracks=PAPER)
    moved = synthetic(tracks=PAPER, desync=Desync(offsets={"drums": 0.03}))
    for index in range(4):
        plain, late = base[index], moved[index]
        assert late["meta"]["offsets"] == [0.0, 0.03, 0.0, 0.0]
        assert late["meta"]["beat_times"] == plain["meta"]["beat_times"]  # the grid stays; the track moves
        assert late["meta"]["patterns"] == plain["meta"]["patterns"]
        np.testing.assert_allclose(late["audio"][0].numpy() / np.abs(late["audio"][0].numpy()).max(),
                                   plain["audio"][0].numpy() / np.abs(plain["audio"][0].numpy()).max(), atol=1e-5)
        before = energy_onsets(plain["audio"][1].numpy(), 16000)
        after = energy_onsets(late["audio"][1].numpy(), 16000)
        before = before[(before > 0.1) & (before < 3.8)]
        shift = after[np.abs(after[None, :] - (before[:, None] + 0.03)).argmin(axis=1)] - before
        assert abs(np.median(shift) - 0.03) <= 0.003
        assert np.abs(shift - 0.03).max() <= 0.006


def test_desync_shift_draws_one_offset_per_track_within_the_bound():
    base = synthetic(tracks=PAPER)
    shifted = synthetic(tracks=PAPER, desync=Desync(shift=0.05))
    all_offsets = []
    for index in range(4):
        plain, item = base[index], shifted[index]
        offsets = item["meta"]["offsets"]
        assert all(-0.05 <= offset <= 0.05 for offset in offsets)
        all_offsets += offsets
        for slot, offset in enumerate(offsets):  # every note of the track moved by exactly its offset
            original = np.array(plain["meta"]["onsets"][slot])
            original = original[(original + offset >= 0) & (original + offset < 4.0) & (original < 4.0)]
            moved = np.array(item["meta"]["onsets"][slot])
            np.testing.assert_allclose(nearest(original + offset, moved), 0.0, atol=2e-6)
        drums = energy_onsets(item["audio"][1].numpy(), 16000)
        beats = np.array(item["meta"]["beat_times"])
        inside = beats[(beats + offsets[1] > 0.05) & (beats + offsets[1] < 3.9)]
        assert nearest(inside + offsets[1], drums).max() <= 0.020  # the detected hits moved with the offset
    assert len(set(np.round(all_offsets, 6))) == len(all_offsets)
    assert np.abs(all_offsets).max() > 0.02  # the draws use the range


def test_desync_jitter_moves_each_onset_within_the_bound():
    base = synthetic(tracks=["drums"])
    jittered = synthetic(tracks=["drums"], desync=Desync(jitter=0.02))
    for index in range(3):
        plain = np.array(base[index]["meta"]["onsets"][0])
        moved = np.array(jittered[index]["meta"]["onsets"][0])
        assert jittered[index]["meta"]["offsets"] == [0.0]
        inner = moved[(moved > 0.05) & (moved < 3.95)]
        errors = nearest(inner, plain)
        assert errors.max() <= 0.02 + 1e-6 and errors.mean() > 0.003
        detected = energy_onsets(jittered[index]["audio"][0].numpy(), 16000)
        assert nearest(detected, moved).max() <= 0.006  # the audio follows the jittered onsets


def test_missing_tracks_are_silent_and_masked():
    dataset = synthetic(tracks=PAPER, missing_probability=0.5, num_songs=12)
    counts = dict.fromkeys(PAPER, 0)
    for index in range(12):
        item = dataset[index]
        mask = item["track_mask"]
        assert mask.any()
        assert (item["audio"].abs().amax(dim=1) > 0).tolist() == mask.tolist()
        assert [len(onsets) > 0 for onsets in item["meta"]["onsets"]] == mask.tolist()
        for name, here in zip(PAPER, mask.tolist()):
            counts[name] += here
    assert dataset.summary().present == counts
    assert 0 < sum(counts.values()) < 48


def test_sixteen_instruments_each_in_its_register():
    assert len(INSTRUMENTS) >= 12 and {"bass", "drums", "guitar", "piano"} <= set(INSTRUMENTS)
    dataset = synthetic(tracks=list(INSTRUMENTS), num_songs=2, clip_seconds=2.0)
    item = dataset[0]
    assert item["audio"].shape == (len(INSTRUMENTS), 32000) and bool(item["track_mask"].all())
    assert float(np.abs(item["audio"].sum(0).numpy()).max()) <= 0.95 + 1e-6  # the mix does not clip
    spectra = np.abs(np.fft.rfft(item["audio"].numpy(), axis=1))
    frequencies = np.fft.rfftfreq(32000, 1 / 16000)
    strongest = dict(zip(dataset.track_names, frequencies[spectra.argmax(axis=1)]))
    for name, instrument in INSTRUMENTS.items():
        if instrument.pitched:  # the loudest partial lies in the instrument's register, give or take an octave
            assert midi_hz(instrument.low - 12) <= strongest[name] <= midi_hz(instrument.high + 12), name
    assert strongest["bass"] < 200.0 < 500.0 < strongest["bells"]
    centroid = dict(zip(dataset.track_names, (spectra * frequencies).sum(1) / spectra.sum(1)))
    assert centroid["drums"] > 2 * centroid["bass"] and centroid["percussion"] > 2 * centroid["bass"]
    assert all(rms > 0.005 for rms in item["audio"].std(dim=1).tolist())


def test_bad_arguments_are_user_errors():
    with pytest.raises(UserError, match=r"unknown synthetic instrument\(s\) bas; did you mean 'bass'\?"):
        SyntheticDataset(tracks=["bas", "drums"])
    with pytest.raises(UserError, match="split 'valid' is not valid"):
        SyntheticDataset(split="valid")
    with pytest.raises(UserError, match=r"desync.offsets names drum, which are not tracks"):
        SyntheticDataset(desync=Desync(offsets={"drum": 0.1}))
    with pytest.raises(UserError, match="must be >= 0"):
        SyntheticDataset(desync=Desync(shift=-0.1))
    with pytest.raises(UserError, match="tempo_range"):
        SyntheticDataset(tempo_range=(140.0, 90.0))
    with pytest.raises(UserError, match="tracks must be unique"):
        SyntheticDataset(tracks=["bass", "bass"])
    with pytest.raises(RecipeError, match="unknown argument 'shfit'.*did you mean 'shift'"):
        build({"type": "synthetic", "desync": {"shfit": 0.1}}, Dataset, get_registry())


def test_a_recipe_node_builds_it():
    node = {"type": "synthetic", "tracks": ["drums", "pad"], "sample_rate": 8000, "clip_seconds": 1.0, "desync": {"shift": 0.02}}
    dataset = build(node, Dataset, get_registry())
    assert isinstance(dataset, SyntheticDataset) and dataset.desync == Desync(shift=0.02)
    assert dataset[0]["audio"].shape == (2, 8000)


def test_a_dataloader_batches_items():
    loader = DataLoader(synthetic(clip_seconds=1.0), batch_size=3, collate_fn=collate_songs)
    batch = next(iter(loader))
    assert batch.audio.shape == (3, 4, 16000) and batch.tracks.instrument_ids.shape == (3, 4)
    assert [meta["index"] for meta in batch.meta] == [0, 1, 2]


def test_librosa_tracks_the_beat_of_the_drums_and_of_the_mix():
    librosa = pytest.importorskip("librosa")
    mir_eval = pytest.importorskip("mir_eval")
    dataset = SyntheticDataset(num_songs=6, split="test", clip_seconds=10.24)
    scores = {"drums": [], "mix": []}
    for index in range(6):
        item = dataset[index]
        reference = mir_eval.beat.trim_beats(np.array(item["meta"]["beat_times"]), 1.0)
        for name, signal in (("drums", item["audio"][1]), ("mix", item["audio"].sum(0).clamp(-1, 1))):
            _, beats = librosa.beat.beat_track(y=signal.numpy(), sr=16000, units="time")
            scores[name].append(mir_eval.beat.f_measure(reference, mir_eval.beat.trim_beats(beats, 1.0)))
    assert np.mean(scores["drums"]) >= 0.85 and np.mean(scores["mix"]) >= 0.85, scores


@pytest.mark.parametrize("tracks", [8, 16])
def test_the_scaling_worlds_share_one_beat_grid(tracks):
    """The scaling study's recipes (recipes/scaling/bench) build S-track worlds whose every track plays on
    the song's beat grid, the grid the same song has at S = 4, with 32 track-clips per training step."""
    recipe = load_recipe(RECIPES / f"tracks-{tracks}-synctrack.yaml").data
    node = {**recipe["data"], "num_songs": 6, "clip_seconds": 4.0}
    dataset, four = build(node, Dataset, get_registry()), synthetic(num_songs=6)
    assert len(set(dataset.track_names)) == tracks and recipe["train"]["batch_size"] * tracks == 32
    assert recipe["model"]["denoiser"]["conditioner"]["vocabulary"] == dataset.track_names
    for index in range(6):
        item, small = dataset[index], four[index]
        meta = item["meta"]
        assert item["audio"].shape == (tracks, 64000) and bool(item["track_mask"].all())
        assert all(rms > 0.003 for rms in item["audio"].std(dim=1).tolist())  # every track sounds
        assert (meta["tempo"], meta["beat_times"], meta["meter"]) == (small["meta"]["tempo"], small["meta"]["beat_times"], small["meta"]["meter"])
        grid = sixteenths(meta, 4.0)
        for name, onsets in zip(meta["instruments"], meta["onsets"]):
            onsets = np.array(onsets)
            assert onsets.size, name
            # the distance after the latest grid point: 0, or a strum's spread over its strings (< 30 ms)
            late = (onsets[:, None] - grid[None, :])
            late = np.abs(np.where(late >= -1e-5, late, np.inf).min(axis=1))
            assert late.max() < (0.03 if name == "guitar" else 1e-5), (index, name, late.max())
