"""Attention kernels, chosen in one place.

Every attention in synctrack (per-track self-attention and the cross-track mixers, built-in or third-party)
calls :func:`attend`; which kernel runs is decided here, never in a layer. See :mod:`.dispatch`.
"""

from .cost import AttentionShape, attention_flops, naive_peak_bytes
from .dispatch import (
    BACKENDS,
    ENV_VAR,
    AttentionBackend,
    AttentionBackendError,
    attend,
    resolve_backend,
    use_backend,
)
from .module import MultiHeadAttention

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "AttentionBackend",
    "AttentionBackendError",
    "AttentionShape",
    "MultiHeadAttention",
    "attend",
    "attention_flops",
    "naive_peak_bytes",
    "resolve_backend",
    "use_backend",
]
