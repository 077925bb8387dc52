"""Whole-model cost: one training step (forward + backward) of the tiny and a small SyncTrack U-Net, with
and without its cross-track mixers, against the track count."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from synctrack import TrackInfo, load_recipe

SIZE = os.environ.get("SYNCTRACK_BENCH_SIZE", "full")
REPO = Path(__file__).resolve().parents[1]

# name: (recipe, overrides, latent grid T x F per size)
CONFIGS = {
    "tiny": ("recipes/tiny.yaml", [], {"full": (256, 16), "smoke": (8, 4)}),
    "small": ("recipes/synctrack.yaml", ["model.denoiser.base_channels=32"], {"full": (64, 16), "smoke": (8, 8)}),
}
TRACKS = {"full": (2, 4, 8), "smoke": (1, 2)}[SIZE]
VARIANTS = {"mixers": [], "no-mixers": ["model.denoiser.mixers=[]"]}


@pytest.mark.parametrize("tracks", TRACKS, ids=lambda s: f"S{s}")
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("config", CONFIGS)
def test_training_step(benchmark, device, config, variant, tracks):
    recipe, overrides, grids = CONFIGS[config]
    frames, bins = grids[SIZE]
    torch.manual_seed(0)
    denoiser = load_recipe(REPO / recipe, [*overrides, *VARIANTS[variant]]).build("model.denoiser").to(device).train()
    vocabulary = len(denoiser.conditioner.vocabulary)
    info = TrackInfo.full([s % vocabulary for s in range(tracks)], device=device)
    latents = torch.randn(1, tracks, denoiser.in_channels, frames, bins, device=device)
    levels = torch.full((1,), 500.0, device=device)

    def step() -> torch.Tensor:
        denoiser.zero_grad(set_to_none=True)
        loss = denoiser(latents, levels, info).square().mean()
        loss.backward()
        return loss

    benchmark.group = f"{config} U-Net on {frames}x{bins} latents, S={tracks}"
    benchmark.extra_info.update(parameters=sum(p.numel() for p in denoiser.parameters()))
    loss = benchmark.pedantic(step, rounds=3, warmup_rounds=1)
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in denoiser.parameters() if p.requires_grad)
