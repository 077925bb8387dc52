"""Pictures of rhythm: each track's mel with its detected beats, so synchrony (or its absence) is visible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..audio import load_audio
from ..audio.io import audio_duration
from ..figures import pyplot, save_figure

BEATS_LEGEND = "seconds (white: this track's beats; coloured ticks: the other tracks' beats)"


def _draw_track(axis, file: Path, name: str, track_names: Sequence[str], beats: Mapping[str, np.ndarray], colours) -> None:
    """One track's log-mel on ``axis``, its beats as white lines and the other tracks' as coloured ticks."""
    from ..outputs import log_mels

    sample_rate = audio_duration(file)[1]
    audio = torch.from_numpy(load_audio(file, sample_rate))
    mel = log_mels(audio, sample_rate).numpy()
    duration = audio.shape[-1] / sample_rate
    axis.imshow(mel, origin="lower", aspect="auto", cmap="magma", extent=(0.0, duration, 0, mel.shape[0]))
    for other, other_name in enumerate(track_names):
        if other_name != name:
            for time in beats.get(other_name, []):
                axis.plot([time, time], [0, mel.shape[0] * 0.12], color=colours[other % len(colours)], lw=1, alpha=0.8)
    for time in beats.get(name, []):
        axis.axvline(time, color="white", lw=1.2, alpha=0.9)
    axis.set_yticks([])


def plot_song_beats(song: Path, track_names: list[str], beats: Mapping[str, np.ndarray], out: Path, title: str = "") -> Path:
    """One row per track of ``song``: its log-mel with the track's beats as vertical lines, and every other
    track's beats as faint ticks on the same axis; written atomically as a PNG."""
    return plot_side_by_side([("", song, beats)], track_names, out, title or song.name)


def plot_side_by_side(
    columns: Sequence[tuple[str, Path, Mapping[str, np.ndarray]]], track_names: Sequence[str], out: Path, title: str = "",
) -> Path:
    """The same song from several models, one column per ``(label, song folder, beats)``, one row per track,
    drawn as :func:`plot_song_beats` draws one; written atomically as a PNG."""
    plt = pyplot()
    rows = len(track_names)
    figure, axes = plt.subplots(rows, len(columns), figsize=(9 * len(columns), 1.5 * rows + 0.6),
                                squeeze=False, sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for column, (label, song, beats) in enumerate(columns):
        for row, name in enumerate(track_names):
            axis = axes[row, column]
            _draw_track(axis, song / f"{name}.wav", name, track_names, beats, colours)
            if column == 0:
                axis.set_ylabel(name, rotation=0, ha="right", va="center")
        if label:
            axes[0, column].set_title(label)
        axes[-1, column].set_xlabel(BEATS_LEGEND)
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, out)
