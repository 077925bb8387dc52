"""Wall-clock cost of the audio front end on one CPU thread, for docs/audio.md.

Run: ``.venv/bin/python benchmarks/audio_speed.py`` (a few seconds per line; numbers depend on the machine's
load). Timings are medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from synctrack.audio import MelSpectrogram
from synctrack.plugins.encoders import MelVAE
from synctrack.plugins.vocoders import GriffinLimVocoder, HifiGanVocoder


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    clip = torch.randn(1, 1, 163840, generator=torch.Generator().manual_seed(0)) * 0.1  # one 10.24 s track
    front_end = MelSpectrogram()
    mel = front_end(clip)
    rows = [("log-mel, 10.24 s track", lambda: front_end(clip))]
    for inverse in ("nnls", "least_squares"):
        vocoder = GriffinLimVocoder(inverse_mel=inverse)
        rows.append((f"griffin_lim ({inverse}), 10.24 s track", lambda v=vocoder: v(mel)))
    hifigan = HifiGanVocoder(remove_weight_norm=True).eval()
    rows.append(("hifigan (paper size), 1.0 s of audio", lambda: hifigan(mel[..., :100])))
    vae = MelVAE().eval()
    rows.append(("mel_vae (paper size) encode + decode, 10.24 s track", lambda: vae.decode(vae.encode(clip))))
    with torch.no_grad():
        for name, function in rows:
            print(f"{name}: {median_seconds(function, args.repeats):.2f} s", flush=True)


if __name__ == "__main__":
    main()
