"""A PatchGAN discriminator on mels and the hinge losses, for the mel VAE's optional adversarial term.

The layout follows pix2pix / LDM's ``NLayerDiscriminator`` (4x4 convolutions, stride 2, widths doubling up
to 8x, LeakyReLU 0.2, one logit per patch) with one deliberate change: GroupNorm instead of BatchNorm, so
that a step does not depend on how the batch is split across processes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class PatchDiscriminator(nn.Module):
    """``[N, in_channels, H, W]`` -> patch logits ``[N, 1, H', W']``."""

    def __init__(self, in_channels: int = 1, channels: int = 64, layers: int = 3) -> None:
        super().__init__()
        modules: list[nn.Module] = [nn.Conv2d(in_channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        width = channels
        for index in range(1, layers + 1):
            stride = 2 if index < layers else 1
            out = channels * min(2**index, 8)
            modules += [
                nn.Conv2d(width, out, 4, stride=stride, padding=1, bias=False),
                nn.GroupNorm(math.gcd(32, out), out),
                nn.LeakyReLU(0.2),
            ]
            width = out
        modules.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.layers = nn.Sequential(*modules)
        for module in self.modules():  # DCGAN initialisation, as pix2pix
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``0.5 * (mean(relu(1 - real)) + mean(relu(1 + fake)))``."""
    return 0.5 * (F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean())


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """``-mean(fake)``."""
    return -fake_logits.mean()
