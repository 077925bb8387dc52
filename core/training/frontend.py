"""Objectives that train the audio front end with the trainer: a mel encoder (``mel_vae``) and a vocoder (``hifigan``).

They wrap the parts' own loss methods; the trainer brings optimizers, schedules, clipping, accumulation,
checkpoints, resumption, logs and previews, as for the diffusion model. Only the trained part is built.

The parts declare what the trainer calls by subclassing :class:`~synctrack.interfaces.TrainableEncoder` or
:class:`~synctrack.interfaces.TrainableVocoder`. A **trainable encoder** (``train.target: encoder``;
``mel_vae`` is one) has

- ``training_inputs(waveforms [N, L]) -> inputs``: what its loss takes (``mel_vae``: log-mel images ``[N, 1, T, F]``);
- ``training_loss(inputs, step=, generator=) -> (loss, logs)`` and ``generator_parameters()``: the first
  optimizer, ``autoencoder``. ``generator`` holds one generator per input (each track of a song gets its
  song's generator of the step): the posterior noise then does not depend on how the batch is split;
- optionally a discriminator: ``discriminator_parameters()`` (non-empty) and ``discriminator_loss(inputs,
  step=, generator=) -> (loss, logs)``, the second optimizer, ``discriminator``, stepped after the autoencoder as in LDM's
  loop; ``adversarial_active(step)`` says when it starts (before that its optimizer gets zero gradients and
  the discriminator is not run: LDM also steps it with a zero loss);
- optionally ``estimate_scale_factor(waveforms [B, S, L], generator=, chunk=)``: the latent scale, estimated
  at every checkpoint on the first ``train.scale_factor_songs`` songs of the data and stored in ``meta.json``
  (``scale_factor``), where ``init: {format: synctrack}`` finds it.

A **trainable vocoder** (``train.target: vocoder``; ``hifigan``) has ``mel_config`` and
``training_objective()``, a module holding the discriminators (its parameters) with
``discriminator_loss(real, fake)`` and ``generator_loss(real, fake, real_mel, fake_mel)``, waveforms
``[N, L]``. Each step cuts one random segment of ``train.segment_frames`` mel frames (so a multiple of the hop)
from every present track of every song, computes its log-mel, vocodes it, steps the ``discriminator``
optimizer on (real, detached fake), then the ``generator`` optimizer on the adversarial, feature-matching and
mel losses against the updated discriminators (HiFi-GAN's loop). Segment positions come from the step's
per-song generators, so they do not depend on how the batch is split over processes.

Only the tracks present in a song (``track_mask``) are trained on; a micro-batch's loss is the mean over its
tracks. Mels are computed in fp32 also under mixed precision. The EMA (when ``train.ema_decay`` is set)
averages the trained part only, not the discriminators; the front-end recipes train without EMA, as
MusicLDM's VAE and HiFi-GAN were trained.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..audio import MelSpectrogram, write_song
from ..errors import UserError
from ..interfaces.trainable import TrainableEncoder, TrainableVocoder
from .objective import Objective, StepContext

TRAINABLE = {"encoder": TrainableEncoder, "vocoder": TrainableVocoder}


def trainable_problem(kind: str, part: Any) -> str | None:
    """Why ``part`` (an instance or its class) cannot be trained as ``kind`` (``encoder``/``vocoder``), or None."""
    interface = TRAINABLE[kind]
    if not (isinstance(part, interface) or (inspect.isclass(part) and issubclass(part, interface))):
        return f"it has nothing to train (it is not a {interface.__name__}: see synctrack.interfaces.trainable)"
    if kind == "vocoder" and not inspect.isclass(part) and part.mel_config is None:
        return "it declares no mel_config, so the mels it is trained on are unknown"
    if not inspect.isclass(part) and isinstance(part, nn.Module) and not any(p.requires_grad for p in part.parameters()):
        return "it has no trainable parameters"
    return None


def _field(batch: Any, name: str) -> Any:
    return batch.get(name) if isinstance(batch, Mapping) else getattr(batch, name, None)


def song_tensors(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(audio [B, S, L], track mask [B, S] bool)`` of a ``SongBatch`` or a dict batch."""
    audio = _field(batch, "audio")
    tracks = _field(batch, "tracks")
    mask = tracks.mask if tracks is not None else _field(batch, "track_mask")
    if mask is None:
        mask = torch.ones(audio.shape[:2], dtype=torch.bool, device=audio.device)
    return audio, mask.bool()


