"""The attention dispatch: a table of kernels with declared constraints, and how one is chosen.

All kernels take ``q [B, H, Nq, Dh]``, ``k, v [B, H, Nk, Dh]`` and an optional key mask ``[B, Nk]`` (True
where a key may be attended to) and return ``[B, H, Nq, Dh]``.

- ``naive``: the materialised ``softmax(q k^T / sqrt(Dh)) v``; the fp32 reference (memory ``Nq x Nk``).
- ``sdpa``: :func:`torch.nn.functional.scaled_dot_product_attention` (flash/memory-efficient kernels).
- ``xformers``: ``xformers.ops.memory_efficient_attention`` in its ``[B, N, H, Dh]`` layout; CUDA only.
- ``auto``: xformers on CUDA when importable, else sdpa.
- any kernel a plugin registers as kind ``attention_backend`` (an :class:`~synctrack.interfaces.AttentionKernel`).

The backend is chosen, most specific first, by: the :func:`use_backend` context manager, the backend a
layer was configured with (a recipe key), the ``SYNCTRACK_ATTENTION`` environment variable, then ``auto``.
An explicit backend that cannot run here raises :class:`AttentionBackendError` saying why and what to do.

A query whose keys are all masked gets a zero output (never NaN), whichever kernel runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..interfaces.attention import AttentionKernel

ENV_VAR = "SYNCTRACK_ATTENTION"
BUILT_IN = ("naive", "sdpa", "xformers")  # kept in core: ``auto`` and a run with plugins disabled need them
CHOICES = ("auto", *BUILT_IN)  # the built-in choices; plugins add theirs (see :func:`backend_names`)


class AttentionBackendError(UserError):
    """An attention backend that cannot run on this device or install."""


Kernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


@dataclass
class AttentionBackend(AttentionKernel):
    """A kernel function and what it needs: device types, an importable module, and how to fix a missing need."""

    name: str
    kernel: Kernel
    device_types: frozenset[str] | None = None  # None: any device
    requires_module: str | None = None
    install_hint: str = ""

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        return self.kernel(q, k, v, key_mask)


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
    """Materialised softmax attention: ``[B, H, Nq, Dh]``; the reference every other kernel is tested against."""
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
    """torch's fused attention; the mask (when any) is passed as a boolean ``[B, 1, 1, Nk]``."""
    mask = None if key_mask is None else key_mask[:, None, None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


def xformers_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
    """xformers' memory-efficient attention, adapted from and back to the ``[B, H, N, Dh]`` layout.

    xformers wants ``[B, N, H, Dh]`` and an additive bias ``[B, H, Nq, Nk]`` whose storage has its last
    dimension padded to a multiple of 8, so the key mask becomes ``-inf`` entries in such a bias.
    """
    ops = importlib.import_module("xformers.ops")
    bias = None
    if key_mask is not None:
        batch, heads, queries, keys = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
        padded = -(-keys // 8) * 8
        storage = torch.zeros(batch, heads, queries, padded, dtype=q.dtype, device=q.device)
        bias = storage[..., :keys]
        bias.masked_fill_(~key_mask[:, None, None, :], float("-inf"))
    out = ops.memory_efficient_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_bias=bias)
    return out.transpose(1, 2)


BACKENDS: dict[str, AttentionBackend] = {
    "naive": AttentionBackend("naive", naive_attention),
    "sdpa": AttentionBackend("sdpa", sdpa_attention),
    "xformers": AttentionBackend(
        "xformers",
        xformers_attention,
        device_types=frozenset({"cuda"}),
        requires_module="xformers",
        install_hint="pip install 'synctrack[xformers]' on a CUDA machine; on CPU use sdpa",
    ),
}

_context: contextvars.ContextVar[str | None] = contextvars.ContextVar("synctrack_attention", default=None)


_plugged: dict[tuple[int, str], AttentionKernel] = {}  # (id of the registry, name) -> the plugin's kernel


def _registry():
    from ..plugin_manager import get_registry  # loads the plugins: only when a name is not built in

    return get_registry()


def backend_names() -> list[str]:
    """Every name a backend may be chosen by: ``auto``, the built-in kernels, then the plugins' kernels."""
    return [*CHOICES, *(name for name in _registry().names("attention_backend") if name not in BUILT_IN)]


def get_backend(name: str, source: str = "attention backend") -> AttentionKernel:
    """The kernel registered as ``name`` (a built-in one, or a plugin's); ``source`` names where it was asked for."""
    if name in BACKENDS:
        return BACKENDS[name]
    registry = _registry()
    key = (id(registry), name)
    if key not in _plugged:
        if ("attention_backend", name) not in registry:
            from ..naming import did_you_mean

            names = backend_names()
            raise AttentionBackendError(
                f"{source}: unknown attention backend {name!r}{did_you_mean(name, names, ' choose one of: ' + ', '.join(names))}"
            )
        part = registry.get("attention_backend", name)
        kernel = part.factory()
        if not isinstance(kernel, AttentionKernel):
            raise AttentionBackendError(f"attention backend {name!r} (plugin {part.plugin!r}) built a "
                                        f"{type(kernel).__name__}, not an AttentionKernel")
        _plugged[key] = kernel
    return _plugged[key]


def _check_choice(name: str, source: str) -> str:
    if name != "auto":
        get_backend(name, source)
    return name


@contextlib.contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Run every attention inside the block with backend ``name`` (overrides recipes and the environment)."""
    token = _context.set(_check_choice(name, "use_backend"))
    try:
        yield
    finally:
        _context.reset(token)


def resolve_backend(configured: str | None, device: torch.device) -> AttentionKernel:
    """The backend to run: context manager, then ``configured``, then ``$SYNCTRACK_ATTENTION``, then auto."""
    name = _context.get()
    source = "use_backend()"
    if name is None and configured is not None:
        name, source = configured, "the recipe's attention_backend"
    if name is None and os.environ.get(ENV_VAR):
        name, source = os.environ[ENV_VAR].strip(), f"${ENV_VAR}"
    if name is None or name == "auto":
        _check_choice(name or "auto", source)
        xformers = BACKENDS["xformers"]
        return xformers if xformers.unavailable_reason(device) is None else BACKENDS["sdpa"]
    backend = get_backend(name, source)
    reason = backend.unavailable_reason(device)
    if reason is not None:
        raise AttentionBackendError(f"attention backend {name!r} (from {source}) cannot run: {reason}")
    return backend


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    key_mask: torch.Tensor | None = None,
    backend: str | None = None,
) -> torch.Tensor:
    """Scaled dot-product attention through the chosen kernel.

    Args:
        q: ``[B, H, Nq, Dh]``; k, v: ``[B, H, Nk, Dh]``.
        key_mask: ``[B, Nk]`` bool, True where a key takes part; None means all keys do.
        backend: the layer's configured backend (``auto``, ``naive``, ``sdpa``, ``xformers``, a plugin's) or None.

    Returns:
        ``[B, H, Nq, Dh]``; queries with no key to attend to get zeros.
    """
    kernel = resolve_backend(backend, q.device)
    if key_mask is None:
        return kernel(q, k, v, None)
    if key_mask.shape != (q.shape[0], k.shape[2]):
        raise ValueError(f"key_mask must be [B, Nk] = {[q.shape[0], k.shape[2]]}, got {list(key_mask.shape)}")
    if bool(key_mask.all()):
        return kernel(q, k, v, None)
    # Softmax over no keys is NaN; let such rows attend to everything, then zero their output.
    empty = ~key_mask.any(dim=-1)
    out = kernel(q, k, v, key_mask | empty[:, None])
    return out.masked_fill(empty[:, None, None, None], 0.0)
