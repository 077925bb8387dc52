"""Tiny parts for engine tests: a denoiser, a dataset of songs, a frame encoder, a mel encoder and a vocoder.

``install()`` puts a registry of the built-in plugins plus these parts in place of the process-wide one; the
scripts that tests run in subprocesses (torchrun, kill tests) call it before the CLI.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from synctrack import hookimpl
from synctrack.interfaces import Dataset, Denoiser, Encoder, Vocoder
from synctrack.plugin_manager import PluginManager, _state

TRACK_NAMES = ["bass", "drums", "guitar", "piano"]


class ToyDenoiser(Denoiser):
    """An MLP over each track's flattened latents, its noise level, its instrument and the song's track mean,
    plus a level-dependent gain on the input (so noise prediction, a level-dependent rescaling, is easy)."""

    def __init__(self, features: int = 16, hidden: int = 64, instruments: int = 4, nan_after_calls: int = 0) -> None:
        super().__init__()
        self.features = features
        self.instrument = nn.Embedding(instruments, hidden)
        self.input = nn.Linear(2 * features + 8, hidden)
        self.output = nn.Linear(hidden, features)
        self.gain = nn.Sequential(nn.Linear(8, hidden), nn.SiLU(), nn.Linear(hidden, features))
        self.nan_after_calls = nan_after_calls  # > 0: outputs NaN from that call on (for the NaN guard test)
        self.calls = 0

    def forward(self, x, noise_level, tracks, context=None):
        self.calls += 1
        batch, count = x.shape[:2]
        flat = x.reshape(batch, count, -1)
        mean = (flat * tracks.mask[..., None]).sum(1, keepdim=True) / tracks.mask.sum(1).clamp(min=1)[:, None, None]
        periods = torch.tensor([1000.0, 100.0, 10.0, 1.0], device=x.device, dtype=x.dtype)
        level = noise_level.to(x.dtype)[:, None] / periods
        embedding = torch.cat([level.sin(), level.cos()], dim=-1)[:, None, :].expand(batch, count, -1)
        hidden = self.input(torch.cat([flat, mean.expand_as(flat), embedding], dim=-1))
        hidden = torch.nn.functional.silu(hidden + self.instrument(tracks.instrument_ids))
        out = (self.output(hidden) + self.gain(embedding) * flat).reshape(x.shape)
        if self.nan_after_calls and self.calls >= self.nan_after_calls:
            out = out * float("nan")
        return out


class ToySongs(Dataset):
    """Deterministic songs: each track a sum of two sinusoids whose phases and amplitudes depend on the index."""

    def __init__(self, num_songs: int = 8, tracks: int = 2, length: int = 16, sample_rate: int = 8000, seed: int = 0,
                 split: str = "train") -> None:
        self.num_songs, self.tracks, self.length, self.sample_rate, self.seed = num_songs, tracks, length, sample_rate, seed
        self.track_names = TRACK_NAMES[:tracks]

    def __len__(self) -> int:
        return self.num_songs

    def __getitem__(self, index: int):
        generator = torch.Generator().manual_seed(self.seed * 1000 + index)
        phase = torch.rand(self.tracks, 2, 1, generator=generator) * 2 * math.pi
        amplitude = 0.2 + 0.3 * torch.rand(self.tracks, 2, 1, generator=generator)
        time = torch.arange(self.length, dtype=torch.float32)
        frequency = torch.tensor([[1.0], [3.0]]) * 2 * math.pi / self.length
        audio = (amplitude * torch.sin(frequency * time + phase)).sum(1)
        return {"audio": audio.float(), "instrument_ids": torch.arange(self.tracks), "track_mask": torch.ones(self.tracks, dtype=torch.bool),
                "meta": {"song": index}}


class ToyFrames(Encoder):
    """Waveforms [B, S, L] -> frames [B, S, frame, L / frame] times 2; decodes back to waveforms."""

    decodes_to = "waveform"

    def __init__(self, frame: int = 4, sample_rate: int = 8000) -> None:
        super().__init__()
        self.frame, self.sample_rate = frame, sample_rate
        self.scale = nn.Parameter(torch.tensor(2.0))  # a (frozen) weight, like a real encoder's

    def encode(self, waveforms, generator=None):  # deterministic: ignores the generator
        batch, count, length = waveforms.shape
        return self.scale * waveforms.reshape(batch, count, length // self.frame, self.frame).transpose(-1, -2)

    def decode(self, latents, num_samples=None):
        batch, count = latents.shape[:2]
        return (latents / self.scale).transpose(-1, -2).reshape(batch, count, -1)[..., :num_samples]

    def latent_shape(self, num_samples: int):
        return (self.frame, num_samples // self.frame)


class ToyMelEncoder(ToyFrames):
    """Like ToyFrames, but decodes to a 'mel' (the frames themselves) for a vocoder."""

    decodes_to = "mel"

    def decode(self, latents, num_samples=None):
        return latents / self.scale


class ToyVocoder(Vocoder):
    """'Mels' [B, S, frame, T] -> waveforms [B, S, frame * T] (the inverse framing)."""

    def __init__(self, sample_rate: int = 8000) -> None:
        super().__init__()
        self.sample_rate = sample_rate

    def forward(self, features):
        batch, count = features.shape[:2]
        return features.transpose(-1, -2).reshape(batch, count, -1)


class ToyPlugin:
    @staticmethod
    @hookimpl
    def synctrack_register_parts(registry):
        registry.add("denoiser", "toy_mlp", ToyDenoiser)
        registry.add("dataset", "toy_songs", ToySongs)
        registry.add("encoder", "toy_frames", ToyFrames)
        registry.add("encoder", "toy_mel", ToyMelEncoder)
        registry.add("vocoder", "toy_vocoder", ToyVocoder)


def make_registry():
    manager = PluginManager(entry_points=False)
    manager.register(ToyPlugin(), "engine_toys", source="tests")
    return manager, manager.load()


def install() -> None:
    """Make the toy registry the process-wide one (for scripts run in subprocesses)."""
    manager, registry = make_registry()
    _state["registry"], _state["manager"] = registry, manager


RECIPE = """\
name: toy
model:
  denoiser: {{type: toy_mlp, features: 16}}
  diffusion: {{type: ddpm, num_timesteps: 100}}
  sampler: {{type: ddim, steps: 5}}
