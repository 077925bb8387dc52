"""``train.target: vocoder``: a :class:`~synctrack.interfaces.TrainableVocoder` trained adversarially, HiFi-GAN's
loop (see :mod:`synctrack.training.frontend` for what front-end objectives share)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..audio import MelSpectrogram, write_song
from ..errors import UserError
from .frontend import _device_of, _FrontEndObjective, _without, full_precision, song_tensors, trainable_problem
from .objective import StepContext


class VocoderObjective(_FrontEndObjective):
    """Trains a vocoder (``hifigan``) adversarially on random segments of the data's tracks; see the module doc."""

    target = "vocoder"

    def __init__(self, vocoder: nn.Module, segment_frames: int = 32, sample_num: int = 2, seed: int = 0) -> None:
        problem = trainable_problem("vocoder", vocoder)
        if problem:
            raise UserError(f"model.vocoder ({type(vocoder).__name__}) cannot be trained: {problem}")
        super().__init__(vocoder, sample_num, sample_num, seed)
        self.vocoder = vocoder
        self.discriminator = vocoder.training_objective()
        self.front_end = MelSpectrogram(vocoder.mel_config)
        self.segment_frames = segment_frames
        self.segment = vocoder.mel_config.num_samples(segment_frames)

    def modules(self) -> dict[str, nn.Module]:
        return {"vocoder": self.vocoder, "discriminator": self.discriminator}

    def ema_modules(self) -> dict[str, nn.Module]:
        return {"vocoder": self.vocoder}

    def parameter_groups(self) -> dict[str, list[Any]]:
        return {
            "discriminator": [p for p in self.discriminator.parameters() if p.requires_grad],
            "generator": [p for p in self.vocoder.parameters() if p.requires_grad],
        }

    def to(self, device: torch.device) -> None:
        for module in (self.vocoder, self.discriminator, self.front_end):
            module.to(device)

    def check_clips(self) -> None:
        if self.reference is not None and self.reference.shape[-1] < self.segment:
            raise UserError(
                f"train.segment_frames = {self.segment_frames} needs clips of at least {self.segment} samples "
                f"({self.segment_frames} x hop {self.vocoder.mel_config.hop_length}), but the dataset's clips have "
                f"{self.reference.shape[-1]}; lower train.segment_frames or use longer clips"
            )

    def segments(self, batch: Any, context: StepContext) -> torch.Tensor:
        """One random segment ``[N, segment]`` per present track, positions drawn from each song's generator."""
        audio, mask = song_tensors(batch)
        length = audio.shape[-1]
        if length < self.segment:
            raise UserError(f"clips of {length} samples are shorter than a training segment of {self.segment} samples "
                            f"(train.segment_frames = {self.segment_frames}); lower it")
        pieces = []
        for song, (tracks, present, generator) in enumerate(zip(audio, mask, context.generators())):
            for slot in present.nonzero().flatten().tolist():
                start = int(torch.randint(0, length - self.segment + 1, (), generator=generator))
                pieces.append(tracks[slot, start : start + self.segment])
        return torch.stack(pieces)

    def loss(self, optimizer: str, batch: Any, context: StepContext) -> tuple[torch.Tensor, dict[str, float]]:
        scratch = context.scratch
        if "real" not in scratch:
            real = self.segments(batch, context)
            with full_precision(real.device):
                real_mel = self.front_end(real)  # [N, n_mels, frames]: the generator's input
            scratch["real"], scratch["real_mel"] = real, real_mel
            scratch["fake"] = self.vocoder(real_mel[:, None])[:, 0].float()  # [N, segment], attached to the generator
        real, real_mel, fake = scratch["real"], scratch["real_mel"], scratch["fake"]
        if optimizer == "discriminator":
            loss, logs = self.discriminator.discriminator_loss(real, fake)  # detaches fake
            return loss, _without(logs, "discriminator")
        with full_precision(fake.device):
            fake_mel = self.front_end(fake)
        loss, logs = self.discriminator.generator_loss(real, fake, real_mel, fake_mel)
        return loss, _without(logs, "generator")

    @torch.no_grad()
    def write_samples(self, folder: Path, step: int) -> None:
        """The first ``sample_num`` songs vocoded from their own mels: tracks and mix as WAVs, and ``mels.png``
        (each track's mel above the mel of its vocoded audio)."""
        if self.reference is None or not self.sample_rate:
            return
        device = _device_of(self.vocoder)
        audio, mask = self.reference[: self.sample_num].to(device), self.reference_mask[: self.sample_num]
        real = self.front_end(audio)
        waveforms = torch.nan_to_num(self.vocoder(real), nan=0.0, posinf=0.0, neginf=0.0)
        self._plot(folder, real, self.front_end(waveforms), mask, step, "vocoded")
        for index, song in enumerate(waveforms):
            write_song(folder / f"song_{index:03d}", song, self.track_names, self.sample_rate)
