"""Reading generator checkpoints whose convolutions carry weight norm, in any of its three spellings.

A weight-normed weight ``w = g * v / ||v||`` (norm over every axis but the first) is stored as

- ``X.weight_g`` / ``X.weight_v``: ``torch.nn.utils.weight_norm``, as in the official HiFi-GAN files;
- ``X.parametrizations.weight.original0`` / ``original1``: ``torch.nn.utils.parametrizations.weight_norm``;
- ``X.weight``: after weight norm was removed (for inference, or in converted exports).

:func:`load_weight_normed` maps whichever spelling a file holds onto whichever the model has now, exactly
when both use ``g``/``v`` and through ``w = g * v / ||v||`` (or ``v = w``, ``g = ||w||``) otherwise. Any
shape mismatch, missing or unexpected key is a :class:`CheckpointError` naming the file and the keys.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from synctrack.errors import UserError
from synctrack.unpickling import unpickling_problem

_ROLES = (
    (".parametrizations.weight.original0", "g"),
    (".parametrizations.weight.original1", "v"),
    (".weight_g", "g"),
    (".weight_v", "v"),
    (".weight", "w"),
    (".bias", "bias"),
)


class CheckpointError(UserError):
    """A checkpoint that cannot be loaded into the model; the message names the file and the keys."""


def read_generator_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a generator checkpoint: ``{"generator": state}`` (official HiFi-GAN ``g_XXXXXXXX``
    files) or a bare state dict, saved with ``torch.save`` or as ``.safetensors``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            content = load_file(str(path))
        else:
            content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # the blocked call, not torch's advice to drop weights_only
        raise CheckpointError(unpickling_problem(
            path, error, "Save the generator's state_dict alone (torch.save or safetensors).",
            damaged=f"{path}: cannot read the checkpoint (UnpicklingError: {error})",
        )) from None
    except Exception as error:  # corrupt or truncated
        raise CheckpointError(f"{path}: cannot read the checkpoint ({type(error).__name__}: {error})") from None
    if isinstance(content, Mapping) and isinstance(content.get("generator"), Mapping):
        content = content["generator"]
    if not isinstance(content, Mapping) or not content or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in content.items()
    ):
        raise CheckpointError(
            f"{path}: expected a state dict of tensors, or {{'generator': state dict}} as in HiFi-GAN's g_XXXXXXXX files"
        )
    return dict(content)


def _split(key: str) -> tuple[str, str]:
    for suffix, role in _ROLES:
        if key.endswith(suffix):
            return key[: -len(suffix)], role
    return key, "other"


def _group(keys) -> dict[str, dict[str, str]]:
    groups: dict[str, dict[str, str]] = {}
    for key in keys:
        module, role = _split(key)
        groups.setdefault(module, {})[role] = key
    return groups


def _first(items: list[str], separator: str = ", ", limit: int = 6) -> str:
    shown = separator.join(items[:limit])
    return shown + (f"{separator}and {len(items) - limit} more" if len(items) > limit else "")


def _norm(weight: torch.Tensor) -> torch.Tensor:
    """``||weight||`` over every axis but the first, keeping dims (the shape of ``g``)."""
    return weight.flatten(1).norm(dim=1).reshape(-1, *([1] * (weight.dim() - 1)))


def load_weight_normed(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load ``state`` (any weight-norm spelling) into ``model`` (any spelling); strict about keys and shapes."""
    target = model.state_dict()
    wanted = _group(target)
    given = _group(state)
    converted: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    mismatched: list[str] = []
    missing: list[str] = []

    def take(source_key: str, target_key: str, value: torch.Tensor | None = None) -> None:
        """Check ``state[source_key]``'s shape against ``target_key``'s; store ``value`` (default: the tensor)."""
        tensor = state[source_key]
        expected = tuple(target[target_key].shape)
        if tuple(tensor.shape) != expected:
            mismatched.append(
                f"{source_key!r} has shape {tuple(tensor.shape)} in the checkpoint, the model expects {expected}"
            )
        else:
            converted[target_key] = tensor if value is None else value
        used.add(source_key)

    for module, roles in wanted.items():
        have = given.get(module, {})
        for role in ("bias", "other"):
            if role in roles:
                if role in have:
                    take(have[role], roles[role])
                else:
                    missing.append(roles[role])
        if "g" in roles and "v" in roles:  # the model has weight norm
            if "g" in have and "v" in have:
                take(have["g"], roles["g"])
                take(have["v"], roles["v"])
            elif "w" in have:
                weight = state[have["w"]]
                take(have["w"], roles["v"], value=weight)
                if roles["v"] in converted:
                    converted[roles["g"]] = _norm(weight).to(target[roles["g"]].dtype)
            else:
                missing.append(f"{module}.weight_g/weight_v")
        elif "w" in roles:  # plain weight
            if "w" in have:
                take(have["w"], roles["w"])
            elif "g" in have and "v" in have:
                g, v = state[have["g"]], state[have["v"]]
                if v.dim() == 0 or g.shape != _norm(v).shape:
                    mismatched.append(f"{have['g']!r} has shape {tuple(g.shape)}, which does not fit {have['v']!r} {tuple(v.shape)}")
                    used.update((have["g"], have["v"]))
                    continue
                take(have["v"], roles["w"], value=v * (g / _norm(v)))
                used.add(have["g"])
            else:
                missing.append(roles["w"])
    unexpected = sorted(set(state) - used)
    problems = []
    if mismatched:
        problems.append("shape mismatch: " + _first(mismatched, "; "))
    if missing:
        problems.append("missing keys: " + _first(missing))
    if unexpected:
        problems.append("unexpected keys: " + _first(unexpected))
    if problems:
        raise CheckpointError(
            f"{source}: the checkpoint does not fit this model ({'; '.join(problems)}); it was made for another "
            f"configuration: set the recipe's arguments to the ones it was trained with"
        )
    model.load_state_dict(converted, strict=True)
