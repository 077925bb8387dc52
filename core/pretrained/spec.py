"""The ``init:`` recipe key of denoisers, encoders and vocoders."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass
class InitSpec:
    """Where pretrained weights come from and how strictly they must fit.

    ``init: {from: PATH, format: auto|ldm|diffusers, strict: false}``. ``from`` is a checkpoint file (LDM
    layout: ``model.diffusion_model.*``, ``first_stage_model.*``, or a HiFi-GAN generator file) or a folder
    (diffusers layout: a pipeline folder with ``unet/``, ``vae/``, ``vocoder/``, or one of those
    subfolders). ``auto`` takes a folder as diffusers and a file as LDM. With ``strict: false`` parts the
    source lacks (cross-track mixers, the instrument prior) keep their fresh initialisation; with
    ``strict: true`` every key must load and every source key must be used. ``ema: true`` takes the EMA
    weights of an LDM checkpoint. ``allow_pickle: true`` loads a checkpoint that holds Python objects
    besides tensors, which runs code from the file: only for files you trust.
    """

    path: Path = field(metadata={"recipe_key": "from"})
    format: Literal["auto", "ldm", "diffusers"] = "auto"
    strict: bool = False
    ema: bool = False
    allow_pickle: bool = False
