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

    ``mixers_from_step``: the cross-track mixers (every :class:`~synctrack.interfaces.Mixer` of the trained
    modules) are skipped before this step, so the first steps train a per-track model at a per-track step's
    cost, and the mixers join it at this step; 0 (the default) trains them from the first step. A float below
    1 is a fraction of ``steps`` (0.3 of 1,000 steps: step 300), so the stages follow ``steps`` when an override
    or ``ablate --train-steps`` changes it. Give the mixers ``zero_init: true`` so that the model is unchanged
    when they join (docs/learning-speed.md, E13). ``schedule_per_stage``: each stage gets the whole learning-rate
    schedule (warm-up and decay) over its own steps, as two separate runs would; by default one schedule spans both.

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
    mixers_from_step: int | float = 0
    schedule_per_stage: bool = False
    seed: int = 0
    num_workers: int = 0
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    tensorboard: bool = True
    segment_frames: int = 32
    scale_factor_songs: int = 8

    def mixer_start_step(self) -> int:
        """The step at which the mixers join (``mixers_from_step``, a fraction resolved against ``steps``)."""
        if isinstance(self.mixers_from_step, float):
            return int(self.mixers_from_step * self.steps)
        return self.mixers_from_step


def range_problems(config: TrainSection) -> list[tuple[str, str]]:
    """``(key, message)`` for every ``train:`` value outside its range, keys relative to ``train``.

    The one place these ranges live: ``synctrack recipe validate`` reports them with the recipe's other
    problems, and the trainer refuses the same values (adding what depends on the process count).
    """
    problems = []
    for key in ("steps", "batch_size", "grad_accumulation", "checkpoint_every", "log_every", "sample_num", "probe_songs"):
        if getattr(config, key) < 1:
            problems.append((key, f"must be at least 1, got {getattr(config, key)}"))
    for key in ("sample_every", "probe_every", "probe_steps", "sample_steps"):
        if getattr(config, key) is not None and getattr(config, key) < 1:
            problems.append((key, f"must be at least 1 or null, got {getattr(config, key)}"))
    if config.batch_size >= 1 and config.grad_accumulation >= 1 and config.batch_size % config.grad_accumulation:
        problems.append(("batch_size", f"= {config.batch_size} (the global batch) must divide by grad_accumulation = "
                                        f"{config.grad_accumulation}"))
    if config.ema_decay is not None and not 0 < config.ema_decay < 1:
        problems.append(("ema_decay", f"must be in (0, 1) or null, got {config.ema_decay}"))
    if config.grad_clip is not None and config.grad_clip <= 0:
        problems.append(("grad_clip", f"must be positive or null, got {config.grad_clip}"))
    if not 0 < config.lr_decay <= 1:
        problems.append(("lr_decay", f"must be in (0, 1], got {config.lr_decay}"))
    if config.lr_decay_every < 1:
        problems.append(("lr_decay_every", f"must be at least 1, got {config.lr_decay_every}"))
    if config.segment_frames < 1:
        problems.append(("segment_frames", f"must be at least 1, got {config.segment_frames}"))
    if config.scale_factor_songs < 0:
        problems.append(("scale_factor_songs", f"must be 0 (no estimate) or more, got {config.scale_factor_songs}"))
    if config.optimizer.lr <= 0:
        problems.append(("optimizer.lr", f"must be positive, got {config.optimizer.lr}"))
    if config.optimizer.weight_decay < 0 or config.optimizer.eps <= 0:
        problems.append(("optimizer", f"weight_decay must be >= 0 and eps positive, got {config.optimizer.weight_decay} and {config.optimizer.eps}"))
    if not all(0 <= beta < 1 for beta in config.optimizer.betas):
        problems.append(("optimizer.betas", f"must each be in [0, 1), got {list(config.optimizer.betas)}"))
    if config.warmup_steps < 0:
        problems.append(("warmup_steps", f"must be 0 or more, got {config.warmup_steps}"))
    if not 0 <= config.min_lr_ratio <= 1:
        problems.append(("min_lr_ratio", f"must be in [0, 1], got {config.min_lr_ratio}"))
    problems += _mixer_start_problems(config)
    if config.num_workers < 0:
        problems.append(("num_workers", f"must be 0 or more, got {config.num_workers}"))
    return problems


def _mixer_start_problems(config: TrainSection) -> list[tuple[str, str]]:
    start = config.mixers_from_step
    if isinstance(start, float) and not 0 <= start < 1:
        return [("mixers_from_step", f"a decimal number is a fraction of train.steps and must be in [0, 1), got {start}; "
                                     "write a whole number for a step")]
    if isinstance(start, int) and not 0 <= start < max(config.steps, 1):
        return [("mixers_from_step", f"must be 0 or more and below train.steps = {config.steps} (the mixers would never "
                                     f"train), got {start}; a fraction such as 0.3 follows train.steps")]
    return []
