"""Reading state dicts from LDM-style checkpoint files and diffusers folders."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..unpickling import unpickling_problem


class PretrainedError(UserError):
    """Pretrained weights that cannot be used; the message names the file and what is wrong."""


WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "model.safetensors", "diffusion_pytorch_model.bin", "pytorch_model.bin")


def read_tensor_file(path: Path, allow_pickle: bool = False) -> dict[str, Any]:
    """Load a ``.safetensors`` file or a torch pickle (``weights_only`` unless ``allow_pickle``)."""
    if not path.is_file():
        raise PretrainedError(f"{path}: checkpoint file not found")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as error:
            raise PretrainedError(f"{path}: not a readable safetensors file ({error}); is it truncated?") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except pickle.UnpicklingError as error:
        raise PretrainedError(unpickling_problem(
            path, error, "If you trust the file, set init.allow_pickle: true; better, save its state_dict alone.",
            damaged=f"{path}: cannot read the checkpoint ({str(error).splitlines()[0]}); is it truncated or not a torch file?",
        )) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        raise PretrainedError(f"{path}: cannot read the checkpoint ({str(error).splitlines()[0]}); is it truncated or not a torch file?") from None


def unwrap_state_dict(data: Any, path: Path) -> dict[str, torch.Tensor]:
    """The tensor mapping inside a checkpoint (Lightning's ``state_dict``, HiFi-GAN's ``generator``, or bare)."""
    if isinstance(data, dict):
        for key in ("state_dict", "generator", "model"):
            if isinstance(data.get(key), dict):
                return data[key]
        if all(isinstance(value, torch.Tensor) for value in data.values()):
            return data
    raise PretrainedError(f"{path}: no state dict found (expected a mapping of tensors, or one under 'state_dict' or 'generator')")


def read_diffusers_component(root: Path, component: str, allow_pickle: bool) -> tuple[dict[str, torch.Tensor], dict[str, Any], Path]:
    """``(state_dict, config, folder)`` of ``component`` (``unet``, ``vae``, ``vocoder``) under ``root``."""
    if not root.exists():
        raise PretrainedError(f"{root}: folder not found")
    folder = root / component if (root / component).is_dir() else root
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise PretrainedError(
            f"{root}: no {component}/config.json (a diffusers pipeline folder has {component}/ with config.json "
            f"and weights); point init.from at the pipeline folder or at its {component}/ folder"
        )
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as error:
        raise PretrainedError(f"{config_path}: not valid JSON ({error})") from None
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            data = read_tensor_file(folder / name, allow_pickle)
            return unwrap_state_dict(data, folder / name), config, folder
    raise PretrainedError(f"{folder}: no weights file (looked for {', '.join(WEIGHT_FILES)})")
