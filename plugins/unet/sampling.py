"""Down- and up-sampling of the 2-D U-Net: by 2 in both time and frequency."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn



class Downsample2d(nn.Module):
    """A stride-2 3x3 convolution: ``[N, C, T, F]`` -> ``[N, C, T/2, F/2]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample2d(nn.Module):
    """Nearest-neighbour x2 then a 3x3 convolution: ``[N, C, T, F]`` -> ``[N, C, 2T, 2F]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
