"""``synctrack eval`` end to end on tiny click-track folders in both layouts, with the librosa tracker."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from synctrack.audio.io import save_audio, write_song
from synctrack.cli import main
from synctrack.eval import extract
from synctrack.eval.clicks import beat_grid, click_song

RATE = 16000
DURATION = 6.0
TRACKS = ["bass", "drums", "piano"]


def song_beats(shift: float) -> list[np.ndarray]:
    grid = beat_grid(120, DURATION, 0.25)
    return [grid, grid + shift, grid + 2 * shift]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Generated songs (two in sync, one drifting apart) and in-sync references, in synctrack's layout."""
    root = tmp_path_factory.mktemp("eval")
    for name, shift in (("a", 0.0), ("b", 0.0), ("c", 0.09)):
        write_song(root / "gen" / name, click_song(song_beats(shift), DURATION, RATE), TRACKS, RATE)
    for name in ("x", "y"):
        write_song(root / "ref" / name, click_song(song_beats(0.0), DURATION, RATE), TRACKS, RATE)
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_song_layout_writes_json_and_csv_and_hits_the_cache_on_a_second_run(folders, capsys):
    out = folders / "report" / "eval.json"
    argv = ["eval", folders / "gen", "--reference", folders / "ref", "--metrics", "irs,cbs,cbd,fad",
            "--cache", folders / "cache", "--workers", "1", "--bootstrap", "50", "--out", out]
    code, stdout, stderr = run(capsys, *argv)
    assert code == 0, stderr
    assert "synctrack eval" in stdout and "cbs" in stdout and "NOT comparable with published FAD" in stdout
    report = json.loads(out.read_text())
    assert report["layouts"] == {"generated": "songs", "reference": "songs"}
    assert report["songs"] == {"generated": ["a", "b", "c"], "reference": ["x", "y"]}
    assert report["tracker"]["name"] == "librosa" and report["tracker"]["settings"]["hop_length"] == 256
    assert report["cache"]["misses"] == 15 and report["cache"]["hits"] == 0  # 9 generated + 6 reference tracks
    values = {(v["metric"], v["track"]): v for v in report["values"]["generated"]}
    cbs = values[("cbs", "all")]
    assert cbs["per_song"]["a"] > cbs["per_song"]["c"] and cbs["ci_low"] <= cbs["value"] <= cbs["ci_high"]
    assert values[("cbd", "all")]["per_song"]["c"] > values[("cbd", "all")]["per_song"]["a"]
    assert {track for metric, track in values if metric == "fad"} == {"bass", "drums", "piano", "mix"}
    assert report["embedders"][0]["label"] == "logmel_not_comparable"
    reference = {(v["metric"], v["track"]): v for v in report["values"]["reference"]}
    assert reference[("cbs", "all")]["value"] >= cbs["value"]

    rows = list(csv.DictReader(io.StringIO(out.with_suffix(".csv").read_text())))
    assert len(rows) == len(report["values"]["generated"]) + len(report["values"]["reference"])
    row = next(r for r in rows if r["set"] == "generated" and r["metric"] == "cbs")
    assert float(row["value"]) == pytest.approx(cbs["value"]) and row["better"] == "higher"
    per_song = list(csv.DictReader(io.StringIO(out.with_suffix(".per_song.csv").read_text())))
    assert {r["song"] for r in per_song if r["set"] == "generated" and r["metric"] == "cbs"} == {"a", "b", "c"}

    code, stdout, stderr = run(capsys, *argv)
    assert code == 0, stderr
    again = json.loads(out.read_text())
    assert again["cache"]["hits"] == 15 and again["cache"]["misses"] == 0
    assert "15 hit(s), 0 miss(es)" in stdout
    assert again["values"] == report["values"]


