"""Loading pretrained weights into a built part through the part's own key map.

A part that can start from pretrained weights declares ``pretrained_component`` (``unet``, ``vae`` or
``vocoder``) and ``pretrained_key_map(format, source_keys, config) -> {own key: source key or Derived}``.
Core reads the files, applies the map with shape checks (a 1x1 convolution and a linear layer of the same
numbers are interchangeable), loads, and reports what loaded, what is new and what went unused.

Checkpoints written by ``synctrack train`` (format ``synctrack``) need no key map: they hold the part's own
keys (see :mod:`.synctrack`), so any encoder, vocoder or denoiser can load one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .reading import PretrainedError, read_diffusers_component, read_tensor_file, unwrap_state_dict
from .report import LoadReport
from ..interfaces.weights import InitSpec
from .synctrack import adopt_scale_factor, check_same_part, looks_like_synctrack, read_synctrack_part

log = logging.getLogger("synctrack.pretrained")

# Where each component lives inside an LDM-style checkpoint (first match wins; "" is a bare file).
LDM_PREFIXES = {
    "unet": ("model.diffusion_model.", ""),
    "vae": ("first_stage_model.", ""),
    "vocoder": ("first_stage_model.vocoder.", ""),
}
LDM_EXCLUDE = {"vae": ("first_stage_model.vocoder.", "first_stage_model.loss.")}

__all__ = ["Derived", "PretrainedError", "load_pretrained"]


@dataclass(frozen=True)
class Derived:
    """An own tensor computed from one source tensor (e.g. weight norm's magnitude from a plain weight)."""

    source: str
    compute: Callable[[torch.Tensor], torch.Tensor]


def _ldm_component(state: dict[str, torch.Tensor], component: str, ema: bool, path: Path) -> dict[str, torch.Tensor]:
    excluded = LDM_EXCLUDE.get(component, ())
    for prefix in LDM_PREFIXES[component]:
        selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix) and not k.startswith(excluded)}
        if prefix == "" and any(k.startswith(("model.diffusion_model.", "first_stage_model.")) for k in state):
            continue  # a full LDM checkpoint without this component: do not take all of it
        if selected:
            break
    else:
        raise PretrainedError(f"{path}: no {component} weights (looked for keys under {', '.join(p or '(top level)' for p in LDM_PREFIXES[component])})")
    if ema:
        flat = {k.replace(".", ""): k for k in selected}
        ema_prefix = "model_ema." + ("diffusion_model" if component == "unet" else "")
        ema_state = {k[len("model_ema."):]: v for k, v in state.items() if k.startswith(ema_prefix)}
        if not ema_state:
            raise PretrainedError(f"{path}: init.ema is true but the checkpoint has no model_ema.* weights")
        lookup = {k.removeprefix("diffusion_model"): v for k, v in ema_state.items()}
        selected = {name: lookup.get(compact, selected[name]) for compact, name in flat.items()}
    return selected


def _fit(target: torch.Tensor, source: torch.Tensor) -> torch.Tensor | None:
    """``source`` shaped like ``target`` when they hold the same numbers (conv 1x1 <-> linear), else None."""
    if source.shape == target.shape:
        return source
    if source.numel() == target.numel() and source.squeeze().shape == target.squeeze().shape:
        return source.reshape(target.shape)
    return None


def resolve_format(choice: str, path: Path) -> str:
    """``init.format`` with ``auto`` resolved: a synctrack run or checkpoint, else a folder is diffusers, a file LDM."""
    if choice != "auto":
        return choice
    if looks_like_synctrack(path):
        return "synctrack"
    return "diffusers" if path.is_dir() else "ldm"


