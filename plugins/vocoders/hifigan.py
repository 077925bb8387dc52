"""The ``hifigan`` vocoder: HiFi-GAN's V1 generator in MusicLDM's 16 kHz / 64-mel configuration.

Generator (Kong et al. 2020): a 7-tap input convolution to ``upsample_initial_channel`` channels; per stage
a LeakyReLU(0.1), a transposed convolution (stride ``u``, kernel ``k``, padding ``(k - u) // 2``) halving the
channels, and the mean of one multi-receptive-field residual block per kernel size (each: for every
dilation, LeakyReLU -> dilated conv -> LeakyReLU -> conv, residual); then LeakyReLU(0.01), a 7-tap output
convolution and tanh. Every convolution carries weight norm. MusicLDM: upsample rates [5, 4, 2, 2, 2]
(product 160 = hop), kernels [16, 16, 8, 4, 4], 1024 initial channels, resblock kernels [3, 7, 11] with
dilations [1, 3, 5], 64 mels: about 14M parameters.

Length. The transposed convolutions make ``frames * 160 + 32`` samples with these kernels (the first stage
overhangs by one sample); the output is cropped to ``frames * hop_length``, the length of the clip the mel
came from (diffusers' MusicLDM pipeline crops the same way).

Checkpoints. ``checkpoint: PATH`` loads a generator in the original HiFi-GAN key layout (``conv_pre``,
``ups.N``, ``resblocks.N.convs1.M``, ``resblocks.N.convs2.M``, ``conv_post``), under a top-level
``generator`` key (official ``g_XXXXXXXX`` files) or bare, with weight norm as ``weight_g``/``weight_v``,
as ``parametrizations.weight.original0/1``, or already removed (see :mod:`.weight_norm_checkpoint`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from synctrack.audio import MelConfig, log_mel_range
from synctrack.errors import UserError
from synctrack.interfaces import TrainableVocoder
from synctrack.pretrained import PretrainedError

from .common import check_mel
from .convolutions import LRELU_SLOPE, same_padding
from .weight_norm_checkpoint import load_weight_normed, read_generator_state

if TYPE_CHECKING:
    from .hifigan_objective import HifiGanObjective


class ResBlock1(nn.Module):
    """HiFi-GAN's multi-receptive-field block (type 1): ``[N, C, L]`` -> ``[N, C, L]``."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList()
        self.convs2 = nn.ModuleList()
        for dilation in dilations:
            first = nn.Conv1d(channels, channels, kernel_size, dilation=dilation, padding=same_padding(kernel_size, dilation))
            second = nn.Conv1d(channels, channels, kernel_size, padding=same_padding(kernel_size))
            self.convs1.append(weight_norm(first))
            self.convs2.append(weight_norm(second))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for first, second in zip(self.convs1, self.convs2):
            residual = first(F.leaky_relu(x, LRELU_SLOPE))
            x = x + second(F.leaky_relu(residual, LRELU_SLOPE))
        return x


class HifiGanGenerator(nn.Module):
    """Log-mel ``[N, n_mels, frames]`` -> waveforms ``[N, frames * prod(upsample_rates)]`` in [-1, 1]."""

    def __init__(
        self,
        n_mels: int,
        upsample_rates: list[int],
        upsample_kernel_sizes: list[int],
        upsample_initial_channel: int,
        resblock_kernel_sizes: list[int],
        resblock_dilation_sizes: list[list[int]],
    ) -> None:
        super().__init__()
        self.hop = math.prod(upsample_rates)
        self.kernels_per_stage = len(resblock_kernel_sizes)
        self.conv_pre = weight_norm(nn.Conv1d(n_mels, upsample_initial_channel, 7, padding=3))
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = upsample_initial_channel
        for rate, kernel in zip(upsample_rates, upsample_kernel_sizes):
            up = nn.ConvTranspose1d(channels, channels // 2, kernel, stride=rate, padding=(kernel - rate) // 2)
            self.ups.append(weight_norm(up))
            channels //= 2
            for size, dilations in zip(resblock_kernel_sizes, resblock_dilation_sizes):
                self.resblocks.append(ResBlock1(channels, size, list(dilations)))
        self.conv_post = weight_norm(nn.Conv1d(channels, 1, 7, padding=3))
        # PyTorch's default initialisation throughout: the official code's N(0, 0.01) init runs after
        # weight_norm and is overwritten from g and v at the first forward, so default init is what it trains.

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        frames = mel.shape[-1]
        x = self.conv_pre(mel)
        for stage, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[stage * self.kernels_per_stage : (stage + 1) * self.kernels_per_stage]
            x = sum(block(x) for block in blocks) / self.kernels_per_stage
        x = torch.tanh(self.conv_post(F.leaky_relu(x)))  # the original uses the default slope (0.01) here
        return x[:, 0, : frames * self.hop]

    def remove_weight_norm(self) -> None:
        """Fold every ``g * v / ||v||`` into a plain weight (faster inference; state dict keys become ``.weight``)."""
        for module in self.modules():
            if parametrize.is_parametrized(module, "weight"):
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)


