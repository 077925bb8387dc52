"""Shared test setup: a clean plugin environment, a numba cache, and helpers to run the CLI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".venv" / "numba-cache"))
sys.path.insert(0, str(REPO / "tests" / "helpers"))  # helpers shared by test folders (listening_pages, browser)
from commands import run_cli  # noqa: E402  (on the path just above)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _clean_plugin_environment(monkeypatch):
    """Tests start from the environment a user has by default: no plugin switches set."""
    for name in ("SYNCTRACK_STRICT_PLUGINS", "SYNCTRACK_DISABLE_PLUGINS", "SYNCTRACK_ATTENTION"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def cli():
    return run_cli
