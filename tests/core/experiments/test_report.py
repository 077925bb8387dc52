"""The comparison report: rows read from evaluation reports, CSV columns, and the bar chart."""

from __future__ import annotations

import json
import math

from synctrack.experiments.report import comparison_rows, table, to_csv, write_comparison


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
