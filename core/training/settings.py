"""What the ``train:`` section means while a run runs: the learning-rate schedule, the autocast dtype, the
checks that need the process count, and which settings changed between a checkpoint and a resumed recipe."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import yaml

from ..errors import UserError
from .config import TrainSection, range_problems
from .logs import warn


def lr_factor(config: TrainSection) -> Callable[[int], float]:
    """The learning-rate multiplier after ``step`` scheduler steps: linear warm-up, then constant, cosine, or
    exponential (``lr_decay ** ((step - warmup) // lr_decay_every)``, a decay in stairs like a per-epoch one).

    With ``schedule_per_stage`` in a staged run (``mixers_from_step``), each stage has the whole schedule over
    its own steps: warm-up and decay before the mixers join, then warm-up and decay again from that step."""
    warmup, floor = config.warmup_steps, config.min_lr_ratio

    def one_schedule(step: int, total: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.schedule == "constant":
            return 1.0
        if config.schedule == "exponential":
            return config.lr_decay ** ((step - warmup) // config.lr_decay_every)
        progress = min((step - warmup) / max(total - warmup, 1), 1.0)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    join = config.mixer_start_step() if config.schedule_per_stage else 0
    if join <= 0:
        return lambda step: one_schedule(step, config.steps)
    return lambda step: one_schedule(step, join) if step < join else one_schedule(step - join, config.steps - join)


def resolve_precision(choice: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None for fp32). Mixed precision runs on CUDA only; CPU trains in fp32."""
    if device.type != "cuda":
        if choice in ("bf16", "fp16"):
            warn(f"train.precision={choice} needs CUDA; training in fp32 on {device.type}")
        return None
    if choice == "fp32":
        return None
    if choice == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if choice == "bf16" else torch.float16


def check_config(config: TrainSection, world_size: int) -> None:
    """Raise one :class:`UserError` listing every inconsistent ``train:`` value (the ranges of
    :func:`~synctrack.training.config.range_problems`, and the batch split over processes)."""
    problems = [f"train.{key} {message}" for key, message in range_problems(config)]
    if config.batch_size >= 1 and config.batch_size % (world_size * max(config.grad_accumulation, 1)):
        problems.append(
            f"train.batch_size = {config.batch_size} (the global batch) must divide by processes x grad_accumulation = "
            f"{world_size} x {config.grad_accumulation}"
        )
    if problems:
        raise UserError("bad train: settings:\n  - " + "\n  - ".join(problems))


def train_changes(stored_text: str, current_text: str) -> dict[str, list[Any]]:
    """``{"train.optimizer.lr": [old, new], ...}``: every ``train:`` value that differs between the recipe
    stored in a checkpoint and the current one (defaults filled in, so an added default is no change)."""
    stored, current = (_train_values(text) for text in (stored_text, current_text))
    if stored is None or current is None:
        return {}
    return {f"train.{key}": [stored.get(key), current.get(key)] for key in sorted(set(stored) | set(current))
            if stored.get(key) != current.get(key)}


def _train_values(text: str) -> dict[str, Any] | None:
    """The ``train:`` section of a recipe text over the defaults, flattened to dotted keys (None without text)."""
    import dataclasses

    if not text:
        return None
    section = (yaml.safe_load(text) or {}).get("train") or {}
    defaults = dataclasses.asdict(TrainSection())
    merged = {**defaults, **section, "optimizer": {**defaults["optimizer"], **(section.get("optimizer") or {})}}
    flat = {key: value for key, value in merged.items() if key != "optimizer"}
    flat.update({f"optimizer.{key}": value for key, value in merged["optimizer"].items()})
    return {key: list(value) if isinstance(value, tuple) else value for key, value in flat.items()}
