"""Autocorrelation time-delay aggregation (synctrack.nn.autocorrelation) against naive loops and closed forms."""

from __future__ import annotations

import pytest
import torch

from synctrack.nn.autocorrelation import allowed_lags, autocorrelation_aggregate, delay_sum, lag_correlation


def naive_correlation(q: torch.Tensor, k: torch.Tensor, lag: int) -> torch.Tensor:
    """Mean of q[t + lag] * k[t] over channels, bands and the frames both cover: ``[N]``."""
    frames = q.shape[2]
    pairs = [(t + lag, t) for t in range(frames) if 0 <= t + lag < frames]
    products = torch.stack([q[:, :, a] * k[:, :, b] for a, b in pairs], dim=-1)  # [N, C, F, P]
    return products.mean(dim=(1, 2, 3))


def naive_delay_sum(v: torch.Tensor, lags: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    out = torch.zeros_like(v)
    frames = v.shape[2]
    for n in range(v.shape[0]):
        for lag, weight in zip(lags[n].tolist(), weights[n]):
            for t in range(frames):
                if 0 <= t + lag < frames:
                    out[n, :, t] += weight * v[n, :, t + lag]
    return out


def test_the_correlation_is_the_linear_correlation_at_every_lag():
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 3, 11, 2, generator=generator), torch.randn(2, 3, 11, 2, generator=generator)
    curve = lag_correlation(q, k)
    assert curve.shape == (2, 21)
    for lag in range(-10, 11):
        torch.testing.assert_close(curve[:, lag + 10], naive_correlation(q, k, lag), rtol=1e-5, atol=1e-6)


def test_the_delay_sum_reads_each_lag_without_wrapping_the_clip():
    generator = torch.Generator().manual_seed(1)
    v = torch.randn(3, 2, 12, 2, generator=generator)
    lags = torch.tensor([[3, -5], [11, -11], [0, 1]])
    weights = torch.rand(3, 2, generator=generator)
    torch.testing.assert_close(delay_sum(v, lags, weights), naive_delay_sum(v, lags, weights), rtol=1e-5, atol=1e-6)


def test_an_impulse_train_finds_its_period_and_its_multiples():
    """Onsets every 7 frames: the lags picked are +-7 and +-14 (a pure train matches its multiples about as
    well as its period, and shifting by either keeps it on its grid); a lag off the grid is never picked."""
    frames, period = 64, 7
    train = torch.zeros(1, 1, frames, 1)
    train[:, :, 3::period] = 1.0
    centred = train - train.mean(2, keepdim=True)
    _, lags, weights = autocorrelation_aggregate(centred, centred, train, (4, 20), top_k=4)
    assert sorted(abs(lag) for lag in lags[0].tolist()) == [period, period, 2 * period, 2 * period]
    torch.testing.assert_close(weights.sum(1), torch.ones(1))


def test_shifting_by_the_period_keeps_an_impulse_train_on_its_grid():
    frames, period = 60, 6
    train = torch.zeros(1, 1, frames, 1)
    train[:, :, ::period] = 1.0
    out = delay_sum(train, torch.tensor([[period, -period]]), torch.tensor([[0.5, 0.5]]))
    assert out[:, :, 1::period].abs().max() == 0  # nothing lands off the grid
    torch.testing.assert_close(out[:, :, period:-period:period], torch.ones(1, 1, frames // period - 2, 1))
    torch.testing.assert_close(out[:, :, 0], torch.tensor([[[0.5]]]))  # the first onset has no earlier neighbour


def test_rows_choose_their_own_lags():
    frames = 48
    rows = torch.zeros(2, 1, frames, 1)
    rows[0, :, ::5] = 1.0
    rows[1, :, ::9] = 1.0
    centred = rows - rows.mean(2, keepdim=True)
    _, lags, _ = autocorrelation_aggregate(centred, centred, rows, (4, 12), top_k=2)
    assert all(lag % 5 == 0 for lag in lags[0].tolist())  # +-5 and +-10 for the first row
    assert all(lag % 9 == 0 for lag in lags[1].tolist())  # +-9 (18 is out of range) for the second


def test_a_lag_bias_moves_the_choice_and_the_weights_as_the_naive_sums_give():
    """A bias per lag magnitude joins each row's correlations: a strong one picks its period over the clip's own."""
    frames = 48
    rows = torch.zeros(2, 1, frames, 1)
    rows[:, :, ::5] = 1.0  # both rows pulse every 5 frames
    centred = rows - rows.mean(2, keepdim=True)
    bias = torch.zeros(2, 12 - 4 + 1)
    bias[1, 9 - 4] = 10.0  # row 1 is told its period is 9 frames
    out, lags, weights = autocorrelation_aggregate(centred, centred, rows, (4, 12), top_k=2, lag_bias=bias)
    assert all(lag % 5 == 0 for lag in lags[0].tolist())  # no bias: the clip's own period
    assert sorted(lags[1].tolist()) == [-9, 9]  # the biased period, both ways
    scores = torch.stack([naive_correlation(centred, centred, lag)[1] + 10.0 for lag in (-9, 9)])
    torch.testing.assert_close(weights[1].sort().values, scores.softmax(0).sort().values)
    torch.testing.assert_close(out, naive_delay_sum(rows, lags, weights))
    with pytest.raises(ValueError, match=r"lag_bias must be \[N, high - low \+ 1\] = \[2, 9\], got \[2, 8\]"):
        autocorrelation_aggregate(centred, centred, rows, (4, 12), top_k=2, lag_bias=bias[:, 1:])


def test_the_lag_range_is_checked_against_the_clip():
    assert allowed_lags(10, (2, 40)).tolist() == [-8, -7, -6, -5, -4, -3, -2, 2, 3, 4, 5, 6, 7, 8]
    with pytest.raises(ValueError, match=r"lag range \[12, 40\] leaves no lag for 10 frames"):
        allowed_lags(10, (12, 40))
    with pytest.raises(ValueError, match="lag range"):
        allowed_lags(10, (0, 4))


def test_gradients_reach_the_values_the_weights_and_the_queries_as_the_naive_sums_give():
    generator = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 3, 9, 2, generator=generator, dtype=torch.float64, requires_grad=True) for _ in range(3))
    lags = torch.tensor([[2, -4], [0, 8]])
    weights = torch.rand(2, 2, generator=generator, dtype=torch.float64, requires_grad=True)
    ours = (delay_sum(v, lags, weights) * lag_correlation(q, k)[:, 6:7, None, None]).sum()
    naive = (naive_delay_sum(v, lags, weights) * naive_correlation(q, k, -2)[:, None, None, None]).sum()
    for ours_grad, naive_grad in zip(torch.autograd.grad(ours, (q, k, v, weights)), torch.autograd.grad(naive, (q, k, v, weights))):
        torch.testing.assert_close(ours_grad, naive_grad)
