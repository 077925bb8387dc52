"""Toy parts with every kind of argument, registered in a registry of their own."""

from __future__ import annotations

from typing import Literal

import pytest
import torch

from synctrack import hookimpl
from synctrack.interfaces import Conditioner, Denoiser, Mixer
from synctrack.plugin_manager import PluginManager, _state
from synctrack.recipe import PartSpec


class ToyMixer(Mixer):
    """A mixer with one required and one optional argument."""

    def __init__(self, dim: int, heads: int, zero_init: bool = False) -> None:
        super().__init__()
        self.dim, self.heads, self.zero_init = dim, heads, zero_init

    def forward(self, tokens, grid, track_mask):
        return torch.zeros_like(tokens)


class ToyConditioner(Conditioner):
    """Embeds instrument ids from a vocabulary."""

    def __init__(self, vocabulary: list[str], embedding_dim: int = 8) -> None:
        super().__init__()
        self.vocabulary, self.embedding_dim = vocabulary, embedding_dim


class ToyDenoiser(Denoiser):
    """Holds mixer specs and a conditioner, as a U-Net would."""

    def __init__(
        self,
        channels: int,
        mixers: list[PartSpec[Mixer]] = (),
        conditioner: Conditioner | None = None,
        dropout: float = 0.0,
        embedding_join: Literal["concat", "add"] = "concat",
        levels: tuple[int, ...] = (1, 2),
    ) -> None:
        super().__init__()
        self.channels = channels
        self.mixers = [spec(dim=channels) for spec in mixers]
        self.conditioner = conditioner
        self.dropout = dropout
        self.embedding_join = embedding_join
        self.levels = levels


class ToyPlugin:
    """A plugin object (not a module) registering the toy parts."""

    @staticmethod
    @hookimpl
    def synctrack_register_parts(registry):
        registry.add("mixer", "global_cross_track", ToyMixer, example={"heads": 2})
        registry.add("mixer", "time_cross_track", ToyMixer, example={"heads": 2})
        registry.add("mixer", "none", ToyMixer, example={"heads": 1})
        registry.add("conditioner", "instrument_prior", ToyConditioner, example={"vocabulary": ["bass"]})
        registry.add("denoiser", "toy_unet", ToyDenoiser, example={"channels": 4})


@pytest.fixture
def toy_registry(monkeypatch):
    """A registry of the toy parts only, installed as the process-wide registry."""
    manager = PluginManager(builtins=(), entry_points=False)
    manager.register(ToyPlugin(), "toys", source="tests")
    registry = manager.load()
    monkeypatch.setitem(_state, "registry", registry)
    monkeypatch.setitem(_state, "manager", manager)
    return registry


@pytest.fixture
def write(tmp_path, monkeypatch):
    """Write a recipe file under tmp_path (the working folder): ``write("a.yaml", text)`` returns its path."""
    monkeypatch.chdir(tmp_path)

    def _write(name: str, text: str):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write
