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
from pathlib import Path

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


def run(args: argparse.Namespace) -> int:
    from ..api.training import train

    def resumed(out: Path, step: int, changes: dict) -> None:
        console.out.print(f"resumed {out} at step {step}{describe_changes(changes)}", markup=False)

    # the library's warnings (an untrained front end, a lock taken over) print as they come: see console
    result = train(args.recipe, args.out, overrides=args.overrides, resume=args.resume, overwrite=args.overwrite,
                   progress=not args.no_progress, console=console.err, on_resume=resumed)
    if result.is_main:
        how = f"stopped by {signal_name(result.signal)}" if result.signal else "done"
        exit_note = f"; exit code {result.exit_code}, resume with --resume" if result.exit_code else ""
        loss = "" if result.loss is None else f", loss {result.loss:.4g}"
        console.out.print(f"{how}: step {result.step}{loss}; checkpoint {result.checkpoint}{exit_note}", markup=False)
    return result.exit_code


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
