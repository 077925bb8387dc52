"""What the front-end trainer calls: encoders and vocoders that ``synctrack train`` can train itself.

``train.target: encoder`` trains a :class:`TrainableEncoder` (``mel_vae``), ``train.target: vocoder`` a
:class:`TrainableVocoder` (``hifigan``). The trainer brings optimizers, schedules, clipping, accumulation,
checkpoints, logs and previews; the part brings its losses. Adversarial parts (discriminators) stay in the
plugin that needs them: the encoder exposes them through ``discriminator_parameters`` and
``discriminator_loss``, the vocoder through the module ``training_objective()`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..noise import Generators
from .model import Encoder, Vocoder

Logs = Mapping[str, float]


class TrainableEncoder(Encoder):
    """An encoder with its own training losses (a VAE of mels, say), run by ``train.target: encoder``.

    Required: :meth:`training_inputs`, :meth:`training_loss`, :meth:`generator_parameters` (the first
    optimizer, ``autoencoder``). Optional: a discriminator, the second optimizer (``discriminator``), stepped
    after the autoencoder as in LDM's loop: :meth:`discriminator_parameters` (non-empty) with
    :meth:`discriminator_loss`, and :meth:`adversarial_active` saying from which step it runs (before that its
    optimizer gets zero gradients). Optional: :meth:`estimate_scale_factor`, stored in ``meta.json`` at every
    checkpoint, where ``init: {format: synctrack}`` finds it. ``generator`` arguments hold one generator per
    input (each track gets its song's generator of the step), so posterior noise does not depend on how the
    batch is split.
    """

    def training_inputs(self, waveforms: torch.Tensor) -> Any:
        """What the losses take, from waveforms ``[N, L]`` (``mel_vae``: log-mel images ``[N, 1, T, F]``)."""
        raise NotImplementedError

    def training_loss(self, inputs: Any, step: int | None = None, generator: Generators = None) -> tuple[torch.Tensor, Logs]:
        """The autoencoder's loss (a scalar) and named numbers to log."""
        raise NotImplementedError

    def generator_parameters(self) -> Sequence[nn.Parameter]:
        """The parameters the ``autoencoder`` optimizer steps."""
        raise NotImplementedError

    def discriminator_parameters(self) -> Sequence[nn.Parameter]:
        """The discriminator's parameters; empty (the default) when the encoder trains without one."""
        return []

    def discriminator_loss(self, inputs: Any, step: int | None = None, generator: Generators = None) -> tuple[torch.Tensor, Logs]:
        """The discriminator's loss and logs (called only when :meth:`discriminator_parameters` is non-empty)."""
        raise NotImplementedError

    def adversarial_active(self, step: int | None) -> bool:
        """Whether the discriminator takes part at ``step`` (default: always)."""
        return True

    def estimate_scale_factor(self, waveforms: torch.Tensor, generator: Generators = None, chunk: int = 4) -> float | None:
        """The latent scale (1 / std of the latents) over songs ``[B, S, L]``; None (the default): not estimated."""
        return None


class VocoderAdversary(nn.Module):
    """The adversarial half of a vocoder's training, kept by the vocoder's plugin: its parameters are the
    discriminators'. Waveforms are ``[N, L]``, mels ``[N, n_mels, frames]``."""

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError

    def generator_loss(self, real: torch.Tensor, fake: torch.Tensor, real_mel: torch.Tensor,
                       fake_mel: torch.Tensor) -> tuple[torch.Tensor, Logs]:
        raise NotImplementedError


class TrainableVocoder(Vocoder):
    """A vocoder ``synctrack train`` can train (``train.target: vocoder``): HiFi-GAN's loop, one random segment
    of ``train.segment_frames`` mel frames per present track, the ``discriminator`` optimizer stepped on (real,
    detached fake), then the ``generator`` optimizer on the vocoder's own parameters. ``mel_config`` says which
    mels it is trained on."""

    def training_objective(self) -> VocoderAdversary:
        """A fresh module holding the discriminators and the two losses."""
        raise NotImplementedError
