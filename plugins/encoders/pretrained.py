"""Key maps from MusicLDM's VAE (LDM ``first_stage_model.*`` or diffusers' ``AutoencoderKL``) to ``mel_vae``.

``mel_vae``'s autoencoder keeps LDM's module names, so the LDM layout maps one to one. diffusers renames the
levels (``down.i.block.j`` -> ``down_blocks.i.resnets.j``), the middle (``mid.block_1`` ->
``mid_block.resnets.0``), the attention (``attn_1.q`` conv -> ``attentions.0.to_q`` linear) and numbers the
decoder's levels from the lowest resolution (``up.i`` -> ``up_blocks.{n-1-i}``).
"""

from __future__ import annotations

import re
from typing import Any

from synctrack.pretrained import PretrainedError

RENAMES = [
    (r"\.nin_shortcut\.", ".conv_shortcut."),
    (r"\.mid\.block_1\.", ".mid_block.resnets.0."),
    (r"\.mid\.block_2\.", ".mid_block.resnets.1."),
    (r"\.mid\.attn_1\.norm\.", ".mid_block.attentions.0.group_norm."),
    (r"\.mid\.attn_1\.([qkv])\.", r".mid_block.attentions.0.to_\1."),
    (r"\.mid\.attn_1\.proj_out\.", ".mid_block.attentions.0.to_out.0."),
    (r"\.norm_out\.", ".conv_norm_out."),
    (r"^encoder\.down\.(\d+)\.block\.", r"encoder.down_blocks.\1.resnets."),
    (r"^encoder\.down\.(\d+)\.downsample\.", r"encoder.down_blocks.\1.downsamplers.0."),
]


def diffusers_key(ldm_key: str, levels: int) -> str:
    """The diffusers name of an LDM-layout VAE key."""
    key = ldm_key
    match = re.match(r"^decoder\.up\.(\d+)\.(block|upsample)\.(.*)$", key)
    if match:
        level = levels - 1 - int(match[1])
        key = f"decoder.up_blocks.{level}." + ("resnets." if match[2] == "block" else "upsamplers.0.") + match[3]
    for pattern, replacement in RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def check_diffusers_config(config: dict[str, Any], widths: list[int], latent_channels: int, res_blocks: int) -> None:
    expected = {"block_out_channels": widths, "latent_channels": latent_channels, "layers_per_block": res_blocks, "in_channels": 1}
    problems = [f"{key}: checkpoint {config[key]}, recipe {value}" for key, value in expected.items()
                if key in config and (list(config[key]) if isinstance(value, list) else config[key]) != value]
    if problems:
        raise PretrainedError("the diffusers VAE config describes another architecture than the recipe's mel_vae: " + "; ".join(problems))


def mel_vae_key_map(own_keys: list[str], fmt: str, levels: int) -> dict[str, str]:
    """``{own key: source key}``; own keys are ``autoencoder.<LDM key>`` (the discriminator has no source)."""
    if fmt not in ("ldm", "diffusers"):
        raise PretrainedError(f"mel_vae reads the 'ldm' and 'diffusers' layouts, not {fmt!r}")
    prefix = "autoencoder."
    mapping = {}
    for key in own_keys:
        if key.startswith(prefix):
            ldm = key[len(prefix):]
            mapping[key] = ldm if fmt == "ldm" else diffusers_key(ldm, levels)
    return mapping
