"""Initialisation helpers."""

from __future__ import annotations

from torch import nn


def zero_module(module: nn.Module) -> nn.Module:
    """Zero every parameter of ``module`` in place and return it (a residual branch that starts as identity)."""
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module
