"""Rotary positions: the rotation against complex multiplication, scores that depend on the offset only, and
the attention layer's rotate hook."""

from __future__ import annotations

import pytest
import torch

from synctrack.attention import MultiHeadAttention
from synctrack.nn import RotaryEmbedding


def complex_reference(x: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    """RoFormer's definition: channel pair i as the complex number x_2i + j x_2i+1, times exp(j pos base^(-2i/d))."""
    head_dim = x.shape[-1]
    theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    phase = torch.polar(torch.ones(len(positions), head_dim // 2, dtype=torch.float64), positions.double()[:, None] * theta)
    pairs = torch.view_as_complex(x.double().reshape(*x.shape[:-1], head_dim // 2, 2).contiguous())
    return torch.view_as_real(pairs * phase).reshape(x.shape)


@pytest.mark.parametrize("base", [10000.0, 100.0])
def test_the_rotation_is_complex_multiplication_by_the_position_phase(base):
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 3, 2, 7, 8, generator=generator, dtype=torch.float64)
    positions = torch.tensor([0, 1, 2, 5, 9, 40, 1000])
    rotated_q, rotated_k = RotaryEmbedding(8, base)(q, k, positions)
    torch.testing.assert_close(rotated_q, complex_reference(q, positions, base))
    torch.testing.assert_close(rotated_k, complex_reference(k, positions, base))
    assert torch.equal(rotated_q[..., 0, :], q[..., 0, :])  # position 0: no rotation


def test_scores_depend_on_the_offset_between_tokens_only():
    generator = torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 1, 1, 6, 16, generator=generator, dtype=torch.float64)
    rotary = RotaryEmbedding(16)
    positions = torch.arange(6)
    scores = [torch.einsum("...qd,...kd->...qk", *rotary(q, k, positions + shift)) for shift in (0, 7, 123)]
    torch.testing.assert_close(scores[1], scores[0])
    torch.testing.assert_close(scores[2], scores[0])
    # the same query and key content at offsets 1 and 2 score differently: position is seen
    same_q, same_k = q[..., :1, :].expand(1, 1, 6, 16), k[..., :1, :].expand(1, 1, 6, 16)
    plain = torch.einsum("...qd,...kd->...qk", *rotary(same_q, same_k, positions))
    assert torch.allclose(plain[..., 0, 1], plain[..., 2, 3]) and not torch.allclose(plain[..., 0, 1], plain[..., 0, 2])


def test_the_attention_layer_rotates_queries_and_keys_and_not_values():
    torch.manual_seed(0)
    layer = MultiHeadAttention(16, head_dim=8).eval()
    x = torch.randn(2, 5, 16)
    rotary = RotaryEmbedding(8)
    with torch.no_grad():
        plain = layer(x)
        zero = layer(x, rotate=lambda q, k: rotary(q, k, torch.zeros(5)))  # every token at one position
        rotated = layer(x, rotate=lambda q, k: rotary(q, k, torch.arange(5)))
        shifted = layer(x, rotate=lambda q, k: rotary(q, k, torch.arange(5) + 30))
    torch.testing.assert_close(zero, plain)
    torch.testing.assert_close(shifted, rotated, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(rotated, plain)


@pytest.mark.parametrize(("args", "fragment"), [
    ((7,), "head_dim must be even, got 7"),
    ((8, 1.0), "base must be above 1"),
])
def test_bad_settings_are_explained(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        RotaryEmbedding(*args)


def test_one_position_per_token_is_required():
    q = torch.zeros(1, 1, 4, 8)
    with pytest.raises(ValueError, match="one position per token: 4 queries, 4 keys, positions \\(3,\\)"):
        RotaryEmbedding(8)(q, q, torch.arange(3))
