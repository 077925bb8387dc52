"""``synctrack.build``: a recipe into a :class:`~synctrack.pipeline.Pipeline`, its parts checked to fit together."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import Problem, RecipeError
from ..recipe import Recipe, load_recipe
from ..registry import Registry
from ..sampling import check_pairing
from .layout import CONTEXT_KINDS, node_name
from .model import Pipeline


def untrained_front_end(pipeline: Pipeline) -> str | None:
    """A note when the model's encoder or vocoder has weights but its recipe node no ``init:``: such a front
    end is randomly initialised (``recipes/tiny.yaml``), so the model's audio, its references and their
    metrics mean nothing. None when the front end is trained or needs no training (log-mel, Griffin-Lim)."""
    if pipeline.recipe is None:
        return None
    untrained = []
    for section in ("encoder", "vocoder"):
        part = getattr(pipeline, section)
        node = pipeline.recipe.get(f"model.{section}")
        has_weights = part is not None and any(parameter.numel() for parameter in part.parameters())
        if has_weights and not (isinstance(node, dict) and node.get("init")):
            untrained.append(f"model.{section} {pipeline._name(section)!r}")
    if not untrained:
        return None
    return (f"{' and '.join(untrained)} {'have' if len(untrained) > 1 else 'has'} no init: and {'are' if len(untrained) > 1 else 'is'} "
            "untrained, so this model's audio (and any metric of it) means nothing; for audio that does, use a "
            "trained front end (docs/audio.md) or one that needs none, as recipes/demo.yaml does")


def build(recipe: Recipe | str | os.PathLike, overrides: Sequence[str] = (), registry: Registry | None = None) -> Pipeline:
    """Build the :class:`Pipeline` of a recipe (an object, or a YAML path with optional overrides).

    Every problem of the recipe is reported at once (:class:`~synctrack.errors.RecipeError`); parts that
    do not fit together raise :class:`~synctrack.sampling.IncompatiblePartsError`.
    """
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe, overrides)
    elif overrides:
        recipe = recipe.with_overrides(overrides)
    if registry is None:
        from ..plugin_manager import get_registry

        registry = get_registry()
    recipe.validate(registry)
    missing = [name for name in ("denoiser", "diffusion", "sampler") if recipe.get(f"model.{name}") is None]
    if missing:
        raise RecipeError(
            [Problem(f"model.{name}", f"missing: a pipeline needs a {name} node; registered: {', '.join(registry.names(name))}") for name in missing],
            source=recipe.source,
        )
    model = recipe.build("model", registry)
    kind = getattr(model.denoiser, "context_kind", None)
    if kind is not None and kind not in CONTEXT_KINDS:
        raise RecipeError(
            Problem("model.denoiser", f"denoiser {node_name(recipe, 'model.denoiser')!r} declares context_kind {kind!r}, "
                    f"which the pipeline cannot make; known kinds: {', '.join(CONTEXT_KINDS)}"),
            source=recipe.source,
        )
    if model.diffusion.separate_track_levels > 0 and not model.denoiser.accepts_track_levels:
        raise RecipeError(
            Problem("model.diffusion", f"separate_track_levels gives the denoiser one noise level per track, but denoiser "
                    f"{node_name(recipe, 'model.denoiser')!r} takes one level per song; set separate_track_levels: 0 or "
                    "use a denoiser that declares accepts_track_levels (unet2d does)"),
            source=recipe.source,
        )
    compatible = [p.name for p in registry.parts("sampler") if getattr(p.factory, "diffusion_family", None) == model.diffusion.family]
    check_pairing(model.sampler, model.diffusion, node_name(recipe, "model.sampler"), node_name(recipe, "model.diffusion"), compatible)
    if model.encoder is not None and model.vocoder is not None:
        encoder_name, vocoder_name = node_name(recipe, "model.encoder"), node_name(recipe, "model.vocoder")
        if model.encoder.decodes_to == "waveform":
            raise RecipeError(
                Problem("model.vocoder", f"encoder {encoder_name!r} decodes to waveforms, so a vocoder has nothing to do; remove model.vocoder"),
                source=recipe.source,
            )
        mels_in, mels_out = getattr(model.encoder, "mel_config", None), getattr(model.vocoder, "mel_config", None)
        if mels_in is not None and mels_out is not None and mels_in != mels_out:
            raise RecipeError(
                Problem("model.vocoder", f"vocoder {vocoder_name!r} expects mels {mels_out}, but encoder {encoder_name!r} "
                        f"decodes to mels {mels_in}; give both the same mel settings"),
                source=recipe.source,
            )
    return Pipeline(model.denoiser, model.diffusion, model.sampler, model.encoder, model.vocoder, recipe=recipe)
