"""What a song set's onsets look like across and within tracks: the cross-track lag curve and each track's pulse.

For written song folders (``song_*/<track>.wav``, as ``synctrack sample`` and ``ablate`` write them), each
track becomes an onset envelope (spectral flux of a log-mel, by default the bench front end's 16 bands with a
32 ms hop). Two readings per set:

- the cross-track lag curve: the correlation of two tracks' envelopes with one shifted by -7..+7 frames, mean
  over pairs and songs. A peak at lag 0 as narrow as the data's means onsets land on the same frame;
- periodicity (``synctrack.eval.sync_probe.track_periodicity``): how steady each track's own pulse is.

Used in docs/learning-speed.md ("What limits CBS"):

    python benchmarks/onset_structure.py data=RUN/references/codec-HASH staged=RUN/bench-staged/samples \\
        --out runs/onset-structure
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import soundfile as sf
import torch
import torchaudio

from synctrack.eval.sync_probe import lagged_correlation, onset_envelopes, track_periodicity

LAGS = range(-7, 8)


def song_folders(folder: Path, songs: int) -> list[Path]:
    found = sorted(path for path in folder.glob("song_*") if path.is_dir())[:songs]
    if not found:
        raise SystemExit(f"error: {folder} holds no song_* folders: give a folder that synctrack sample wrote")
    return found


def track_mels(song: Path, transform: torchaudio.transforms.MelSpectrogram) -> tuple[torch.Tensor, float]:
    """The log-mels ``[S, T, F]`` of a song folder's tracks (every WAV but the mix) and the frame length in s."""
    mels, rate = [], None
    for path in sorted(song.glob("*.wav")):
        if path.stem == "mix":
            continue
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        mels.append(torch.log(transform(torch.from_numpy(audio.mean(1))).clamp(min=1e-5)).T)
    if len(mels) < 2:
        raise SystemExit(f"error: {song} holds {len(mels)} track WAV(s): the lag curve needs two or more")
    return torch.stack(mels), transform.hop_length / rate


def lag_curve(envelopes: torch.Tensor) -> torch.Tensor:
    """Mean over track pairs of the envelopes' correlation at each of :data:`LAGS`: ``[len(LAGS)]``."""
    tracks = envelopes.shape[0]
    pairs = [(i, j) for i in range(tracks) for j in range(i + 1, tracks)]
    curves = torch.stack([torch.stack([lagged_correlation(envelopes[i], envelopes[j], lag) for lag in LAGS]) for i, j in pairs])
    return torch.nanmean(curves, 0)


def measure(folder: Path, songs: int, n_mels: int, n_fft: int, hop: int, sample_rate: int) -> dict[str, float]:
    transform = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=hop, n_mels=n_mels,
                                                     f_max=sample_rate / 2)
    curves, periodicity = [], []
    for song in song_folders(folder, songs):
        mels, frame_seconds = track_mels(song, transform)
        curves.append(lag_curve(onset_envelopes(mels.double())))
        periodicity.append(float(track_periodicity(mels[None], frame_seconds)))
    curve = torch.nanmean(torch.stack(curves), 0)
    at = {lag: float(value) for lag, value in zip(LAGS, curve)}
    off = [at[lag] for lag in LAGS if abs(lag) >= 3]
    row = {"songs": len(curves), "lag0": at[0], "lag1": (at[1] + at[-1]) / 2, "lag2": (at[2] + at[-2]) / 2,
           "off_beat": sum(off) / len(off), "periodicity": sum(periodicity) / len(periodicity)}
    row["lag1_over_lag0"] = row["lag1"] / row["lag0"] if row["lag0"] > 0.05 else math.nan
    return {**row, **{f"curve{lag:+d}": at[lag] for lag in LAGS}}


def draw(rows: dict[str, dict[str, float]], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    for label, row in rows.items():
        left.plot(list(LAGS), [row[f"curve{lag:+d}"] for lag in LAGS], marker="o", label=label)
    left.set(xlabel="lag (frames)", ylabel="cross-track envelope correlation", title="do onsets land on the same frame?")
    left.axhline(0, color="grey", lw=0.5)
    left.legend(fontsize=8)
    right.bar(list(rows), [row["periodicity"] for row in rows.values()], color="tab:gray")
    right.set(ylabel="periodicity (max autocorrelation, 0.25-1.3 s)", title="does each track keep a pulse?", ylim=(0, 1))
    right.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    picture = out / "onset-structure.png"
    figure.savefig(picture, dpi=110)
    plt.close(figure)
    return picture


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", metavar="LABEL=FOLDER", help="song folders to compare")
    parser.add_argument("--songs", type=int, default=16, help="songs per set (default 16)")
    parser.add_argument("--n-mels", type=int, default=16)
    parser.add_argument("--n-fft", type=int, default=1024)
    parser.add_argument("--hop", type=int, default=512)
    parser.add_argument("--sample-rate", type=int, default=16000, help="the rate the WAVs are read at (they must match)")
    parser.add_argument("--out", type=Path, default=None, help="folder for onset-structure.csv and .png")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = {}
    for item in args.sets:
        label, _, folder = item.partition("=")
        if not folder:
            parser.error(f"{item!r}: give LABEL=FOLDER")
        rows[label] = measure(Path(folder), args.songs, args.n_mels, args.n_fft, args.hop, args.sample_rate)
    print(f"{'set':>14} {'songs':>5} {'lag 0':>6} {'+-1':>6} {'+-2':>6} {'3-7':>6} {'+-1/0':>6} {'periodicity':>11}")
    for label, row in rows.items():
        print(f"{label:>14} {row['songs']:>5} {row['lag0']:>6.3f} {row['lag1']:>6.3f} {row['lag2']:>6.3f} "
              f"{row['off_beat']:>6.3f} {row['lag1_over_lag0']:>6.2f} {row['periodicity']:>11.3f}")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        with open(args.out / "onset-structure.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["set", *next(iter(rows.values()))])
            writer.writeheader()
            writer.writerows({"set": label, **row} for label, row in rows.items())
        print(f"wrote {args.out / 'onset-structure.csv'} and {draw(rows, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
