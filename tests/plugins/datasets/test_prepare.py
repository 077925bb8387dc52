"""``data prepare``: the cache of resampled, grouped audio, reading it back, resuming, and the CLI."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import yaml

from synctrack.audio.io import AudioError
from synctrack.cli import main
from synctrack.cli.data import build_for_prepare, parse_groups
from synctrack.data import DataWarning
from synctrack.data.prepare import MANIFEST_NAME, RECORDS_NAME, prepare, read_records
from synctrack.errors import UserError
from synctrack.plugins.datasets.slakh import SlakhDataset, StemGroup
from synctrack.plugins.datasets.slakh_msdm import SlakhMSDMDataset

RATE, CLIP = 8000, 0.5
SPLITS = ("train", "validation", "test")
# The fixtures' songs have no all_src.mid, so reading a prepared copy warns that they carry no tempo (test_slakh.py
# tests that warning): expected here.
pytestmark = pytest.mark.filterwarnings("ignore:.*have no readable all_src.mid:synctrack.data.sources.DataWarning")


def for_prepare(root, split, name="slakh", tracks=None, groups=None, on_corrupt="error"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        dataset = build_for_prepare(name, root, split, RATE, tracks, groups, on_corrupt)
        dataset.sources
    return dataset


def prepare_all(root, out, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return prepare([for_prepare(root, split, **kwargs) for split in SPLITS], out, kwargs.get("name", "slakh"))


def records(out):
    return {song_id: record for (split, song_id), record in read_records(out).items()}


def test_prepare_writes_every_intact_song_once(redux_root, tmp_path):
    out = tmp_path / "prepared"
    report = prepare_all(redux_root, out)
    # Track00001, 02, 03 (short: the reader drops it), 05, 06 written; 04 (unequal lengths) skipped
    assert (report.written, report.reused, report.skipped) == (5, 0, 1)
    found = records(out)
    assert found["Track00004"]["status"] == "skipped" and found["Track00004"]["reason"] == "unequal_lengths"
    assert found["Track00002"]["present"] == {"bass": True, "drums": True, "guitar": False, "piano": True}
    assert sorted(p.name for p in (out / "train" / "Track00002").iterdir()) == ["bass.wav", "drums.wav", "piano.wav"]
    assert found["Track00001"]["num_samples"] == 10400
    assert "Track00007" not in found  # omitted/
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["sample_rate"] == RATE and manifest["dataset"] == "slakh"
    assert all(manifest["splits"][split]["complete"] for split in SPLITS)


@pytest.mark.parametrize("missing", ["drop", "silent"])
def test_the_prepared_folder_reads_like_the_original(redux_root, tmp_path, missing):
    out = tmp_path / "prepared"
    prepare_all(redux_root, out)
    options = {"sample_rate": RATE, "clip_seconds": CLIP, "missing": missing, "random_shift": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        original = SlakhDataset(redux_root, split="train+validation", **options)
        cached = SlakhDataset(out, split="train+validation", **options)
        assert len(cached) == len(original) == (4 if missing == "drop" else 8)
    assert sorted((d.song_id, d.reason) for d in cached.dropped) == sorted((d.song_id, d.reason) for d in original.dropped)
    for index in range(len(original)):
        a, b = original[index], cached[index]
        assert a["meta"]["song_id"] == b["meta"]["song_id"] and a["meta"]["start"] == b["meta"]["start"]
        assert a["track_mask"].tolist() == b["track_mask"].tolist()
        np.testing.assert_allclose(b["audio"].numpy(), a["audio"].numpy(), atol=1.5 / 32768)  # 16-bit PCM


def test_a_prepared_folder_serves_a_subset_of_its_tracks(redux_root, tmp_path):
    out = tmp_path / "prepared"
    prepare_all(redux_root, out)
    drums = SlakhDataset(out, tracks=["bass", "drums"], sample_rate=RATE, clip_seconds=CLIP, split="test")
    assert len(drums) == 1 and drums[0]["audio"].shape == (2, 4000)


def test_a_prepared_folder_refuses_other_groups(redux_root, tmp_path):
    out = tmp_path / "prepared"
    prepare_all(redux_root, out)
    same = {"bass": StemGroup(inst_class=["Bass"]), "drums": StemGroup(inst_class=["DRUMS", "drums"])}  # the defaults
    assert len(SlakhDataset(out, groups=same, sample_rate=RATE, clip_seconds=CLIP)) == 2
    with pytest.raises(UserError, match=r"prepared with other settings for guitar") as caught:
        len(SlakhDataset(out, groups={"guitar": StemGroup(program_num=[25])}, sample_rate=RATE, clip_seconds=CLIP))
    message = str(caught.value)
    assert "the first difference, in track 'guitar': " in message and len(message) < 400
    # the prepared guitar slot holds a chain of groups; the recipe's is a single group: named, not dumped
    assert "[[" not in message
    with pytest.raises(UserError, match=r"prepared with tracks \[bass, drums, guitar, piano\] and has no strings"):
        len(SlakhDataset(out, tracks=["strings"], sample_rate=RATE, clip_seconds=CLIP))
    with pytest.raises(UserError, match=r"holds data prepared with other settings \(sample_rate"):
        prepare([build_for_prepare("slakh", redux_root, "test", 16000, None, None, "error")], out, "slakh")


def test_prepare_resumes_after_an_interruption(redux_root, tmp_path):
    out = tmp_path / "prepared"
    datasets = [for_prepare(redux_root, split) for split in SPLITS]
    done = []

    def stop_after_two(song_id):
        done.append(song_id)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(datasets, out, "slakh", on_song=stop_after_two)
    first = out / "train" / "Track00001" / "bass.wav"
    stamp = first.stat().st_mtime_ns
    with open(out / RECORDS_NAME, "a") as log:
        log.write('{"split": "train", "song_id": "Track0')  # a record torn by the interruption
    assert not json.loads((out / MANIFEST_NAME).read_text())["splits"]["train"]["complete"]
    with pytest.warns(DataWarning, match="split 'train' was not fully prepared"):
        partial = SlakhDataset(out, sample_rate=RATE, clip_seconds=CLIP, missing="silent")
        assert [s.source.song_id for s in partial.songs] == ["Track00001", "Track00002"]
    report = prepare(datasets, out, "slakh")
    assert (report.reused, report.written) == (2, 3)
    assert first.stat().st_mtime_ns == stamp  # finished songs are not written again
    assert len(records(out)) == 6
    lines = (out / RECORDS_NAME).read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # the torn line is gone


def test_a_recorded_song_whose_files_vanished_is_written_again(redux_root, tmp_path):
    out = tmp_path / "prepared"
    prepare_all(redux_root, out)
    (out / "test" / "Track00006" / "piano.wav").unlink()
    report = prepare_all(redux_root, out)
    assert (report.written, report.reused) == (1, 4)
    assert (out / "test" / "Track00006" / "piano.wav").exists()


def test_prepare_skips_undecodable_audio_when_asked(redux_root, tmp_path):
    stem = redux_root / "validation" / "Track00005" / "stems" / "S04.flac"
    data = stem.read_bytes()
    stem.write_bytes(data[: len(data) // 2])  # a readable header over a damaged stream
    with pytest.raises(AudioError, match=r"Track00005/stems/S04.flac.*--on-corrupt skip"):
        prepare_all(redux_root, tmp_path / "strict")
    out = tmp_path / "lenient"
    datasets = [for_prepare(redux_root, split, on_corrupt="skip") for split in SPLITS]
    with pytest.warns(DataWarning, match=r"skipping song Track00005 \(validation\): .*S04.flac"):
        report = prepare(datasets, out, "slakh")
    assert report.skipped == 2  # Track00004 (unequal lengths) and Track00005
    assert records(out)["Track00005"]["reason"] == "unreadable"
    with pytest.raises(UserError, match=r"no usable song .* 1 dropped \(1 unreadable\)"):
        len(SlakhDataset(out, split="validation", sample_rate=RATE, clip_seconds=CLIP))


def test_prepare_the_msdm_layout(msdm_root, tmp_path):
    out = tmp_path / "msdm16k"
    datasets = [for_prepare(msdm_root, split, name="slakh_msdm") for split in ("train", "test")]
    report = prepare(datasets, out, "slakh_msdm")
    assert (report.written, report.skipped) == (4, 1)
    cached = SlakhMSDMDataset(out, sample_rate=RATE, clip_seconds=CLIP, split="test")
    original = SlakhMSDMDataset(msdm_root, sample_rate=RATE, clip_seconds=CLIP, split="test")
    np.testing.assert_allclose(cached[1]["audio"].numpy(), original[1]["audio"].numpy(), atol=1.5 / 32768)


# -- the command line --------------------------------------------------------------------------------------------


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prepare_and_resume(redux_root, tmp_path, capsys):
    out = tmp_path / "prepared"
    code, stdout, err = run(capsys, "data", "prepare", "slakh", "--root", redux_root, "--out", out, "--sr", RATE)
    assert code == 0, err
    assert "written now" in stdout and "5" in stdout
    assert "Track00002/stems/S03.flac" in err  # the audio_rendered warning reaches the user
    code, stdout, _ = run(capsys, "data", "prepare", "slakh", "--root", redux_root, "--out", out, "--sr", RATE)
    assert code == 0
    row = [line for line in stdout.splitlines() if line.count("│") >= 3][-1]
    assert [cell.strip() for cell in row.strip("│ ").split("│")] == ["0", "5", "1"]


def test_cli_prepare_with_a_group_mapping(redux_root, tmp_path, capsys):
    out = tmp_path / "prepared"
    spec = tmp_path / "groups.yaml"
    spec.write_text(yaml.safe_dump({"drums": {"is_drum": True}, "guitars": {"inst_class": ["Guitar"]}, "rest": {}}))
    code, _, err = run(capsys, "data", "prepare", "slakh", "--root", redux_root, "--out", out, "--sr", RATE, "--groups", spec, "--splits", "train")
    assert code == 0, err
    assert sorted(p.name for p in (out / "train" / "Track00001").iterdir()) == ["drums.wav", "guitars.wav", "rest.wav"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--root", "{tmp}/nowhere"], "--root {tmp}/nowhere is not a folder"),
        (["--root", "{tmp}/empty"], "no songs found in {tmp}/empty for split 'train'"),
        (["--groups", "{{bass: {{inst_clas: [Bass]}}}}"], "unknown argument 'inst_clas'"),
        (["--groups", "{{bass: {{program_num: [300]}}}}"], "groups.bass.program_num: [300] outside 0..128"),
        (["--groups", "bass,strngs"], "track slot(s) strngs matched no stem"),
        (["--groups", "[1, 2]"], "--groups: expected track names"),
        (["--splits", "train,omitted"], "split 'omitted' is not valid"),
    ],
)
def test_cli_prepare_bad_input_exits_2(redux_root, tmp_path, capsys, arguments, message):
    (tmp_path / "empty" / "train").mkdir(parents=True)
    (tmp_path / "empty" / "validation").mkdir()
    (tmp_path / "empty" / "test").mkdir()
    arguments = [arg.format(tmp=tmp_path) for arg in arguments]
    if "--root" not in arguments:
        arguments += ["--root", str(redux_root)]
    code, stdout, err = run(capsys, "data", "prepare", "slakh", "--out", tmp_path / "out", "--sr", RATE, *arguments)
    assert code == 2
    assert message.format(tmp=tmp_path) in " ".join(err.split())
    assert "Traceback" not in stdout + err


def test_cli_groups_for_the_msdm_layout_are_refused(msdm_root, tmp_path, capsys):
    code, _, err = run(capsys, "data", "prepare", "slakh_msdm", "--root", msdm_root, "--out", tmp_path / "o", "--groups", "{bass: {}}")
    assert code == 2 and "unknown argument 'groups' for dataset 'slakh_msdm'" in err


def test_parse_groups_forms(tmp_path):
    assert parse_groups("bass, drums,guitar") == (["bass", "drums", "guitar"], None)
    assert parse_groups("[bass, drums]") == (["bass", "drums"], None)
    assert parse_groups("{drums: {is_drum: true}, other:}") == (["drums", "other"], {"drums": {"is_drum": True}, "other": {}})
    with pytest.raises(UserError, match="--groups file .*missing.yaml not found"):
        parse_groups(str(tmp_path / "missing.yaml"))


def test_cli_inspect_shows_songs_segments_and_tracks(redux_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = tmp_path / "slakh.yaml"
    recipe.write_text(f"data: {{type: slakh, root: {redux_root}, sample_rate: {RATE}, clip_seconds: {CLIP}, missing: silent}}\n")
    code, stdout, err = run(capsys, "data", "inspect", recipe, "data.split=train+validation")
    assert code == 0, err
    table = " ".join(stdout.split())
    for fragment in ("data: slakh (train+validation)", "songs │ 3", "segments (items) │ 8", "0:00:04 (4.3 s)",
                     "dropped: too_short │ 1", "dropped: unequal_lengths │ 1", "guitar │ 2 │ 2/3 │ 67%"):
        assert fragment in table, fragment


def test_cli_inspect_errors_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "none.yaml").write_text("name: nothing\n")
    code, _, err = run(capsys, "data", "inspect", "none.yaml")
    assert code == 2 and "has no data: section" in err
    (tmp_path / "bad.yaml").write_text(f"data: {{type: slakh, root: {tmp_path / 'gone'}}}\n")
    code, _, err = run(capsys, "data", "inspect", "bad.yaml")
    assert code == 2 and "is not a folder" in err
    code, _, err = run(capsys, "data", "inspect", "bad.yaml", "data.typo")
    assert code == 2 and "bad override" in err


def test_prepare_never_writes_into_the_dataset(redux_root):
    dataset = for_prepare(redux_root, "test")
    with pytest.raises(UserError, match="is the dataset root"):
        prepare([dataset], redux_root, "slakh")
    assert not (redux_root / MANIFEST_NAME).exists() and not os.path.exists(redux_root / RECORDS_NAME)
