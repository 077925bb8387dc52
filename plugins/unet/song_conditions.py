"""Song-level conditions in a U-Net: each song conditioner's embedding, or its learned null embedding where a
song's condition is dropped, projected to the timestep embedding's width; summed into the timestep embedding
(MusicLDM's slot for its CLAP embedding) or kept as one token each for cross-attention. Classifier-free
guidance's unconditional pass (``context=None``) gives every song the nulls."""

from __future__ import annotations

import torch
from torch import nn

from synctrack.conditions import SongConditions
from synctrack.interfaces import Conditioner


class SongConditioning(nn.Module):
    """``conditions`` (:class:`SongConditions` of ``B`` songs, or None) -> ``[B, width]``."""

    def __init__(self, conditioners: list[Conditioner], width: int) -> None:
        super().__init__()
        per_track = [type(conditioner).__name__ for conditioner in conditioners if conditioner.level != "song"]
        if per_track:
            raise ValueError(f"song_conditioners takes song-level conditioners (tempo, tags, ...); {per_track[0]} embeds "
                             "each track: give it as `conditioner`")
        fields = [conditioner.field for conditioner in conditioners]
        repeated = sorted({field for field in fields if fields.count(field) > 1})
        if repeated:
            raise ValueError(f"song_conditioners reads {repeated[0]!r} twice; give one conditioner per field")
        self.conditioners = nn.ModuleList(conditioners)
        self.projections = nn.ModuleList(nn.Linear(conditioner.embedding_dim, width) for conditioner in conditioners)
        # what a dropped condition means, learned: CFG's unconditional model sees these
        self.nulls = nn.ParameterList(nn.Parameter(torch.zeros(conditioner.embedding_dim)) for conditioner in conditioners)

    def embeddings(self, conditions: SongConditions | None, batch: int) -> list[torch.Tensor]:
        """Each conditioner's ``[B, embedding_dim]``: its embedding where the song keeps its condition, its null
        embedding elsewhere (everywhere when ``conditions`` is None or lacks the conditioner's field)."""
        out = []
        for conditioner, null in zip(self.conditioners, self.nulls):
            if conditions is None or conditioner.field not in conditions.fields:
                out.append(null.expand(batch, -1))
                continue
            keep = conditions.kept(null.device)[:, None]
            out.append(torch.where(keep, conditioner(conditions).to(null.dtype), null))
        return out

    def tokens(self, conditions: SongConditions | None, batch: int) -> torch.Tensor:
        """``[B, K, width]``: one token per conditioner (the cross-attention slot's context)."""
        return torch.stack([projection(embedded) for projection, embedded in zip(self.projections, self.embeddings(conditions, batch))], dim=1)

    def forward(self, conditions: SongConditions | None, batch: int) -> torch.Tensor:
        """``[B, width]``: the tokens summed (the timestep slot)."""
        return self.tokens(conditions, batch).sum(1)

    def check_context(self, conditions: object, batch: int) -> None:
        if not isinstance(conditions, SongConditions):
            raise ValueError(f"the song conditioners take SongConditions as context, got {type(conditions).__name__}")
        if conditions.batch_size != batch:
            raise ValueError(f"the conditions hold {conditions.batch_size} songs, the latents {batch}")
