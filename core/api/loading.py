"""Loading a trained model: the recipe a checkpoint stores, built into a :class:`~synctrack.Pipeline`, with its
weights. Above the checkpoint files (:mod:`synctrack.training.checkpoint`), which know nothing of pipelines."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch


def load_pipeline(
    path: str | os.PathLike,
    ema: bool = True,
    overrides: Sequence[str] = (),
    device: str | torch.device | None = None,
    registry: Any = None,
):
    """Build the pipeline stored in a checkpoint and load its weights (the EMA weights when present and ``ema``).

    ``overrides`` change the stored recipe (``model.sampler.steps=100``, ``model.encoder.weights=/new/path``).
    """
    from ..pipeline import SongLayout, build
    from ..recipe import recipe_from_text
    from ..training.checkpoint import RECIPE, CheckpointError, load_checkpoint
    from ..training.ema import load_flat_state

    checkpoint = load_checkpoint(path, trainer_state=False)
    target = checkpoint["meta"].get("target", "diffusion")
    if target != "diffusion":
        raise CheckpointError(
            f"{checkpoint['folder']} holds a trained {target} (train.target: {target}), not a generative model; "
            f"load it into a diffusion recipe with model.{target}.init: {{from: {checkpoint['folder']}, format: synctrack}}"
        )
    recipe = recipe_from_text(checkpoint["recipe"], name=str(checkpoint["folder"] / RECIPE), overrides=overrides)
    recipe.files = [checkpoint["folder"] / RECIPE]  # messages name the stored recipe
    pipeline = build(recipe, registry=registry)
    weights = checkpoint["ema"] if ema and checkpoint["ema"] is not None else checkpoint["weights"]
    try:
        load_flat_state(pipeline.trained_modules(), weights)
    except RuntimeError as error:
        raise CheckpointError(
            f"the weights in {checkpoint['folder']} do not fit the model its recipe builds ({str(error).splitlines()[0]}); "
            "an override may have changed the model's shape"
        ) from None
    pipeline.layout = SongLayout.from_dict(checkpoint["meta"].get("layout", {}))
    if device is not None:
        pipeline.to(device)
    pipeline.eval()
    return pipeline
