"""Time-delay aggregation by autocorrelation (Autoformer, Wu et al. 2021), along the time axis of a feature map.

A steady beat is a pattern that repeats every period. Attention compares tokens by content, so a denoiser that
uses it to keep a pulse must learn, for every tempo, which tokens lie one period away. Autocorrelation finds the
period directly: the correlation of a track's queries with its keys at every lag ``tau``, the ``top_k`` lags in
the range a beat can take, and the values shifted by each of those lags, summed with softmax weights of their
correlations. Onsets one period apart then reinforce each other wherever they sit in the clip. Each row of the
batch (each track) finds its own lags.

Unlike Autoformer, which forecasts, a clip is not periodic: the correlation is linear (not circular), each lag's
correlation is a mean over the frames both sides cover, and a shift fills the frames it leaves with zeros
instead of wrapping the clip around. Lags run both ways (``+tau`` reads the frame ``tau`` later, ``-tau`` the
one ``tau`` earlier).

Autoformer uses FFTs. A U-Net level holds tens to a few hundred frames, and there a ``T x T`` matrix product is
cheaper, forward and backward: the frame-by-frame Gram matrix gives every lag's correlation as a sum along one
diagonal, and the chosen shifts are one sparse ``T x T`` delay matrix (docs/learning-speed.md, E19: the bench
block's step at 80 frames costs 12 ms instead of 22). Time is axis 2 (``[N, C, T, F]``), where the 2-D U-Net
keeps it, so nothing is transposed.
"""

from __future__ import annotations

import torch


def lag_correlation(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``R[n, tau] = mean over (c, t, f) of q[n, c, t + tau, f] * k[n, c, t, f]`` for ``q``, ``k`` ``[N, C, T, F]``.

    Returns ``[N, 2T - 1]`` with lag ``tau = j - (T - 1)`` at index ``j`` (so index ``T - 1`` is lag 0). The mean
    over ``t`` runs over the ``T - |tau|`` frames where both exist.
    """
    rows, channels, frames, bands = q.shape
    gram = torch.einsum("nctf,ncsf->nts", q, k)  # [N, T, T]: q's frame t against k's frame s, lag t - s
    frame = torch.arange(frames, device=q.device)
    lag_index = (frame[:, None] - frame[None, :] + frames - 1).flatten()  # each Gram entry's column in R
    sums = gram.new_zeros(rows, 2 * frames - 1).index_add(1, lag_index, gram.flatten(1))
    lags = torch.arange(-(frames - 1), frames, device=q.device)
    return sums / ((frames - lags.abs()) * channels * bands).to(sums.dtype)


def delay_matrix(lags: torch.Tensor, weights: torch.Tensor, frames: int) -> torch.Tensor:
    """``D[n, t, s]``: the sum of ``weights[n, i]`` over the lags with ``s = t + lags[n, i]`` inside the clip.

    ``lags`` ``[N, K]`` (integers), ``weights`` ``[N, K]`` -> ``[N, T, T]``, differentiable in ``weights``.
    """
    source = torch.arange(frames, device=lags.device)[None, :, None] + lags[:, None, :]  # [N, T, K]
    inside = (source >= 0) & (source < frames)
    per_frame = weights[:, None, :] * inside  # a frame whose source lies outside reads 0
    zeros = weights.new_zeros(lags.shape[0], frames, frames)
    return zeros.scatter_add(2, source.clamp(0, frames - 1), per_frame)


def delay_sum(v: torch.Tensor, lags: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``out[n, c, t, f] = sum_i weights[n, i] * v[n, c, t + lags[n, i], f]``, a frame outside the clip reading 0.

    ``v`` ``[N, C, T, F]``, ``lags`` ``[N, K]`` (integers), ``weights`` ``[N, K]`` -> ``[N, C, T, F]``.
    """
    delays = delay_matrix(lags, weights, v.shape[2]).to(v.dtype)
    return torch.einsum("nts,ncsf->nctf", delays, v)


def allowed_lags(frames: int, lag_range: tuple[int, int], device: torch.device | None = None) -> torch.Tensor:
    """The lags a beat may take at this resolution: ``+-(low .. high)``, ``high`` capped at ``T - 2`` frames."""
    low, high = lag_range
    high = min(high, frames - 2)
    if low < 1 or high < low:
        raise ValueError(f"lag range {list(lag_range)} leaves no lag for {frames} frames: give 1 <= low <= high < {frames - 1}")
    magnitudes = torch.arange(low, high + 1, device=device)
    return torch.cat([-magnitudes.flip(0), magnitudes])


def autocorrelation_aggregate(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, lag_range: tuple[int, int],
                              top_k: int, lag_bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sum of ``v`` shifted by each row's ``top_k`` best-correlated lags in ``+-lag_range``, softmax-weighted.

    ``q``, ``k`` ``[N, Cqk, T, F]``, ``v`` ``[N, C, T, F]`` -> ``(out [N, C, T, F], lags [N, K], weights [N, K])``.
    ``lag_bias`` ``[N, high - low + 1]``, one value per lag magnitude ``low .. high`` (the same for ``+tau`` and
    ``-tau``), is added to each row's correlations before the lags are chosen and weighted: a prior on the period
    from outside the clip (a condition such as tempo). The lag choice is not differentiable; the weights are
    (through ``q``, ``k`` and ``lag_bias``), and so is ``out`` through ``v``.
    """
    frames = q.shape[2]
    candidates = allowed_lags(frames, lag_range, q.device)  # [L]
    scores = lag_correlation(q, k)[:, candidates + frames - 1]  # [N, L]
    if lag_bias is not None:
        magnitudes = lag_range[1] - lag_range[0] + 1
        if lag_bias.shape != (q.shape[0], magnitudes):
            raise ValueError(f"lag_bias must be [N, high - low + 1] = {[q.shape[0], magnitudes]}, got {list(lag_bias.shape)}")
        scores = scores + lag_bias[:, candidates.abs() - lag_range[0]].to(scores.dtype)
    best, picked = scores.topk(min(top_k, candidates.numel()), dim=1)  # [N, K]
    lags = candidates[picked]
    weights = best.softmax(dim=1)
    return delay_sum(v, lags, weights), lags, weights
