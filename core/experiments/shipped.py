"""Weights that ship with the repository: the demo's trained models, small enough to live beside recipes.

A shipped file is one checkpoint's EMA weights (``ema.safetensors``, or ``model.safetensors`` when the run
kept no EMA) copied unchanged: its safetensors metadata already holds the resolved recipe, the step and the
checkpoint's meta (song layout), so it needs no side files. ``export_weights`` makes one from a run
``synctrack train`` left; ``install_weights`` turns one back into a checkpoint folder that ``synctrack sample``
and the experiment stages read like any other run.

A shipped file belongs to one recipe file: :func:`check_recipe` compares the hash of the recipe stored in the
weights with the hash of the recipe file as it resolves today, so editing a recipe without retraining its
weights is caught (by the demo at run time, and by a test).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..recipe import Recipe, recipe_from_text
from ..training.checkpoint import (
    CHECKPOINTS, EMA_WEIGHTS, CheckpointError, LATEST, META, RECIPE, WEIGHTS, latest_checkpoint, read_weights, step_folder_name,
    write_text_atomically,
)


@dataclass(frozen=True)
class ShippedWeights:
    """A shipped weights file and what its metadata says: the training step and the resolved recipe text."""

    path: Path
    step: int
    recipe_text: str
    meta: dict

    @property
    def recipe_hash(self) -> str:
        return recipe_from_text(self.recipe_text).content_hash


def read_shipped(path: Path) -> ShippedWeights:
    """The metadata of a shipped weights file; a missing, damaged or foreign file is a :class:`UserError`
    whose fix is the demo's from-scratch path (``--train``) or restoring the file."""
    fix = f"restore it (git checkout -- {path}) or run synctrack demo --train"
    if not path.is_file():
        raise UserError(f"shipped weights {path} are missing: {fix}")
    try:
        _, metadata = read_weights(path)
    except CheckpointError:
        raise UserError(f"shipped weights {path} are damaged or truncated and cannot be read: {fix}") from None
    if "synctrack_recipe" not in metadata or "synctrack_meta" not in metadata:
        raise UserError(f"{path} holds no synctrack recipe and meta: it was not exported from a synctrack train run; {fix}")
    meta = json.loads(metadata["synctrack_meta"])
    return ShippedWeights(path, int(metadata.get("synctrack_step", meta.get("step", 0))), metadata["synctrack_recipe"], meta)


def export_weights(run: Path, destination: Path) -> ShippedWeights:
    """Copy the latest checkpoint's EMA weights (else its model weights) of ``run`` to ``destination``."""
    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        raise UserError(f"no checkpoint in {run}: train it first (synctrack train RECIPE --out {run})")
    source = checkpoint / EMA_WEIGHTS if (checkpoint / EMA_WEIGHTS).is_file() else checkpoint / WEIGHTS
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = destination.with_name(f".{destination.name}.partial")
    shutil.copyfile(source, temporary)
    temporary.replace(destination)
    return read_shipped(destination)


def check_recipe(shipped: ShippedWeights, recipe: Recipe) -> None:
    """Refuse weights trained with another recipe than ``recipe`` resolves to today."""
    if shipped.recipe_hash != recipe.content_hash:
        raise UserError(
            f"{shipped.path} was trained with a different recipe than {recipe.source} resolves to now (recipe hash "
            f"{shipped.recipe_hash} against {recipe.content_hash}): retrain it with synctrack train {recipe.source} "
            "and export it again (docs/results.md, 'The demo's weights'), or run the demo with --train"
        )


def install_weights(shipped: ShippedWeights, run: Path) -> Path:
    """Make ``run/checkpoints/step_<step>/`` from a shipped file (its weights as the model's, no trainer
    state: the run can be sampled, not resumed); an existing complete checkpoint of that step is kept."""
    root = run / CHECKPOINTS
    folder = root / step_folder_name(shipped.step)
    if (folder / WEIGHTS).is_file():
        return folder
    staging = root / f".tmp-{folder.name}-shipped"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copyfile(shipped.path, staging / WEIGHTS)
    (staging / RECIPE).write_text(shipped.recipe_text, encoding="utf-8")  # inside the folder renamed into place
    (staging / META).write_text(json.dumps(shipped.meta, indent=2), encoding="utf-8")
    write_text_atomically(run / RECIPE, shipped.recipe_text)
    staging.replace(folder)
    write_text_atomically(root / LATEST, folder.name + "\n")
    return folder
