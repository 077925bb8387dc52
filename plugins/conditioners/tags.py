"""Style, key and meter tags as a condition: a multi-hot over a tag vocabulary -> MLP."""

from __future__ import annotations

import torch
from torch import nn

from synctrack.errors import UserError
from synctrack.interfaces import SongConditioner


class TagsConditioner(SongConditioner):
    """A song's ``name=value`` tags -> multi-hot ``[B, V]`` over ``vocabulary`` -> Linear -> SiLU -> Linear
    -> ``[B, embedding_dim]``.

    A song may carry any subset of the vocabulary (none is a valid, if vague, request); a tag outside it is
    an error at sampling, and skipped in training data (``unknown: ignore``) or an error (``unknown: error``).
    """

    field = "tags"

    def __init__(self, vocabulary: list[str], embedding_dim: int = 64, hidden_dim: int = 128,
                 unknown: str = "ignore") -> None:
        super().__init__()
        malformed = [tag for tag in vocabulary if tag.count("=") != 1 or tag.startswith("=") or tag.endswith("=")]
        if not vocabulary or malformed:
            raise ValueError(f"tags vocabulary needs name=value entries, e.g. [key=C, mode=minor]; got {malformed or 'none'}")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError(f"tags vocabulary repeats {sorted({t for t in vocabulary if vocabulary.count(t) > 1})}")
        if unknown not in ("ignore", "error"):
            raise ValueError(f"unknown must be 'ignore' or 'error', got {unknown!r}")
        self.vocabulary, self.embedding_dim, self.unknown = list(vocabulary), embedding_dim, unknown
        self.index = {tag: position for position, tag in enumerate(self.vocabulary)}
        self.mlp = nn.Sequential(nn.Linear(len(vocabulary), hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, embedding_dim))

    def multi_hot(self, tags: tuple[tuple[str, ...], ...]) -> torch.Tensor:
        """Per-song tags -> ``[B, V]`` of 0 and 1 (tags outside the vocabulary count for nothing)."""
        hot = torch.zeros(len(tags), len(self.vocabulary), device=self.mlp[0].weight.device, dtype=self.mlp[0].weight.dtype)
        for song, song_tags in enumerate(tags):
            for tag in song_tags:
                if tag in self.index:
                    hot[song, self.index[tag]] = 1.0
        return hot

    def forward(self, conditions) -> torch.Tensor:
        """:class:`SongConditions` with ``tags`` -> ``[B, embedding_dim]``."""
        if self.unknown == "error" and self.training:
            strangers = self.strangers(conditions)
            if strangers:  # the data's fault, not the request's: say how to fix the recipe
                raise UserError(f"a training song has the tag {strangers[0]!r}, which is not in the tags conditioner's "
                                f"vocabulary ({', '.join(self.vocabulary)}): add it to the vocabulary, or set "
                                f"unknown: ignore to skip tags outside it")
        return self.mlp(self.multi_hot(conditions.tags))

    def strangers(self, conditions) -> list[str]:
        """The kept songs' tags outside the vocabulary, sorted."""
        keep = conditions.kept().tolist()
        return sorted({tag for song, tags in enumerate(conditions.tags) if keep[song] for tag in tags if tag not in self.index})

    def check(self, conditions) -> None:
        """A sampling request: every tag asked for must be one the model learned."""
        strangers = self.strangers(conditions)
        if strangers:
            raise UserError(f"tag {strangers[0]!r} is not one this model was trained with; {self.accepts()}")

    def accepts(self) -> str:
        groups: dict[str, list[str]] = {}
        for tag in self.vocabulary:
            name, value = tag.split("=")
            groups.setdefault(name, []).append(value)
        return "tags: " + "; ".join(f"{name}={'|'.join(values)}" for name, values in groups.items())
