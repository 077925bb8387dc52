"""The Frechet distance: zero for equal sets, the closed form for Gaussians, stable when rank-deficient."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from synctrack.eval import frechet


def random_covariance(rng, size, scale=1.0):
    factor = rng.normal(size=(size, size)) * scale
    return factor @ factor.T + 0.1 * np.eye(size)


def reference_distance(mu1, sigma1, mu2, sigma2):
    """The textbook formula with scipy's general matrix square root."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root).real)


def test_a_set_against_itself_is_about_zero():
    embeddings = np.random.default_rng(0).normal(size=(500, 32)) * 3 + 1
    assert frechet.frechet_audio_distance(embeddings, embeddings) == pytest.approx(0.0, abs=1e-9)


def test_one_dimensional_closed_form():
    # d^2 = (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2
    assert frechet.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(2.0**2 + (2.0 - 3.0) ** 2)


def test_diagonal_closed_form():
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet.frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected)


def test_general_covariances_match_the_textbook_formula():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    sigma1, sigma2 = random_covariance(rng, 6), random_covariance(rng, 6, 2.0)
    expected = reference_distance(mu1, sigma1, mu2, sigma2)
    assert frechet.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)
    assert frechet.frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-9)


def test_two_gaussian_sample_sets_match_the_closed_form_of_their_parameters():
    rng = np.random.default_rng(2)
    mu1, mu2 = np.zeros(4), np.array([1.0, -0.5, 0.0, 2.0])
    sigma1, sigma2 = random_covariance(rng, 4), random_covariance(rng, 4, 0.5)
    a = rng.multivariate_normal(mu1, sigma1, size=200_000)
    b = rng.multivariate_normal(mu2, sigma2, size=200_000)
    expected = reference_distance(mu1, sigma1, mu2, sigma2)
    assert frechet.frechet_audio_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_fewer_embeddings_than_dimensions_stays_finite_and_non_negative():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(10, 64)), rng.normal(size=(12, 64)) + 0.5
    value = frechet.frechet_audio_distance(a, b)
    assert np.isfinite(value) and value > 0
    mu1, s1 = frechet.gaussian_statistics(a)
    mu2, s2 = frechet.gaussian_statistics(b)
    assert value == pytest.approx(reference_distance(mu1, s1, mu2, s2), rel=1e-6)


def test_statistics_use_the_unbiased_covariance():
    embeddings = np.random.default_rng(4).normal(size=(20, 3))
    mean, covariance = frechet.gaussian_statistics(embeddings)
    np.testing.assert_allclose(covariance, np.cov(embeddings.T, ddof=1))
    np.testing.assert_allclose(mean, embeddings.mean(axis=0))


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        frechet.gaussian_statistics(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="equal E"):
        frechet.frechet_audio_distance(np.zeros((5, 4)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="mismatched"):
        frechet.frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))


def test_weighted_resample_statistics_equal_an_explicit_resample():
    rng = np.random.default_rng(5)
    songs = [rng.normal(size=(rng.integers(1, 6), 3)) + i for i in range(7)]
    counts = np.array([0, 2, 1, 0, 3, 1, 0])
    explicit = np.concatenate([songs[i] for i in range(7) for _ in range(counts[i])])
    mean, covariance = frechet._WeightedGaussian(songs).statistics(counts)
    np.testing.assert_allclose(mean, explicit.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(covariance, np.cov(explicit.T, ddof=1), atol=1e-12)


def test_fad_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(6)
    generated = [rng.normal(size=(10, 4)) + 0.3 for _ in range(30)]
    reference = [rng.normal(size=(10, 4)) for _ in range(30)]
    value = frechet.frechet_audio_distance(np.concatenate(generated), np.concatenate(reference))
    low, high = frechet.fad_bootstrap_ci(generated, reference, resamples=200, seed=1)
    assert (low, high) == frechet.fad_bootstrap_ci(generated, reference, resamples=200, seed=1)
    assert low < value < high
