"""Checkpoints: atomic folders of safetensors weights, weights-only trainer state and the resolved recipe.

A run folder holds ``checkpoints/``::

    checkpoints/
      step_00001000/
        model.safetensors   trained weights ("<module>.<key>"; the modules are named after the recipe's parts:
                          denoiser, or encoder, or vocoder and discriminator); metadata: recipe, step, meta
        ema.safetensors     EMA weights (when train.ema_decay is set)
        trainer.pt          optimizers, LR schedules, grad scaler, step, RNG states, data position
        recipe.yaml         the resolved recipe
        meta.json           step, song layout (diffusion) or target, mel settings and the VAE's latent
                          scale_factor (front end), world size, synctrack version
      latest                the name of the newest complete checkpoint folder

A checkpoint is written into a temporary folder next to the others and renamed into place (``os.replace``),
then ``latest`` is replaced the same way: a process killed at any moment leaves the previous checkpoint
intact and ``latest`` pointing at a complete folder. Saving a step that already has a folder (a run resumed
from an earlier checkpoint reaches it again) first points ``latest`` at the complete new folder, then moves
the old one aside, renames the new one into place and points ``latest`` at it; only then is the old one
deleted. The next save removes what a killed save left (``.tmp-*``, ``.old-*``). ``trainer.pt`` is read with
``torch.load(weights_only=True)``, which refuses pickles that would run code; everything in it is tensors,
numbers, strings, lists and dicts.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from .. import files
from ..files import give_ordinary_mode, write_failure
from ..errors import UserError
from ..unpickling import unpickling_problem

CHECKPOINTS = "checkpoints"
LATEST = "latest"
WEIGHTS = "model.safetensors"
EMA_WEIGHTS = "ema.safetensors"
TRAINER_STATE = "trainer.pt"
RECIPE = "recipe.yaml"
META = "meta.json"
_STEP_FOLDER = re.compile(r"^step_(\d+)$")


class CheckpointError(UserError):
    """A checkpoint that is missing, damaged, or unsafe to load; the message names the file."""


def step_folder_name(step: int) -> str:
    return f"step_{step:08d}"


# -- writing ------------------------------------------------------------------------------------------------


def _fsync_folder(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def write_text_atomically(path: Path, text: str) -> None:
    """Atomic and flushed to disk (checkpoint side files must survive a power cut with the weights)."""
    files.write_text_atomically(path, text, sync=True)


def _cpu_copies(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # Copies: safetensors refuses tensors sharing storage (tied weights) and needs contiguous CPU data.
    return {key: value.detach().to("cpu", copy=True).contiguous() for key, value in tensors.items()}


def write_weights(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]) -> None:
    """Write tensors as safetensors with string metadata, and flush them to disk."""
    save_file(_cpu_copies(tensors), str(path), metadata=dict(metadata))
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def write_trainer_state(path: Path, state: Mapping[str, Any]) -> None:
    with open(path, "wb") as file:
        torch.save(dict(state), file)
        file.flush()
        os.fsync(file.fileno())


def save_checkpoint(
    run_folder: str | os.PathLike,
    step: int,
    weights: Mapping[str, torch.Tensor],
    trainer_state: Mapping[str, Any],
    recipe_text: str,
    meta: Mapping[str, Any],
    ema_weights: Mapping[str, torch.Tensor] | None = None,
    keep: int = 3,
) -> Path:
    """Write ``run_folder/checkpoints/step_<step>/`` atomically, point ``latest`` at it, prune old ones.

    ``keep`` newest checkpoints are kept (0 keeps all). Returns the checkpoint folder.
    """
    root = Path(run_folder) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    _finish_interrupted_replace(root)
    name = step_folder_name(step)
    meta = {**meta, "step": step, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    metadata = {"format": "pt", "synctrack_step": str(step), "synctrack_recipe": recipe_text,
                "synctrack_meta": json.dumps(meta)}
    needed = sum(t.numel() * t.element_size() for t in weights.values()) * (2 if ema_weights is not None else 1)
    temporary = None
    try:
        temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=root))
        give_ordinary_mode(temporary, folder=True)  # readable by whoever may read the run folder
        write_weights(temporary / WEIGHTS, weights, metadata)
        if ema_weights is not None:
            write_weights(temporary / EMA_WEIGHTS, ema_weights, metadata)
        write_trainer_state(temporary / TRAINER_STATE, trainer_state)
        (temporary / RECIPE).write_text(recipe_text, encoding="utf-8")
        (temporary / META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        for written in temporary.iterdir():  # safetensors writes its files private (0600)
            give_ordinary_mode(written, folder=False)
        _fsync_folder(temporary)
    except BaseException as error:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        failure = write_failure(error, root, f"checkpoint {name}", needed=needed)
        if failure is not None:
            raise failure from None
        raise
    final = root / name
    if final.exists():
        _replace_step_folder(root, temporary, final)
    else:
        os.replace(temporary, final)
        _fsync_folder(root)
    write_text_atomically(root / LATEST, name + "\n")
    _prune(root, keep, protect=name)
    return final


def _replace_step_folder(root: Path, new: Path, final: Path) -> None:
    """Put the complete checkpoint ``new`` in place of the existing ``final`` so that ``latest`` names a
    complete folder at every moment a kill could strike (a folder cannot be renamed over a non-empty one)."""
    write_text_atomically(root / LATEST, new.name + "\n")  # the new copy, complete, under its temporary name
    stale = root / f".old-{final.name}-{os.getpid()}"
    os.replace(final, stale)
    os.replace(new, final)  # a kill here leaves latest naming the moved folder: latest_checkpoint follows it
    _fsync_folder(root)
    write_text_atomically(root / LATEST, final.name + "\n")
    shutil.rmtree(stale, ignore_errors=True)


def _finish_interrupted_replace(root: Path) -> None:
    """Complete a replacement a kill interrupted: ``latest`` names a complete temporary folder, which takes
    its step folder's place (so the next prune does not delete the checkpoint the run continued from)."""
    name = _pointer(root)
    renamed = _TEMPORARY_FOLDER.match(name or "")
    if renamed is None or not (root / name / WEIGHTS).is_file():
        return
    final = root / renamed.group(1)
    if final.exists():
        _replace_step_folder(root, root / name, final)
    else:
        os.replace(root / name, final)
        _fsync_folder(root)
        write_text_atomically(root / LATEST, final.name + "\n")


