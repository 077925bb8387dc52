"""Mixer forward time for every mixer x attention backend x track count (all tracks present, no autograd)."""

from __future__ import annotations

import os

import pytest
import torch

from synctrack import get_registry
from synctrack.attention import BACKENDS, attention_flops, use_backend
from synctrack.bench.attention import naive_skip_reason
from synctrack.bench.measure import available_memory
from synctrack.bench.options import DEFAULT_MIXERS, GRIDS, Grid, parse_mixers
from synctrack.interfaces import Mixer
from synctrack.recipe import PartSpec, build

SIZE = os.environ.get("SYNCTRACK_BENCH_SIZE", "full")
GRID = {"full": GRIDS["musicldm-ds2"], "smoke": Grid(4, 2, 32)}[SIZE]
TRACKS = {"full": (2, 4, 8, 16), "smoke": (1, 2)}[SIZE]
MIXERS = parse_mixers(DEFAULT_MIXERS, head_dim=32)


@pytest.mark.parametrize("tracks", TRACKS, ids=lambda s: f"S{s}")
@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("choice", MIXERS, ids=lambda choice: choice.label.replace(":", "-"))
def test_mixer_forward(benchmark, device, choice, backend, tracks):
    unavailable = BACKENDS[backend].unavailable_reason(device)
    if unavailable:
        pytest.skip(f"{backend}: {unavailable}")
    mixer = build(choice.node, PartSpec[Mixer], get_registry())(dim=GRID.dim).to(device).eval()
    grid = (GRID.frames, GRID.bins)
    shapes = mixer.attention_shapes(1, tracks, grid)
    if backend == "naive":
        available = available_memory(device)
        skip = naive_skip_reason(shapes, None if available is None else int(0.8 * available))
        if skip:
            pytest.skip(skip)
    tokens = torch.randn(1, tracks, GRID.tokens, GRID.dim, device=device)
    mask = torch.ones(1, tracks, dtype=torch.bool, device=device)
    benchmark.group = f"{choice.label} on {GRID.label}, S={tracks}"
    benchmark.extra_info.update(tokens=tracks * GRID.tokens, attention_gflop=attention_flops(shapes) / 1e9)
    with torch.no_grad(), use_backend(backend):
        update = benchmark(mixer, tokens, grid, mask)
    assert update.shape == tokens.shape and torch.isfinite(update).all()
