"""Helpers and fixtures for tests of built-in parts."""

from __future__ import annotations

import pytest
import torch

from synctrack.testing import randomize


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
