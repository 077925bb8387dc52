"""Pictures of rhythm: each track's mel with its detected beats, so synchrony (or its absence) is visible."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from ..audio import load_audio
from ..audio.io import audio_duration
from ..figures import pyplot, save_figure


def plot_song_beats(song: Path, track_names: list[str], beats: Mapping[str, np.ndarray], out: Path, title: str = "") -> Path:
    """One row per track of ``song``: its log-mel with the track's beats as vertical lines, and every other
    track's beats as faint ticks on the same axis; written atomically as a PNG."""
    from ..outputs import log_mels

    plt = pyplot()

    rows = len(track_names)
    figure, axes = plt.subplots(rows, 1, figsize=(9, 1.5 * rows + 0.6), squeeze=False, sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row, (axis, name) in enumerate(zip(axes[:, 0], track_names)):
        file = song / f"{name}.wav"
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
        axis.set_ylabel(name, rotation=0, ha="right", va="center")
        axis.set_yticks([])
    axes[-1, 0].set_xlabel("seconds (white: this track's beats; coloured ticks: the other tracks' beats)")
    figure.suptitle(title or song.name)
    figure.tight_layout()
    return save_figure(figure, out)