def track_generators(song_generators: list[torch.Generator], mask: torch.Tensor) -> list[torch.Generator]:
    """One generator per present track, in ``audio[mask]`` order: song ``b``'s tracks share its generator
    (drawing one after the other from it), so a track's draws depend on its song only. ``mask`` ``[B, S]``."""
    return [song_generators[song] for song, slot in mask.nonzero().tolist()]


@contextmanager
def full_precision(device: torch.device):
    """Autocast off: mels are computed in fp32 also when the step runs in bf16/fp16."""
    if device.type in ("cuda", "cpu"):
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    else:
        yield


def _zero_loss(parameters: list[torch.Tensor]) -> torch.Tensor:
    """A zero that reaches every parameter (zero gradients), for an optimizer whose turn has not come."""
    return sum(p.sum() for p in parameters) * 0.0


def _without(logs: Mapping[str, float], *names: str) -> dict[str, float]:
    return {key: value for key, value in logs.items() if key not in names}


def _device_of(module: nn.Module) -> torch.device:
    for tensor in list(module.parameters()) + list(module.buffers()):
        return tensor.device
    return torch.device("cpu")


class _FrontEndObjective(Objective):
    """What both front-end objectives share: reference songs (previews, estimates) and the data checks."""

    target = ""

    def __init__(self, part: nn.Module, sample_num: int, reference_songs: int, seed: int) -> None:
        self.part = part
        self.sample_num = sample_num
        self.reference_songs = reference_songs
        self.seed = seed
        self.reference: torch.Tensor | None = None  # [K, S, L], the dataset's first songs
        self.reference_mask: torch.Tensor | None = None  # [K, S]
        self.track_names: list[str] = []
        self.sample_rate: int | None = None

    def prepare(self, dataset: Any) -> None:
        """Check the sample rate, and keep the dataset's first songs for previews and estimates."""
        rate = getattr(dataset, "sample_rate", None)
        own = getattr(self.part, "sample_rate", None)
        if rate and own and int(rate) != int(own):
            raise UserError(
                f"data: the dataset gives audio at {rate} Hz but model.{self.target} expects {own} Hz; set the "
                f"dataset's sample_rate to match"
            )
        count = min(len(dataset), self.reference_songs)
        if count:
            items = [dataset[index] for index in range(count)]
            width = max(item["audio"].shape[0] for item in items)
            length = min(item["audio"].shape[-1] for item in items)
            self.reference = torch.zeros(count, width, length)
            self.reference_mask = torch.zeros(count, width, dtype=torch.bool)
            for index, item in enumerate(items):
                tracks = item["audio"].shape[0]
                self.reference[index, :tracks] = torch.as_tensor(item["audio"])[:, :length]
                self.reference_mask[index, :tracks] = torch.as_tensor(item["track_mask"]).bool()
            names = list(getattr(dataset, "track_names", None) or [])
            self.track_names = names if len(names) == width else [f"track{i}" for i in range(width)]
        self.sample_rate = int(rate) if rate else (int(own) if own else None)
        self.check_clips()

    def check_clips(self) -> None:
        """Raise a UserError when the dataset's clips cannot be trained on (subclasses)."""

    def metadata(self) -> dict[str, Any]:
        mel = getattr(self.part, "mel_config", None)
        meta: dict[str, Any] = {"target": self.target, "sample_rate": self.sample_rate, "track_names": self.track_names}
        if mel is not None:
            meta["mel"] = mel.as_dict()
        return meta

    @contextmanager
    def _seeded(self, device: torch.device):
        """Previews draw from a fixed seed and leave the training random streams untouched."""
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            yield

    def _plot(self, folder: Path, real: torch.Tensor, made: torch.Tensor, mask: torch.Tensor, step: int, what: str) -> None:
        """One figure per song: each present track's input mel above the mel ``what`` made of it."""
        from ..outputs import plot_mels

        for index in range(real.shape[0]):
            rows, names = [], []
            for slot in mask[index].nonzero().flatten().tolist():
                name = self.track_names[slot]
                rows += [real[index, slot], made[index, slot]]
                names += [name, f"{name} ({what})"]
            frames = min(row.shape[-1] for row in rows)
            plot_mels(folder / f"song_{index:03d}" / "mels.png", torch.stack([r[..., :frames] for r in rows]), names,
                      title=f"step {step}: input and {what}", shared_scale=True)


