"""The evaluation runner end to end with an exact click detector, so every number is known in advance."""

from __future__ import annotations

import numpy as np
import pytest

from synctrack import get_registry
from synctrack.audio.io import write_song
from synctrack.errors import UserError
from synctrack.eval import EvaluationRequest, evaluate, rhythm
from synctrack.eval.clicks import beat_grid, click_song

RATE = 8000
DURATION = 6.0


def onsets():
    """The ``onsets`` tracker: exact on click tracks (the first sample of each burst)."""
    return get_registry().get("beat_tracker", "onsets").factory()


def quantised(times):
    return np.round(np.asarray(times) * RATE) / RATE


SONGS = {
    "sync": [beat_grid(120, DURATION)] * 3,
    "offset": [beat_grid(120, DURATION) + offset for offset in (0.0, 0.05, 0.1)],
    "jitter": [beat_grid(120, DURATION, 0.1)] + [beat_grid(120, DURATION, 0.1) + np.random.default_rng(i).uniform(-0.04, 0.04, 12) for i in (1, 2)],
}


@pytest.fixture
def folders(tmp_path):
    for name, beats in SONGS.items():
        write_song(tmp_path / "gen" / name, click_song(beats, DURATION, RATE), ["bass", "drums", "piano"], RATE)
        write_song(tmp_path / "ref" / name, click_song([beats[0]] * 3, DURATION, RATE), ["bass", "drums", "piano"], RATE)
    return tmp_path


def metrics(*names, **arguments):
    registry = get_registry()
    return {name: registry.get("metric", name).factory(**arguments.get(name, {})) for name in names}


def test_values_equal_the_pure_metrics_of_the_true_beats(folders):
    request = EvaluationRequest(
        generated=folders / "gen", metrics=metrics("irs", "cbs", "cbd", cbs={"window": 0.07}),
        tracker=onsets(), tracker_name="onsets", cache_root=folders / "cache",
    )
    result = evaluate(request)
    order = sorted(SONGS)  # song folders are read in name order
    truth = [[quantised(t) for t in SONGS[name]] for name in order]
    assert result.get("irs").value == pytest.approx(rhythm.irs(truth).value, abs=1e-12)
    assert result.get("cbs").value == pytest.approx(rhythm.cbs(truth, [DURATION] * 3).value)
    assert result.get("cbd").value == pytest.approx(rhythm.cbd(truth).value[0])
    assert result.get("cbd_median").value == pytest.approx(rhythm.cbd(truth).value[2])
    per_song = result.get("cbs").per_song
    assert per_song["sync"] == 1.0 and per_song["offset"] < 1.0
    assert result.get("cbd").per_song["sync"] == 0.0 and result.get("cbd").per_song["offset"] > 0.0
    assert result.get("irs", "drums").per_song["jitter"] > 0.0 == result.get("irs", "drums").per_song["sync"]
    assert result.get("cbs").ci_low <= result.get("cbs").value <= result.get("cbs").ci_high
    assert result.tracker == {"name": "onsets", "settings": {"tracker": "onsets", "threshold": 1e-3, "min_gap": 0.05}}
    assert result.cache["misses"] == 9 and result.cache["hits"] == 0
    assert evaluate(request).cache == {**result.cache, "hits": 9, "misses": 0}


def test_reference_set_gets_rhythm_metrics_and_fad_per_track_and_mix(folders):
    request = EvaluationRequest(
        generated=folders / "gen", reference=folders / "ref",
        metrics=metrics("cbs", "fad", cbs={"bootstrap": 50}, fad={"bootstrap": 20}),
        tracker=onsets(), cache_root=None,
    )
    result = evaluate(request)
    assert result.get("cbs", set_name="reference").value == 1.0
    fad = {value.track: value for value in result.values["generated"] if value.metric == "fad"}
    assert list(fad) == ["bass", "drums", "piano", "mix"]
    assert fad["bass"].value == pytest.approx(0.0, abs=1e-9)  # the bass tracks are identical in both sets
    assert fad["piano"].value > 0.0
    assert all("NOT comparable with published FAD" in value.note for value in fad.values())
    assert result.embedders == [{"label": "logmel_not_comparable", "comparable_to_published": False}]
    assert any("NOT comparable" in note for note in result.notes)


