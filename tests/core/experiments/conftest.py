"""Tiny versions of the CPU benchmark recipes: the same structure, a fraction of a second per step."""

from __future__ import annotations

import pytest

TINY = [
    "data.clip_seconds=1.28",
    "train.batch_size=2",
    "train.checkpoint_every=1",
    "train.log_every=1",
    # the recipe's 16 base channels stay: its global mixer's single 64-d head needs a 64-wide attention level
    "model.denoiser.head_dim=8",
    "model.sampler.steps=3",
]


@pytest.fixture
def tiny_overrides():
    return list(TINY)


@pytest.fixture
def tiny_env(tmp_path):
    """A beat cache of the test's own, and the numba cache shared with the rest of the suite."""
    return {"SYNCTRACK_CACHE": str(tmp_path / "cache")}
