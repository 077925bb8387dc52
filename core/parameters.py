"""Parameter counts of built parts, split by role (the U-Net proper, its mixers, its conditioner)."""

from __future__ import annotations

from torch import nn

from .interfaces import Conditioner, Mixer

ROLES: tuple[tuple[str, type], ...] = (("mixers", Mixer), ("conditioner", Conditioner))


def parameter_breakdown(module: nn.Module, name: str = "network") -> dict[str, int]:
    """``{name: n, "mixers": n, "conditioner": n, "total": n}``: each parameter counted once, under the
    role of its nearest enclosing mixer or conditioner, else under ``name``."""
    counts = {name: 0, **{role: 0 for role, _ in ROLES}}
    owners: dict[int, str] = {}
    for _, submodule in module.named_modules():
        for role, interface in ROLES:
            if isinstance(submodule, interface):
                for parameter in submodule.parameters():
                    owners.setdefault(id(parameter), role)
    for parameter in module.parameters():
        counts[owners.get(id(parameter), name)] += parameter.numel()
    counts["total"] = sum(counts.values())
    return counts
