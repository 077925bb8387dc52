"""The block layout of latent-diffusion U-Nets (``openaimodel``): which layers each stage holds.

MusicLDM's 2-D U-Net and MSG-LD's 3-D U-Net share this layout; each builds its own layers from the plan, so
pretrained weights map stage for stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LayerKind = Literal["conv_in", "res", "attention", "mixers", "pulse", "down", "up"]


@dataclass(frozen=True)
class LayerPlan:
    """One layer: its kind, input and output widths, and the downsampling factor of the grid it reads."""

    kind: LayerKind
    in_channels: int
    out_channels: int
    factor: int = 1


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
    pulse_levels: list[int] | tuple[int, ...] = (),
) -> UNetPlan:
    """Plan the stages: per level ``res_blocks`` x [res, attention at listed factors], a downsampler between
    levels; middle [res, attention, res]; per level from the deepest ``res_blocks + 1`` x [res over the
    concatenated skip, attention, an upsampler closing all but the shallowest level].

    ``mixer_levels`` adds a ``mixers`` layer (cross-track exchange without per-track attention) after the
    res and attention of every stage at those factors, and ``pulse_levels`` a per-track ``pulse`` layer after
    those; without them the plan is latent diffusion's own."""
    def extras(channels: int, factor: int) -> list[LayerPlan]:
        """The layers after a res layer at ``factor``: attention, mixers, pulse, where listed."""
        kinds = [kind for kind, levels in (("attention", attention_levels), ("mixers", mixer_levels),
                                           ("pulse", pulse_levels)) if factor in levels]
        return [LayerPlan(kind, channels, channels, factor) for kind in kinds]

    stages = [StagePlan((LayerPlan("conv_in", in_channels, base_channels),), 1)]
    skips = [base_channels]
    channels, factor = base_channels, 1
    levels = len(channel_multipliers)
    for level, multiplier in enumerate(channel_multipliers):
        width = base_channels * multiplier
        for _ in range(res_blocks):
            layers = [LayerPlan("res", channels, width, factor)]
            channels = width
            layers += extras(channels, factor)
            stages.append(StagePlan(tuple(layers), factor))
            skips.append(channels)
        if level < levels - 1:
            factor *= 2
            stages.append(StagePlan((LayerPlan("down", channels, channels, factor // 2),), factor))
            skips.append(channels)
    middle = [LayerPlan("res", channels, channels, factor)]
    if middle_attention:
        middle.append(LayerPlan("attention", channels, channels, factor))
    middle.append(LayerPlan("res", channels, channels, factor))
    middle_stage = StagePlan(tuple(middle), factor)
    outputs = []
    for level, multiplier in reversed(list(enumerate(channel_multipliers))):
        width = base_channels * multiplier
        for index in range(res_blocks + 1):
            layers = [LayerPlan("res", channels + skips.pop(), width, factor)]
            channels = width
            layers += extras(channels, factor)
            if level > 0 and index == res_blocks:
                layers.append(LayerPlan("up", channels, channels, factor))
                factor //= 2
            outputs.append(StagePlan(tuple(layers), factor))
    return UNetPlan(tuple(stages), middle_stage, tuple(outputs))
