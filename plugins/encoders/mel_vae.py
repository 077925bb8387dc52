"""The ``mel_vae`` encoder: MusicLDM's KL autoencoder on log-mels, and its training objective."""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange

from synctrack.audio import MelConfig, MelSpectrogram
from synctrack.errors import UserError
from synctrack.interfaces import TrainableEncoder
from synctrack.noise import Generators, normal

from .autoencoder_kl import AutoencoderKL, DiagonalGaussian
from .common import check_latents, check_waveforms, pad_time, round_up
from .patch_discriminator import PatchDiscriminator, hinge_discriminator_loss, hinge_generator_loss


class MelVAE(TrainableEncoder):
    """KL autoencoder on log-mels (MusicLDM): a 1 x 1024 x 64 mel <-> 8 x 256 x 16 latents.

    A track's log-mel ``[n_mels, frames]`` is transposed to an image ``[1, T = frames, F = n_mels]`` (frames
    on T, mel bins on F) and encoded to ``[latent_channels, T / f, F / f]`` with
    ``f = 2 ** (len(channel_multipliers) - 1)``. Frames are padded with silence (the log floor) up to a
    multiple of ``f``; ``decode(latents, num_samples=L)`` crops back to ``L // hop_length`` frames.

    ``encode`` samples the posterior (``sample_posterior=True``, as latent diffusion trains on samples) or
    takes its mean, then multiplies by ``scale_factor``: 1.0753 for MusicLDM's weights; for a VAE trained by
    ``synctrack train`` (``train.target: encoder``), the value its checkpoint records (see
    :meth:`estimate_scale_factor`). Left unset (``None``) it is 1.0, or the checkpoint's value when the node
    loads one with ``init: {format: synctrack}``; a value set in the recipe always wins.

    Training (driven by the trainer, see docs/audio.md): :meth:`training_loss` returns the reconstruction
    (L1 or L2) plus ``kl_weight`` times the KL, both per input element, so ``kl_weight`` means what it means
    in LDM's loss; with ``adversarial=True`` a patch discriminator (``self.discriminator``) adds a hinge
    loss, weighted adaptively as in LDM, from step ``adversarial_start`` on, and
    :meth:`discriminator_loss` trains it.
    """

    decodes_to = "mel"
    pretrained_component = "vae"
    # keys of a synctrack checkpoint that only training uses: left out when a VAE without them loads one
    training_only_prefixes = ("discriminator.",)

    def __init__(
        self,
        mel: MelConfig = MelConfig(),
        base_channels: int = 128,
        channel_multipliers: list[int] = [1, 2, 4],
        res_blocks: int = 2,
        latent_channels: int = 8,
        norm_groups: int = 32,
        mid_attention: bool = True,
        dropout: float = 0.0,
        scale_factor: float | None = None,
        sample_posterior: bool = True,
        kl_weight: float = 1.0,
        reconstruction: Literal["l1", "l2"] = "l1",
        adversarial: bool = False,
        adversarial_weight: float = 0.5,
        adversarial_start: int = 0,
        discriminator_channels: int = 64,
        discriminator_layers: int = 3,
    ) -> None:
        super().__init__()
        mel = MelConfig.of(mel)
        factor = 2 ** (len(channel_multipliers) - 1)
        problems = []
        if not channel_multipliers:
            problems.append("channel_multipliers must not be empty")
        if mel.n_mels % factor:
            problems.append(f"mel.n_mels ({mel.n_mels}) must be divisible by the downsampling factor {factor} "
                            f"(2 ** (len(channel_multipliers) - 1))")
        widths = [base_channels * m for m in channel_multipliers]
        if any(width % norm_groups for width in widths):
            problems.append(f"norm_groups ({norm_groups}) must divide every level width {widths} "
                            f"(base_channels x channel_multipliers)")
        if problems:
            raise UserError("mel_vae: " + "; ".join(problems))
        self.front_end = MelSpectrogram(mel)
        self.mel_config = mel
        self.sample_rate = mel.sample_rate
        self.autoencoder = AutoencoderKL(
            in_channels=1,
            base_channels=base_channels,
            channel_multipliers=channel_multipliers,
            res_blocks=res_blocks,
            latent_channels=latent_channels,
            norm_groups=norm_groups,
            mid_attention=mid_attention,
            dropout=dropout,
        )
        self.downsampling = factor
        self.latent_channels = latent_channels
        self.scale_factor = 1.0 if scale_factor is None else scale_factor
        self.scale_factor_from_recipe = scale_factor is not None  # an init: checkpoint's value does not override it
        self.sample_posterior = sample_posterior
        self.kl_weight = kl_weight
        self.reconstruction = reconstruction
        self.adversarial = adversarial
        self.adversarial_weight = adversarial_weight
        self.adversarial_start = adversarial_start
        self.discriminator = (
            PatchDiscriminator(1, discriminator_channels, discriminator_layers) if adversarial else None
        )

    # -- the encoder contract -------------------------------------------------------------------------------

    def latent_shape(self, num_samples: int) -> tuple[int, int, int]:
        """``(latent_channels, ceil(frames / f), n_mels / f)``; 163840 samples -> (8, 256, 16)."""
        frames = round_up(self.mel_config.num_frames(num_samples), self.downsampling)
        return (self.latent_channels, frames // self.downsampling, self.mel_config.n_mels // self.downsampling)

    def training_inputs(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Waveforms ``[..., L]`` -> VAE images ``[N, 1, T, n_mels]`` (log-mel, frames padded to a multiple of f)."""
        log_mel = pad_time(self.front_end(waveforms), self.downsampling, fill=self.front_end.log_min)
        return rearrange(log_mel.reshape(-1, *log_mel.shape[-2:]), "n m t -> n 1 t m")

    def encode(self, waveforms: torch.Tensor, sample: bool | None = None, generator: Generators = None) -> torch.Tensor:
        """Waveforms ``[B, S, L]`` -> scaled latents ``[B, S, C, T / f, n_mels / f]``.

        ``sample`` overrides ``sample_posterior`` (False: the posterior mean, deterministic). The posterior
        noise comes from ``generator``: None (the global stream), one generator for the whole batch, or one
        per song (song ``b``'s tracks from ``generator[b]`` only, so a song's latents do not depend on the
        batch it is in; see :mod:`synctrack.noise`).
        """
        batch = check_waveforms(waveforms).shape[0]
        posterior = self.autoencoder.encode(self.training_inputs(waveforms))
        draw = self.sample_posterior if sample is None else sample
        if not draw:
            z = posterior.mode()
        elif generator is None:
            z = posterior.sample()
        else:
            z = posterior.sample_with(self._posterior_noise(posterior, batch, generator))
        return rearrange(z * self.scale_factor, "(b s) c t f -> b s c t f", b=batch)

    @staticmethod
    def _posterior_noise(posterior: DiagonalGaussian, batch: int, generator: Generators) -> torch.Tensor:
        """Standard normal noise ``[B * S, C, T, F]`` for the posterior from ``generator`` (with one per song,
        song ``b``'s rows from ``generator[b]``), drawn on the generator's device and moved to the latents'."""
        per_song = (batch, posterior.mean.shape[0] // batch, *posterior.mean.shape[1:])
        noise = normal(per_song, generator, device=posterior.mean.device, dtype=posterior.mean.dtype)
        return rearrange(noise, "b s c t f -> (b s) c t f")

    def decode(self, latents: torch.Tensor, num_samples: int | None = None) -> torch.Tensor:
        """Scaled latents ``[B, S, C, T', F']`` -> log-mel ``[B, S, n_mels, T' * f]`` (cropped to ``num_samples // hop``)."""
        check_latents(latents, self.latent_channels, "mel_vae", last=self.mel_config.n_mels // self.downsampling)
        batch = latents.shape[0]
        images = self.autoencoder.decode(rearrange(latents / self.scale_factor, "b s c t f -> (b s) c t f"))
        log_mel = rearrange(images, "(b s) 1 t m -> b s m t", b=batch)
        if num_samples is not None:
            log_mel = log_mel[..., : self.mel_config.num_frames(num_samples)]
        return log_mel

    @torch.no_grad()
    def estimate_scale_factor(
        self, waveforms: torch.Tensor, generator: torch.Generator | None = None, chunk: int | None = None
    ) -> float:
        """``1 / std`` of the unscaled posterior samples of ``waveforms`` ``[B, S, L]`` (LDM's scale_by_std).

        ``chunk`` encodes that many songs at a time (bounded memory; the statistic is the same); ``generator``
        draws the posterior samples. ``synctrack train`` (``train.target: encoder``) stores the value in every
        checkpoint and ``init: {format: synctrack}`` applies it; otherwise put it in the recipe
        (``scale_factor``) so that the diffusion sees unit-variance latents.
        """
        waveforms = check_waveforms(waveforms)
        step = chunk or waveforms.shape[0]
        count, total, squares = 0, 0.0, 0.0
        for start in range(0, waveforms.shape[0], step):
            posterior = self.autoencoder.encode(self.training_inputs(waveforms[start : start + step]))
            z = posterior.sample(generator).double()
            count, total, squares = count + z.numel(), total + float(z.sum()), squares + float(z.square().sum())
        variance = (squares - total * total / count) / max(count - 1, 1)  # unbiased, as torch.std
        return float(1.0 / max(variance, 1e-24) ** 0.5)

    def pretrained_key_map(self, fmt: str, source_keys: set[str], config: dict | None) -> dict[str, str]:
        """``{own key: source key}`` for ``init:`` from MusicLDM's VAE (LDM or diffusers layout); the
        discriminator has no source and stays new. A diffusers ``scaling_factor`` is not applied: set the
        recipe's ``scale_factor`` to it."""
        from .pretrained import check_diffusers_config, mel_vae_key_map

        levels = len(self.autoencoder.encoder.down)
        if config is not None:
            widths = [level.block[-1].conv2.out_channels for level in self.autoencoder.encoder.down]
            res_blocks = len(self.autoencoder.encoder.down[0].block)
            check_diffusers_config(config, widths, self.latent_channels, res_blocks)
        return mel_vae_key_map(list(self.state_dict()), fmt, levels)

    # -- training -------------------------------------------------------------------------------------------

    def forward(
        self, mel: torch.Tensor, sample: bool = True, generator: Generators = None
    ) -> tuple[torch.Tensor, DiagonalGaussian]:
        """VAE images ``[N, 1, T, F]`` -> (reconstruction ``[N, 1, T, F]``, posterior).

        The posterior noise comes from ``generator`` (None: the global stream; a list: one per image, as the
        trainer passes them, each track of a song drawing from its song's generator).
        """
        posterior = self.autoencoder.encode(self._check_images(mel))
        if not sample:
            z = posterior.mode()
        elif generator is None:
            z = posterior.sample()
        else:
            z = posterior.sample_with(normal(posterior.mean.shape, generator, posterior.mean.device, posterior.mean.dtype))
        return self.autoencoder.decode(z), posterior

    def generator_parameters(self) -> list[torch.nn.Parameter]:
        """The autoencoder's parameters (what :meth:`training_loss` trains)."""
        return list(self.autoencoder.parameters())

    def discriminator_parameters(self) -> list[torch.nn.Parameter]:
        """The discriminator's parameters (what :meth:`discriminator_loss` trains); empty without one."""
        return [] if self.discriminator is None else list(self.discriminator.parameters())

    def adversarial_active(self, step: int | None) -> bool:
        return self.discriminator is not None and (step is None or step >= self.adversarial_start)

    def training_loss(
        self, mel: torch.Tensor, step: int | None = None, generator: Generators = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The autoencoder's loss on VAE images ``[N, 1, T, F]`` (see :meth:`training_inputs`); the posterior
        sample draws from ``generator`` (see :meth:`forward`).

        ``reconstruction + kl_weight * kl (+ adaptive_weight * adversarial)``, where ``reconstruction`` is the
        mean absolute (or squared) error and ``kl`` the posterior's KL to N(0, I) per input element. The
        adversarial term needs ``adversarial=True`` and ``step >= adversarial_start`` (``step=None``: on).
        Returns ``(loss, logs)``; backpropagate ``loss`` into :meth:`generator_parameters` only (it also
        leaves gradients on the discriminator: zero them before its step).
        """
        reconstruction, posterior = self(mel, generator=generator)
        error = reconstruction - mel
        rec_loss = error.abs().mean() if self.reconstruction == "l1" else error.square().mean()
        kl = posterior.kl().mean() / mel[0].numel()
        loss = rec_loss + self.kl_weight * kl
        logs = {"reconstruction": float(rec_loss.detach()), "kl": float(kl.detach())}
        if self.adversarial_active(step):
            adversarial = hinge_generator_loss(self.discriminator(reconstruction))
            weight = self.adversarial_weight * self._adaptive_weight(rec_loss, adversarial)
            loss = loss + weight * adversarial
            logs.update(adversarial=float(adversarial.detach()), adversarial_weight=float(weight))
        logs["loss"] = float(loss.detach())
        return loss, logs

    def discriminator_loss(
        self, mel: torch.Tensor, reconstruction: torch.Tensor | None = None, step: int | None = None,
        generator: Generators = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Hinge loss of the patch discriminator on real VAE images ``[N, 1, T, F]`` and their reconstructions.

        ``reconstruction`` (detached here) defaults to a fresh one made without gradients (its posterior
        sample drawn from ``generator``). Before
        ``adversarial_start`` the loss is zero (still differentiable) so a trainer can call it every step.
        """
        if self.discriminator is None:
            raise UserError("mel_vae: discriminator_loss needs adversarial: true in the recipe")
        if reconstruction is None:
            with torch.no_grad():
                reconstruction, _ = self(mel, generator=generator)
        real_logits = self.discriminator(self._check_images(mel))
        fake_logits = self.discriminator(reconstruction.detach())
        loss = hinge_discriminator_loss(real_logits, fake_logits)
        if not self.adversarial_active(step):
            loss = loss * 0.0
        logs = {
            "discriminator": float(loss.detach()),
            "logits_real": float(real_logits.detach().mean()),
            "logits_fake": float(fake_logits.detach().mean()),
        }
        return loss, logs

    def _adaptive_weight(self, rec_loss: torch.Tensor, adversarial: torch.Tensor) -> torch.Tensor:
        """LDM's balance: ``|grad rec| / |grad adversarial|`` at the decoder's last layer, clamped to [0, 1e4]."""
        last = self.autoencoder.last_layer
        if not (torch.is_grad_enabled() and rec_loss.requires_grad and adversarial.requires_grad):
            return torch.ones((), device=rec_loss.device)
        rec_grad = torch.autograd.grad(rec_loss, last, retain_graph=True)[0]
        adv_grad = torch.autograd.grad(adversarial, last, retain_graph=True)[0]
        return (rec_grad.norm() / (adv_grad.norm() + 1e-4)).clamp(0.0, 1e4).detach()

    def _check_images(self, mel: torch.Tensor) -> torch.Tensor:
        n_mels = self.mel_config.n_mels
        if mel.dim() != 4 or mel.shape[1] != 1 or mel.shape[3] != n_mels or mel.shape[2] % self.downsampling:
            raise ValueError(
                f"mel_vae expects images [N, 1, T, {n_mels}] with T a multiple of {self.downsampling} "
                f"(use training_inputs(waveforms)), got shape {tuple(mel.shape)}"
            )
        return mel
