"""What HiFi-GAN's generator and its discriminators share: the leaky-ReLU slope and "same" padding."""

from __future__ import annotations

LRELU_SLOPE = 0.1


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """Padding that keeps the length of a stride-1 convolution with ``kernel_size`` and ``dilation``."""
    return (kernel_size * dilation - dilation) // 2