data: {{type: toy_songs, num_songs: {songs}, tracks: 2, length: 16}}
train:
  steps: {steps}
  batch_size: {batch}
  grad_accumulation: {accumulation}
  optimizer: {{lr: 0.003, weight_decay: 0.01}}
  warmup_steps: 3
  schedule: cosine
  checkpoint_every: {checkpoint_every}
  log_every: 1
  ema_decay: 0.9
  device: cpu
  seed: 3
"""


# A mel VAE that samples its posterior, as the default recipes' encoders do (synctrack.yaml, msgld.yaml), at
# a size that encodes a 256-sample toy clip to 2 x 8 x 4 latents (64 features per track) in milliseconds.
SAMPLING_VAE = """\
  encoder:
    type: mel_vae
    mel: {sample_rate: 8000, n_fft: 64, win_length: 64, hop_length: 16, n_mels: 8, f_min: 0.0, f_max: 4000.0}
    base_channels: 4
    channel_multipliers: [1, 2]
    res_blocks: 1
    latent_channels: 2
    norm_groups: 4
    mid_attention: false
    sample_posterior: true
"""


def recipe_text(songs=8, steps=20, batch=4, accumulation=1, checkpoint_every=10, extra="", sampling_encoder=False):
    """The toy recipe; ``sampling_encoder`` puts :data:`SAMPLING_VAE` in front of the denoiser (longer clips)."""
    text = RECIPE.format(songs=songs, steps=steps, batch=batch, accumulation=accumulation, checkpoint_every=checkpoint_every)
    if sampling_encoder:
        text = text.replace("  denoiser: {type: toy_mlp, features: 16}\n", SAMPLING_VAE + "  denoiser: {type: toy_mlp, features: 64}\n")
        text = text.replace("tracks: 2, length: 16}", "tracks: 2, length: 256}")
    return text + extra


def make_trainer(recipe_path, out, overrides=(), objective=None, **kwargs):
    """A Trainer of a toy recipe, built the way ``synctrack train`` builds it."""
    from synctrack import build, load_recipe
    from synctrack.training.objective import DiffusionObjective
    from synctrack.training.trainer import Trainer

    recipe = load_recipe(recipe_path, list(overrides)).validate()
    config = recipe.build("train")
    torch.manual_seed(config.seed)
    pipeline = build(recipe)
    objective = objective(pipeline) if objective is not None else DiffusionObjective(pipeline, seed=config.seed)
    return Trainer(objective, recipe.build("data"), config, out, recipe.dump(), show_progress=False, **kwargs)
