"""mels.png reads on its own: time in seconds, the mel band labelled, a colour bar per track."""

from __future__ import annotations

import torch

import synctrack.outputs as outputs


def test_mel_picture_has_seconds_bands_and_colour_bars(tmp_path, monkeypatch):
    captured = {}

    def keep(figure, path, dpi=80):
        captured["figure"] = figure
        return path

    monkeypatch.setattr(outputs, "save_figure", keep)
    mels = torch.randn(3, 16, 160)
    outputs.plot_mels(tmp_path / "m.png", mels, ["bass", "drums", "piano"], seconds=5.12)
    figure = captured["figure"]
    tracks = [axis for axis in figure.axes if axis.get_ylabel().endswith("mel band")]
    bars = [axis for axis in figure.axes if axis.get_ylabel() == "log power"]
    assert [axis.get_ylabel().split("\n")[0] for axis in tracks] == ["bass", "drums", "piano"]
    assert len(bars) == 3
    assert tracks[-1].get_xlabel() == "seconds" and tracks[-1].get_xlim() == (0.0, 5.12)
    assert tracks[0].get_ylim() == (0.0, 16.0)


def test_written_songs_plot_their_duration(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(outputs, "plot_mels", lambda path, mels, names, title="", seconds=None: seen.append(seconds) or path)
    outputs.write_songs(tmp_path / "out", torch.zeros(2, 2, 8000), ["a", "b"], 16000)
    assert seen == [0.5, 0.5]