def test_official_stem_layout_in_worker_processes(folders, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(extract, "WORKER_START_SECONDS", 0.0)  # these few files alone would stay in this process
    started = []
    real_pool = extract.futures.ProcessPoolExecutor
    monkeypatch.setattr(extract.futures, "ProcessPoolExecutor", lambda *a, **k: started.append(a) or real_pool(*a, **k))
    for k, track in enumerate(TRACKS):  # the generated songs again, as stem_k/<song>.wav + mix/<song>.wav
        for song in ("a", "b", "c"):
            (tmp_path / f"stem_{k}").mkdir(exist_ok=True)
            (tmp_path / f"stem_{k}" / f"{song}.wav").write_bytes((folders / "gen" / song / f"{track}.wav").read_bytes())
    for song in ("a", "b"):
        save_audio(tmp_path / "mix" / f"{song}.wav", np.zeros(RATE, np.float32), RATE)
    out = tmp_path / "out.json"
    code, stdout, stderr = run(
        capsys, "eval", tmp_path, "--reference", folders / "ref", "--track-names", ",".join(TRACKS),
        "--metrics", "cbs,fad", "--tracker", "onsets", "--no-cache", "--workers", "2", "--bootstrap", "20", "--out", out,
    )
    assert code == 0, stderr
    report = json.loads(out.read_text())
    assert report["layouts"]["generated"] == "stems"
    assert report["tracks"]["generated"] == TRACKS
    assert report["cache"]["folder"] is None
    assert any("1 song(s) have no mix file" in note for note in report["notes"])
    cbs = next(v for v in report["values"]["generated"] if v["metric"] == "cbs")
    # the same audio in synctrack's layout, tracked in this process, gives the same per-song CBS
    assert cbs["per_song"]["a"] == 1.0 and cbs["per_song"]["c"] < 1.0
    assert started  # the beats above came from worker processes
    code, _, stderr = run(capsys, "eval", folders / "gen", "--metrics", "cbs", "--tracker", "onsets", "--no-cache", "--workers", "1",
                          "--bootstrap", "20", "--out", tmp_path / "songs.json")
    assert code == 0, stderr
    songs_report = json.loads((tmp_path / "songs.json").read_text())
    assert cbs["per_song"] == songs_report["values"]["generated"][0]["per_song"]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--metrics", "irs,cbz"], "'cbz' is not in the metric registry; did you mean 'cbs'?"),
        (["--metrics", "fad"], "pass --reference DIR"),
        (["--tracker", "madmon"], "did you mean 'madmom'?"),
        (["--set", "cbs.window=wide"], "cbs.window: expected float, got 'wide'"),
        (["--set", "cbs.widow=0.1"], "unknown argument 'widow'"),
        (["--set", "window=0.1"], "expected PART.ARG=VALUE"),
        (["--metrics", ""], "--metrics is empty"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
    ids=["unknown-metric", "fad-without-reference", "unknown-tracker", "bad-value", "bad-argument", "bad-set",
         "no-metrics", "no-workers"],
)
def test_bad_arguments_exit_2_with_a_clear_message(folders, capsys, arguments, fragment):
    code, stdout, stderr = run(capsys, "eval", folders / "gen", "--no-cache", *arguments)
    assert code == 2
    assert fragment in stderr
    assert "Traceback" not in stdout + stderr


def test_empty_or_missing_folders_exit_2(tmp_path, capsys):
    code, _, stderr = run(capsys, "eval", tmp_path, "--no-cache")
    assert code == 2 and "no songs found" in stderr and "<dir>/stem_<k>/<song>.wav" in stderr
    code, _, stderr = run(capsys, "eval", tmp_path / "missing", "--no-cache")
    assert code == 2 and "folder not found" in stderr


def test_an_unreadable_audio_file_exits_2_naming_it(tmp_path, capsys):
    (tmp_path / "song").mkdir()
    (tmp_path / "song" / "bass.wav").write_bytes(b"RIFF not really a wav")
    code, _, stderr = run(capsys, "eval", tmp_path, "--no-cache", "--workers", "1")
    assert code == 2 and "bass.wav" in stderr


def test_converted_and_uneven_tracks_are_named_in_the_notes(folders, tmp_path, capsys):
    import shutil

    import soundfile

    generated = tmp_path / "gen"
    shutil.copytree(folders / "gen", generated)
    short = click_song(song_beats(0.0), 3.0, 44100)[1]
    soundfile.write(generated / "b" / "drums.wav", np.stack([short, short], 1), 44100)
    code, stdout, stderr = run(capsys, "eval", generated, "--metrics", "cbs", "--tracker", "librosa", "--no-cache",
                               "--workers", "1", "--out", tmp_path / "report")
    assert code == 0, stderr
    notes = json.loads((tmp_path / "report.json").read_text())["notes"]
    assert "generated: 1 file(s) have several channels and were averaged to mono: b/drums (2 ch)" in notes
    assert any(n.startswith("generated: 1 file(s) are not at the set's 16000 Hz") and "b/drums (44100 Hz)" in n for n in notes)
    assert any("1 song(s) have tracks of unequal length" in n and "b (bass 6.00 s, drums 3.00 s, piano 6.00 s" in n
               for n in notes)
    assert "averaged to mono: b/drums (2 ch)" in " ".join(stdout.split())


def test_uniform_sets_get_no_format_notes(folders, tmp_path, capsys):
    code, _, stderr = run(capsys, "eval", folders / "gen", "--metrics", "cbs", "--tracker", "librosa", "--no-cache",
                          "--workers", "1", "--out", tmp_path / "report")
    assert code == 0, stderr
    notes = json.loads((tmp_path / "report.json").read_text())["notes"]
    assert not any("mono" in n or "Hz" in n or "unequal length" in n for n in notes)


def test_a_nan_sample_exits_2_naming_the_file_and_sample(folders, tmp_path, capsys):
    import shutil

    import soundfile

    generated = tmp_path / "gen"
    shutil.copytree(folders / "gen", generated)
    audio = soundfile.read(generated / "a" / "piano.wav", dtype="float32")[0]
    audio[1234] = np.nan
    soundfile.write(generated / "a" / "piano.wav", audio, RATE, subtype="FLOAT")
    code, _, stderr = run(capsys, "eval", generated, "--metrics", "cbs", "--tracker", "librosa", "--no-cache", "--workers", "1")
    flat = " ".join(stderr.split())
    assert code == 2 and "piano.wav: sample 1234 of 96000" in flat and "Traceback" not in stderr


def test_cbs_paper_compat_is_a_setting_and_follows_the_trackers_paper_compat(folders, tmp_path, capsys):
    from synctrack.api.evaluation import part_nodes
    from synctrack.eval import rhythm

    reports = {}
    for mode, extra in (("exact", []), ("paper", ["--set", "cbs.paper_compat=true"])):
        out = tmp_path / f"{mode}.json"
        code, _, stderr = run(capsys, "eval", folders / "gen", "--metrics", "cbs", "--tracker", "onsets", "--no-cache",
                              "--workers", "1", "--bootstrap", "0", "--set", "cbs.window=0.11", "--out", out, *extra)
        assert code == 0, stderr
        reports[mode] = next(v for v in json.loads(out.read_text())["values"]["generated"] if v["metric"] == "cbs")
    assert "PAPER-COMPATIBLE" in reports["paper"]["note"] and "PAPER-COMPATIBLE" not in reports["exact"]["note"]
    # song c's beats 0.25 + 0.5k + 0.09 * s (onsets: exact sample times) land on 0.11 s edges (1.43 = 13 * 0.11,
    # 2.75 = 25 * 0.11, 4.84 = 44 * 0.11), where float edges decide otherwise: CBS 12/31 exact, 38/93 in float
    beats = [np.round(b * RATE) / RATE for b in song_beats(0.09)]
    for mode, paper_compat in (("exact", False), ("paper", True)):
        assert reports[mode]["per_song"]["a"] == 1.0
        assert reports[mode]["per_song"]["c"] == pytest.approx(rhythm.cbs_song(beats, DURATION, 0.11, paper_compat))
    assert reports["exact"]["per_song"]["c"] == pytest.approx(12 / 31)
    assert reports["paper"]["per_song"]["c"] == pytest.approx(38 / 93)
    # tracker.paper_compat=true reproduces the paper, so it brings the scripts' CBS edges unless told otherwise
    assert part_nodes(["cbs"], "madmom", "x", ["tracker.paper_compat=true"])["cbs"]["paper_compat"] is True
    assert "paper_compat" not in part_nodes(["cbs"], "madmom", "x", [])["cbs"]
    assert part_nodes(["cbs"], "madmom", "x", ["tracker.paper_compat=true", "cbs.paper_compat=false"])["cbs"]["paper_compat"] is False


def test_a_song_with_a_silent_track_is_flagged_in_the_per_song_csv_and_counted_in_the_table(folders, tmp_path, capsys):
    import shutil

    generated = tmp_path / "gen"
    shutil.copytree(folders / "gen", generated)
    save_audio(generated / "b" / "drums.wav", np.zeros(int(DURATION * RATE), np.float32), RATE)  # silent: no beats
    out = tmp_path / "report.json"
    code, stdout, stderr = run(capsys, "eval", generated, "--reference", folders / "ref", "--metrics", "cbs,cbd",
                               "--tracker", "onsets", "--no-cache", "--workers", "1", "--bootstrap", "20",
                               "--no-page", "--out", out)
    assert code == 0, stderr
    printed = " ".join(stdout.split())
    assert "generated: 1 of 3 songs: not every track beats (>= 2 beats each of 3 tracks)" in printed
    assert "reference: all 3 tracks of every song beat" in printed
    per_song = list(csv.DictReader(io.StringIO(out.with_suffix(".per_song.csv").read_text())))
    generated_rows = [r for r in per_song if r["set"] == "generated"]
    assert {r["song"] for r in generated_rows if r["flag"]} == {"b"}
    assert {(r["beating_tracks"], r["flag"]) for r in generated_rows if r["song"] == "b"} == {
        ("2", "2 of 3 tracks beat (drums: no beats)")}
    assert {r["beating_tracks"] for r in per_song if r["song"] != "b"} == {"3"}
    report = json.loads(out.read_text())
    assert report["beating_tracks"]["generated"]["summary"] == "1 of 3 songs: not every track beats"
    assert report["beating_tracks"]["reference"]["flagged"] == 0
    cbs = next(v for v in report["values"]["generated"] if v["metric"] == "cbs")
    assert "1 of 3 songs: not every track beats" in cbs["note"]
