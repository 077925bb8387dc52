"""The comparison report: rows read from evaluation reports, CSV columns, and the bar chart."""

from __future__ import annotations

import json
import math

import pytest

from synctrack.experiments.report import (
    TARGET_LABEL, GapReference, comparison_rows, default_baseline, gap_cell, gap_reference, table, to_csv, write_comparison,
)


def report(path, values, songs=3):
    path.write_text(json.dumps({
        "songs": {"generated": [f"song_{i}" for i in range(songs)]},
        "values": {"generated": [
            {"metric": metric, "track": track, "value": value, "ci_low": value - 0.1, "ci_high": value + 0.1}
            for metric, track, value in values
        ]},
    }))
    return path


def test_rows_take_the_mix_fd_and_song_level_rhythm_metrics(tmp_path):
    model = report(tmp_path / "m.json", [("fad", "mix", 2.5), ("fad", "drums", 9.0), ("irs", "all", 0.2),
                                         ("irs", "drums", 0.9), ("cbs", "all", 0.5), ("cbd", "all", 0.3)])
    truth = report(tmp_path / "t.json", [("irs", "all", 0.05), ("cbs", "all", 0.6), ("cbd", "all", 0.08)], songs=4)
    rows = comparison_rows([("full", model)], [("held-out songs", truth)])
    assert rows[0].values["FD"] == (2.5, 2.4, 2.6) and rows[0].values["IRS"][0] == 0.2
    assert rows[1].values["FD"] is None and rows[1].kind == "ground truth" and rows[1].songs == 4
    lines = to_csv(rows).splitlines()
    assert lines[0].split(",")[:6] == ["recipe", "kind", "songs", "FD", "FD_ci_low", "FD_ci_high"]
    assert lines[2].startswith("held-out songs,ground truth,4,,,,0.05")
    assert [c.header for c in table(rows, "t").columns] == ["recipe", "FD ↓", "IRS ↓", "CBS ↑", "CBD ↓", "songs"]


def test_missing_interval_and_chart(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"values": {"generated": [
        {"metric": "cbs", "track": "all", "value": 0.4, "ci_low": None, "ci_high": None}]}}))
    rows = comparison_rows([("a", path)], [])
    assert math.isnan(rows[0].values["CBS"][1])
    paths = write_comparison(rows, tmp_path / "out", "title")
    assert paths["png"].stat().st_size > 1000 and paths["csv"].read_text().startswith("recipe,kind")


def gap_rows(tmp_path, model_beating=4.0, baseline_beating=4.0):
    def one(name, cbs, cbd, beating):
        return report(tmp_path / f"{name}.json", [("cbs", "all", cbs), ("cbd", "all", cbd), ("beating_tracks", "all", beating)])

    models = [("full", one("full", 0.5, 0.2, model_beating)), ("bench-no-mixers", one("none", 0.3, 0.4, baseline_beating))]
    return models, [(TARGET_LABEL, one("target", 0.7, 0.0, 3.9))]


def test_sync_gap_closed_is_the_share_of_the_way_from_baseline_to_target(tmp_path):
    models, truth = gap_rows(tmp_path)
    assert default_baseline([name for name, _ in models]) == "bench-no-mixers"
    rows = comparison_rows(models, truth, GapReference("bench-no-mixers", TARGET_LABEL))
    assert rows[0].gap_closed["CBS"] == pytest.approx(50.0) and rows[0].gap_closed["CBD"] == pytest.approx(50.0)
    assert (rows[1].gap_note, rows[2].gap_note) == ("baseline", "target")
    assert gap_cell(rows[0]) == "CBS 50% / CBD 50%"
    headers = [c.header for c in table(rows, "t").columns]
    assert headers[-2:] == ["sync gap closed", "songs"] and "beating tracks" in headers
    line = to_csv(rows).splitlines()[1].split(",")
    assert line[-3:] == ["50.0", "50.0", ""]


