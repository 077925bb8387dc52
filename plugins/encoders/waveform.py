"""The ``waveform`` encoder: waveforms are the latents, for waveform diffusion models such as MSDM."""

from __future__ import annotations

import torch
from einops import rearrange

from synctrack.interfaces import Encoder
from synctrack.noise import Generators

from .common import check_multiple, check_waveforms, pad_time, round_up


class WaveformEncoder(Encoder):
    """Identity on waveforms: latents [B, S, 1, L'], zero-padded to a multiple of ``multiple``.

    ``multiple`` is what the waveform model's downsampling needs (for MSDM's U-Net, the patch size times the
    product of its down factors). Padding is silence at the end; the original length is not stored in the
    latents, so ``decode(latents, num_samples=L)`` crops back to ``L`` samples (the caller knows ``L``:
    it is the clip length of the recipe or of the given tracks); ``num_samples=None`` returns all ``L'``
    samples. Decodes to waveforms: no vocoder is needed.
    """

    decodes_to = "waveform"
    additive = True  # the latent of a mixture is the sum of its tracks' latents

    def __init__(self, sample_rate: int = 16000, multiple: int = 1, scale_factor: float = 1.0) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.multiple = check_multiple("multiple", multiple)
        self.scale_factor = scale_factor

    def latent_shape(self, num_samples: int) -> tuple[int, int]:
        """``(1, num_samples rounded up to multiple)``."""
        return (1, round_up(num_samples, self.multiple))

    def encode(self, waveforms: torch.Tensor, generator: Generators = None) -> torch.Tensor:  # noqa: ARG002 - deterministic
        """Waveforms ``[B, S, L]`` -> latents ``[B, S, 1, L']``, ``L'`` = ``L`` rounded up to ``multiple``."""
        padded = pad_time(check_waveforms(waveforms), self.multiple, fill=0.0)
        return rearrange(padded, "b s l -> b s 1 l") * self.scale_factor

    def decode(self, latents: torch.Tensor, num_samples: int | None = None) -> torch.Tensor:
        """Latents ``[B, S, 1, L']`` -> waveforms ``[B, S, L']``, or ``[B, S, num_samples]`` when given."""
        if latents.dim() != 4 or latents.shape[2] != 1:
            raise ValueError(f"the waveform encoder expects latents [B, S, 1, L'], got shape {tuple(latents.shape)}")
        waveforms = rearrange(latents, "b s 1 l -> b s l") / self.scale_factor
        if num_samples is not None:
            if num_samples > waveforms.shape[-1]:
                raise ValueError(f"num_samples={num_samples} exceeds the {waveforms.shape[-1]} samples of the latents")
            waveforms = waveforms[..., :num_samples]
        return waveforms
