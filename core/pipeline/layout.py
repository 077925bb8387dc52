"""What a pipeline records about its songs and returns from decoding, and small helpers its parts share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

# What a denoiser's ``context_kind`` may name: the conditions the pipeline knows how to make.
CONTEXT_KINDS: dict[str, str] = {
    "mixture": "the song's mixture through the encoder, [B, ...] with one track's latent shape",
    "song": "song-level conditions (tempo, tags, prompt) from each song's metadata: a SongConditions of B songs",
}


@dataclass
class SongLayout:
    """What a model learned about its songs from the training data (saved in checkpoints).

    Attributes:
        track_names: one name per track slot (file names of generated tracks).
        instrument_ids: the instrument id of each slot (``[S]``), the default tracks to generate.
        clip_samples: samples per track of a training clip (``L``).
        latent_shape: the per-track shape the diffusion runs on (``[C, ...]``, without B and S).
        sample_rate: of the training audio.
    """

    track_names: list[str] = field(default_factory=list)
    instrument_ids: list[int] = field(default_factory=list)
    clip_samples: int | None = None
    latent_shape: list[int] | None = None
    sample_rate: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SongLayout:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


@dataclass
class Rendered:
    """Latents turned into something to hear and see.

    Attributes:
        waveforms: ``[B, S, L]``, or None when the model has a mel decoder but no vocoder.
        mels: ``[B, S, n_mels, frames]`` when the encoder decodes to a mel, else None.
    """

    waveforms: torch.Tensor | None
    mels: torch.Tensor | None


def _per_song(values: torch.Tensor, num: int, what: str) -> torch.Tensor:
    """``values`` ``[num or 1, ...]`` as ``[num, ...]`` (one song's values shared by all)."""
    if values.shape[0] == num:
        return values
    if values.shape[0] == 1:
        return values.expand(num, *values.shape[1:])
    raise ValueError(f"the {what} holds {values.shape[0]} songs; give 1 or {num}")


def _crop(waveforms: torch.Tensor, num_samples: int | None) -> torch.Tensor:
    return waveforms[..., :num_samples] if num_samples is not None else waveforms


def _field(batch: Any, name: str) -> Any:
    """``batch[name]`` for dicts, ``batch.name`` for batch objects; None when absent."""
    if isinstance(batch, Mapping):
        return batch.get(name)
    return getattr(batch, name, None)


def node_name(recipe: Any, path: str) -> str | None:
    """The registered name a recipe gives the part at ``path`` (``model.denoiser``), or None."""
    node = recipe.get(path)
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        return node.get("type")
    return None