class EncoderObjective(_FrontEndObjective):
    """Trains a mel encoder (``mel_vae``) on its reconstruction (and adversarial) loss; see the module doc.

    ``vocoder`` (optional, frozen) turns the previews' decoded mels into audio; it is neither trained nor saved.
    """

    target = "encoder"

    def __init__(
        self,
        encoder: nn.Module,
        vocoder: nn.Module | None = None,
        sample_num: int = 2,
        scale_factor_songs: int = 8,
        seed: int = 0,
    ) -> None:
        problem = trainable_problem("encoder", encoder)
        if problem:
            raise UserError(f"model.encoder ({type(encoder).__name__}) cannot be trained: {problem}")
        super().__init__(encoder, sample_num, max(sample_num, scale_factor_songs), seed)
        self.encoder = encoder
        self.vocoder = vocoder
        if vocoder is not None:
            vocoder.requires_grad_(False)
            vocoder.eval()
        self.scale_factor_songs = scale_factor_songs
        mel = encoder.mel_config
        self.front_end = MelSpectrogram(mel) if mel is not None and encoder.decodes_to == "mel" else None
        self.discriminator_params = [p for p in encoder.discriminator_parameters() if p.requires_grad]

    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder}

    def parameter_groups(self) -> dict[str, list[Any]]:
        groups: dict[str, list[Any]] = {"autoencoder": [p for p in self.encoder.generator_parameters() if p.requires_grad]}
        if self.discriminator_params:
            groups["discriminator"] = self.discriminator_params
        return groups

    def to(self, device: torch.device) -> None:
        for module in (self.encoder, self.vocoder, self.front_end):
            if module is not None:
                module.to(device)

    def loss(self, optimizer: str, batch: Any, context: StepContext) -> tuple[torch.Tensor, dict[str, float]]:
        inputs = context.scratch.get("encoder_inputs")
        if inputs is None:
            audio, mask = song_tensors(batch)
            with full_precision(audio.device):
                inputs = self.encoder.training_inputs(audio[mask])
            context.scratch["encoder_inputs"] = inputs
            context.scratch["encoder_generators"] = track_generators(context.generators(), mask)
        generators = context.scratch["encoder_generators"]  # kept: the discriminator's draws follow the autoencoder's
        if optimizer == "autoencoder":
            loss, logs = self.encoder.training_loss(inputs, step=context.step, generator=generators)
            return loss, _without(logs, "loss")
        if not self.encoder.adversarial_active(context.step):
            return _zero_loss(self.discriminator_params), {}
        loss, logs = self.encoder.discriminator_loss(inputs, step=context.step, generator=generators)
        return loss, _without(logs, "discriminator")

    def estimate_scale_factor(self) -> float | None:
        """The latent scale on the present tracks of the first ``scale_factor_songs`` songs (posterior samples
        with fixed noise, eval mode), or None when the encoder cannot estimate one."""
        if self.reference is None or self.scale_factor_songs == 0:
            return None
        device = _device_of(self.encoder)
        songs = self.reference[: self.scale_factor_songs]
        tracks = songs[self.reference_mask[: self.scale_factor_songs]][:, None].to(device)  # [N, 1, L]
        was_training = self.encoder.training
        self.encoder.eval()
        try:
            generator = torch.Generator(device=device).manual_seed(self.seed)
            estimate = self.encoder.estimate_scale_factor(tracks, generator=generator, chunk=4)
            return None if estimate is None else float(estimate)
        finally:
            self.encoder.train(was_training)

    def metadata(self) -> dict[str, Any]:
        meta = super().metadata()
        factor = self.estimate_scale_factor()
        if factor is not None:
            meta["scale_factor"] = factor
        return meta

    @torch.no_grad()
    def write_samples(self, folder: Path, step: int) -> None:
        """The first ``sample_num`` songs encoded and decoded: ``mels.png`` (input above reconstruction) per song,
        and with a vocoder in the recipe the reconstructed tracks and mix as WAVs."""
        if self.reference is None:
            return
        device = _device_of(self.encoder)
        audio, mask = self.reference[: self.sample_num].to(device), self.reference_mask[: self.sample_num]
        length = audio.shape[-1]
        with self._seeded(device):
            decoded = self.encoder.decode(self.encoder.encode(audio), num_samples=length)
        if self.front_end is None:  # a waveform encoder: the decoded audio is the preview
            waveforms, real, made = decoded, None, None
        else:
            real, made = self.front_end(audio), self.front_end.clamp_to_range(decoded)
            self._plot(folder, real, made, mask, step, "reconstruction")
            waveforms = self.vocoder(decoded)[..., :length] if self.vocoder is not None else None
        if waveforms is not None and self.sample_rate:
            waveforms = torch.nan_to_num(waveforms, nan=0.0, posinf=0.0, neginf=0.0)
            for index, song in enumerate(waveforms):
                write_song(folder / f"song_{index:03d}", song, self.track_names, self.sample_rate)
