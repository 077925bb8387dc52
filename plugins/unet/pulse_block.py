"""A per-track pulse block of the 2-D U-Net: each track's features reinforced one beat period away."""

from __future__ import annotations

import math

import torch
from torch import nn

from synctrack.nn import zero_module
from synctrack.nn.autocorrelation import autocorrelation_aggregate


def level_lags(lags: tuple[int, int], factor: int) -> tuple[int, int]:
    """A lag range in input frames, ``[low, high]``, as whole frames of a level downsampled by ``factor``
    (``low`` rounded up, at least 1; ``high`` rounded down): it may come out empty (``high < low``)."""
    return max(1, -(-lags[0] // factor)), lags[1] // factor


class PulseBlock(nn.Module):
    """Autocorrelation time-delay aggregation (Autoformer's) along time, one track at a time (``pulse_block_levels``).

    The bench models line their tracks up frame by frame but keep no steady beat within a track
    (docs/learning-speed.md, "What limits CBS"): neither convolutions nor position-free attention know how many
    frames apart two onsets are. This block finds, for each track, the lags at which its features best match
    themselves (``lag_range``, in this level's frames) and adds its values shifted by those lags: a comb along
    the period the track already hints at. Pre-norm, residual, and the output projection starts at zero, so a
    fresh block is the identity.

    With ``steer_dim`` the block also reads the track's embedding (the timestep embedding, plus a song condition
    such as tempo in the ``timestep`` slot): a linear map of it adds a bias per lag magnitude to the correlations,
    so a condition can say which period to favour rather than hope the clip hints at it. The map starts at zero,
    so a fresh steered block behaves as an unsteered one.

    ``x [B*S, C, T', F']`` (and ``embedding [B*S, steer_dim]`` when steered) -> ``[B*S, C, T', F']``. Rows are
    independent: no track or song reads another.
    """

    def __init__(self, channels: int, lag_range: tuple[int, int], top_k: int = 4, norm_groups: int = 32,
                 match_channels: int | None = None, steer_dim: int | None = None) -> None:
        super().__init__()
        low, high = (int(v) for v in lag_range)
        if low < 1 or high < low:
            raise ValueError(f"pulse lag range {list(lag_range)} must be [low, high] frames with 1 <= low <= high")
        if top_k < 1:
            raise ValueError(f"pulse top_k must be at least 1, got {top_k}")
        self.lag_range = (low, high)
        self.top_k = top_k
        self.norm = nn.GroupNorm(norm_groups, channels, eps=1e-6)
        # only the sum of the query-key correlations over channels counts: a few channels are enough to match on
        self.match_channels = match_channels or max(4, channels // 4)
        self.qkv = nn.Conv2d(channels, 2 * self.match_channels + channels, 1)
        self.proj_out = zero_module(nn.Conv2d(channels, channels, 1))
        self.scale = 1.0 / math.sqrt(self.match_channels)
        # as a ResBlock reads its embedding: SiLU, then a linear map, here to one bias per lag magnitude
        self.steer = None if steer_dim is None else nn.Sequential(nn.SiLU(), zero_module(nn.Linear(steer_dim, high - low + 1)))

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None = None) -> torch.Tensor:
        if (embedding is None) != (self.steer is None):
            raise ValueError("a steered PulseBlock needs the embedding, an unsteered one takes none")
        q, k, v = self.qkv(self.norm(x)).split([self.match_channels, self.match_channels, x.shape[1]], dim=1)
        # a covariance, not a raw product: a feature that is on throughout the clip matches every lag alike
        q = q - q.mean(dim=2, keepdim=True)
        k = k - k.mean(dim=2, keepdim=True)
        bias = None if self.steer is None else self.steer(embedding)
        out, _, _ = autocorrelation_aggregate(q * self.scale, k, v, self.lag_range, self.top_k, bias)
        return x + self.proj_out(out)
