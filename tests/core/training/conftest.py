"""Engine tests: the toy parts of engine_toys.py, installed as the process-wide registry."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import engine_toys  # noqa: E402
from synctrack.plugin_manager import _state  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and the machine is shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toys(monkeypatch):
    """The built-in plugins plus the engine's toy parts, as the process-wide registry."""
    manager, registry = engine_toys.make_registry()
    monkeypatch.setitem(_state, "registry", registry)
    monkeypatch.setitem(_state, "manager", manager)
    return registry


@pytest.fixture
def toy_recipe(tmp_path, toys, monkeypatch):
    """Write a toy training recipe into tmp_path (the working folder); returns its path."""
    monkeypatch.chdir(tmp_path)

    def write(name="toy.yaml", **kwargs):
        path = tmp_path / name
        path.write_text(engine_toys.recipe_text(**kwargs))
        return path

    return write

