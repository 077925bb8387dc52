"""benchmarks/tempo_study.py's analysis (issue 17): the intervals it reports and its figure, on made-up tempi.

The sampling and scoring it drives are `synctrack sample` and `synctrack eval`, tested where they live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synctrack.eval.tempo import tempo_errors
from commands import load_benchmark


@pytest.fixture(scope="module")
def study():
    return load_benchmark("tempo_study")


def test_interval_leaves_out_songs_without_a_tempo(study):
    values = np.array([0.1, np.nan, 0.3, 0.2, np.nan, 0.4])
    mean, low, high = study.interval(values)
    assert mean == pytest.approx(0.25)
    assert 0.1 <= low < mean < high <= 0.4
    assert all(np.isnan(study.interval(np.array([np.nan, np.nan]))))


def test_paired_difference_is_song_by_song(study):
    asked = 120.0
    rng = np.random.default_rng(3)
    unconditioned = rng.uniform(80.0, 150.0, size=16)
    conditioned = asked * (1 + rng.normal(0.0, 0.02, size=16))
    conditioned[5] = np.nan  # no beats found in song 5: it leaves the pair, not the other songs
    mine = tempo_errors(conditioned, asked)["relative"]
    theirs = tempo_errors(unconditioned, asked)["relative"]
    mean, low, high = study.paired_difference(mine, theirs)
    kept = np.isfinite(mine)
    assert mean == pytest.approx(np.mean(mine[kept] - theirs[kept]))
    assert low < mean < high < 0  # the conditioned songs are much closer to the asked tempo
    # A model compared with itself differs by exactly zero, interval included.
    assert study.paired_difference(theirs, theirs) == (0.0, 0.0, 0.0)


def test_summary_and_figure(study, tmp_path):
    rows = []
    for asked in (70.0, 115.0):
        rows.append({"arm": "unconditioned", "asked_bpm": asked, "seen_in_training": asked >= 80, "guidance": "",
                     "songs": 16, "median_detected_bpm": 112.0, "relative": 0.3, "relative_low": 0.2,
                     "relative_high": 0.4, "accuracy1": 0.1, "accuracy2": 0.2, "relative_minus_unconditioned": np.nan,
                     "difference_low": np.nan, "difference_high": np.nan, "relative_octave": 0.1,
                     "relative_octave_low": 0.05, "relative_octave_high": 0.15, "octave_minus_unconditioned": np.nan,
                     "octave_difference_low": np.nan, "octave_difference_high": np.nan, "chance_relative": 0.25,
                     "chance_relative_octave": 0.175, "CBS": 0.5, "CBD": 0.2})
        for scale in (1.0, 2.0, 4.0):
            rows.append({**rows[-1], "arm": "conditioned", "guidance": scale, "relative": 0.05 / scale,
                         "relative_low": 0.02 / scale, "relative_high": 0.08 / scale,
                         "relative_minus_unconditioned": 0.05 / scale - 0.3, "difference_low": -0.3,
                         "difference_high": -0.2, "octave_minus_unconditioned": -0.05, "octave_difference_low": -0.08,
                         "octave_difference_high": -0.02})
    rows.append({**rows[0], "arm": "held-out through the front end", "asked_bpm": float("nan"), "relative": 0.02})
    text = study.summary(rows)
    assert len(text.splitlines()) == 1 + len(rows)
    assert "-27.5 [-30.0, -20.0]" in text  # guidance 2: (0.025 - 0.3) in percent, with its interval
    assert " 25.0%,  17.5%" in text.splitlines()[1]  # the chance level beside each asked row
    assert text.splitlines()[-1].split()[:2] == ["own", "held-out"]  # scored against each song's own tempo
    study.draw(rows, tmp_path / "tempo.png")
    assert (tmp_path / "tempo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chance_error_of_a_random_tempo_matches_its_closed_form(study):
    # E|U - a| / a for U uniform on [l, h] and l <= a <= h: ((a - l)^2 + (h - a)^2) / (2 (h - l) a)
    low, high = study.TRAINING_RANGE
    for asked in (90.0, 115.0, 140.0):
        relative, octave = study.chance_errors(asked)
        assert relative == pytest.approx(((asked - low) ** 2 + (high - asked) ** 2) / (2 * (high - low) * asked), rel=1e-3)
        assert 0 < octave <= relative  # forgiving the metrical level can only lower the error
    # asked at twice a narrow range: half the asked tempo is the nearest level, so only U's spread around it is left
    relative, octave = study.chance_errors(230.0, (114.0, 116.0))
    assert relative == pytest.approx(0.5, abs=0.005)
    assert octave == pytest.approx(0.5 / 115.0, rel=1e-2)  # E|U - 115| / 115 with U uniform on [114, 116]


def test_the_reference_is_the_unconditioned_run_or_the_null_branch(study):
    assert study.reference_arm(Path("runs/tempo"), Path("runs/none")) == (Path("runs/none"), [])
    run, options = study.reference_arm(Path("runs/tempo"), None)
    assert run == Path("runs/tempo") and options[options.index("--guidance") + 1] == "0"
    # the tempo passed is inside the training range (it is never heard at guidance 0, but must be a valid ask)
    assert study.TRAINING_RANGE[0] <= float(options[options.index("--tempo") + 1]) <= study.TRAINING_RANGE[1]
