"""HiFi-GAN's training objective: multi-period and multi-scale discriminators, least-squares GAN losses,
feature matching and the mel L1 (Kong et al. 2020, section 2.3).

Generator loss: ``sum_D (1 - D(fake))^2`` (mean over each output) + ``feature_weight`` (2) x the L1 between
the discriminators' feature maps of real and fake audio + ``mel_weight`` (45) x the L1 between log-mels.
Discriminator loss: ``sum_D (1 - D(real))^2 + D(fake)^2``. The trainer steps the generator (the vocoder's
parameters) on :meth:`HifiGanObjective.generator_loss` and the discriminators (this module's parameters)
on :meth:`HifiGanObjective.discriminator_loss`; the paper uses AdamW (lr 2e-4, betas 0.8 / 0.99) and an
exponential decay of 0.999 per epoch for both.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from synctrack.audio import MelConfig, MelSpectrogram
from synctrack.interfaces import VocoderAdversary

from .convolutions import LRELU_SLOPE, same_padding

FeatureMaps = list[torch.Tensor]


def _scalar(value: torch.Tensor) -> float:
    return float(value.detach())


def _width(channels: int, divisor: int) -> int:
    return max(1, channels // divisor)


class PeriodDiscriminator(nn.Module):
    """Folds ``[N, 1, L]`` into ``[N, 1, L / p, p]`` (reflect-padded) and scores it with 5x1 convolutions."""

    def __init__(self, period: int, width_divisor: int = 1) -> None:
        super().__init__()
        self.period = period
        widths = [1] + [_width(c, width_divisor) for c in (32, 128, 512, 1024)]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(same_padding(5), 0))) for a, b in zip(widths, widths[1:])
        )
        self.convs.append(weight_norm(nn.Conv2d(widths[-1], widths[-1], (5, 1), 1, padding=(2, 0))))
        self.conv_post = weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, FeatureMaps]:
        """``[N, 1, L]`` -> (scores ``[N, K]``, feature maps)."""
        length = x.shape[-1]
        if length % self.period:
            x = F.pad(x, (0, self.period - length % self.period), mode="reflect")
        x = x.reshape(x.shape[0], 1, -1, self.period)
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            features.append(x)
        x = self.conv_post(x)
        features.append(x)
        return x.flatten(1), features


class ScaleDiscriminator(nn.Module):
    """Grouped strided 1D convolutions on raw (or pooled) audio ``[N, 1, L]``."""

    LAYERS = (  # (in, out, kernel, stride, groups), the paper's widths
        (1, 128, 15, 1, 1),
        (128, 128, 41, 2, 4),
        (128, 256, 41, 2, 16),
        (256, 512, 41, 4, 16),
        (512, 1024, 41, 4, 16),
        (1024, 1024, 41, 1, 16),
        (1024, 1024, 5, 1, 1),
    )

    def __init__(self, use_spectral_norm: bool = False, width_divisor: int = 1) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        self.convs = nn.ModuleList()
        for index, (a, b, kernel, stride, groups) in enumerate(self.LAYERS):
            a = 1 if index == 0 else _width(a, width_divisor)
            b = _width(b, width_divisor)
            groups = math.gcd(groups, math.gcd(a, b))  # keeps the paper's groups at full width
            self.convs.append(norm(nn.Conv1d(a, b, kernel, stride, groups=groups, padding=same_padding(kernel))))
        self.conv_post = norm(nn.Conv1d(_width(1024, width_divisor), 1, 3, 1, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, FeatureMaps]:
        features = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            features.append(x)
        x = self.conv_post(x)
        features.append(x)
        return x.flatten(1), features


class HifiGanObjective(VocoderAdversary):
    """The discriminators and losses that train a HiFi-GAN generator.

    Waveforms may have any leading dims (``[B, S, L]``, ``[N, L]``, ``[N, 1, L]``); real and fake must
    share one shape. Its parameters are the discriminators'.
    """

    def __init__(
        self,
        mel: MelConfig = MelConfig(),
        periods: list[int] = [2, 3, 5, 7, 11],
        scales: int = 3,
        mel_weight: float = 45.0,
        feature_weight: float = 2.0,
        width_divisor: int = 1,
    ) -> None:
        super().__init__()
        mel = MelConfig.of(mel)
        self.front_end = MelSpectrogram(mel)
        self.mel_weight = mel_weight
        self.feature_weight = feature_weight
        self.period_discriminators = nn.ModuleList(PeriodDiscriminator(p, width_divisor) for p in periods)
        self.scale_discriminators = nn.ModuleList(
            ScaleDiscriminator(use_spectral_norm=index == 0, width_divisor=width_divisor) for index in range(scales)
        )

    def discriminate(self, waveforms: torch.Tensor) -> tuple[list[torch.Tensor], list[FeatureMaps]]:
        """Scores and feature maps of every discriminator (periods first, then scales) for ``[N, 1, L]``."""
        scores, features = [], []
        for discriminator in self.period_discriminators:
            score, maps = discriminator(waveforms)
            scores.append(score)
            features.append(maps)
        pooled = waveforms
        for index, discriminator in enumerate(self.scale_discriminators):
            if index > 0:
                pooled = F.avg_pool1d(pooled, 4, 2, padding=2)
            score, maps = discriminator(pooled)
            scores.append(score)
            features.append(maps)
        return scores, features

    def discriminator_loss(self, real_wav: torch.Tensor, fake_wav: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """``sum_D mean((1 - D(real))^2) + mean(D(fake)^2)``; ``fake_wav`` is detached here."""
        real, fake = self._pair(real_wav, fake_wav.detach())
        real_scores, _ = self.discriminate(real)
        fake_scores, _ = self.discriminate(fake)
        terms = [(1.0 - r).square().mean() + f.square().mean() for r, f in zip(real_scores, fake_scores)]
        periods = len(self.period_discriminators)
        loss = sum(terms)
        logs = {
            "discriminator_period": _scalar(sum(terms[:periods])),
            "discriminator_scale": _scalar(sum(terms[periods:])),
            "discriminator": _scalar(loss),
        }
        return loss, logs

    def generator_loss(
        self,
        real_wav: torch.Tensor,
        fake_wav: torch.Tensor,
        real_mel: torch.Tensor | None = None,
        fake_mel: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Adversarial + ``feature_weight`` x feature matching + ``mel_weight`` x mel L1 for the generator.

        ``real_mel`` / ``fake_mel`` (log-mels ``[..., n_mels, frames]`` of the two waveforms) are computed
        with this objective's front end when not given; pass ``real_mel`` to reuse the generator's input.
        """
        real, fake = self._pair(real_wav, fake_wav)
        if real_mel is None:
            real_mel = self.front_end(real_wav)
        if fake_mel is None:
            fake_mel = self.front_end(fake_wav)
        mel_loss = F.l1_loss(fake_mel, real_mel.reshape(fake_mel.shape))
        with torch.no_grad():
            _, real_features = self.discriminate(real)
        fake_scores, fake_features = self.discriminate(fake)
        adversarial = sum((1.0 - score).square().mean() for score in fake_scores)
        feature = sum(
            (r - f).abs().mean() for real_maps, fake_maps in zip(real_features, fake_features) for r, f in zip(real_maps, fake_maps)
        )
        loss = adversarial + self.feature_weight * feature + self.mel_weight * mel_loss
        logs = {
            "adversarial": _scalar(adversarial),
            "feature_matching": _scalar(feature),
            "mel_l1": _scalar(mel_loss),
            "generator": _scalar(loss),
        }
        return loss, logs

    @staticmethod
    def _pair(real_wav: torch.Tensor, fake_wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if real_wav.shape != fake_wav.shape:
            raise ValueError(
                f"real and generated waveforms must have one shape, got {tuple(real_wav.shape)} and {tuple(fake_wav.shape)}; "
                f"crop real clips to a multiple of hop_length so that frames * hop_length samples come back"
            )
        length = real_wav.shape[-1]
        return real_wav.reshape(-1, 1, length), fake_wav.reshape(-1, 1, length)
