"""``synctrack train RECIPE [KEY=VALUE ...] [--resume] [--out DIR]``: train the recipe's model on its data.

``train.target`` picks what: the diffusion model (default), or one part of the audio front end
(``train.target=encoder`` trains ``model.encoder``, e.g. ``mel_vae``; ``train.target=vocoder`` trains
``model.vocoder``, e.g. ``hifigan``). Under ``torchrun --nproc_per_node N -m synctrack train ...`` the run
is distributed (nccl on CUDA, gloo on CPU); rank 0 writes logs and checkpoints. See docs/training.md.

The run folder (``--out``) must be new or empty; one that holds a run needs ``--resume`` (continue it) or
``--overwrite`` (delete it and start again). One process writes into a run folder at a time: a second
``train`` into a folder another one is writing exits 2, naming it (``RUN/.synctrack.lock``). Exit codes: 0 when ``train.steps`` are done, 2 for a mistake in
the recipe or the arguments, 128 + the signal (143 for SIGTERM, 130 for SIGINT) when a signal stopped the
run after its checkpoint was written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
from pathlib import Path

import numpy as np
import torch

from ..errors import RecipeError, UserError
from ..recipe import load_recipe, looks_like_override
from . import console


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train a recipe's model (or its encoder or vocoder)", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipe", help="recipe YAML file")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE|~KEY", help="recipe overrides")
    parser.add_argument("--out", type=Path, default=None, help="run folder (default: runs/<recipe name>)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="delete what the run folder holds and start again")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to log.jsonl)")
    parser.set_defaults(handler=run)


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


def run(args: argparse.Namespace) -> int:
    from ..training import TrainSection
    from ..training.runlock import run_lock

    for text in args.overrides:
        if not looks_like_override(text):
            raise RecipeError(f"bad override {text!r}: expected KEY=VALUE or ~KEY (one recipe file per run)")
    recipe = load_recipe(args.recipe, args.overrides).validate()
    if recipe.get("data") is None:
        raise RecipeError("data: missing; training needs a dataset node (see `synctrack list dataset`)", source=recipe.source)
    config = recipe.build("train") if recipe.get("train") is not None else TrainSection()
    out = args.out or default_run_folder(recipe)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder: give a folder to write into (it is created when missing)")
    # one writer per run folder: rank 0 (the process that writes) holds the lock until it exits
    lock = run_lock(out) if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext()
    with lock as taken_over:
        if taken_over:
            console.warning(taken_over)
        return train_locked(args, recipe, config, out, taken_over)


def train_locked(args: argparse.Namespace, recipe, config, out: Path, taken_over: str | None) -> int:
    """The run, once this process may write into ``out``."""
    from ..training.checkpoint import write_text_atomically as write_text
    from ..data import collate_songs
    from ..files import clear_folder
    from ..training.distributed import Distributed
    from ..training.runlock import LOCK_NAME
    from ..training.targets import build_objective
    from ..training.trainer import Trainer
    from ..pipeline import untrained_front_end

    # every process checks before the process group forms, and rank 0 writes only after: no process sees a
    # folder another one has already started to fill
    check_run_folder(out, args.resume, args.overwrite)

    distributed = Distributed.from_environment(config.device)
    try:
        # the same seed on every process: identical initial weights (rank 0's are broadcast anyway)
        torch.manual_seed(config.seed)
        np.random.seed(config.seed % 2**32)
        random.seed(config.seed)
        objective = build_objective(recipe, config)  # only the part train.target trains
        pipeline = getattr(objective, "pipeline", None)
        note = untrained_front_end(pipeline) if pipeline is not None and distributed.is_main else None
        if note:
            console.warning(note)
        dataset = recipe.build("data")
        if distributed.is_main:
            if args.overwrite:  # the recipe built: only now is the old run deleted (not the lock we hold)
                clear_folder(out, keep={LOCK_NAME})
            out.mkdir(parents=True, exist_ok=True)
            write_text(out / "recipe.yaml", recipe.dump())
        distributed.barrier()
        trainer = Trainer(objective, dataset, config, out, recipe.dump(), collate=collate_songs, distributed=distributed,
                          console=console.err, show_progress=not args.no_progress)
        if taken_over and trainer.log is not None:
            trainer.log.event(step=trainer.step, event="lock taken over", message=taken_over)
        if args.resume:
            if not trainer.resume():
                raise UserError(f"nothing to resume: {out} has no checkpoint yet; run without --resume to start")
            if distributed.is_main:
                console.out.print(f"resumed {out} at step {trainer.step}{describe_changes(trainer.resume_changes)}", markup=False)
        result = trainer.train()
        # every process reaches here before any tears down its group: a gloo process that shuts down while
        # its peer is still writing can abort at exit (seen once in CI, rank 1 SIGABRT after a finished run)
        distributed.barrier()
    finally:
        distributed.close()
    code = 128 + result["signal"] if result["signal"] else 0
    if distributed.is_main:
        loss = result["loss"]
        how = f"stopped by {signal_name(result['signal'])}" if result["signal"] else "done"
        exit_note = f"; exit code {code}, resume with --resume" if code else ""
        console.out.print(
            f"{how}: step {result['step']}{'' if loss is None else f', loss {loss:.4g}'}; checkpoint {result['checkpoint']}"
            f"{exit_note}",
            markup=False,
        )
    return code


def describe_changes(changes: dict) -> str:
    """``"; changed since the checkpoint: train.optimizer.lr 0.003 -> 1e-05, ..."`` (empty without changes)."""
    if not changes:
        return ""
    return "; changed since the checkpoint: " + ", ".join(f"{key} {old} -> {new}" for key, (old, new) in changes.items())


def signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
