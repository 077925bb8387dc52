"""Key maps from MusicLDM's HiFi-GAN (the original generator file, ``first_stage_model.vocoder.*``, or
diffusers' ``vocoder/`` in transformers' SpeechT5HifiGan layout) to ``hifigan``.

The original layout names match (``conv_pre``, ``ups.i``, ``resblocks.k.convs1.j``, ``conv_post``) and stores
weight norm as ``weight_g``/``weight_v``; SpeechT5HifiGan calls the upsamplers ``upsampler.i`` and stores plain
weights (weight norm removed). A plain weight ``w`` becomes weight norm's ``v = w`` and ``g = ||w||`` over all
but the first axis, which reproduces ``w`` exactly.
"""

from __future__ import annotations

from typing import Any

import torch

from synctrack.pretrained import Derived, PretrainedError

WEIGHT_NORM = {".parametrizations.weight.original0": "g", ".parametrizations.weight.original1": "v"}


def weight_norm_magnitude(weight: torch.Tensor) -> torch.Tensor:
    """``g`` of weight norm (dim 0) for a plain weight: its norm over every axis but the first."""
    return weight.norm(dim=tuple(range(1, weight.dim())), keepdim=True)


def _source_name(own: str, fmt: str) -> str:
    return own.replace("ups.", "upsampler.", 1) if fmt == "diffusers" and own.startswith("ups.") else own


def hifigan_key_map(own_keys: list[str], fmt: str, source_keys: set[str], config: dict[str, Any] | None) -> dict[str, str | Derived]:
    """``{own key: source key or Derived}`` for the original (``ldm``) or SpeechT5HifiGan (``diffusers``) layout."""
    if fmt not in ("ldm", "diffusers"):
        raise PretrainedError(f"hifigan reads the 'ldm' and 'diffusers' layouts, not {fmt!r}")
    if config is not None and config.get("normalize_before"):
        raise PretrainedError(
            "the diffusers vocoder normalises its input (normalize_before: true), which MusicLDM's does not; "
            "synctrack's hifigan takes the raw log-mel"
        )
    mapping: dict[str, str | Derived] = {}
    for key in own_keys:
        own = _source_name(key.removeprefix("generator."), fmt)
        suffix = next((s for s in WEIGHT_NORM if own.endswith(s)), None)
        if suffix is None:
            mapping[key] = own
            continue
        stem = own[: -len(suffix)]
        for candidate in (f"{stem}.weight_{WEIGHT_NORM[suffix]}", own):
            if candidate in source_keys:
                mapping[key] = candidate
                break
        else:
            plain = f"{stem}.weight"
            mapping[key] = Derived(plain, weight_norm_magnitude) if WEIGHT_NORM[suffix] == "g" else plain
    return mapping
