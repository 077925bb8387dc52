"""What ``synctrack train`` trains: the objective for the recipe's ``train.target``.

- ``diffusion``: the whole pipeline is built (``synctrack.build``) and its denoiser trained.
- ``encoder`` / ``vocoder``: only ``model.encoder`` / ``model.vocoder`` is built and trained (other model
  nodes may stay in the recipe, for a later diffusion run, and are not built). An encoder run also builds
  ``model.vocoder`` when previews are asked for (``train.sample_every``), to listen to the reconstructions.

A recipe without the part, or whose part has nothing to train (``mel``, ``griffin_lim``), is a
:class:`~synctrack.errors.RecipeError` naming the node, before anything is built.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import Problem, RecipeError
from ..recipe import Recipe
from .config import TrainSection
from .frontend import EncoderObjective, trainable_problem
from .vocoder_objective import VocoderObjective
from .objective import DiffusionObjective, Objective

EXAMPLES = {"encoder": "mel_vae", "vocoder": "hifigan"}


def _node_type(recipe: Recipe, path: str) -> str | None:
    node = recipe.get(path)
    if isinstance(node, str):
        return node
    return node.get("type") if isinstance(node, dict) else None


def _registry(registry: Any) -> Any:
    if registry is not None:
        return registry
    from ..plugin_manager import get_registry

    return get_registry()


def trainable_names(kind: str, registry: Any) -> list[str]:
    """Registered parts of ``kind`` that ``train.target: kind`` can train."""
    return [part.name for part in registry.parts(kind) if trainable_problem(kind, part.factory) is None]


def build_front_end_part(recipe: Recipe, kind: str, registry: Any = None) -> Any:
    """Build ``model.<kind>`` for ``train.target: <kind>``, after checking it exists and can be trained."""
    registry = _registry(registry)
    path = f"model.{kind}"
    name = _node_type(recipe, path)
    trainable = ", ".join(trainable_names(kind, registry)) or "none registered"
    if recipe.get(path) is None:
        raise RecipeError(
            Problem(path, f"missing: train.target is {kind!r}, which trains the recipe's {kind}; add a {path} node "
                          f"(trainable {kind}s: {trainable})", recipe.locations.get(("train", "target"))),
            source=recipe.source,
        )
    factory = registry.get(kind, name).factory if name else None
    problem = trainable_problem(kind, factory) if inspect.isclass(factory) else None
    part = None
    if problem is None:
        part = recipe.build(path, registry)
        problem = trainable_problem(kind, part)
    if problem:
        raise RecipeError(
            Problem(path, f"{kind} {name!r} cannot be trained with train.target: {kind}: {problem}; trainable {kind}s: "
                          f"{trainable} (e.g. type: {EXAMPLES[kind]})"),
            source=recipe.source,
        )
    return part


def build_objective(recipe: Recipe, config: TrainSection, registry: Any = None) -> Objective:
    """The objective ``synctrack train`` runs for ``recipe`` (validated) and its ``train:`` section."""
    if config.target == "diffusion":
        from ..pipeline import build

        pipeline = build(recipe, registry=registry)
        return DiffusionObjective(pipeline, config.sample_num, config.sample_steps, config.seed)
    part = build_front_end_part(recipe, config.target, registry)
    if config.target == "vocoder":
        return VocoderObjective(part, config.segment_frames, config.sample_num, config.seed)
    vocoder = None
    if config.sample_every and recipe.get("model.vocoder") is not None and getattr(part, "decodes_to", "mel") == "mel":
        from ..audio import check_mel_compatible

        vocoder = recipe.build("model.vocoder", registry)
        check_mel_compatible(part, vocoder)
    return EncoderObjective(part, vocoder, config.sample_num, config.scale_factor_songs, config.seed)