@dataclass(frozen=True)
class HifiGanTraining:
    """Settings of :class:`~.hifigan_objective.HifiGanObjective` (the paper's defaults).

    ``periods``: the multi-period discriminator's periods; ``scales``: multi-scale discriminators (the first
    with spectral norm, the others on 2x and 4x average-pooled audio); ``mel_weight``: weight of the mel L1
    (45); ``feature_weight``: weight of the feature-matching L1 (2); ``width_divisor``: divides every
    discriminator width (1 = the paper's; larger for tests and small experiments).
    """

    periods: list[int] = field(default_factory=lambda: [2, 3, 5, 7, 11])
    scales: int = 3
    mel_weight: float = 45.0
    feature_weight: float = 2.0
    width_divisor: int = 1


class HifiGanVocoder(TrainableVocoder):
    """HiFi-GAN generator (MusicLDM configuration): log-mel [B, S, n_mels, frames] -> [B, S, frames * hop]."""

    pretrained_component = "vocoder"

    def __init__(
        self,
        mel: MelConfig = MelConfig(),
        upsample_rates: list[int] = [5, 4, 2, 2, 2],
        upsample_kernel_sizes: list[int] = [16, 16, 8, 4, 4],
        upsample_initial_channel: int = 1024,
        resblock_kernel_sizes: list[int] = [3, 7, 11],
        resblock_dilation_sizes: list[list[int]] = [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        checkpoint: str | None = None,
        remove_weight_norm: bool = False,
        training: HifiGanTraining = HifiGanTraining(),
    ) -> None:
        super().__init__()
        mel = MelConfig.of(mel)
        if isinstance(training, Mapping):
            training = HifiGanTraining(**training)
        problems = []
        if len(upsample_rates) != len(upsample_kernel_sizes):
            problems.append(f"upsample_rates {upsample_rates} and upsample_kernel_sizes {upsample_kernel_sizes} differ in length")
        if math.prod(upsample_rates) != mel.hop_length:
            problems.append(f"the product of upsample_rates {upsample_rates} is {math.prod(upsample_rates)}, "
                            f"but each mel frame is mel.hop_length = {mel.hop_length} samples")
        if any(k < u for k, u in zip(upsample_kernel_sizes, upsample_rates)):
            problems.append(f"every upsample kernel must be at least its rate: {upsample_kernel_sizes} vs {upsample_rates}")
        if len(resblock_kernel_sizes) != len(resblock_dilation_sizes):
            problems.append(f"resblock_kernel_sizes {resblock_kernel_sizes} and resblock_dilation_sizes "
                            f"{resblock_dilation_sizes} differ in length")
        if upsample_initial_channel % 2 ** len(upsample_rates):
            problems.append(f"upsample_initial_channel ({upsample_initial_channel}) must be divisible by "
                            f"2 ** {len(upsample_rates)} (each stage halves the channels)")
        if problems:
            raise UserError("hifigan: " + "; ".join(problems))
        self.mel_config = mel
        self.sample_rate = mel.sample_rate
        self.training_settings = training
        self.generator = HifiGanGenerator(
            mel.n_mels,
            list(upsample_rates),
            list(upsample_kernel_sizes),
            upsample_initial_channel,
            list(resblock_kernel_sizes),
            [list(d) for d in resblock_dilation_sizes],
        )
        if checkpoint is not None:
            self.load_generator(checkpoint)
        if remove_weight_norm:
            self.remove_weight_norm()

    def load_generator(self, path: str) -> None:
        """Load a generator checkpoint (original HiFi-GAN key layout) from a local file; strict.

        Skipped when the vocoder was built on the meta device to count its parameters (as ``init:`` is).
        """
        if any(parameter.is_meta for parameter in self.generator.parameters()):
            return
        load_weight_normed(self.generator, read_generator_state(path), source=str(path))

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights, for inference."""
        self.generator.remove_weight_norm()

    def pretrained_key_map(self, fmt: str, source_keys: set[str], config: dict | None) -> dict:
        """``{own key: source key or Derived}`` for ``init:``: the original HiFi-GAN layout (``ldm``: a
        generator file or ``first_stage_model.vocoder.*``) or diffusers' SpeechT5HifiGan ``vocoder/``. Weight
        norm is filled from ``weight_g``/``weight_v`` or derived from a plain weight."""
        from .pretrained import hifigan_key_map

        if not any(key.endswith(".original1") for key in self.state_dict()):
            raise PretrainedError(
                "hifigan: this vocoder was built with remove_weight_norm: true; init: loads into the weight-normed "
                "generator, so drop remove_weight_norm (or load with the checkpoint: argument)"
            )
        return hifigan_key_map(list(self.state_dict()), fmt, source_keys, config)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Log-mel ``[B, S, n_mels, frames]`` -> waveforms ``[B, S, frames * hop_length]``.

        The input is clamped to the range real audio gives (``synctrack.audio.log_mel_range``), as for every
        vocoder: an untrained decoder's absurd values do not reach the generator.
        """
        check_mel(mel, self.mel_config.n_mels, "hifigan")
        batch = mel.shape[0]
        mel = mel.clamp(*log_mel_range(self.mel_config))
        waveforms = self.generator(rearrange(mel, "b s m t -> (b s) m t"))
        return rearrange(waveforms, "(b s) l -> b s l", b=batch)

    def training_objective(self) -> HifiGanObjective:
        """A fresh :class:`~.hifigan_objective.HifiGanObjective` built from the ``training`` settings."""
        from .hifigan_objective import HifiGanObjective

        settings = self.training_settings
        return HifiGanObjective(
            mel=self.mel_config,
            periods=list(settings.periods),
            scales=settings.scales,
            mel_weight=settings.mel_weight,
            feature_weight=settings.feature_weight,
            width_divisor=settings.width_divisor,
        )
