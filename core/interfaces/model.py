"""Interfaces of the network parts: encoder, denoiser, mixer, conditioner, vocoder.

Shapes: ``B`` songs, ``S`` tracks, ``C`` channels, ``T`` x ``F`` a time-frequency grid, ``L`` samples.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import nn

from ..attention.cost import AttentionShape
from ..noise import Generators
from ..tracks import TrackInfo
from .base import PartInterface
from .weights import InitSpec


class Pretrainable(PartInterface):
    """Parts whose recipe node may hold ``init: {from: PATH, format: auto|ldm|diffusers, strict: false}``.

    The part declares ``pretrained_component`` and ``pretrained_key_map`` (see synctrack.pretrained); the
    recipe builder loads the weights right after building the part (:mod:`synctrack.recipe.node_options`).
    """

    node_options: ClassVar[dict[str, Any]] = {"init": InitSpec | None}


class Encoder(Pretrainable, nn.Module):
    """Maps waveforms to the space the diffusion runs in, and back to what the vocoder takes.

    ``encode(waveforms, generator=None)``: waveforms ``[B, S, L]`` -> latents ``[B, S, C, T, F]`` (or
    ``[B, S, C, L']`` for waveform models), already multiplied by ``scale_factor``; any track count ``S``
    (tracks are folded into the batch). An encoder that draws random numbers (a VAE sampling its
    posterior) draws them from ``generator`` as :mod:`synctrack.noise` defines it: None (the global stream),
    one generator, or one per song, song ``b``'s draws then coming from ``generator[b]`` only. The trainer
    passes the per-song generators of the step, so the latents of a song do not depend on how the batch is
    split over processes; a deterministic encoder accepts the argument and ignores it.
    ``decode``: latents -> what ``decodes_to`` says:

    - ``"mel"``: a log-mel ``[B, S, n_mels, frames]`` for a vocoder. Note the transposition: a mel latent
      puts frames on its T axis and mel bins on its F axis, the vocoder layout is ``[n_mels, frames]``.
    - ``"waveform"``: waveforms ``[B, S, L']``; no vocoder is needed.

    Encoders may pad the time axis (to a multiple their latent grid needs). ``decode(latents,
    num_samples=L)`` crops the result to what a clip of ``L`` samples gives (``L`` samples, or
    ``L // hop_length`` mel frames); with ``num_samples=None`` nothing is cropped.

    ``decodes_to`` is ``"mel"`` or ``"waveform"`` (above); ``mel_config`` is the
    :class:`synctrack.audio.MelConfig` of a mel encoder (None for waveform encoders): a vocoder fits when
    its ``mel_config`` is equal.

    ``additive`` says that encoding is linear across tracks: the latent of a mixture is the sum of its
    tracks' latents (true for the waveform encoder, false for mel encoders). Separating a mixture by
    constraining the generated tracks to sum to it (MSDM's Dirac likelihood) needs it.
    """

    registry_kind: ClassVar[str] = "encoder"
    sample_rate: int
    scale_factor: float = 1.0
    decodes_to: ClassVar[Literal["mel", "waveform"]] = "mel"
    additive: ClassVar[bool] = False
    mel_config: Any = None

    def encode(self, waveforms: torch.Tensor, generator: Generators = None) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, latents: torch.Tensor, num_samples: int | None = None) -> torch.Tensor:
        raise NotImplementedError

    def latent_shape(self, num_samples: int) -> tuple[int, ...]:
        """Per-track latent shape (without B, S) for a clip of ``num_samples`` samples."""
        raise NotImplementedError


class Denoiser(Pretrainable, nn.Module):
    """Predicts from noisy latents ``[B, S, ...]`` a tensor of the same shape (noise, v or x0).

    ``forward(x, noise_level, tracks, context=None)``: ``noise_level`` is ``[B]`` (a timestep or a sigma, as
    the diffusion defines), ``tracks`` a :class:`TrackInfo` of ``[B, S]``, ``context`` an optional
    condition whose meaning ``context_kind`` declares:

    - ``None`` (the default): the denoiser takes no condition; ``context`` is always None.
    - ``"mixture"``: the song's mixture (its tracks summed, clipped to [-1, 1]) through the pipeline's
      encoder, ``[B, ...]`` with one track's latent shape. ``context=None`` means "no condition" and is what
      classifier-free guidance's unconditional pass sends. The pipeline makes it from every training batch
      and from a user's mixture at sampling time (MSG-LD).
    - ``"song"``: song-level conditions (tempo, tags, a prompt), a :class:`synctrack.conditions.SongConditions`
      of ``B`` songs read by the conditioners ``song_conditioners()`` lists; a field it lacks, a song whose
      ``keep`` is False and ``context=None`` all mean "no condition" for that conditioner.

    ``latent_problem(shape)`` says why the denoiser cannot run a song's latents of ``shape`` (``[S, C, ...]``:
    tracks, then one track's latent shape), or returns None; the pipeline asks before training and sampling,
    so that a track count, clip length or encoder setting that cannot work is reported as such, not as a
    shape error deep inside the network.

    ``accepts_track_levels`` (default False) declares that ``forward`` also takes ``noise_level`` ``[B, S]``, one
    level per track, which a diffusion trained with ``separate_track_levels`` sends.

    ``condition_dropout`` (a probability, default 0) asks the pipeline to drop the condition of each training
    song with that probability (classifier-free guidance trains the unconditional model this way). The
    pipeline draws it from the song's own generator and passes a dropped condition as zeros, which the
    denoiser must read as "no condition", exactly as it reads None.
    """

    registry_kind: ClassVar[str] = "denoiser"
    context_kind: str | None = None
    accepts_track_levels: ClassVar[bool] = False
    condition_dropout: float = 0.0

    @property
    def accepts_context(self) -> bool:
        """Whether ``forward`` takes a condition (``context_kind`` is set)."""
        return self.context_kind is not None

    def latent_problem(self, shape: tuple[int, ...]) -> str | None:
        """Why a song's latents of ``shape`` ``[S, C, ...]`` cannot be denoised, or None (default: no check)."""
        return None

    def forward(
        self, x: torch.Tensor, noise_level: torch.Tensor, tracks: TrackInfo, context: Any = None
    ) -> torch.Tensor:
        raise NotImplementedError

    def song_conditioners(self) -> list[SongConditioner]:
        """The song-level conditioners a ``context_kind = "song"`` denoiser reads (default: none)."""
        return []


class Mixer(PartInterface, nn.Module):
    """Exchanges information between the tracks of one song.

    ``forward(tokens, grid, track_mask)``: ``tokens`` ``[B, S, N, D]`` in track-major order, ``grid`` the
    ``(T', F')`` layout of the ``N = T' * F'`` tokens of a track, ``track_mask`` ``[B, S]`` bool. Returns a
    residual update ``[B, S, N, D]`` (the host adds it); rows of masked tracks are zero, and a masked track
    never influences another. A song's update never depends on another song of the batch.

    The host passes ``dim`` (the token width ``D``) when it builds the mixer. A mixer whose ``active`` is False
    returns zeros without running ``forward`` (the first stage of a ``train.mixers_from_step`` run).

    ``attention_shapes(batch, tracks, grid)`` (optional) lists the attentions one forward runs, so that
    cost estimates and ``synctrack bench`` can count FLOPs and memory; the default, None, means unknown.
    """

    registry_kind: ClassVar[str] = "mixer"
    runtime_args: ClassVar[dict[str, Any]] = {"dim": 32}
    # False: the mixer is skipped (its update is zero, it costs nothing and gets no gradient). The trainer
    # sets it to stage a run (``train.mixers_from_step``); a built model always starts active.
    active: bool = True

    def __call__(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        if not self.active:
            return torch.zeros_like(tokens)
        return super().__call__(tokens, grid, track_mask)

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def attention_shapes(self, batch: int, tracks: int, grid: tuple[int, int]) -> list[AttentionShape] | None:
        """The attention calls of one forward on ``[batch, tracks]`` songs of ``grid`` tokens (None: unknown)."""
        return None


def mixers_in(module: nn.Module) -> list[Mixer]:
    """Every cross-track :class:`Mixer` inside ``module`` (itself included), in module order."""
    return [part for part in module.modules() if isinstance(part, Mixer)]


class Conditioner(PartInterface, nn.Module):
    """Per-track embeddings from track identities: ``TrackInfo [B, S]`` -> ``[B, S, embedding_dim]``.

    ``level`` is ``"track"`` here; song-level conditioners (:class:`SongConditioner`) are of the same kind.
    """

    registry_kind: ClassVar[str] = "conditioner"
    level: ClassVar[Literal["track", "song"]] = "track"
    embedding_dim: int

    def forward(self, tracks: TrackInfo) -> torch.Tensor:
        raise NotImplementedError


class SongConditioner(Conditioner):
    """A song-level embedding from one field of :class:`synctrack.conditions.SongConditions`:
    ``forward(conditions)`` -> ``[B, embedding_dim]``.

    ``field`` names what it reads (``"tempo"``, ``"tags"`` or ``"prompt"``). ``forward`` embeds every song as
    asked; the host replaces the songs whose condition is dropped (``conditions.kept()`` False) by its own
    learned null embedding, so a conditioner never sees "no condition". ``check(conditions)`` raises a
    :class:`~synctrack.errors.UserError` for a value it cannot take (an unknown tag, a tempo out of range),
    and ``accepts()`` says in words what it takes, for the messages of the sampling commands.
    """

    level: ClassVar[Literal["track", "song"]] = "song"
    field: ClassVar[str]

    def forward(self, conditions: Any) -> torch.Tensor:
        raise NotImplementedError

    def check(self, conditions: Any) -> None:
        """Raise a UserError naming a value of ``conditions`` this conditioner cannot take (default: none)."""

    def accepts(self) -> str:
        """What it takes, in words (e.g. ``"tempo: 30 to 300 BPM"``)."""
        return self.field


class Vocoder(Pretrainable, nn.Module):
    """Turns a log-mel ``[B, S, n_mels, frames]`` into waveforms ``[B, S, frames * hop_length]``.

    ``mel_config`` (a :class:`synctrack.audio.MelConfig`) says which mels it expects; an encoder with
    ``decodes_to == "mel"`` feeds it when their mel configs are equal.
    """

    registry_kind: ClassVar[str] = "vocoder"
    sample_rate: int
    mel_config: Any = None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
