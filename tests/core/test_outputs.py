"""mels.png reads on its own: time in seconds, the mel band labelled, a colour bar per track."""

from __future__ import annotations

import torch

import synctrack.outputs as outputs
from synctrack.outputs import NORMALIZED_PEAK, normalize_peaks, song_peaks


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


def test_song_peaks_cover_the_tracks_and_their_mix():
    waveforms = torch.zeros(3, 2, 8)
    waveforms[0, 0, 1], waveforms[0, 1, 1] = 0.7, 0.6  # each track within full scale, their mix 1.3
    waveforms[1, 1, 4] = -1.5
    waveforms[2, 0, 2] = 0.5
    assert torch.allclose(song_peaks(waveforms), torch.tensor([1.3, 1.5, 0.5]))


def test_normalize_scales_only_songs_past_full_scale_and_keeps_their_mix_the_sum():
    waveforms = torch.randn(4, 3, 100, generator=torch.Generator().manual_seed(0)) * torch.tensor([0.05, 0.8, 0.1, 2.0])[:, None, None]
    normalized = normalize_peaks(waveforms)
    peaks = song_peaks(waveforms)
    for song in range(4):
        if peaks[song] > 1:
            assert torch.isclose(song_peaks(normalized[song : song + 1])[0], torch.tensor(NORMALIZED_PEAK))
            ratio = normalized[song] / waveforms[song]
            assert torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio))  # one factor per song
        else:
            assert torch.equal(normalized[song], waveforms[song])