def test_fad_without_a_reference_is_a_user_error(folders):
    request = EvaluationRequest(generated=folders / "gen", metrics=metrics("fad"), tracker=onsets())
    with pytest.raises(UserError, match="--reference"):
        evaluate(request)


def test_missing_tracks_are_reported_and_count_as_silent(tmp_path):
    write_song(tmp_path / "a", click_song([beat_grid(120, DURATION)] * 2, DURATION, RATE), ["bass", "drums"], RATE)
    write_song(tmp_path / "b", click_song([beat_grid(120, DURATION)], DURATION, RATE), ["bass"], RATE)
    result = evaluate(EvaluationRequest(generated=tmp_path, metrics=metrics("cbs"), tracker=onsets()))
    assert result.get("cbs").per_song == {"a": 1.0, "b": pytest.approx(float("nan"), nan_ok=True)}
    assert result.get("cbs").n == 1
    assert any("lack some of the tracks" in note and "b" in note for note in result.notes)
    assert result.beating["generated"].flags == {"b": "1 of 2 tracks beat (drums: no beats)"}


def test_a_song_with_a_silent_track_is_flagged_with_its_beating_tracks(tmp_path):
    """A silent track (zeros: no beats) or a one-beat track flags its song in the per-song CSV and the CBS and
    CBD notes; songs whose tracks all beat are not flagged."""
    import csv
    import io
    import json

    grid = beat_grid(120, DURATION)
    songs = {"one": [grid, grid, grid[:1]], "silent": [grid, np.zeros(0), grid], "sync": [grid] * 3}
    for name, beats in songs.items():
        write_song(tmp_path / "gen" / name, click_song(beats, DURATION, RATE), ["bass", "drums", "piano"], RATE)
    result = evaluate(EvaluationRequest(generated=tmp_path / "gen", metrics=metrics("cbs", "cbd", "beating_tracks"),
                                        tracker=onsets()))
    found = result.beating["generated"]
    assert found.tracks == 3 and found.counts == {"one": 2, "silent": 2, "sync": 3}
    assert found.flags == {"one": "2 of 3 tracks beat (piano: 1 beat)", "silent": "2 of 3 tracks beat (drums: no beats)"}
    assert found.summary == "2 of 3 songs: not every track beats"
    assert result.get("beating_tracks").per_song == {song: float(count) for song, count in found.counts.items()}
    for metric in ("cbs", "cbd"):
        assert "2 of 3 songs: not every track beats (>= 2 beats each of 3)" in result.get(metric).note

    rows = list(csv.DictReader(io.StringIO(result.per_song_csv())))
    assert list(rows[0])[:5] == ["set", "song", "metric", "track", "value"]  # older readers keep their columns
    cbs = {row["song"]: row for row in rows if row["metric"] == "cbs"}
    assert (cbs["silent"]["beating_tracks"], cbs["silent"]["flag"]) == ("2", "2 of 3 tracks beat (drums: no beats)")
    assert (cbs["sync"]["beating_tracks"], cbs["sync"]["flag"]) == ("3", "")
    assert all(row["flag"] == found.flags.get(row["song"], "") for row in rows)
    report = json.loads(result.to_json())["beating_tracks"]["generated"]
    assert (report["flagged"], report["songs"], report["min_beats"]) == (2, 3, 2)
    assert report["flags"] == found.flags


def test_songs_whose_tracks_all_beat_are_not_flagged(folders):
    result = evaluate(EvaluationRequest(generated=folders / "gen", metrics=metrics("cbs"), tracker=onsets()))
    assert result.beating["generated"].flags == {} and "not every track beats" not in result.get("cbs").note
    assert result.beating["generated"].summary == "0 of 3 songs: not every track beats"
