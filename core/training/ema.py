"""Exponential moving average of the trained weights, used for sampling."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn


def flat_state(modules: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    """``{"<module>.<key>": tensor}`` over the modules' state dicts (parameters and buffers)."""
    return {f"{name}.{key}": value for name, module in modules.items() for key, value in module.state_dict().items()}


def load_flat_state(modules: Mapping[str, nn.Module], state: Mapping[str, torch.Tensor], strict: bool = True) -> None:
    """Load a :func:`flat_state` dict back into the modules."""
    for name, module in modules.items():
        prefix = f"{name}."
        part = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
        module.load_state_dict(part, strict=strict)


class EMA:
    """Shadow weights ``w_ema <- d * w_ema + (1 - d) * w`` after every optimizer step.

    With ``warmup`` the decay is ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (as in LDM), so early
    averages are not dominated by the random initialisation. Integer buffers are copied.
    """

    def __init__(self, modules: Mapping[str, nn.Module], decay: float, warmup: bool = True) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay, self.warmup = decay, warmup
        self.shadow = {key: value.detach().clone() for key, value in flat_state(modules).items()}
        self.updates = 0

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, modules: Mapping[str, nn.Module]) -> None:
        decay = self.current_decay()
        for key, value in flat_state(modules).items():
            shadow = self.shadow[key]
            if shadow.is_floating_point():
                shadow.lerp_(value.detach().to(shadow.dtype), 1.0 - decay)
            else:
                shadow.copy_(value)
        self.updates += 1

    def to(self, device: torch.device) -> EMA:
        self.shadow = {key: value.to(device) for key, value in self.shadow.items()}
        return self

    @contextmanager
    def applied(self, modules: Mapping[str, nn.Module]) -> Iterator[None]:
        """Run the block with the EMA weights loaded; the trained weights come back afterwards."""
        backup = {key: value.detach().clone() for key, value in flat_state(modules).items()}
        load_flat_state(modules, self.shadow)
        try:
            yield
        finally:
            load_flat_state(modules, backup)
