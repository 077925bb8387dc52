"""Held-out reference songs for a recipe: the raw audio, and the same audio through the model's front end.

Generated audio passes through the recipe's encoder, decoder and vocoder; the same round trip applied to
held-out songs is what a perfect model could output. Frechet distances compare generated songs with that
codec reference (like with like), and both references get their own rhythm metrics, the "ground truth" rows
of the comparison.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from ..audio import write_song
from ..data import collate_songs
from ..errors import UserError
from ..recipe import Recipe

MARKER = "reference.json"


@dataclass(frozen=True)
class References:
    """Folders of ``count`` held-out songs: ``raw`` audio and ``codec`` (through the front end)."""

    raw: Path
    codec: Path
    count: int


def _complete(folder: Path, expected: dict) -> bool:
    marker = folder / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()) == expected
    except (OSError, json.JSONDecodeError):
        return False


def _mark(folder: Path, description: dict) -> None:
    from ..files import write_text_atomically

    write_text_atomically(folder / MARKER, json.dumps(description, indent=2, sort_keys=True))


def front_end_key(recipe: Recipe) -> str:
    """A short hash of what the codec round trip depends on: the data node and the encoder/vocoder nodes."""
    from ..recipe import recipe_from_text

    parts = {key: recipe.get(key) for key in ("data", "model.encoder", "model.vocoder")}
    import yaml

    return recipe_from_text(yaml.safe_dump(parts)).content_hash[:10]


def render_references(recipe: Recipe, count: int, root: Path, split: str = "test", batch: int = 4) -> References:
    """Write ``count`` songs of the recipe's dataset (``split``) to ``root/raw-<key>`` and, through the recipe's
    encoder -> decoder -> vocoder, to ``root/codec-<key>``; finished folders are reused."""
    from ..pipeline import build

    key = front_end_key(recipe)
    raw, codec = root / f"raw-{key}", root / f"codec-{key}"
    expected = {"count": count, "split": split, "front_end": key}
    if _complete(raw, expected) and _complete(codec, expected):
        return References(raw, codec, count)
    data = recipe.with_overrides([f"data.split={split}"])
    dataset = data.build("data")
    if len(dataset) < count:
        raise UserError(f"the {split} split of {recipe.source}'s data holds {len(dataset)} songs; {count} were asked for")
    pipeline = build(recipe)
    pipeline.eval()
    names = list(dataset.track_names)
    rate = dataset.sample_rate
    # Render into private folders and rename them into place: ablations run in parallel processes may
    # render the same references at the same time, and a reader must never see a half-written folder.
    staging = {folder: folder.with_name(f".{folder.name}.{os.getpid()}") for folder in (raw, codec)}
    for folder in staging.values():
        shutil.rmtree(folder, ignore_errors=True)
    with torch.no_grad():
        for start in range(0, count, batch):
            items = [dataset[index] for index in range(start, min(start + batch, count))]
            songs = collate_songs(items)
            rendered = pipeline.render(pipeline.encode_audio(songs.audio), num_samples=songs.audio.shape[-1])
            if rendered.waveforms is None:
                raise UserError(f"{recipe.source}: the model has no way to audio (a mel decoder without a vocoder)")
            for offset, item in enumerate(items):
                index = start + offset
                write_song(staging[raw] / f"song_{index:03d}", item["audio"], names, rate)
                write_song(staging[codec] / f"song_{index:03d}", rendered.waveforms[offset].cpu(), names, rate)
    for final, temporary in staging.items():
        _mark(temporary, expected)
        if _complete(final, expected):
            shutil.rmtree(temporary)  # another process finished first
            continue
        shutil.rmtree(final, ignore_errors=True)  # an outdated or unfinished folder
        os.replace(temporary, final)
    return References(raw, codec, count)
