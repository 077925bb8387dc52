"""``unet2d``: the SyncTrack denoiser, a latent-diffusion U-Net shared by all tracks, with cross-track mixers.

Every per-track layer (convolutions, ResBlocks, per-track attention) is shared by the tracks, which are folded
into the batch: ``[B, S, C, T, F]`` -> ``[B*S, C, T, F]``. Tracks meet only inside the mixers of the attention
blocks, which see the tokens of a song as ``[B, S, N, D]``. The track count S is free: the same weights run
on any number of tracks.

Layout (as MusicLDM's U-Net, so pretrained weights map block for block): ``input_blocks`` (the input
convolution, then per level ``res_blocks`` x [ResBlock, attention?] and a downsampler between levels),
``middle_block`` [ResBlock, attention, ResBlock], ``output_blocks`` (per level, from the deepest,
``res_blocks + 1`` x [ResBlock over the concatenated skip, attention?, upsampler?]), then ``out``.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from einops import rearrange, repeat
from torch import nn
from torch.utils.checkpoint import checkpoint

from synctrack import TrackInfo
from synctrack.attention import MultiHeadAttention
from synctrack.interfaces import Conditioner, Denoiser, Mixer
from synctrack.nn import LayerPlan, TimestepEmbedding, unet_plan, zero_module
from synctrack.recipe import PartSpec

from .attention_block import AttentionBlock
from .mixer_block import MixerBlock
from .pulse_block import PulseBlock, level_lags
from .resblock import ResBlock2d
from .sampling import Downsample2d, Upsample2d
from .song_conditions import SongConditioning


class Stage(nn.ModuleList):
    """A run of layers applied in order, each given what it needs (the embedding, the track mask)."""

    def forward(self, x: torch.Tensor, embedding: torch.Tensor, track_mask: torch.Tensor, checkpointing: bool,
                context: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlock2d):
                x = layer(x, embedding)
            elif isinstance(layer, AttentionBlock):
                if checkpointing and torch.is_grad_enabled():
                    x = checkpoint(layer, x, track_mask, context, use_reentrant=False)
                else:
                    x = layer(x, track_mask, context)
            elif isinstance(layer, MixerBlock):
                x = layer(x, track_mask)
            elif isinstance(layer, PulseBlock) and layer.steer is not None:
                x = layer(x, embedding)
            else:
                x = layer(x)
        return x


class UNet2D(Denoiser):
    """SyncTrack's U-Net: per-track latent-diffusion U-Net with cross-track mixers and a track conditioner.

    ``forward(x [B, S, C, T, F], noise_level [B], tracks [B, S]) -> [B, S, out_channels, T, F]``; rows of
    masked tracks are zero. ``noise_level`` may also be ``[B, S]``: each track's ResBlocks then see its own
    level (training with a diffusion's ``separate_track_levels``). T and F must be divisible by ``2 ** (len(channel_multipliers) - 1)``.
    ``attention_heads`` fixes the head count of every attention block instead of deriving it from
    ``head_dim`` (diffusers' MusicLDM export runs 8 heads everywhere; MusicLDM was trained with 32-d heads).
    ``song_conditioners`` (tempo, tags, ...) make it a conditional model (``context_kind = "song"``): ``context``
    is then a :class:`synctrack.conditions.SongConditions` (None: unconditional), whose embeddings join the
    timestep embedding (``song_condition_slot: timestep``) or are the tokens every attention block cross-attends
    to (``cross_attention``); ``condition_dropout`` is classifier-free guidance's p_uncond in training.
    ``self_attention_position: rotary`` rotates the per-track self-attention's queries and keys by each token's
    frame (RoFormer's rotary embedding along time): attention that knows how far apart two frames are, as a
    steady beat needs; ``none`` (latent diffusion's attention, the paper's) by default.
    ``mixer_block_levels`` (downsampling factors, e.g. ``[1, 2]``) adds a :class:`MixerBlock` running
    ``mixer_block_mixers`` after the ResBlocks of those levels: cross-track exchange finer in time than the
    attention levels, off in the paper's recipes. With no ``mixer_block_mixers`` no block is built (a
    no-mixer ablation empties both mixer lists).
    ``pulse_block_levels`` (factors) adds a per-track :class:`PulseBlock` after the ResBlocks of those levels:
    autocorrelation over time picks each track's ``pulse_top_k`` best lags within ``pulse_lags`` (frames of the
    input grid, ``[low, high]``; divided by each level's factor) and reinforces the features one period away,
    so a track can keep a steady beat. Off in the paper's recipes; not a mixer, so a no-mixer ablation keeps it.
    ``pulse_steering`` lets each pulse block read the ResBlocks' embedding (timestep, and the song conditions of
    the ``timestep`` slot) as a bias on its lags: how a tempo condition can set the period directly.
    """

    pretrained_component = "unet"
    accepts_track_levels = True

    def __init__(
        self,
        in_channels: int = 8,
        out_channels: int | None = None,
        base_channels: int = 128,
        channel_multipliers: list[int] = (1, 2, 3, 5),
        res_blocks: int = 2,
        attention_levels: list[int] = (2, 4, 8),
        middle_attention: bool = True,
        head_dim: int = 32,
        attention_heads: int | None = None,
        mixers: list[PartSpec[Mixer]] = (),
        mixer_block_levels: list[int] = (),
        mixer_block_mixers: list[PartSpec[Mixer]] = (),
        conditioner: Conditioner | None = None,
        song_conditioners: list[Conditioner] = (),
        song_condition_slot: Literal["timestep", "cross_attention"] = "timestep",
        condition_dropout: float = 0.0,
        embedding_join: Literal["concat", "add"] = "concat",
        second_self_attention: bool = True,
        self_attention_position: Literal["none", "rotary"] = "none",
        pulse_block_levels: list[int] = (),
        pulse_lags: tuple[int, int] = (8, 40),
        pulse_top_k: int = 4,
        pulse_steering: bool = False,
        dropout: float = 0.0,
        norm_groups: int = 32,
        attention_backend: str | None = None,
        checkpointing: bool = False,
    ) -> None:
        super().__init__()
        if attention_backend not in (None, "auto"):  # a built-in kernel or a plugin's: an unknown name fails here
            from synctrack.attention.dispatch import AttentionBackendError, get_backend

            try:
                get_backend(attention_backend, "attention_backend")
            except AttentionBackendError as error:
                raise ValueError(str(error)) from None
        if not channel_multipliers:
            raise ValueError("channel_multipliers is empty; give one multiplier per level, e.g. [1, 2, 3, 5]")
        factors = [2**level for level in range(len(channel_multipliers))]
        if unknown := [factor for factor in mixer_block_levels if factor not in factors]:
            raise ValueError(f"mixer_block_levels {unknown} are not levels of this U-Net; its downsampling factors are {factors}")
        if unknown := [factor for factor in pulse_block_levels if factor not in factors]:
            raise ValueError(f"pulse_block_levels {unknown} are not levels of this U-Net; its downsampling factors are {factors}")
        if len(pulse_lags) != 2 or not 1 <= pulse_lags[0] <= pulse_lags[1]:
            raise ValueError(f"pulse_lags {list(pulse_lags)} must be [low, high] frames with 1 <= low <= high, e.g. [8, 40]")
        for factor in pulse_block_levels:
            low, high = level_lags(pulse_lags, factor)
            if high < low:
                raise ValueError(f"pulse_lags {list(pulse_lags)} hold no whole lag at factor {factor}: widen them or drop that level")
        for width in {base_channels * m for m in channel_multipliers}:
            per_head = width // attention_heads if attention_heads else head_dim
            if width % per_head or width % norm_groups:
                raise ValueError(
                    f"channel width {width} (base_channels x multiplier) must be divisible by the head size {per_head} "
                    f"and norm_groups {norm_groups}"
                )
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.levels = len(channel_multipliers)
        self.checkpointing = checkpointing
        self.embedding_join = embedding_join

        time_dim = 4 * base_channels
        self.time_embedding = TimestepEmbedding(base_channels, time_dim)
        if conditioner is not None and conditioner.level != "track":
            raise ValueError(f"conditioner takes a per-track conditioner; {type(conditioner).__name__} is song-level: "
                             "list it under song_conditioners")
        if not 0.0 <= condition_dropout < 1.0:
            raise ValueError(f"condition_dropout is a probability in [0, 1), got {condition_dropout}")
        if condition_dropout and not song_conditioners:
            raise ValueError("condition_dropout drops song conditions, but this unet2d has no song_conditioners")
        self.conditioner = conditioner
        # song-level conditions (tempo, tags, ...) join the timestep embedding; CFG trains with condition_dropout
        self.song_conditioning = SongConditioning(list(song_conditioners), time_dim) if song_conditioners else None
        self.song_condition_slot = song_condition_slot
        cross_attention_dim = time_dim if self.song_conditioning is not None and song_condition_slot == "cross_attention" else None
        self.context_kind = "song" if song_conditioners else None
        self.condition_dropout = float(condition_dropout)
        condition_dim = conditioner.embedding_dim if conditioner is not None else 0
        self.condition_projection = nn.Linear(condition_dim, time_dim) if condition_dim else None
        embedding_dim = 2 * time_dim if (self.condition_projection is not None and embedding_join == "concat") else time_dim

        def layer(spec: LayerPlan) -> nn.Module:
            if spec.kind == "conv_in":
                return nn.Conv2d(spec.in_channels, spec.out_channels, 3, padding=1)
            if spec.kind == "res":
                return ResBlock2d(spec.in_channels, embedding_dim, spec.out_channels, dropout=dropout, norm_groups=norm_groups)
            if spec.kind == "down":
                return Downsample2d(spec.in_channels)
            if spec.kind == "up":
                return Upsample2d(spec.in_channels)
            if spec.kind == "mixers":
                return MixerBlock([mixer(dim=spec.in_channels) for mixer in mixer_block_mixers])
            if spec.kind == "pulse":  # the lags in this level's frames
                return PulseBlock(spec.in_channels, level_lags(pulse_lags, spec.factor), top_k=pulse_top_k,
                                  norm_groups=norm_groups, steer_dim=embedding_dim if pulse_steering else None)
            return AttentionBlock(
                spec.in_channels,
                head_dim=spec.in_channels // attention_heads if attention_heads else head_dim,
                mixers=[mixer(dim=spec.in_channels) for mixer in mixers],
                second_self_attention=second_self_attention,
                dropout=dropout,
                norm_groups=norm_groups,
                context_dim=cross_attention_dim,
                time_rotary=self_attention_position == "rotary",
            )

        plan = unet_plan(in_channels, base_channels, channel_multipliers, res_blocks, attention_levels, middle_attention,
                         mixer_levels=mixer_block_levels if mixer_block_mixers else (), pulse_levels=pulse_block_levels)
        self.input_blocks = nn.ModuleList([Stage([layer(spec) for spec in stage.layers]) for stage in plan.input])
        self.middle_block = Stage([layer(spec) for spec in plan.middle.layers])
        self.output_blocks = nn.ModuleList([Stage([layer(spec) for spec in stage.layers]) for stage in plan.output])
        channels = plan.final_channels

        self.out = nn.Sequential(
            nn.GroupNorm(norm_groups, channels, eps=1e-5),
            nn.SiLU(),
            zero_module(nn.Conv2d(channels, self.out_channels, 3, padding=1)),
        )
        if attention_backend is not None:
            for module in self.modules():
                if isinstance(module, MultiHeadAttention) and module.backend is None:
                    module.backend = attention_backend

    def pretrained_key_map(self, fmt: str, source_keys: set[str], config: dict | None) -> dict[str, str]:
        """``{own key: source key}`` for MusicLDM's U-Net in the LDM or diffusers layout."""
        from .pretrained import unet2d_key_map

        return unet2d_key_map(self, fmt, config)

    def song_conditioners(self) -> list[Conditioner]:
        return list(self.song_conditioning.conditioners) if self.song_conditioning is not None else []

    def embed(self, noise_level: torch.Tensor, tracks: TrackInfo, context: Any = None) -> torch.Tensor:
        """The per-track embedding every ResBlock receives: ``[B*S, E]``, from levels ``[B]`` (one per song) or
        ``[B, S]`` (one per track), plus the song's conditions (``context``) when the model takes them."""
        if noise_level.dim() == 2:
            embedding = self.time_embedding(rearrange(noise_level, "b s -> (b s)"))
        else:
            embedding = repeat(self.time_embedding(noise_level), "b e -> (b s) e", s=tracks.num_tracks)
        if self.song_conditioning is not None and self.song_condition_slot == "timestep":
            song = self.song_conditioning(context, tracks.batch_size)
            embedding = embedding + repeat(song.to(embedding.dtype), "b e -> (b s) e", s=tracks.num_tracks)
        if self.conditioner is None or self.condition_projection is None:
            return embedding
        condition = rearrange(self.condition_projection(self.conditioner(tracks)), "b s e -> (b s) e")
        return torch.cat([embedding, condition], dim=-1) if self.embedding_join == "concat" else embedding + condition

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor, tracks: TrackInfo, context: Any = None) -> torch.Tensor:
        """x ``[B, S, C, T, F]``, noise_level ``[B]`` or ``[B, S]``, tracks ``[B, S]`` -> ``[B, S, out_channels, T, F]``."""
        self._check_inputs(x, noise_level, tracks, context)
        track_mask = tracks.mask
        embedding = self.embed(noise_level, tracks, context)
        tokens = None  # the song's condition tokens, one per song conditioner, for the cross-attention slot
        if self.song_conditioning is not None and self.song_condition_slot == "cross_attention":
            tokens = repeat(self.song_conditioning.tokens(context, tracks.batch_size).to(x.dtype), "b k e -> (b s) k e",
                            s=tracks.num_tracks)
        h = rearrange(x, "b s c t f -> (b s) c t f")
        skips = []
        for stage in self.input_blocks:
            h = stage(h, embedding, track_mask, self.checkpointing, tokens)
            skips.append(h)
        h = self.middle_block(h, embedding, track_mask, self.checkpointing, tokens)
        for stage in self.output_blocks:
            h = stage(torch.cat([h, skips.pop()], dim=1), embedding, track_mask, self.checkpointing, tokens)
        out = rearrange(self.out(h), "(b s) c t f -> b s c t f", s=tracks.num_tracks)
        return out.masked_fill(~track_mask[:, :, None, None, None], 0.0)

    def _check_inputs(self, x: torch.Tensor, noise_level: torch.Tensor, tracks: TrackInfo, context: Any) -> None:
        if context is not None:
            if self.song_conditioning is None:
                raise ValueError("this unet2d has no song_conditioners: it takes no context")
            self.song_conditioning.check_context(context, x.shape[0])
        if x.dim() != 5:
            raise ValueError(f"unet2d takes latents [B, S, C, T, F], got shape {tuple(x.shape)}")
        batch, num_tracks, channels, frames, bins = x.shape
        if channels != self.in_channels:
            raise ValueError(f"unet2d was built for {self.in_channels} latent channels, got {channels}")
        if (batch, num_tracks) != (tracks.batch_size, tracks.num_tracks):
            raise ValueError(f"latents are [B, S] = {[batch, num_tracks]} but tracks are {[tracks.batch_size, tracks.num_tracks]}")
        if noise_level.shape not in ((batch,), (batch, num_tracks)):
            raise ValueError(f"noise_level must be [B] = [{batch}] or [B, S] = [{batch}, {num_tracks}], got {tuple(noise_level.shape)}")
        multiple = 2 ** (self.levels - 1)
        if frames % multiple or bins % multiple:
            raise ValueError(f"latent grid {frames} x {bins} must be divisible by {multiple} ({self.levels} levels)")