def _prune(root: Path, keep: int, protect: str) -> None:
    """Delete the debris of killed saves (``.tmp-*``, ``.old-*`` folders, temporary files of ``latest``) and
    all but the ``keep`` newest checkpoints, never ``protect`` nor the folder ``latest`` names."""
    pointed = _pointer(root)
    for leftover in [*root.glob(".tmp-*"), *root.glob(".old-*")]:
        if leftover.is_dir() and leftover.name != pointed:
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in root.glob(f".{LATEST}.*"):  # files.atomic_path's temporary, when a kill struck mid-write
        leftover.unlink(missing_ok=True)
    if keep <= 0:
        return
    folders = sorted(checkpoint_folders(root), key=lambda p: int(_STEP_FOLDER.match(p.name).group(1)))
    for folder in folders[:-keep]:
        if folder.name not in (protect, pointed):
            shutil.rmtree(folder, ignore_errors=True)


# -- finding ------------------------------------------------------------------------------------------------


def checkpoint_folders(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if p.is_dir() and _STEP_FOLDER.match(p.name)] if root.is_dir() else []


_TEMPORARY_FOLDER = re.compile(r"^\.tmp-(step_\d+)-")


def _pointer(root: Path) -> str | None:
    """The folder name ``latest`` holds, or None."""
    pointer = root / LATEST
    return pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None


