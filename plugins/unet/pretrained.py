"""Key maps from MusicLDM's U-Net (LDM ``openaimodel`` layout, or diffusers' ``UNet2DConditionModel``) to
``unet2d``.

``unet2d`` keeps MusicLDM's block order (``input_blocks.i.j``, ``middle_block.j``, ``output_blocks.i.j``,
``out``), so the LDM map only renames inside ResBlocks and flattens the single transformer block of each
attention; the diffusers map also translates block indices into ``down_blocks``/``mid_block``/``up_blocks``.
The FiLM projection of MusicLDM's CLAP embedding (``film_emb`` / ``class_embedding``) becomes
``condition_projection``, the slot the instrument prior uses. Mixers, mixer blocks and the conditioner have no
source and stay new.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch import nn

from synctrack.pretrained import PretrainedError

from .attention_block import AttentionBlock
from .mixer_block import MixerBlock
from .pulse_block import PulseBlock
from .resblock import ResBlock2d
from .sampling import Downsample2d, Upsample2d

RESBLOCK_NAMES = {
    "ldm": {"norm1": "in_layers.0", "conv1": "in_layers.2", "embedding_projection": "emb_layers.1",
            "norm2": "out_layers.0", "conv2": "out_layers.3", "skip": "skip_connection"},
    "diffusers": {"norm1": "norm1", "conv1": "conv1", "embedding_projection": "time_emb_proj",
                  "norm2": "norm2", "conv2": "conv2", "skip": "conv_shortcut"},
}
TRANSFORMER_PARTS = ("attn1", "norm1", "attn2", "norm2", "ff", "norm3")
TOP_LEVEL = {
    "ldm": {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
            "condition_projection": "film_emb", "input_blocks.0.0": "input_blocks.0.0", "out.0": "out.0", "out.2": "out.2"},
    "diffusers": {"time_embedding.linear_1": "time_embedding.linear_1", "time_embedding.linear_2": "time_embedding.linear_2",
                  "condition_projection": "class_embedding", "input_blocks.0.0": "conv_in", "out.0": "conv_norm_out",
                  "out.2": "conv_out"},
}


def _source_layers(stage: nn.Module) -> Iterator[tuple[int, int, nn.Module]]:
    """``(own slot, source slot, layer)`` for the layers of a stage that a pretrained U-Net has: mixer blocks
    (``mixer_block_levels``) and pulse blocks (``pulse_block_levels``) have no source and do not count in the source's numbering."""
    source_slot = 0
    for slot, layer in enumerate(stage):
        if isinstance(layer, (MixerBlock, PulseBlock)):  # synctrack's own blocks: the source has none
            continue
        yield slot, source_slot, layer
        source_slot += 1


def _stage_sources(model: nn.Module, fmt: str) -> Iterator[tuple[str, nn.Module, str]]:
    """``(own module path, module, source module path)`` for every layer of every stage."""
    res_blocks = sum(isinstance(stage[0], ResBlock2d) for stage in model.input_blocks) // model.levels
    for index, stage in enumerate(model.input_blocks):
        if index == 0:
            continue
        level, position = divmod(index - 1, res_blocks + 1)
        for slot, source_slot, layer in _source_layers(stage):
            own = f"input_blocks.{index}.{slot}"
            if fmt == "ldm":
                yield own, layer, f"input_blocks.{index}.{source_slot}"
            elif isinstance(layer, Downsample2d):
                yield own, layer, f"down_blocks.{level}.downsamplers.0"
            else:
                group = "resnets" if isinstance(layer, ResBlock2d) else "attentions"
                yield own, layer, f"down_blocks.{level}.{group}.{position}"
    for slot, layer in enumerate(model.middle_block):
        own = f"middle_block.{slot}"
        if fmt == "ldm":
            yield own, layer, own
        else:
            group = {0: "resnets.0", len(model.middle_block) - 1: "resnets.1"}.get(slot, "attentions.0")
            yield own, layer, f"mid_block.{group}"
    for index, stage in enumerate(model.output_blocks):
        level, position = divmod(index, res_blocks + 1)
        for slot, source_slot, layer in _source_layers(stage):
            own = f"output_blocks.{index}.{slot}"
            if fmt == "ldm":
                yield own, layer, f"output_blocks.{index}.{source_slot}"
            elif isinstance(layer, Upsample2d):
                yield own, layer, f"up_blocks.{level}.upsamplers.0"
            else:
                group = "resnets" if isinstance(layer, ResBlock2d) else "attentions"
                yield own, layer, f"up_blocks.{level}.{group}.{position}"


def _layer_keys(layer: nn.Module, fmt: str) -> Iterator[tuple[str, str]]:
    """``(own suffix, source suffix)`` for the tensors of one layer."""
    for suffix in layer.state_dict():
        head, _, rest = suffix.partition(".")
        if isinstance(layer, ResBlock2d):
            yield suffix, f"{RESBLOCK_NAMES[fmt][head]}.{rest}"
        elif isinstance(layer, AttentionBlock):
            if head == "mixers":
                continue
            yield suffix, (f"transformer_blocks.0.{suffix}" if head in TRANSFORMER_PARTS else suffix)
        elif isinstance(layer, Downsample2d):
            yield suffix, suffix.replace("conv.", "op.") if fmt == "ldm" else suffix
        else:
            yield suffix, suffix


def unet2d_key_map(model: nn.Module, fmt: str, config: dict[str, Any] | None) -> dict[str, str]:
    """``{unet2d key: source key}`` for ``fmt`` in ``("ldm", "diffusers")``."""
    if fmt not in RESBLOCK_NAMES:
        raise PretrainedError(f"unet2d reads the 'ldm' and 'diffusers' layouts, not {fmt!r}")
    if config is not None:
        check_diffusers_config(model, config)
    mapping: dict[str, str] = {}
    for own, source in TOP_LEVEL[fmt].items():
        for suffix in ("weight", "bias"):
            mapping[f"{own}.{suffix}"] = f"{source}.{suffix}"
    for own_path, layer, source_path in _stage_sources(model, fmt):
        for own_suffix, source_suffix in _layer_keys(layer, fmt):
            mapping[f"{own_path}.{own_suffix}"] = f"{source_path}.{source_suffix}"
    return mapping


def check_diffusers_config(model: nn.Module, config: dict[str, Any]) -> None:
    """A clear error when a diffusers U-Net config describes another architecture than the recipe."""
    widths = [stage[0].conv1.out_channels for stage in model.input_blocks[1:] if isinstance(stage[0], ResBlock2d)]
    res_blocks = len(widths) // model.levels
    expected = {
        "block_out_channels": sorted(set(widths), key=widths.index),
        "layers_per_block": res_blocks,
        "in_channels": model.in_channels,
        "out_channels": model.out_channels,
    }
    problems = []
    for key, value in expected.items():
        found = config.get(key)
        if found is not None and (list(found) if isinstance(value, list) else found) != value:
            problems.append(f"{key}: checkpoint {found}, recipe {value}")
    if problems:
        raise PretrainedError("the diffusers U-Net config describes another architecture than the recipe's unet2d: " + "; ".join(problems))
