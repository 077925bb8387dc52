"""pytest-benchmark suites (``bench_*.py``). This file serves the cost suites: ``bench_attention.py`` (mixer x
attention backend x track count) and ``bench_model.py`` (whole-model forward + backward).

Run them with ``make bench`` (``pytest benchmarks --benchmark-only``); they are not part of ``make test``.
``SYNCTRACK_BENCH_SIZE`` picks the sizes of the cost suites:

- ``full`` (default): the MusicLDM ds-2 token grid (128 x 8 tokens of 256 channels) up to 16 tracks, and
  the tiny and small U-Nets on their latent grids; a few minutes on 2 CPU cores.
- ``smoke``: every case at its smallest size; with ``--benchmark-disable`` each runs once in seconds. The
  test suite runs this (tests/test_benchmarks_smoke.py), so a broken case fails CI.

Each case also checks what it computed (shapes, finite values), so a smoke run is a real test. Timings are
never asserted. The CLI (``synctrack bench``) measures the same cases in fresh processes, with peak memory
and GFLOP/s: use it for the figures in docs/benchmarks.md.
"""

from __future__ import annotations

import os

import pytest
import torch

SIZES = ("full", "smoke")
SIZE = os.environ.get("SYNCTRACK_BENCH_SIZE", "full")
if SIZE not in SIZES:
    raise pytest.UsageError(f"SYNCTRACK_BENCH_SIZE={SIZE!r}: choose one of {', '.join(SIZES)}")

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
