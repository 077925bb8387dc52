"""The sync probe: in well under a minute, how far a checkpoint is on the way to tracks in sync.

Three numbers, with no vocoder and no beat tracker (so a training run can log them every few hundred steps):

- **sync**: ``songs`` songs sampled with the recipe's sampler from a fixed seed, each track's mel turned into
  an onset envelope, and the lag-0 minus off-beat correlation of every pair of tracks
  (:mod:`synctrack.eval.sync_probe`). The recipe's own held-out songs score ``data_sync`` (about 0.8 on the
  synthetic world); independent tracks score about 0.
- **periodicity**: on the same sampled mels, how steady each track's own pulse is (the highest
  autocorrelation of its onset envelope over lags of one beat period, 0.25-1.3 s); ``data_periodicity`` for
  the held-out songs. Tracks can line up with each other and keep no pulse: sync cannot see that, madmom can.
- **denoising error**: the clean-estimate MSE on the same held-out songs at four noise levels, with fixed
  noise. The levels are set by their signal-to-noise ratio *in data units* (the clean latents' variance times
  ``abar / (1 - abar)``), and the error is divided by that variance, so recipes that scale the data
  differently (``scale_factor``) or use another schedule compare level by level.

``probe_run`` scores a run folder's latest checkpoint (``synctrack probe RUN``); the trainer calls a
:class:`SyncProbe` every ``train.probe_every`` steps and logs ``probe`` events to ``log.jsonl``, from which
:func:`time_to_target` reads a learning curve. CBS and CBD on beat-tracked audio stay the ruler results are
reported with; the probe says whether a run is worth scoring.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..eval.sync_probe import song_sync, track_periodicity

PROBE_SNRS: tuple[float, ...] = (4.0, 1.0, 0.25, 0.0625)  # data-unit SNR of the four fixed noise levels
PROBE_EVENT = "probe"


@dataclass
class ProbeResult:
    """What one probe measured. ``denoise_error`` maps ``"snr=<x>"`` to the clean-estimate MSE over the data
    variance (0 is perfect; 1 is as bad as predicting the mean)."""

    sync: float
    data_sync: float
    songs: int
    denoise_error: dict[str, float] = field(default_factory=dict)
    sync_per_song: list[float] = field(default_factory=list)
    seconds: float = 0.0
    step: int | None = None
    # how steady each track's own pulse is (eval.sync_probe.track_periodicity); NaN when the clip length is unknown
    periodicity: float = math.nan
    data_periodicity: float = math.nan

    @property
    def sync_fraction(self) -> float:
        """``sync / data_sync``: how much of the data's synchrony the samples have (NaN without a data value)."""
        return self.sync / self.data_sync if self.data_sync and not math.isnan(self.data_sync) else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sync_fraction": self.sync_fraction}

    def summary(self) -> str:
        errors = " ".join(f"{k} {v:.3f}" for k, v in self.denoise_error.items())
        return (f"sync {self.sync:.3f} (data {self.data_sync:.3f}, {100 * self.sync_fraction:.0f}%) over {self.songs} songs; "
                f"periodicity {self.periodicity:.3f} (data {self.data_periodicity:.3f}); "
                f"denoising error {errors}; {self.seconds:.1f} s")


def _nanmean(values: torch.Tensor) -> float:
    finite = values[~values.isnan()]
    return float(finite.mean()) if finite.numel() else math.nan


def probe_mels(pipeline: Any, latents: torch.Tensor) -> torch.Tensor:
    """Each track's mel ``[B, S, T, F]`` from latents ``[B, S, ...]``, decoded as cheaply as the model allows:
    through a mel-decoding encoder, as the latents themselves when a vocoder reads them, else from the
    rendered audio (a display log-mel)."""
    encoder = pipeline.encoder
    with torch.no_grad():
        if encoder is not None and encoder.decodes_to == "mel":
            return encoder.decode(latents).transpose(-1, -2)  # [B, S, n_mels, T] -> [B, S, T, n_mels]
        if encoder is None and pipeline.vocoder is not None:
            return latents.transpose(-1, -2)
        from ..outputs import log_mels

        rendered = pipeline.render(latents)
        rate = pipeline.sample_rate
        if rendered.waveforms is None or rate is None:
            raise UserError("the sync probe needs mels or audio: this model renders neither")
        return log_mels(rendered.waveforms.float().cpu(), rate).transpose(-1, -2)


