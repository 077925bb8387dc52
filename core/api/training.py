"""``synctrack.train``: train a recipe's model into a run folder, as ``synctrack train`` does.

    result = synctrack.train("recipes/bench/synctrack.yaml", "runs/mine", overrides=["train.steps=200"])
    songs = synctrack.sample(result.out, num=8)

``train.target`` picks what is trained: the diffusion model (default), or one part of the audio front end
(``encoder``, ``vocoder``). Under ``torchrun`` the run is distributed; rank 0 writes. One process writes into
a run folder at a time (``RUN/.synctrack.lock``).
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import RecipeError, RunWarning, UserError


@dataclass
class TrainResult:
    """What a training call did.

    Attributes:
        out: the run folder. step, loss: the last step and its loss. checkpoint: the checkpoint written last.
        signal: the number of the signal that stopped the run after its checkpoint (None: ran to the end).
        resumed_at: the step a resumed run started from (None: a new run).
        changes: recipe keys changed since the resumed checkpoint, ``{key: [old, new]}``.
        is_main: whether this process is the one that writes (rank 0).
    """

    out: Path
    step: int
    loss: float | None
    checkpoint: Path | None
    signal: int | None = None
    resumed_at: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    is_main: bool = True

    @property
    def exit_code(self) -> int:
        """0 when done, 128 + the signal when one stopped the run (143 for SIGTERM), as ``synctrack train`` exits."""
        return 128 + self.signal if self.signal else 0


def default_run_folder(recipe) -> Path:
    name = recipe.get("name") or (Path(recipe.files[-1]).stem if recipe.files else "run")
    return Path("runs") / str(name)


def check_run_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse, before any work, a run folder the run must not write into (a :class:`UserError` saying why)."""
    from ..files import output_folder_problem
    from ..training.checkpoint import latest_checkpoint
    from ..training.runlock import LOCK_NAME

    if resume and overwrite:
        raise UserError(f"--resume continues the run in {out} and --overwrite deletes it: pass one of them")
    if resume:
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out} is a file, not a run folder")
        if latest_checkpoint(out) is None:
            raise UserError(f"nothing to resume: {out} has no checkpoint yet; run without --resume to start "
                            f"(with --overwrite if the folder holds an earlier attempt)")
        return
    latest = latest_checkpoint(out) if out.is_dir() and not overwrite else None
    if latest is not None:
        raise UserError(f"{out} already holds checkpoints (latest: {latest.name}): pass --resume to continue that run, "
                        "--overwrite to delete it and start again, or choose another --out")
    problem = output_folder_problem(out, overwrite, ignore={LOCK_NAME})
    if problem:
        raise UserError(problem)


def train(
    recipe: Any,
    out: str | os.PathLike | None = None,
    *,
    overrides: tuple[str, ...] | list[str] = (),
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    console: Any = None,
    on_resume: Callable[[Path, int, dict[str, tuple[Any, Any]]], None] | None = None,
) -> TrainResult:
    """Train ``recipe`` (a YAML path or a :class:`~synctrack.Recipe`) into run folder ``out`` (default
    ``runs/<recipe name>``).

    ``resume`` continues the run in ``out`` from its latest checkpoint (changed ``train.*`` settings apply
    from there on); ``overwrite`` deletes what ``out`` holds first; without either, ``out`` must be new or
    empty. ``progress`` shows a progress bar on ``console`` (a rich Console; default stderr). A stop signal
    (SIGTERM, SIGINT) ends the run after a checkpoint: see :attr:`TrainResult.signal`. Warnings (an untrained
    front end, a run lock taken over from a dead process) go through :mod:`warnings`. ``on_resume(out,
    step, changes)`` is called on the writing process when a resumed run is about to continue.
    """
    from ..recipe import Recipe, load_recipe, looks_like_override
    from ..training import TrainSection
    from ..training.runlock import run_lock

    for text in overrides:
        if not looks_like_override(text):
            raise RecipeError(f"bad override {text!r}: expected KEY=VALUE or ~KEY (one recipe file per run)")
    if isinstance(recipe, Recipe):
        recipe = recipe.with_overrides(overrides) if overrides else recipe
        recipe = recipe.validate()
    else:
        recipe = load_recipe(recipe, overrides).validate()
    if recipe.get("data") is None:
        raise RecipeError("data: missing; training needs a dataset node (see `synctrack list dataset`)", source=recipe.source)
    config = recipe.build("train") if recipe.get("train") is not None else TrainSection()
    out = Path(out) if out is not None else default_run_folder(recipe)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder: give a folder to write into (it is created when missing)")
    # one writer per run folder: rank 0 (the process that writes) holds the lock until it exits
    lock = run_lock(out) if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext()
    with lock as taken_over:
        if taken_over:
            warnings.warn(taken_over, RunWarning, stacklevel=2)
        return _train_locked(recipe, config, out, taken_over, resume, overwrite, progress, console, on_resume)


def _train_locked(recipe, config, out: Path, taken_over: str | None, resume: bool, overwrite: bool, progress: bool,
                  console: Any, on_resume: Callable | None) -> TrainResult:
    """The run, once this process may write into ``out``."""
    from ..data import collate_songs
    from ..files import clear_folder
    from ..pipeline import untrained_front_end
    from ..training.checkpoint import write_text_atomically as write_text
    from ..training.distributed import Distributed
    from ..training.runlock import LOCK_NAME
    from ..training.targets import build_objective
    from ..training.trainer import Trainer
    from .sampling import UntrainedFrontEndWarning

    # every process checks before the process group forms, and rank 0 writes only after: no process sees a
    # folder another one has already started to fill
    check_run_folder(out, resume, overwrite)
    distributed = Distributed.from_environment(config.device)
    resumed_at, changes = None, {}
    try:
        # the same seed on every process: identical initial weights (rank 0's are broadcast anyway)
        torch.manual_seed(config.seed)
        np.random.seed(config.seed % 2**32)
        random.seed(config.seed)
        objective = build_objective(recipe, config)  # only the part train.target trains
        pipeline = getattr(objective, "pipeline", None)
        note = untrained_front_end(pipeline) if pipeline is not None and distributed.is_main else None
        if note:
            warnings.warn(note, UntrainedFrontEndWarning, stacklevel=3)
        dataset = recipe.build("data")
        if distributed.is_main:
            if overwrite:  # the recipe built: only now is the old run deleted (not the lock we hold)
                clear_folder(out, keep={LOCK_NAME})
            out.mkdir(parents=True, exist_ok=True)
            write_text(out / "recipe.yaml", recipe.dump())
        distributed.barrier()
        trainer = Trainer(objective, dataset, config, out, recipe.dump(), collate=collate_songs, distributed=distributed,
                          console=console, show_progress=progress)
        if taken_over and trainer.log is not None:
            trainer.log.event(step=trainer.step, event="lock taken over", message=taken_over)
        if resume:
            if not trainer.resume():
                raise UserError(f"nothing to resume: {out} has no checkpoint yet; run without --resume to start")
            resumed_at, changes = trainer.step, dict(trainer.resume_changes)
            if on_resume is not None and distributed.is_main:
                on_resume(out, resumed_at, changes)
        result = trainer.train()
        # every process reaches here before any tears down its group: a gloo process that shuts down while
        # its peer is still writing can abort at exit (seen once in CI, rank 1 SIGABRT after a finished run)
        distributed.barrier()
    finally:
        distributed.close()
    return TrainResult(out=out, step=result["step"], loss=result["loss"], checkpoint=result["checkpoint"],
                       signal=result["signal"], resumed_at=resumed_at, changes=changes, is_main=distributed.is_main)
