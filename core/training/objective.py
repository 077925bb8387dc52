"""Objectives: what the trainer trains, in a form that fits a diffusion model, a VAE and a GAN alike.

The trainer knows nothing about diffusion. It asks an :class:`Objective` for

- ``modules()``: the trained modules by name (checkpointed, averaged by EMA, synchronised across processes);
- ``parameter_groups()``: one entry per optimizer, in update order, each a list of parameters or of torch
  parameter-group dicts (``{"params": [...], "lr": ...}`` to override the recipe's optimizer settings);
- ``loss(optimizer, batch, context)``: the scalar loss that optimizer minimises on a micro-batch (the mean
  over its songs), or ``(loss, {"name": value})`` to log more numbers. ``batch`` is what the collate function
  made (``synctrack.data.collate_songs``: a ``SongBatch``); ``context`` is a :class:`StepContext`.

Per optimizer step the trainer runs, for each optimizer in order, ``loss`` on every micro-batch, averages the
gradients over processes, clips, and steps that optimizer before moving to the next one. ``context.scratch``
is a dict per micro-batch kept for the whole step, so a GAN computes the generator output once in the
discriminator's loss (its loss uses it detached) and reuses it in the generator's loss; the generator's loss
then sees the discriminator already updated, as in HiFi-GAN's training loop. ``context.generators()`` gives one
seeded generator per song for the objective's random draws (see :mod:`synctrack.noise`).

Optional hooks: ``to(device)`` moves what the objective uses (default: its modules), ``ema_modules()`` the
modules the EMA averages (default: all of them; a GAN leaves its discriminators out), and (doing nothing by
default) ``prepare(dataset)`` before training, ``metadata()`` /
``load_metadata(meta)`` for what the checkpoint should remember, ``write_samples(folder, step)`` for the
previews written every ``train.sample_every`` steps (run with the EMA weights).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import UserError
from ..noise import generators_from_seeds

LossResult = torch.Tensor | tuple[torch.Tensor, Mapping[str, float]]


@dataclass
class StepContext:
    """What an objective's ``loss`` knows besides the batch.

    Attributes:
        step: the optimizer step (0-based) this micro-batch belongs to.
        noise_seeds: ``[b]`` long, one seed per song of the micro-batch, from (run seed, step, the song's position
            in the global batch): draws made from them do not depend on how the global batch is split.
        scratch: a dict for this micro-batch, shared by the step's optimizers (in their order).
    """

    step: int
    noise_seeds: torch.Tensor
    scratch: dict[str, Any] = field(default_factory=dict)

    def generators(self) -> list[torch.Generator]:
        """One CPU generator per song, seeded from :attr:`noise_seeds`."""
        return generators_from_seeds(self.noise_seeds)


class Objective:
    """Base class of trainable objectives; see the module documentation for the protocol."""

    def modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def parameter_groups(self) -> dict[str, list[Any]]:
        raise NotImplementedError

    def loss(self, optimizer: str, batch: Any, context: StepContext) -> LossResult:
        raise NotImplementedError

    def to(self, device: torch.device) -> None:
        """Move everything the objective uses to ``device`` (frozen parts too); by default its modules."""
        for module in self.modules().values():
            module.to(device)

    def ema_modules(self) -> dict[str, nn.Module]:
        """The modules ``train.ema_decay`` averages and previews run with (a subset of :meth:`modules`)."""
        return self.modules()

    def prepare(self, dataset: Any) -> None:
        """Called once with the training dataset before the first step."""

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable facts stored in every checkpoint's ``meta.json``."""
        return {}

    def load_metadata(self, meta: Mapping[str, Any]) -> None:
        """Restore what :meth:`metadata` returned (on resume)."""

    def write_samples(self, folder: Path, step: int) -> None:
        """Write previews into ``folder`` (rank 0 only, EMA weights loaded, modules in eval mode)."""

    def probe(self, step: int, config: Any) -> Any:
        """The sync probe's :class:`~synctrack.experiments.probe.ProbeResult` at ``step`` (rank 0, EMA weights
        loaded), or None where the objective has nothing to probe (front-end training)."""
        return None