def probe_levels(diffusion: Any, data_variance: float, snrs: Sequence[float] = PROBE_SNRS) -> list[float]:
    """The diffusion's noise levels whose data-unit SNR is closest to each of ``snrs``."""
    if data_variance <= 0:
        raise ValueError(f"the probe songs' latents have variance {data_variance}: they are constant")
    if diffusion.family == "timestep":
        steps = torch.arange(diffusion.num_timesteps)
        alpha_bar = diffusion.alpha_bar(steps)
        nominal = torch.log(alpha_bar / (1 - alpha_bar).clamp_min(1e-20))
        return [float(steps[(nominal - math.log(snr / data_variance)).abs().argmin()]) for snr in snrs]
    return [math.sqrt(data_variance / snr) for snr in snrs]  # x = x0 + sigma * noise: SNR = variance / sigma^2


class SyncProbe:
    """A probe bound to one pipeline and its fixed held-out songs (a ``SongBatch``).

    Call it (``probe(step)``) with the weights to score loaded; it puts the denoiser in eval mode and back.
    """

    def __init__(self, pipeline: Any, held_out: Any, songs: int = 8, sample_steps: int | None = None, seed: int = 0) -> None:
        if songs < 1:
            raise UserError(f"the sync probe needs at least one song to sample, got {songs}")
        self.pipeline = pipeline
        self.held_out = held_out
        self.songs = songs
        self.sample_steps = sample_steps
        self.seed = seed
        self._data_scores: tuple[float, float] | None = None
        self._latents: torch.Tensor | None = None

    @classmethod
    def from_recipe(cls, pipeline: Any, songs: int = 8, sample_steps: int | None = None, seed: int = 0,
                    split: str = "test") -> SyncProbe:
        """A probe on the first ``songs`` songs of the ``split`` split of the pipeline's recipe data."""
        from ..data import collate_songs

        if pipeline.recipe is None or pipeline.recipe.get("data") is None:
            raise UserError("the sync probe reads held-out songs from the recipe's data: this model has no data node")
        dataset = pipeline.recipe.with_overrides([f"data.split={split}"]).build("data")
        if len(dataset) < songs:
            raise UserError(f"the sync probe needs {songs} held-out songs; the {split} split holds {len(dataset)}")
        return cls(pipeline, collate_songs([dataset[index] for index in range(songs)]), songs, sample_steps, seed)

    def _clean_latents(self) -> torch.Tensor:
        """The held-out songs' latents ``[songs, S, ...]``, encoded once: the front end is frozen while the
        denoiser trains (an encoder that samples draws from fixed seeds)."""
        if self._latents is None:
            generator = [torch.Generator().manual_seed(self.seed + index) for index in range(self.held_out.audio.shape[0])]
            self._latents = self.pipeline.latents(self.held_out.to(self.pipeline.device), generator)
        return self._latents

    def data_sync(self) -> float:
        """The held-out songs' own sync (computed once)."""
        return self._data()[0]

    def _data(self) -> tuple[float, float]:
        if self._data_scores is None:
            mels = probe_mels(self.pipeline, self._clean_latents()).cpu()
            mask = self.held_out.tracks.mask
            self._data_scores = (_nanmean(song_sync(mels, mask)), self._periodicity(mels, mask))
        return self._data_scores

    def _periodicity(self, mels: torch.Tensor, mask: torch.Tensor | None = None) -> float:
        """Mean track periodicity of mels ``[B, S, T, F]``; frames last the held-out clip's length over T."""
        rate = self.pipeline.sample_rate
        if rate is None:
            return math.nan
        frame_seconds = self.held_out.audio.shape[-1] / rate / mels.shape[-2]
        return _nanmean(track_periodicity(mels, frame_seconds, mask))

    @torch.no_grad()
    def denoise_error(self) -> dict[str, float]:
        """Clean-estimate MSE over the data variance at each level of :data:`PROBE_SNRS` (fixed noise)."""
        pipeline = self.pipeline
        x0 = self._clean_latents()
        tracks = pipeline.tracks_of(self.held_out).to(x0.device)
        present = tracks.mask  # [songs, S]: absent tracks count neither in the variance nor in the error
        variance = float(x0[present].var(unbiased=False))
        noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(self.seed + 1_000_003)).to(x0)
        context = pipeline.context_from_batch(self.held_out.to(x0.device))
        errors = {}
        for snr, level in zip(PROBE_SNRS, probe_levels(pipeline.diffusion, variance)):
            levels = torch.full((x0.shape[0],), level, device=x0.device)
            noisy = pipeline.diffusion.add_noise(x0, levels, noise)
            estimate = pipeline.diffusion.predict(pipeline.denoiser, noisy, levels, tracks, context).x0
            errors[f"snr={snr:g}"] = float(((estimate - x0)[present] ** 2).mean()) / variance
        return errors

    @torch.no_grad()
    def sampled_mels(self) -> torch.Tensor:
        """The mels ``[songs, S, T, F]`` of songs sampled from the probe's seed."""
        generator = torch.Generator().manual_seed(self.seed)
        # the held-out songs' tracks and clip length: a model that has not seen its training data yet can be probed
        shape = self._clean_latents().shape[2:]
        latents = self.pipeline.sample_latents(self.songs, self.held_out.tracks, steps=self.sample_steps,
                                               generator=generator, latent_shape=shape)
        return probe_mels(self.pipeline, latents).cpu()

    def sampled_sync(self) -> torch.Tensor:
        """Per-song sync ``[songs]`` of songs sampled from the probe's seed."""
        return song_sync(self.sampled_mels())

    def __call__(self, step: int | None = None) -> ProbeResult:
        started = time.perf_counter()
        was_training = self.pipeline.training
        self.pipeline.eval()
        try:
            data_sync, data_periodicity = self._data()
            errors = self.denoise_error()
            mels = self.sampled_mels()
        finally:
            self.pipeline.train(was_training)
        per_song = song_sync(mels)
        return ProbeResult(sync=_nanmean(per_song), data_sync=data_sync, songs=self.songs, denoise_error=errors,
                           sync_per_song=[float(v) for v in per_song], seconds=time.perf_counter() - started, step=step,
                           periodicity=self._periodicity(mels), data_periodicity=data_periodicity)