def load_pretrained(part: nn.Module, spec: InitSpec, name: str = "part") -> LoadReport:
    """Load ``spec``'s weights into ``part`` (in place) and return the report; errors name key and shapes."""
    path = Path(spec.path)
    fmt = resolve_format(spec.format, path)
    if fmt == "synctrack":
        return _load_synctrack(part, spec, path, name)
    component = getattr(part, "pretrained_component", None)
    if component is None or not hasattr(part, "pretrained_key_map"):
        raise PretrainedError(f"{name}: {type(part).__name__} cannot start from pretrained weights (no key map)")
    config = None
    if fmt == "diffusers":
        source, config, folder = read_diffusers_component(path, component, spec.allow_pickle)
        origin = str(folder)
    else:
        if path.is_dir():
            raise PretrainedError(f"{path}: is a folder; format 'ldm' takes a checkpoint file (or use format: diffusers)")
        data = read_tensor_file(path, spec.allow_pickle)
        source = _ldm_component(unwrap_state_dict(data, path), component, bool(spec.ema), path)
        origin = str(path)
    key_map = part.pretrained_key_map(fmt, set(source), config)
    return _apply(part, source, key_map, LoadReport(part=name, source=origin, format=fmt), spec, fmt)


def _load_synctrack(part: nn.Module, spec: InitSpec, path: Path, name: str) -> LoadReport:
    """A part trained by ``synctrack train``: its own keys under ``<kind>.``, then what the run learned."""
    kind = getattr(part, "registry_kind", None)
    if kind is None:
        raise PretrainedError(
            f"{name}: {type(part).__name__} is not a recipe part; format synctrack loads encoders, vocoders and denoisers"
        )
    source = read_synctrack_part(path, kind, spec.ema)
    check_same_part(part, source, kind, name)
    tensors = source.tensors
    own_keys = set(part.state_dict())
    training_only = tuple(getattr(part, "training_only_prefixes", ()))
    if training_only:  # e.g. a VAE's discriminator, when this VAE has none
        tensors = {k: v for k, v in tensors.items() if k in own_keys or not k.startswith(training_only)}
    report = LoadReport(part=name, source=f"{source.folder} ({source.weights} weights)", format="synctrack")
    report = _apply(part, tensors, {key: key for key in own_keys}, report, spec, "synctrack")
    note = adopt_scale_factor(part, source)
    if note:
        report.notes.append(note)
        log.info("%s: %s", name, note)
    return report


def _apply(
    part: nn.Module, source: dict[str, torch.Tensor], key_map: dict, report: LoadReport, spec: InitSpec, fmt: str
) -> LoadReport:
    """Copy ``source`` into ``part`` through ``key_map`` with shape checks; fill and return ``report``."""
    name, origin = report.part, report.source
    own = part.state_dict()
    loadable: dict[str, torch.Tensor] = {}
    mismatches = []
    for own_key, own_tensor in own.items():
        entry = key_map.get(own_key)
        source_key = entry.source if isinstance(entry, Derived) else entry
        if source_key is None or source_key not in source:
            report.new.append(own_key)
            continue
        value = entry.compute(source[source_key]) if isinstance(entry, Derived) else source[source_key]
        fitted = _fit(own_tensor, value)
        if fitted is None:
            mismatches.append(f"{source_key} -> {own_key}: source {tuple(value.shape)}, {name} {tuple(own_tensor.shape)}")
            continue
        if fitted.shape != value.shape:
            report.reshaped.append(own_key)
        loadable[own_key] = fitted
        report.loaded.append(own_key)
    used = {getattr(key_map[k], "source", key_map[k]) for k in report.loaded}
    report.unexpected = sorted(k for k in source if k not in used)
    if mismatches:
        shown = "\n  ".join(mismatches[:10]) + (f"\n  ... and {len(mismatches) - 10} more" if len(mismatches) > 10 else "")
        raise PretrainedError(
            f"{name}: {len(mismatches)} pretrained tensor(s) from {origin} do not fit this architecture; check the "
            f"recipe's sizes against the checkpoint's:\n  {shown}"
        )
    if not report.loaded and own:
        raise PretrainedError(f"{name}: no tensor of {origin} matches this part; is it the right checkpoint and format ({fmt})?")
    if spec.strict and (report.new or report.unexpected):
        raise PretrainedError(
            f"{name}: init.strict is true but {len(report.new)} key(s) are new (e.g. {report.new[:3]}) and "
            f"{len(report.unexpected)} source key(s) are unused (e.g. {report.unexpected[:3]}); set strict: false to allow it"
        )
    with torch.no_grad():
        for key, tensor in loadable.items():
            own[key].copy_(tensor.to(dtype=own[key].dtype))
    part.pretrained_report = report
    log.info(report.summary())
    return report
