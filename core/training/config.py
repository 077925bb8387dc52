"""The ``train:`` recipe section: how long, how big, how fast, how often to save and sample.

Every field has a default, so a recipe without ``train:`` trains with them. ``target`` says which part of
the recipe's model is trained: the diffusion model (the default), or one part of the audio front end, the
encoder (``mel_vae``) or the vocoder (``hifigan``). See docs/training.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class OptimizerSection:
    """AdamW settings (shared by every optimizer of an objective unless it sets its own per group)."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    eps: float = 1e-8


@dataclass
class TrainSection:
    """Training settings.

    ``batch_size`` is the GLOBAL batch: songs per optimizer step over all processes and accumulation steps.
    It must divide by ``world_size * grad_accumulation``; each process then loads ``batch_size / world_size``
    songs per step and runs them in ``grad_accumulation`` micro-batches. The same global batch gives the
    same training whatever the world size.

    ``target``: ``diffusion`` trains the denoiser on the encoder's latents; ``encoder`` trains ``model.encoder``
    alone on the data's tracks (the latent ``scale_factor`` is re-estimated from ``scale_factor_songs`` songs at
    every checkpoint); ``vocoder`` trains ``model.vocoder`` on random segments of ``segment_frames`` mel
    frames cut from the data's tracks. Only the trained part is built and saved.

    ``probe_every``: every so many steps, run the sync probe (``synctrack probe``, docs/learning-speed.md) on
    ``probe_songs`` songs sampled with ``probe_steps`` sampler steps (default: the recipe's) and the EMA
    weights, and log it to ``log.jsonl`` as a ``probe`` event: the run's learning curve. Diffusion runs only.

    ``schedule``: ``constant``; ``cosine`` down to ``lr * min_lr_ratio`` at ``steps``; ``exponential``
    multiplies the rate by ``lr_decay`` every ``lr_decay_every`` steps (HiFi-GAN decays by 0.999 per epoch).
    """

    target: Literal["diffusion", "encoder", "vocoder"] = "diffusion"
    steps: int = 10000
    batch_size: int = 16
    grad_accumulation: int = 1
    optimizer: OptimizerSection = field(default_factory=OptimizerSection)
    warmup_steps: int = 0
    schedule: Literal["constant", "cosine", "exponential"] = "constant"
    min_lr_ratio: float = 0.0
    lr_decay: float = 0.999
    lr_decay_every: int = 1000
    grad_clip: float | None = 1.0
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    ema_decay: float | None = 0.9999
    ema_warmup: bool = True
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 10
    sample_every: int | None = None
    sample_num: int = 2
    sample_steps: int | None = None
    probe_every: int | None = None
    probe_songs: int = 8
    probe_steps: int | None = None
    seed: int = 0
    num_workers: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    tensorboard: bool = True
    segment_frames: int = 32
    scale_factor_songs: int = 8
