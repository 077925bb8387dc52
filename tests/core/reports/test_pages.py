"""Listening pages, read back with a real HTML parser: every player and picture points at a file beside the
page, every value from a file is escaped, and an old run folder gets a page too."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
import torch

import synctrack
from synctrack.api import Songs
from synctrack.cli import main
from synctrack.reports import SAMPLING_RECORD, write_report
from synctrack.reports.comparison import write_comparison_page
from synctrack.reports.pictures import draw_beat_pictures
from listening_pages import Page, read_page

RATE = 16000


def click_songs(count: int = 2, seconds: float = 2.0) -> Songs:
    """Songs whose two tracks click on a shared 120 bpm grid (beats a tracker finds)."""
    length = int(seconds * RATE)
    waveforms = torch.zeros(count, 2, length)
    for beat in range(0, length, RATE // 2):
        waveforms[:, 0, beat : beat + 200] = 0.5
        waveforms[:, 1, beat + 40 : beat + 240] = -0.4
    return Songs(waveforms, ["bass", "drums"], RATE)


@pytest.fixture
def evaluated(tmp_path):
    folder = tmp_path / "songs"
    click_songs().write(folder)
    result = synctrack.evaluate(folder, metrics=["irs", "cbs", "cbd"], cache=False)
    report = result.write(folder / "synctrack-eval.json")["json"]
    draw_beat_pictures(folder, result.beats["generated"])
    return folder, report


def test_every_player_and_picture_points_at_a_file_beside_the_page(evaluated):
    folder, report = evaluated
    page = Page(write_report(folder, report).read_text())
    assert len(page.audio) == 2 * 3  # two songs: bass, drums and the mix
    assert sorted(page.images) == ["song_000/beats.png", "song_001/beats.png"]
    for source in [*page.audio, *page.images]:
        assert not source.startswith(("/", "http")) and (folder / unquote(source)).is_file(), source
    assert page.scripts == 1  # the page's own few lines (play a song's tracks together), no library
    text = " ".join(page.text)
    assert "cbs" in text and "cbd" in text and page.rows >= 1 + 3  # the header and at least irs, cbs, cbd
    assert "beats by librosa" in text


def test_each_song_shows_its_own_metric_values(evaluated):
    folder, report = evaluated
    values = json.loads(report.read_text())["values"]["generated"]
    cbs = next(v for v in values if v["metric"] == "cbs" and v["track"] == "all")["per_song"]["song_001"]
    html = write_report(folder, report).read_text()
    song = html[html.index('id="song_001"'):]
    assert f"cbs {cbs:.4g}" in song


def test_values_from_files_are_escaped(tmp_path):
    folder = tmp_path / "songs"
    songs = click_songs(1)
    songs.names = ["<loud & clear>"]  # a folder name may hold markup characters
    songs.write(folder)
    record = {"title": "<script>alert(1)</script>", "command": "synctrack sample x", "recipe": "name: </pre><img src=x>"}
    (folder / SAMPLING_RECORD).write_text(json.dumps(record))
    html = write_report(folder).read_text()
    page = Page(html)
    assert page.scripts == 1 and page.images == ["%3Cloud%20%26%20clear%3E/mels.png"]  # the recipe's <img> stays text
    assert (folder / unquote(page.images[0])).is_file()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;loud &amp; clear&gt;" in html
    assert "<script>alert(1)" in " ".join(page.text)


def test_the_comparison_page_escapes_the_command_and_each_recipe(tmp_path, capsys):
    folder = tmp_path / "ablation"
    for name in ("with", "without"):
        click_songs(1).write(folder / name / "samples")
        record = {"checkpoint": f"run/step_{name}", "recipe": f"name: {name}\nnote: </pre><script>alert(1)</script>"}
        (folder / name / "samples" / SAMPLING_RECORD).write_text(json.dumps(record))
    (folder / "comparison.csv").write_text("")
    write_comparison_page(folder, command="synctrack ablate <a.yaml>")
    (folder / "index.html").unlink()
    assert main(["report", str(folder)]) == 0  # the rebuilt page keeps the command (comparison.json)
    page = read_page(folder)
    text = "".join(page.text)
    assert page.scripts == 1 and "synctrack ablate <a.yaml>" in text
    for name in ("with", "without"):
        assert f"{name}: the recipe (resolved), checkpoint run/step_{name}" in text
        assert f"name: {name}\nnote: </pre><script>alert(1)</script>" in text


def test_report_rebuilds_the_page_of_an_older_folder(tmp_path, capsys):
    folder = tmp_path / "old"
    click_songs().write(folder)  # no sampling.json, no evaluation: what runs before the pages looked like
    assert main(["report", str(folder)]) == 0
    assert "wrote" in capsys.readouterr().out
    page = Page((folder / "index.html").read_text())
    assert len(page.audio) == 6 and page.images == ["song_000/mels.png", "song_001/mels.png"]
    assert "No evaluation yet" in " ".join(page.text)


def test_eval_writes_the_beat_pictures_and_the_page(tmp_path, capsys):
    folder = tmp_path / "songs"
    click_songs().write(folder)
    assert main(["eval", str(folder), "--no-cache", "--workers", "1"]) == 0
    assert "listen:" in capsys.readouterr().out
    page = Page((folder / "index.html").read_text())
    assert page.images == ["song_000/beats.png", "song_001/beats.png"]
    assert main(["eval", str(folder), "--no-cache", "--workers", "1", "--no-page", "--out", str(tmp_path / "r.json")]) == 0


def test_a_folder_that_is_no_set_of_songs_is_refused_with_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "folder not found" in capsys.readouterr().err


def test_the_page_shows_a_gap_closed_row_as_a_percentage_not_a_difference(tmp_path):
    folder = tmp_path / "ablation"
    for name in ("mixers", "no-mixers"):
        click_songs(1).write(folder / name / "samples")
    (folder / "comparison.csv").write_text("")
    (folder / "paired.csv").write_text(
        "recipe,baseline,metric,difference,ci_low,ci_high,excludes_zero,pairs,seeds\n"
        "mixers,no-mixers,CBS,0.255,0.196,0.310,True,48,3\n"
        "mixers,no-mixers,CBS gap closed %,62.66,47.9,76.54,True,48,3\n"
    )
    write_comparison_page(folder, command="synctrack ablate a.yaml b.yaml --seeds 3")
    text = " ".join(read_page(folder).text)
    assert "+0.255 [+0.196, +0.310]" in text and "excludes 0" in text
    assert "CBS gap closed" in text and "63% [48, 77]" in text
    assert "+62.660" not in text
