"""Shape checks and padding shared by the encoders."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from synctrack.errors import UserError


def round_up(value: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``value``."""
    return -(-value // multiple) * multiple


def check_multiple(name: str, value: int) -> int:
    if value < 1:
        raise UserError(f"{name} must be a positive integer, got {value}")
    return value


def check_waveforms(waveforms: torch.Tensor) -> torch.Tensor:
    """Waveforms must be ``[B, S, L]``."""
    if waveforms.dim() != 3:
        raise ValueError(f"encode expects waveforms [B, S, L], got shape {tuple(waveforms.shape)}")
    return waveforms


def check_latents(latents: torch.Tensor, channels: int, what: str, last: int | None = None) -> torch.Tensor:
    """Latents must be ``[B, S, channels, T, last]`` (``last=None``: any size)."""
    if latents.dim() != 5 or latents.shape[2] != channels or (last is not None and latents.shape[4] != last):
        expected = f"[B, S, {channels}, T, {last if last is not None else 'F'}]"
        raise ValueError(f"{what} expects latents {expected}, got shape {tuple(latents.shape)}")
    return latents


def pad_time(values: torch.Tensor, multiple: int, fill: float, dim: int = -1) -> torch.Tensor:
    """Pad axis ``dim`` at its end with ``fill`` up to a multiple of ``multiple``."""
    length = values.shape[dim]
    extra = round_up(length, multiple) - length
    if extra == 0:
        return values
    values = values.movedim(dim, -1)
    values = F.pad(values, (0, extra), value=fill)
    return values.movedim(-1, dim)
