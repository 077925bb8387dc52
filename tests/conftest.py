"""Shared test setup: a clean plugin environment, a numba cache, and helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".venv" / "numba-cache"))
sys.path.insert(0, str(REPO / "tests" / "helpers"))  # helpers shared by test folders (listening_pages)
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


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m synctrack ARGS`` in a fresh process; returns the completed process (text output)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "synctrack", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
