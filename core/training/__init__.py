"""Training: the trainer, its ``train:`` recipe section, objectives (diffusion, encoder, vocoder), checkpoints,
EMA and distributed helpers.

The section dataclasses are imported eagerly (the recipe schema needs them); the machinery is loaded on first
use, so ``import synctrack`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import OptimizerSection, TrainSection

_LAZY = {
    "Trainer": "trainer",
    "TrainingStopped": "trainer",
    "NonFiniteLossError": "trainer",
    "Objective": "objective",
    "DiffusionObjective": "objective",
    "StepContext": "objective",
    "CheckpointError": "checkpoint",
    "load_checkpoint": "checkpoint",
    "latest_checkpoint": "checkpoint",
    "EMA": "ema",
    "EncoderObjective": "frontend",
    "VocoderObjective": "vocoder_objective",
    "build_objective": "targets",
}

__all__ = ["OptimizerSection", "TrainSection", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
