"""Reading one part from a checkpoint written by ``synctrack train``: ``init: {from: RUN, format: synctrack}``.

A synctrack checkpoint stores its trained modules as ``<module>.<key>`` (see synctrack.training.checkpoint).
The module names are the recipe's part kinds: a diffusion run saves ``denoiser.*``, a ``train.target: encoder``
run ``encoder.*`` and a ``train.target: vocoder`` run ``vocoder.*`` (its discriminators as ``discriminator.*``).
So a part of kind ``K`` reads the keys under ``K.`` and they are its own state-dict keys: no key map is needed.
What the run learned besides weights (the VAE's latent ``scale_factor``, the mel settings) is in ``meta.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from .reading import PretrainedError

# The train.target that saves each part kind (for messages).
TARGET_OF_KIND = {"denoiser": "diffusion", "encoder": "encoder", "vocoder": "vocoder"}


@dataclass
class SynctrackSource:
    """One part's tensors from a synctrack checkpoint.

    Attributes:
        tensors: the part's state-dict entries (the ``<kind>.`` prefix removed).
        folder: the checkpoint folder read.
        weights: ``"ema"`` or ``"trained"``: which of its weight files.
        meta: the checkpoint's ``meta.json``.
        part_type: the registered name the run's recipe gave the part (``mel_vae``), when it says.
    """

    tensors: dict[str, torch.Tensor]
    folder: Path
    weights: str
    meta: dict[str, Any] = field(default_factory=dict)
    part_type: str | None = None


def _checkpoint_module():
    from ..training import checkpoint

    return checkpoint


def _holds_synctrack_weights(weights_file: Path) -> bool:
    """Whether a safetensors file carries the metadata ``synctrack train`` writes (its recipe)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights_file), framework="pt", device="cpu") as file:
            return "synctrack_recipe" in (file.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError):
        return False


def looks_like_synctrack(path: Path) -> bool:
    """A run folder, its ``checkpoints/``, a checkpoint folder or its ``model.safetensors`` written by synctrack."""
    ckpt = _checkpoint_module()
    if path.is_file():
        return path.name in (ckpt.WEIGHTS, ckpt.EMA_WEIGHTS) and _holds_synctrack_weights(path)
    if not path.is_dir():
        return False
    if (path / ckpt.WEIGHTS).is_file():
        return _holds_synctrack_weights(path / ckpt.WEIGHTS)
    run = path.parent if path.name == ckpt.CHECKPOINTS else path
    latest = ckpt.latest_checkpoint(run)
    return latest is not None and _holds_synctrack_weights(latest / ckpt.WEIGHTS)


def _stored_part_type(recipe_text: str | None, kind: str) -> str | None:
    try:
        recipe = yaml.safe_load(recipe_text or "") or {}
    except yaml.YAMLError:
        return None
    node = (recipe.get("model") or {}).get(kind) if isinstance(recipe, dict) else None
    if isinstance(node, str):
        return node
    return node.get("type") if isinstance(node, dict) else None


def read_synctrack_part(path: Path, kind: str, ema: bool | None) -> SynctrackSource:
    """The weights of the ``kind`` part (``encoder``, ``vocoder``, ``denoiser``) in a synctrack run or checkpoint.

    ``ema``: True takes ``ema.safetensors`` (an error when the run kept no EMA), False ``model.safetensors``,
    None the EMA weights when present.
    """
    ckpt = _checkpoint_module()
    try:
        folder = ckpt.resolve_checkpoint(path)
    except ckpt.CheckpointError as error:
        raise PretrainedError(f"init.from: {error}") from None
    has_ema = (folder / ckpt.EMA_WEIGHTS).is_file()
    if ema and not has_ema:
        raise PretrainedError(f"{folder}: init.ema is true but the run kept no EMA weights ({ckpt.EMA_WEIGHTS}); set ema: false")
    use_ema = has_ema if ema is None else ema
    weights_file = folder / (ckpt.EMA_WEIGHTS if use_ema else ckpt.WEIGHTS)
    try:
        tensors, metadata = ckpt.read_weights(weights_file)
    except ckpt.CheckpointError as error:
        raise PretrainedError(str(error)) from None
    if "synctrack_recipe" not in metadata:
        raise PretrainedError(
            f"{weights_file}: not written by synctrack train (no recipe in its metadata); use format ldm or diffusers"
        )
    try:
        meta = json.loads(metadata.get("synctrack_meta") or "{}")
    except json.JSONDecodeError:
        meta = {}
    prefix = f"{kind}."
    part = {key[len(prefix):]: value for key, value in tensors.items() if key.startswith(prefix)}
    if not part:
        modules = sorted({key.split(".", 1)[0] for key in tensors})
        target = meta.get("target", "diffusion")
        raise PretrainedError(
            f"{folder}: this checkpoint holds no {kind} weights (it holds {', '.join(modules) or 'nothing'}; the run "
            f"trained train.target: {target}). Load the {kind} from a run trained with train.target: "
            f"{TARGET_OF_KIND.get(kind, kind)}"
        )
    part_type = _stored_part_type(metadata.get("synctrack_recipe"), kind)
    return SynctrackSource(part, folder, "ema" if use_ema else "trained", meta, part_type)


def check_same_part(part: Any, source: SynctrackSource, kind: str, name: str) -> None:
    """Refuse a checkpoint whose part is of another registered type or was trained on other mels."""
    if source.part_type is not None:
        try:
            from ..plugin_manager import get_registry

            names = [p.name for p in get_registry().parts(kind) if p.factory is type(part)]
        except Exception:  # noqa: BLE001 - the check is a courtesy; the shape check still guards the load
            names = []
        if names and source.part_type not in names:
            raise PretrainedError(
                f"{name}: {source.folder} holds a {source.part_type!r} {kind}, but this recipe's {name} is "
                f"{names[0]!r}; use type: {source.part_type} or another checkpoint"
            )
    stored_mel, own_mel = source.meta.get("mel"), getattr(part, "mel_config", None)
    if isinstance(stored_mel, dict) and own_mel is not None:
        from ..audio import MelConfig

        try:
            differences = MelConfig.of(stored_mel).differences(MelConfig.of(own_mel))
        except (TypeError, ValueError):
            differences = []
        if differences:
            raise PretrainedError(
                f"{name}: {source.folder} was trained on other mels ({'; '.join(differences)}, checkpoint first); "
                f"give {name}.mel the checkpoint's settings"
            )


def adopt_scale_factor(part: Any, source: SynctrackSource) -> str | None:
    """Apply the run's latent ``scale_factor`` to an encoder that did not set one in the recipe; returns a note.

    An encoder declares ``scale_factor_from_recipe`` (``mel_vae`` does: its ``scale_factor`` defaults to unset);
    without it the recipe's value is kept.
    """
    stored = source.meta.get("scale_factor")
    if stored is None or not hasattr(part, "scale_factor"):
        return None
    if getattr(part, "scale_factor_from_recipe", True):
        return f"scale_factor {part.scale_factor:.6g} from the recipe (the checkpoint's estimate {float(stored):.6g} is not used)"
    part.scale_factor = float(stored)
    return f"scale_factor {float(stored):.6g} from the checkpoint"
