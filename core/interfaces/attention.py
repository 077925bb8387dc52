"""The interface of attention kernels, the backends behind ``synctrack.attention.attend``."""

from __future__ import annotations

import importlib.util
from typing import ClassVar

import torch

from .base import PartInterface


class AttentionKernel(PartInterface):
    """Scaled dot-product attention: ``kernel(q, k, v, key_mask) -> [B, H, Nq, Dh]``.

    ``q`` is ``[B, H, Nq, Dh]``, ``k`` and ``v`` ``[B, H, Nk, Dh]``, ``key_mask`` ``[B, Nk]`` bool (True where a
    key takes part) or None. The dispatch never sends a query whose keys are all masked (it handles those
    itself), so a kernel need not guard against an empty softmax. ``device_types`` (None: any),
    ``requires_module`` and ``install_hint`` say where the kernel runs and how to get what it needs; the
    dispatch checks them before the first call and names the fix. A plugin registers one with
    ``registry.add("attention_backend", NAME, factory)``; ``attention_backend: NAME`` in a denoiser's recipe,
    ``SYNCTRACK_ATTENTION=NAME`` or ``synctrack.attention.use_backend(NAME)`` then selects it.
    """

    registry_kind: ClassVar[str] = "attention_backend"
    name: str  # the name it is registered under (informative)
    device_types: frozenset[str] | None = None
    requires_module: str | None = None
    install_hint: str = ""

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def unavailable_reason(self, device: torch.device) -> str | None:
        """Why this kernel cannot run on ``device`` (None when it can)."""
        if self.requires_module and importlib.util.find_spec(self.requires_module) is None:
            return f"the module {self.requires_module!r} is not installed ({self.install_hint})"
        if self.device_types is not None and device.type not in self.device_types:
            allowed = ", ".join(sorted(self.device_types))
            return f"it runs only on {allowed} devices, and the tensors are on {device.type}"
        return None