def probe_run(run: Path, songs: int = 8, sample_steps: int | None = None, seed: int = 0, ema: bool = True) -> ProbeResult:
    """Probe the latest checkpoint of a run folder (or a checkpoint folder) with its EMA weights."""
    from ..api.loading import load_pipeline
    from ..training.checkpoint import latest_checkpoint

    checkpoint = latest_checkpoint(run) if (run / "checkpoints").is_dir() else run
    if checkpoint is None:
        raise UserError(f"no checkpoint in {run}: train it first (synctrack train RECIPE --out {run})")
    pipeline = load_pipeline(checkpoint, ema=ema)
    step = None
    meta = checkpoint / "meta.json"
    if meta.is_file():
        step = json.loads(meta.read_text()).get("step")
    return SyncProbe.from_recipe(pipeline, songs, sample_steps, seed)(step)


# -- learning curves ------------------------------------------------------------------------------------------


def probe_curve(log_rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``probe`` events of a run's ``log.jsonl`` rows, in step order."""
    return sorted((row for row in log_rows if row.get("event") == PROBE_EVENT), key=lambda row: row["step"])


def read_log(run: Path) -> list[dict[str, Any]]:
    """The rows of ``run/log.jsonl`` (a half-written last line, from a killed run, is skipped)."""
    path = run / "log.jsonl"
    if not path.is_file():
        raise UserError(f"{path} not found: is {run} a training run folder?")
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def time_to_target(curve: Sequence[Mapping[str, Any]], target: float) -> tuple[int, float] | None:
    """``(step, training seconds)`` of the first probe whose sync fraction reaches ``target``, or None."""
    for row in curve:
        if row.get("sync_fraction") is not None and row["sync_fraction"] >= target:
            return int(row["step"]), float(row.get("train_seconds", math.nan))
    return None
