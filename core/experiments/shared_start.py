"""The paper's protocol: every model of an ablation starts from one trained per-track model.

SyncTrack trains its cross-track layers on top of a pretrained single-track model. ``synctrack ablate
--start-from RUN`` does the same for any set of recipes: each recipe's denoiser loads RUN's weights
(``init: {from: RUN, format: synctrack}``; the keys RUN lacks, the mixers', start fresh) and every mixer gets
``zero_init: true``, so at step 0 each model is exactly RUN's model; then every recipe trains the same number
of steps. The arms then differ only in what their mixers learn. A staged recipe (``train.mixers_from_step``)
gets 0 there: RUN is its per-track stage. docs/learning-speed.md (E6) measures it. With several training
seeds each can start from a per-track model of its own: ``{seed}`` in RUN stands for the seed's index k, as in
``OUT/seed-k`` (E23).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..recipe import Recipe

SEED_PLACEHOLDER = "{seed}"


def start_of_seed(start: str | Path, seed: int) -> Path:
    """The start of training seed ``seed`` (its index k of ``--seeds K``): ``start`` with every ``{seed}``
    replaced by k, so ``runs/g1/seed-{seed}/bench-no-mixers/run`` gives each seed its own per-track model.
    A path without the placeholder is every seed's start."""
    return Path(str(start).replace(SEED_PLACEHOLDER, str(seed)))


def shared_start_overrides(recipe: Recipe, start: str | Path) -> list[str]:
    """The overrides that make ``recipe`` start from run (or checkpoint) ``start``: the denoiser's ``init``
    and ``zero_init: true`` on each of its mixers. Raises :class:`UserError` when ``start`` holds no
    checkpoint."""
    from ..training.checkpoint import CheckpointError, resolve_checkpoint

    try:
        folder = resolve_checkpoint(start)
    except CheckpointError as error:
        raise UserError(f"--start-from {start}: {error}") from None
    overrides = [f"model.denoiser.init={{from: '{Path(folder).absolute()}', format: synctrack}}"]
    if recipe.get("train.mixers_from_step"):  # a staged recipe: RUN is its per-track stage; mixers train from step 0
        overrides.append("train.mixers_from_step=0")
    mixers: list[Any] = recipe.get("model.denoiser.mixers") or []
    for index, mixer in enumerate(mixers):
        if isinstance(mixer, str):  # a bare part name: spelled out as a node, to carry the argument
            overrides.append(f"model.denoiser.mixers[{index}]={{type: {mixer}, zero_init: true}}")
        else:
            overrides.append(f"model.denoiser.mixers[{index}].zero_init=true")
    return overrides