def test_no_gap_where_a_model_or_the_baseline_silences_tracks(tmp_path):
    models, truth = gap_rows(tmp_path, model_beating=2.5)
    rows = comparison_rows(models, truth, GapReference("bench-no-mixers", TARGET_LABEL))
    assert rows[0].gap_closed == {} and rows[0].gap_note == "2.5 beating tracks against the data's 3.9"
    models, truth = gap_rows(tmp_path, baseline_beating=2.0)
    rows = comparison_rows(models, truth, GapReference("bench-no-mixers", TARGET_LABEL))
    assert rows[0].gap_closed == {} and rows[0].gap_note.startswith("baseline: 2.0 beating tracks")
    with pytest.raises(KeyError, match="no baseline row named 'nope'"):
        comparison_rows(models, truth, GapReference("nope", TARGET_LABEL))


def test_why_there_is_no_gap(tmp_path):
    assert gap_reference(None, ["a"], [TARGET_LABEL])[1].startswith("no recipe is named *no-mixers")
    assert "different front ends" in gap_reference("a", ["a"], ["held-out songs (codec-1)"])[1]
    assert gap_reference("a", ["a", "b"], [TARGET_LABEL]) == (GapReference("a", TARGET_LABEL), "")
    assert default_baseline(["x-no-mixers", "y-no-mixers"]) is None  # ambiguous: the user must name it


def test_the_table_says_why_the_held_out_rows_have_no_fd(tmp_path):
    models = [("m", report(tmp_path / "m.json", [("fad", "mix", 3.0), ("cbs", "all", 0.4)]))]
    truth = [("held-out songs", report(tmp_path / "t.json", [("cbs", "all", 0.7)]))]
    rendered = table(comparison_rows(models, truth), "t")
    assert "held-out rows are that reference" in rendered.caption
    assert table(comparison_rows(models, []), "t").caption is None  # no held-out row, nothing to explain


def test_at_80_columns_the_table_is_one_line_per_row_with_means_and_the_gap(tmp_path):
    from rich.console import Console

    values = [("fad", "mix", 3.0), ("irs", "all", 0.03), ("cbs", "all", 0.45), ("cbd", "all", 0.3),
              ("beating_tracks", "all", 4.0), ("track_correlation", "all", 0.2)]
    models = [("bench-synctrack-with-a-long-name", report(tmp_path / "m.json", values)),
              ("bench-no-mixers", report(tmp_path / "b.json", [(m, t, v if m == "beating_tracks" else v * 0.5) for m, t, v in values]))]
    truth = [(TARGET_LABEL, report(tmp_path / "t.json", [(m, t, v) for m, t, v in values[1:4]] + [("beating_tracks", "all", 4.0)]))]
    rows = comparison_rows(models, truth, GapReference("bench-no-mixers", TARGET_LABEL))
    console = Console(width=80, record=True)
    console.print(table(rows, "ablation", 80))
    rows[0].gap_closed, rows[0].gap_note = {}, "a long reason why there is no gap figure for this row"
    console.print(table(rows, "ablation", 80))  # a long note is cut, not pushing the columns off the screen
    lines = console.export_text().splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines)
    synctrack = next(line for line in lines if line.lstrip().startswith("bench-synctrack"))
    assert "0.450" in synctrack and "3.000" in synctrack and "%" in synctrack  # one row, one line
    assert "95% intervals are in comparison.csv" in " ".join(lines)
    wide = Console(width=200, record=True)
    wide.print(table(rows, "ablation", 200))
    assert "[0.350, 0.550]" in wide.export_text()  # a wide terminal keeps the intervals


def test_the_wide_table_counts_the_songs_where_not_every_track_beats(tmp_path):
    from rich.console import Console

    values = [("cbs", "all", 0.5), ("beating_tracks", "all", 3.5)]
    flagged, clean = report(tmp_path / "f.json", values, songs=4), report(tmp_path / "c.json", values, songs=4)
    data = json.loads(flagged.read_text())
    data["beating_tracks"] = {"generated": {"flagged": 2, "songs": 4}}
    flagged.write_text(json.dumps(data))
    rows = comparison_rows([("flagged", flagged), ("clean", clean)], [])
    assert (rows[0].flagged_songs, rows[1].flagged_songs) == (2, None)  # older reports have no count
    wide = Console(width=200, record=True)
    wide.print(table(rows, "ablation", 200))
    lines = wide.export_text().splitlines()
    assert "3.500 [3.400, 3.600] (2 of 4 songs short)" in next(line for line in lines if "flagged" in line)
    assert "songs short" not in next(line for line in lines if "clean" in line)