class DiffusionObjective(Objective):
    """Trains a :class:`~synctrack.pipeline.Pipeline`'s denoiser with its diffusion's loss.

    Each song's noise level and noise come from its generator in the :class:`StepContext` (seeded from the run
    seed, the step and the song's position in the global batch), so the loss does not depend on how the global
    batch is split over processes and accumulation steps.
    """

    def __init__(self, pipeline: Any, sample_num: int = 2, sample_steps: int | None = None, seed: int = 0) -> None:
        self.pipeline = pipeline
        self.sample_num = sample_num
        self.sample_steps = sample_steps
        self.seed = seed
        self._probe = None  # the sync probe, built at its first use

    def modules(self) -> dict[str, nn.Module]:
        return self.pipeline.trained_modules()

    def parameter_groups(self) -> dict[str, list[Any]]:
        return {"denoiser": [p for p in self.pipeline.denoiser.parameters() if p.requires_grad]}

    def to(self, device: torch.device) -> None:
        self.pipeline.to(device)  # the encoder too: it encodes every batch

    def loss(self, optimizer: str, batch: Any, context: StepContext) -> torch.Tensor:
        return self.pipeline.training_loss(batch, context.generators()).mean()

    def prepare(self, dataset: Any) -> None:
        """Learn the song layout (track names, instruments, clip length, sample rate) from the dataset."""
        layout = self.pipeline.layout
        item = dataset[0]
        audio = item["audio"]
        layout.clip_samples = int(audio.shape[-1])
        layout.instrument_ids = [int(v) for v in item["instrument_ids"]]
        names = list(getattr(dataset, "track_names", None) or [])
        layout.track_names = names if len(names) == audio.shape[0] else [f"track{i}" for i in range(audio.shape[0])]
        rate = getattr(dataset, "sample_rate", None)
        layout.sample_rate = int(rate) if rate else None
        encoder_rate = getattr(self.pipeline.encoder, "sample_rate", None)
        if rate and encoder_rate and int(rate) != int(encoder_rate):
            raise UserError(
                f"data: the dataset gives audio at {rate} Hz but model.encoder expects {encoder_rate} Hz; "
                "set the dataset's sample_rate to match the encoder"
            )
        self.pipeline.check_clip(layout.clip_samples, int(audio.shape[0]))  # now, not as a shape error in step 1

    def metadata(self) -> dict[str, Any]:
        return {"layout": self.pipeline.layout.to_dict()}

    def load_metadata(self, meta: Mapping[str, Any]) -> None:
        from ..pipeline import SongLayout

        if "layout" in meta:
            self.pipeline.layout = SongLayout.from_dict(meta["layout"])

    def probe(self, step: int, config: Any) -> Any:
        """Run the sync probe on the recipe's first ``config.probe_songs`` held-out songs (built once)."""
        if self._probe is None:
            from ..experiments.probe import SyncProbe

            self._probe = SyncProbe.from_recipe(self.pipeline, config.probe_songs, config.probe_steps, self.seed)
        return self._probe(step)

    def write_samples(self, folder: Path, step: int) -> None:
        """``sample_num`` songs with a fixed seed (comparable across steps), as WAVs and mel figures."""
        from ..outputs import write_songs

        pipeline = self.pipeline
        generator = torch.Generator().manual_seed(self.seed)
        latents = pipeline.sample_latents(self.sample_num, steps=self.sample_steps, generator=generator)
        rendered = pipeline.render(latents)
        rate = pipeline.sample_rate
        names = pipeline.layout.track_names or [f"track{i}" for i in range(latents.shape[1])]
        if rendered.waveforms is None or rate is None:
            from ..outputs import plot_mels

            mels = rendered.mels if rendered.mels is not None else latents.flatten(2).unsqueeze(2)
            for index, song in enumerate(mels):
                plot_mels(folder / f"song_{index:03d}" / "mels.png", song, names, title=f"step {step}")
            return
        waveforms = rendered.waveforms
        if not bool(torch.isfinite(waveforms).all()):  # an early model can decode to values a vocoder overflows on
            warnings.warn(f"step {step}: preview audio has NaN or infinite samples; they are written as silence", UserWarning, stacklevel=2)
            waveforms = torch.nan_to_num(waveforms, nan=0.0, posinf=0.0, neginf=0.0)
        write_songs(folder, waveforms, names, rate, mels=rendered.mels)
