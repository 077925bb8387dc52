"""A song's tempo from its beats and its error against an asked tempo: closed forms, and the project's beat
tracker on synthetic songs whose tempo is known."""

from __future__ import annotations

import numpy as np
import pytest

from synctrack.eval.tempo import tempo_errors, tempo_from_beats


def test_the_tempo_of_a_beat_grid_is_sixty_over_its_interval_even_with_a_missed_and_an_extra_beat():
    grid = 0.13 + 0.5 * np.arange(12)  # 120 BPM
    assert tempo_from_beats(grid) == pytest.approx(120.0)
    gappy = np.sort(np.concatenate([np.delete(grid, 5), [grid[8] + 0.21]]))
    assert tempo_from_beats(gappy) == pytest.approx(120.0, rel=1e-9)
    assert np.isnan(tempo_from_beats([0.5, 1.0])) and np.isnan(tempo_from_beats([]))
    with pytest.raises(ValueError, match="strictly ascending"):
        tempo_from_beats([0.0, 1.0, 1.0])


def test_errors_count_the_asked_tempo_and_its_metrical_neighbours():
    errors = tempo_errors([120.0, 124.0, 60.0, 181.0, np.nan], 120.0)
    np.testing.assert_allclose(errors["relative"][:4], [0.0, 4 / 120, 0.5, 61 / 120])
    np.testing.assert_array_equal(errors["accuracy1"][:4], [1, 1, 0, 0])
    np.testing.assert_array_equal(errors["accuracy2"][:4], [1, 1, 1, 0])  # 60 is half of 120; 181 is no multiple
    # nearest level: 120 itself, 120, half of it (60), and for 181 double (240: 59/240) against 120 (61/120)
    np.testing.assert_allclose(errors["relative_octave"][:4], [0.0, 4 / 120, 0.0, 59 / 240])
    assert all(np.isnan(values[4]) for values in errors.values())
    assert tempo_errors(126.0, 120.0)["accuracy1"].tolist() == [0.0]  # one song: arrays of one


def test_librosa_finds_the_tempo_of_synthetic_songs_within_four_percent():
    librosa = pytest.importorskip("librosa")
    from synctrack.plugins.datasets.synthetic import SyntheticDataset

    dataset = SyntheticDataset(num_songs=6, split="test", clip_seconds=10.24)
    detected, asked = [], []
    for index in range(6):
        item = dataset[index]
        mix = item["audio"].sum(0).clamp(-1, 1).numpy()
        _, beats = librosa.beat.beat_track(y=mix, sr=16000, units="time")
        detected.append(tempo_from_beats(beats))
        asked.append(item["meta"]["tempo"])
    errors = tempo_errors(detected, asked)
    assert np.nanmean(errors["accuracy1"]) >= 5 / 6 and np.nanmean(errors["accuracy2"]) >= 5 / 6, (detected, asked)
