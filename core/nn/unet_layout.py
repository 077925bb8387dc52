"""The block layout of latent-diffusion U-Nets (``openaimodel``): which layers each stage holds.

MusicLDM's 2-D U-Net and MSG-LD's 3-D U-Net share this layout; each builds its own layers from the plan, so
pretrained weights map stage for stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LayerKind = Literal["conv_in", "res", "attention", "mixers", "down", "up"]


@dataclass(frozen=True)
class LayerPlan:
    """One layer: its kind, input and output widths."""

    kind: LayerKind
    in_channels: int
    out_channels: int


@dataclass(frozen=True)
class StagePlan:
    """The layers of one stage and the downsample factor of the stage's output."""

    layers: tuple[LayerPlan, ...]
    factor: int


@dataclass(frozen=True)
class UNetPlan:
    """``input`` stages (skip sources, in order), the ``middle`` stage, ``output`` stages (each consumes one skip)."""

    input: tuple[StagePlan, ...]
    middle: StagePlan
    output: tuple[StagePlan, ...]

    @property
    def final_channels(self) -> int:
        return self.output[-1].layers[-1].out_channels


def unet_plan(
    in_channels: int,
    base_channels: int,
    channel_multipliers: list[int] | tuple[int, ...],
    res_blocks: int,
    attention_levels: list[int] | tuple[int, ...],
    middle_attention: bool = True,
    mixer_levels: list[int] | tuple[int, ...] = (),
) -> UNetPlan:
    """Plan the stages: per level ``res_blocks`` x [res, attention at listed factors], a downsampler between
    levels; middle [res, attention, res]; per level from the deepest ``res_blocks + 1`` x [res over the
    concatenated skip, attention, an upsampler closing all but the shallowest level].

    ``mixer_levels`` adds a ``mixers`` layer (cross-track exchange without per-track attention) after the
    res and attention of every stage at those factors; without it the plan is latent diffusion's own."""
    stages = [StagePlan((LayerPlan("conv_in", in_channels, base_channels),), 1)]
    skips = [base_channels]
    channels, factor = base_channels, 1
    levels = len(channel_multipliers)
    for level, multiplier in enumerate(channel_multipliers):
        width = base_channels * multiplier
        for _ in range(res_blocks):
            layers = [LayerPlan("res", channels, width)]
            channels = width
            if factor in attention_levels:
                layers.append(LayerPlan("attention", channels, channels))
            if factor in mixer_levels:
                layers.append(LayerPlan("mixers", channels, channels))
            stages.append(StagePlan(tuple(layers), factor))
            skips.append(channels)
        if level < levels - 1:
            factor *= 2
            stages.append(StagePlan((LayerPlan("down", channels, channels),), factor))
            skips.append(channels)
    middle = [LayerPlan("res", channels, channels)]
    if middle_attention:
        middle.append(LayerPlan("attention", channels, channels))
    middle.append(LayerPlan("res", channels, channels))
    middle_stage = StagePlan(tuple(middle), factor)
    outputs = []
    for level, multiplier in reversed(list(enumerate(channel_multipliers))):
        width = base_channels * multiplier
        for index in range(res_blocks + 1):
            layers = [LayerPlan("res", channels + skips.pop(), width)]
            channels = width
            if factor in attention_levels:
                layers.append(LayerPlan("attention", channels, channels))
            if factor in mixer_levels:
                layers.append(LayerPlan("mixers", channels, channels))
            if level > 0 and index == res_blocks:
                layers.append(LayerPlan("up", channels, channels))
                factor //= 2
            outputs.append(StagePlan(tuple(layers), factor))
    return UNetPlan(tuple(stages), middle_stage, tuple(outputs))
