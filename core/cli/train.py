"""``synctrack train RECIPE [KEY=VALUE ...] [--resume] [--out DIR]``: train the recipe's model on its data.

``train.target`` picks what: the diffusion model (default), or one part of the audio front end
(``train.target=encoder`` trains ``model.encoder``, e.g. ``mel_vae``; ``train.target=vocoder`` trains
``model.vocoder``, e.g. ``hifigan``). Under ``torchrun --nproc_per_node N -m synctrack train ...`` the run
is distributed (nccl on CUDA, gloo on CPU); rank 0 writes logs and checkpoints. See docs/training.md.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to log.jsonl)")
    parser.set_defaults(handler=run)


def default_run_folder(recipe) -> Path:
    name = recipe.get("name") or (Path(recipe.files[-1]).stem if recipe.files else "run")
    return Path("runs") / str(name)


def run(args: argparse.Namespace) -> int:
    from ..training import TrainSection
    from ..training.checkpoint import latest_checkpoint
    from ..training.checkpoint import write_text_atomically as write_text
    from ..data import collate_songs
    from ..training.distributed import Distributed
    from ..training.targets import build_objective
    from ..training.trainer import Trainer

    for text in args.overrides:
        if not looks_like_override(text):
            raise RecipeError(f"bad override {text!r}: expected KEY=VALUE or ~KEY (one recipe file per run)")
    recipe = load_recipe(args.recipe, args.overrides).validate()
    if recipe.get("data") is None:
        raise RecipeError("data: missing; training needs a dataset node (see `synctrack list dataset`)", source=recipe.source)
    config = recipe.build("train") if recipe.get("train") is not None else TrainSection()
    out = args.out or default_run_folder(recipe)
    if not args.resume and latest_checkpoint(out) is not None:
        raise UserError(f"{out} already holds checkpoints: pass --resume to continue that run, or choose another --out")

    distributed = Distributed.from_environment(config.device)
    try:
        # the same seed on every process: identical initial weights (rank 0's are broadcast anyway)
        torch.manual_seed(config.seed)
        np.random.seed(config.seed % 2**32)
        random.seed(config.seed)
        objective = build_objective(recipe, config)  # only the part train.target trains
        dataset = recipe.build("data")
        if distributed.is_main:
            out.mkdir(parents=True, exist_ok=True)
            write_text(out / "recipe.yaml", recipe.dump())
        trainer = Trainer(objective, dataset, config, out, recipe.dump(), collate=collate_songs, distributed=distributed,
                          console=console.err, show_progress=not args.no_progress)
        if args.resume:
            if not trainer.resume():
                raise UserError(f"nothing to resume: {out} has no checkpoint yet; run without --resume to start")
            if distributed.is_main:
                console.out.print(f"resumed {out} at step {trainer.step}", markup=False)
        result = trainer.train()
    finally:
        distributed.close()
    if distributed.is_main:
        loss = result["loss"]
        console.out.print(
            f"{'stopped' if result['stopped_early'] else 'done'}: step {result['step']}"
            f"{'' if loss is None else f', loss {loss:.4g}'}; checkpoint {result['checkpoint']}",
            markup=False,
        )
    return 0
