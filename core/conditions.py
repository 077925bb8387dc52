"""Song-level conditions: what a user asks of a whole song (a tempo, tags, a text prompt).

A denoiser with song-level conditioners declares ``context_kind = "song"``; its condition is a
:class:`SongConditions` holding one value per song for each field its conditioners read. The pipeline makes one
from every training batch (each song's metadata: ``tempo``, ``tags``, ``prompt``) and from a user's request at
sampling time. ``keep`` marks the songs whose condition stands; a song with ``keep`` False gets each conditioner's
learned null embedding, which is also what the unconditional pass of classifier-free guidance sends
(``context=None``). Dropping a condition in training (``condition_dropout``) clears ``keep``.

Tags are ``name=value`` strings (``key=C``, ``mode=minor``, ``meter=3``, ``style=funk``): one vocabulary entry
per (name, value), so a recipe lists exactly what a model can be asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from .errors import UserError

# the fields a song-level conditioner may read, and the metadata key each comes from
FIELDS: dict[str, str] = {
    "tempo": "beats per minute, a number",
    "tags": "name=value tags, e.g. key=C mode=minor meter=4",
    "prompt": "a text prompt",
}


@dataclass(frozen=True)
class SongConditions:
    """One condition per song, ``B`` songs.

    Attributes:
        tempo: ``[B]`` float beats per minute, or None when no conditioner reads it.
        tags: per song, a tuple of ``name=value`` tags (any number, possibly none), or None.
        prompts: per song, a text prompt, or None.
        keep: ``[B]`` bool, False where the song's condition is dropped (its conditioners give their null
            embedding); None means every song keeps its condition.
    """

    tempo: torch.Tensor | None = None
    tags: tuple[tuple[str, ...], ...] | None = None
    prompts: tuple[str, ...] | None = None
    keep: torch.Tensor | None = None

    def __post_init__(self) -> None:
        sizes = {name: size for name, size in (
            ("tempo", None if self.tempo is None else self.tempo.shape[0]),
            ("tags", None if self.tags is None else len(self.tags)),
            ("prompts", None if self.prompts is None else len(self.prompts)),
            ("keep", None if self.keep is None else self.keep.shape[0]),
        ) if size is not None}
        if not sizes:
            raise ValueError("SongConditions holds no field: give at least one of tempo, tags, prompts")
        if len(set(sizes.values())) > 1:
            raise ValueError(f"SongConditions fields disagree on the number of songs: {sizes}")
        if self.tempo is not None and self.tempo.dim() != 1:
            raise ValueError(f"tempo must be [B], got shape {tuple(self.tempo.shape)}")
        if self.keep is not None and self.keep.dtype != torch.bool:
            raise ValueError(f"keep must be bool, got {self.keep.dtype}")

    @property
    def batch_size(self) -> int:
        if self.tempo is not None:
            return self.tempo.shape[0]
        return len(self.tags) if self.tags is not None else len(self.prompts or ())

    @property
    def fields(self) -> set[str]:
        """The fields this holds: a subset of ``{"tempo", "tags", "prompt"}``."""
        return {name for name, value in (("tempo", self.tempo), ("tags", self.tags), ("prompt", self.prompts)) if value is not None}

    def kept(self, device: torch.device | str | None = None) -> torch.Tensor:
        """``[B]`` bool: True where the song's condition stands."""
        if self.keep is not None:
            return self.keep if device is None else self.keep.to(device)
        return torch.ones(self.batch_size, dtype=torch.bool, device=device)

    def dropped(self, keep: torch.Tensor) -> SongConditions:
        """The same conditions with the songs where ``keep`` ``[B]`` is False dropped as well."""
        return replace(self, keep=self.kept(keep.device) & keep.to(torch.bool))

    def to(self, device: torch.device | str) -> SongConditions:
        return replace(self, tempo=None if self.tempo is None else self.tempo.to(device),
                       keep=None if self.keep is None else self.keep.to(device))

    def select(self, index: Sequence[int]) -> SongConditions:
        """The songs ``index`` (a list of song positions; repeats allowed), in that order."""
        index = list(index)
        positions = torch.as_tensor(index, dtype=torch.long)
        return SongConditions(
            tempo=None if self.tempo is None else self.tempo[positions.to(self.tempo.device)],
            tags=None if self.tags is None else tuple(self.tags[i] for i in index),
            prompts=None if self.prompts is None else tuple(self.prompts[i] for i in index),
            keep=None if self.keep is None else self.keep[positions.to(self.keep.device)],
        )

    def per_song(self, num: int) -> SongConditions:
        """``num`` songs: these conditions when they hold ``num``, one song's repeated when they hold one."""
        if self.batch_size == num:
            return self
        if self.batch_size == 1:
            return self.select([0] * num)
        raise UserError(f"the conditions hold {self.batch_size} songs; give one (shared by all) or {num}")

    @classmethod
    def from_meta(cls, metas: Sequence[Mapping[str, Any]], fields: set[str], origin: str = "the training data") -> SongConditions:
        """Conditions of ``fields`` from each song's metadata (``tempo``, ``tags``, ``prompt``).

        A song without a field a conditioner reads cannot be trained on: that is a data problem, named here.
        """
        unknown = sorted(fields - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown condition field(s) {unknown}; known: {', '.join(FIELDS)}")
        values: dict[str, Any] = {}
        for field in sorted(fields):
            missing = [meta.get("song_id", position) for position, meta in enumerate(metas) if meta.get(field) is None]
            if missing:
                raise UserError(
                    f"the model is conditioned on {field} ({FIELDS[field]}), but {len(missing)} song(s) of {origin} carry "
                    f"no {field!r} in their metadata (first: {missing[0]}); use a dataset that provides it (the synthetic "
                    f"world gives tempo, tags and prompt) or remove that conditioner from the recipe"
                )
        if "tempo" in fields:
            values["tempo"] = torch.tensor([float(meta["tempo"]) for meta in metas], dtype=torch.float32)
        if "tags" in fields:
            values["tags"] = tuple(tuple(str(tag) for tag in meta["tags"]) for meta in metas)
        if "prompt" in fields:
            values["prompts"] = tuple(str(meta["prompt"]) for meta in metas)
        return cls(**values)


def parse_tags(text: str, origin: str = "--tags") -> tuple[str, ...]:
    """``"key=C, mode=minor"`` (commas or spaces between tags) -> ``("key=C", "mode=minor")``."""
    tags = tuple(tag for tag in text.replace(",", " ").split() if tag)
    bad = [tag for tag in tags if tag.count("=") != 1 or tag.startswith("=") or tag.endswith("=")]
    if bad:
        raise UserError(f"{origin} {text!r}: {bad[0]!r} is not a tag; write name=value tags, e.g. \"key=C,mode=minor\"")
    return tags
