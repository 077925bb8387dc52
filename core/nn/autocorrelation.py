"""Time-delay aggregation by autocorrelation (Autoformer, Wu et al. 2021), along the time axis of a feature map.

A steady beat is a pattern that repeats every period. Attention compares tokens by content, so a denoiser that
uses it to keep a pulse must learn, for every tempo, which tokens lie one period away. Autocorrelation finds the
period directly: the correlation of a track's queries with its keys at every lag ``tau`` (all lags at once with
one FFT), the ``top_k`` lags in the range a beat can take, and the values shifted by each of those lags, summed
with softmax weights of their correlations. Onsets one period apart then reinforce each other wherever they
sit in the clip. Each row of the batch (each track) finds its own lags.

Unlike Autoformer, which forecasts, a clip is not periodic: the correlation is linear (zero-padded, not
circular), each lag's correlation is a mean over the frames both sides cover, and a shift fills the frames it
leaves with zeros instead of wrapping the clip around. Lags run both ways (``+tau`` reads the frame ``tau``
later, ``-tau`` the one ``tau`` earlier). Time is the last axis here (``[N, C, F, T]``): the FFTs then run
over contiguous memory.
"""

from __future__ import annotations

import torch


def lag_correlation(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``R[n, tau] = mean over (c, f, t) of q[n, c, f, t + tau] * k[n, c, f, t]`` for ``q``, ``k`` ``[N, C, F, T]``.

    Returns ``[N, 2T - 1]`` with lag ``tau = j - (T - 1)`` at index ``j`` (so index ``T - 1`` is lag 0). The mean
    over ``t`` runs over the ``T - |tau|`` frames where both exist.
    """
    frames = q.shape[-1]
    size = 2 * frames  # zero padding to twice the length: the FFT's circular correlation becomes the linear one
    spectrum = (torch.fft.rfft(q.float(), n=size) * torch.fft.rfft(k.float(), n=size).conj()).sum(dim=(1, 2))
    circular = torch.fft.irfft(spectrum, n=size)  # [N, 2T]: index m holds lag m (mod 2T)
    linear = torch.cat([circular[:, size - frames + 1:], circular[:, :frames]], dim=1)  # lags -(T-1) .. T-1
    lags = torch.arange(-(frames - 1), frames, device=q.device)
    overlap = (frames - lags.abs()).to(linear.dtype) * q.shape[1] * q.shape[2]
    return (linear / overlap).to(q.dtype)


def delay_sum(v: torch.Tensor, lags: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``out[n, c, f, t] = sum_i weights[n, i] * v[n, c, f, t + lags[n, i]]``, a frame outside the clip reading 0.

    ``v`` ``[N, C, F, T]``, ``lags`` ``[N, K]`` (integers, ``|lag| < T``), ``weights`` ``[N, K]`` -> ``[N, C, F, T]``.
    One FFT product instead of ``K`` shifted copies: the weighted lags are a sparse kernel ``h``, and the sum is
    the correlation of ``v`` with ``h`` (zero-padded to ``2T``, so no frame wraps around).
    """
    frames = v.shape[-1]
    size = 2 * frames
    kernel = torch.zeros(v.shape[0], size, dtype=torch.float32, device=v.device)
    kernel = kernel.scatter_add(1, lags % size, weights.float())  # [N, 2T]: each weight at its lag (mod 2T)
    spectrum = torch.fft.rfft(v.float(), n=size) * torch.fft.rfft(kernel).conj()[:, None, None, :]
    return torch.fft.irfft(spectrum, n=size)[..., :frames].to(v.dtype)


def allowed_lags(frames: int, lag_range: tuple[int, int], device: torch.device | None = None) -> torch.Tensor:
    """The lags a beat may take at this resolution: ``+-(low .. high)``, ``high`` capped at ``T - 2`` frames."""
    low, high = lag_range
    high = min(high, frames - 2)
    if low < 1 or high < low:
        raise ValueError(f"lag range {list(lag_range)} leaves no lag for {frames} frames: give 1 <= low <= high < {frames - 1}")
    magnitudes = torch.arange(low, high + 1, device=device)
    return torch.cat([-magnitudes.flip(0), magnitudes])


def autocorrelation_aggregate(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lag_range: tuple[int, int],
                              top_k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum of ``v`` shifted by each row's ``top_k`` best-correlated lags in ``+-lag_range``, softmax-weighted.

    ``q``, ``k`` ``[N, Cqk, F, T]``, ``v`` ``[N, C, F, T]`` -> ``(out [N, C, F, T], lags [N, K], weights [N, K])``.
    The lag choice is not differentiable; the weights are (through ``q`` and ``k``), and so is ``out`` through ``v``.
    """
    frames = q.shape[-1]
    candidates = allowed_lags(frames, lag_range, q.device)  # [L]
    scores = lag_correlation(q, k)[:, candidates + frames - 1]  # [N, L]
    best, picked = scores.topk(min(top_k, candidates.numel()), dim=1)  # [N, K]
    lags = candidates[picked]
    weights = best.softmax(dim=1)
    return delay_sum(v, lags, weights), lags, weights