def latest_checkpoint(run_folder: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run (``latest``, else the highest step folder), or None.

    ``latest`` may name a temporary folder while a save replaces a step folder; when that folder has already
    been renamed into place (a kill between the rename and the pointer's update), its step folder is it.
    """
    root = Path(run_folder) / CHECKPOINTS
    name = _pointer(root)
    if name:
        renamed = _TEMPORARY_FOLDER.match(name)
        for candidate in (name, renamed.group(1) if renamed else None):
            if candidate and (root / candidate / WEIGHTS).is_file():
                return root / candidate
    folders = [f for f in checkpoint_folders(root) if (f / WEIGHTS).is_file()]
    return max(folders, key=lambda p: int(_STEP_FOLDER.match(p.name).group(1))) if folders else None


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint folder from a checkpoint folder, its ``model.safetensors``, a run folder or its ``checkpoints/``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}; give a run folder or one of its checkpoints/step_* folders")
    if path.is_file():
        if path.name in (WEIGHTS, EMA_WEIGHTS):
            return path.parent
        raise CheckpointError(f"{path} is not a checkpoint: give its folder (the one holding {WEIGHTS}) or the run folder")
    if (path / WEIGHTS).exists():
        return path
    run = path.parent if path.name == CHECKPOINTS else path
    found = latest_checkpoint(run)
    if found is None:
        raise CheckpointError(f"no checkpoint in {path}: expected {WEIGHTS} there or complete checkpoints under {run / CHECKPOINTS}")
    return found


# -- reading ------------------------------------------------------------------------------------------------


def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; damage is a :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(
            f"{path} is damaged or truncated and cannot be read ({error}); use an earlier checkpoint of the run"
        ) from None
    return tensors, metadata


def read_trainer_state(path: str | os.PathLike) -> dict[str, Any]:
    """The trainer state, loaded with ``weights_only=True``: a pickle that would run code is refused."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"trainer state not found: {path}; the checkpoint is incomplete, resume from an earlier one")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(unpickling_problem(
            path, error,
            "synctrack trainer state holds only tensors, numbers, strings, lists and dicts; this file was not written "
            "by synctrack or has been tampered with. Do not load it unless you trust its origin.",
            damaged=f"{path} is damaged or truncated and cannot be read ({error}); use an earlier checkpoint",
        )) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        raise CheckpointError(f"{path} is damaged or truncated and cannot be read ({error}); use an earlier checkpoint") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a synctrack trainer state (got {type(state).__name__})")
    return state


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{folder / META} is damaged ({error})") from None


def _stored_recipe(folder: Path, metadata: Mapping[str, str]) -> str:
    """The recipe text of a checkpoint folder: the weights' metadata, else the recipe file beside them."""
    recipe = metadata.get("synctrack_recipe")
    if recipe is None and (folder / RECIPE).is_file():
        recipe = (folder / RECIPE).read_text(encoding="utf-8")
    if recipe is None:
        raise CheckpointError(f"{folder / WEIGHTS} holds no recipe; it was not written by synctrack train")
    return recipe


def read_recipe_text(path: str | os.PathLike) -> str:
    """The recipe a checkpoint stores, read from the weights' header without loading a tensor."""
    folder = resolve_checkpoint(path)
    try:
        with safe_open(str(folder / WEIGHTS), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{folder / WEIGHTS} is damaged or truncated and cannot be read ({error})") from None
    return _stored_recipe(folder, metadata)


def load_checkpoint(path: str | os.PathLike, trainer_state: bool = True) -> dict[str, Any]:
    """Everything in a checkpoint: ``folder``, ``weights``, ``ema`` (or None), ``trainer`` (or None when not
    asked), ``recipe`` (text), ``meta``."""
    folder = resolve_checkpoint(path)
    weights, metadata = read_weights(folder / WEIGHTS)
    ema = read_weights(folder / EMA_WEIGHTS)[0] if (folder / EMA_WEIGHTS).exists() else None
    recipe = _stored_recipe(folder, metadata)
    return {
        "folder": folder,
        "weights": weights,
        "ema": ema,
        "trainer": read_trainer_state(folder / TRAINER_STATE) if trainer_state else None,
        "recipe": recipe,
        "meta": read_meta(folder),
    }
