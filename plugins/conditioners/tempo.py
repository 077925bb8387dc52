"""A song's tempo as a condition: BPM -> Fourier features of its log-tempo -> MLP."""

from __future__ import annotations

import math

import torch
from torch import nn

from synctrack.errors import UserError
from synctrack.interfaces import SongConditioner


class TempoConditioner(SongConditioner):
    """BPM ``[B]`` -> ``[B, embedding_dim]``.

    The tempo is placed on ``[0, 1]`` by ``u = log(bpm / min_bpm) / log(max_bpm / min_bpm)`` (so a step from 60
    to 120 BPM weighs as much as one from 120 to 240), then ``[u, sin(pi 2^k u), cos(pi 2^k u)]`` for
    ``k < frequencies`` (features fine enough to tell 120 from 124 BPM) -> Linear -> SiLU -> Linear.
    """

    field = "tempo"

    def __init__(self, embedding_dim: int = 64, hidden_dim: int = 128, frequencies: int = 6,
                 min_bpm: float = 30.0, max_bpm: float = 300.0) -> None:
        super().__init__()
        if not 0 < min_bpm < max_bpm:
            raise ValueError(f"tempo range [{min_bpm}, {max_bpm}] BPM must satisfy 0 < min_bpm < max_bpm")
        if frequencies < 1:
            raise ValueError(f"frequencies must be at least 1, got {frequencies}")
        self.embedding_dim, self.min_bpm, self.max_bpm = embedding_dim, float(min_bpm), float(max_bpm)
        self.register_buffer("scales", math.pi * 2.0 ** torch.arange(frequencies, dtype=torch.float32), persistent=False)
        self.mlp = nn.Sequential(nn.Linear(1 + 2 * frequencies, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, embedding_dim))

    def features(self, tempo: torch.Tensor) -> torch.Tensor:
        """BPM ``[B]`` -> ``[B, 1 + 2 * frequencies]``."""
        unit = torch.log(tempo.float() / self.min_bpm) / math.log(self.max_bpm / self.min_bpm)
        angles = unit[:, None] * self.scales
        return torch.cat([unit[:, None], torch.sin(angles), torch.cos(angles)], dim=-1)

    def forward(self, conditions) -> torch.Tensor:
        """:class:`SongConditions` with ``tempo`` ``[B]`` -> ``[B, embedding_dim]``."""
        tempo = conditions.tempo.to(self.scales.device)
        return self.mlp(self.features(tempo).to(self.mlp[0].weight.dtype))

    def check(self, conditions) -> None:
        tempo = conditions.tempo
        bad = [float(value) for value in tempo[conditions.kept(tempo.device)].tolist()
               if not (math.isfinite(value) and self.min_bpm <= value <= self.max_bpm)]
        if bad:
            raise UserError(f"tempo {bad[0]:g} BPM is outside what this model takes ({self.accepts()})")

    def accepts(self) -> str:
        return f"tempo: {self.min_bpm:g} to {self.max_bpm:g} BPM"
