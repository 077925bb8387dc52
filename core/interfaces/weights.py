"""The ``init:`` recipe key of denoisers, encoders and vocoders: where their pretrained weights come from.

A contract, so it lives with the interfaces; :mod:`synctrack.pretrained` does the loading (see
:mod:`synctrack.recipe.node_options`, which applies it right after a part is built)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class InitSpec:
    """Where pretrained weights come from and how strictly they must fit.

    ``init: {from: PATH, format: auto|ldm|diffusers|synctrack, strict: false}``. ``from`` is a checkpoint file
    (LDM layout: ``model.diffusion_model.*``, ``first_stage_model.*``, or a HiFi-GAN generator file), a folder
    (diffusers layout: a pipeline folder with ``unet/``, ``vae/``, ``vocoder/``, or one of those
    subfolders), or a run or checkpoint folder written by ``synctrack train`` (``synctrack``: the part of the
    same kind that run trained, e.g. the VAE of a ``train.target: encoder`` run; a run folder means its latest
    checkpoint). ``auto`` recognises synctrack runs and checkpoints, then takes another folder as diffusers and
    a file as LDM. With ``strict: false`` parts the source lacks (cross-track mixers, the instrument prior)
    keep their fresh initialisation; with ``strict: true`` every key must load and every source key must be
    used. ``ema``: ``true`` takes the EMA weights (``model_ema.*`` of an LDM checkpoint, ``ema.safetensors``
    of a synctrack one), ``false`` the trained weights; unset, a synctrack checkpoint's EMA weights when it has
    them (what ``synctrack sample`` uses) and an LDM checkpoint's trained weights. ``allow_pickle: true``
    loads a checkpoint that holds Python objects besides tensors, which runs code from the file: only for
    files you trust.
    """

    path: Path = field(metadata={"recipe_key": "from"})
    format: Literal["auto", "ldm", "diffusers", "synctrack"] = "auto"
    strict: bool = False
    ema: bool | None = None
    allow_pickle: bool = False
