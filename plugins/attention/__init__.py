"""The built-in attention kernels as registry parts (kind ``attention_backend``): ``naive``, ``sdpa`` and
``xformers``. They live in core (``synctrack.attention.BACKENDS``: ``auto`` and a run with plugins disabled
need them); registering them here lists them next to any plugin's kernel and reserves their names."""

from synctrack import hookimpl
from synctrack.attention.dispatch import BACKENDS, AttentionBackend


def naive() -> AttentionBackend:
    """Materialised softmax(q k^T / sqrt(d)) v in fp32: the reference every kernel is tested against."""
    return BACKENDS["naive"]


def sdpa() -> AttentionBackend:
    """torch.nn.functional.scaled_dot_product_attention (flash / memory-efficient kernels where available)."""
    return BACKENDS["sdpa"]


def xformers() -> AttentionBackend:
    """xformers.ops.memory_efficient_attention; CUDA only, optional extra synctrack[xformers]."""
    return BACKENDS["xformers"]


@hookimpl
def synctrack_register_parts(registry):
    for factory in (naive, sdpa, xformers):
        registry.add("attention_backend", factory.__name__, factory)
