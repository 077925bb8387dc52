"""Fixtures of the plugin tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a compute-heavy test on one intra-op thread: the machines running the suite share few cores, and
    small matmuls on two contended threads are many times slower than on one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
