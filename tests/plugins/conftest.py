"""Helpers and fixtures for tests of built-in parts."""

from __future__ import annotations

import pytest
import torch
from torch import nn


def randomize(module: nn.Module, seed: int = 0, scale: float = 0.2) -> nn.Module:
    """Give every parameter a random value (zero-initialised branches would hide what a test looks for)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * scale
            is_norm_weight = name.endswith("weight") and parameter.dim() == 1
            parameter.copy_(1.0 + noise if is_norm_weight else noise)
    return module


@pytest.fixture
def randomized():
    return randomize


@pytest.fixture
def one_thread():
    """Run a compute-heavy test on one intra-op thread: the machines running the suite share few cores, and
    small matmuls on two contended threads are many times slower than on one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
