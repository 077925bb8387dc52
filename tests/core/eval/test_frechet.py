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


def percentile_interval(generated, reference, resamples, seed):
    """The interval synctrack reported before: the 2.5th and 97.5th percentiles of the resampled FDs."""
    low, high = np.percentile(frechet._resampled_distances(generated, reference, resamples, seed), [2.5, 97.5])
    return float(low), float(high)


def diagonal_gaussian_songs(rng, mean, variances, songs, rows):
    return [rng.normal(size=(rows, len(mean))) * np.sqrt(variances) + mean for _ in range(songs)]


def test_the_bias_corrected_interval_covers_the_closed_form_where_the_percentile_interval_does_not():
    # diagonal covariances: (S1 S2)^(1/2) is the diagonal of sqrt(v1 v2), so the true FD is
    # |mu1 - mu2|^2 + sum (sqrt(v1) - sqrt(v2))^2
    dimensions = 6
    mu1, mu2 = np.zeros(dimensions), np.full(dimensions, 0.4)
    var1 = np.linspace(0.5, 2.0, dimensions)
    var2 = var1[::-1].copy()
    truth = float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2))
    rng = np.random.default_rng(10)
    repetitions, new_covers, old_covers, estimates, plains = 40, 0, 0, [], []
    for repetition in range(repetitions):  # 12 songs of 2 embeddings per set: FD is strongly biased upwards
        generated = diagonal_gaussian_songs(rng, mu1, var1, 12, 2)
        reference = diagonal_gaussian_songs(rng, mu2, var2, 12, 2)
        estimate = frechet.fad_estimate(generated, reference, resamples=100, seed=repetition)
        low, high = percentile_interval(generated, reference, resamples=100, seed=repetition)
        assert estimate.ci_low <= estimate.value <= estimate.ci_high
        new_covers += estimate.ci_low <= truth <= estimate.ci_high
        old_covers += low <= truth <= high
        estimates.append(estimate.value)
        plains.append(estimate.plain)
    assert new_covers / repetitions >= 0.8
    assert old_covers / repetitions <= 0.3
    # the correction removes most of the bias of the plain FD
    assert abs(np.mean(estimates) - truth) < 0.5 * abs(np.mean(plains) - truth)
    assert np.mean(plains) > truth


def six_songs(seed, paired):
    """6 reference songs of 4 embeddings in 32 dimensions; generated songs copy them with a little noise
    (paired: the plain FD is tiny) or are drawn independently with a shifted mean."""
    rng = np.random.default_rng(seed)
    reference = [rng.normal(size=(4, 32)) + rng.normal(size=32) for _ in range(6)]
    if paired:
        return [song + 0.1 * rng.normal(size=song.shape) for song in reference], reference
    return [rng.normal(size=(4, 32)) + 0.3 for _ in range(6)], reference


@pytest.mark.parametrize("paired", [True, False], ids=["paired", "independent"])
def test_six_song_intervals_contain_their_estimates(paired):
    for seed in range(5):
        generated, reference = six_songs(seed, paired)
        estimate = frechet.fad_estimate(generated, reference, resamples=200, seed=0)
        low, high = percentile_interval(generated, reference, resamples=200, seed=0)
        assert estimate.plain == pytest.approx(
            frechet.frechet_audio_distance(np.concatenate(generated), np.concatenate(reference)), rel=1e-12
        )
        assert low > estimate.plain  # the old interval misses its own plain FD, as in the 6-song run of issue 19
        assert estimate.ci_low <= estimate.value <= estimate.ci_high
        assert estimate.resamples == 200
        assert estimate.resampled_median > 2 * estimate.plain if paired else estimate.resampled_median > estimate.plain
        if paired:  # the resampling bias exceeds the FD: everything clips to 0, and says so
            assert (estimate.value, estimate.ci_low, estimate.ci_high) == (0.0, 0.0, 0.0) and estimate.exceeded
            assert estimate.plain < 0.3
        else:
            assert 0.0 < estimate.ci_low < estimate.value < estimate.ci_high and not estimate.exceeded
            assert estimate.value == pytest.approx(2 * estimate.plain - estimate.resampled_median)
            assert estimate.value < estimate.plain


def test_fad_estimate_is_deterministic_given_the_seed():
    generated, reference = six_songs(0, paired=False)
    first = frechet.fad_estimate(generated, reference, resamples=50, seed=3)
    assert first == frechet.fad_estimate(generated, reference, resamples=50, seed=3)
    other = frechet.fad_estimate(generated, reference, resamples=50, seed=4)
    assert other.plain == first.plain
    assert (other.value, other.ci_low, other.ci_high) != (first.value, first.ci_low, first.ci_high)


def test_fad_estimate_of_tiny_sets_and_without_resamples():
    rng = np.random.default_rng(7)
    two_songs = [rng.normal(size=(1, 128)) for _ in range(2)], [rng.normal(size=(1, 128)) for _ in range(2)]
    tiny = frechet.fad_estimate(*two_songs, resamples=50)
    assert np.isfinite(tiny.plain) and tiny.plain > 0 and tiny.ci_low <= tiny.value <= tiny.ci_high
    same = [rng.normal(size=(3, 8)) for _ in range(4)]
    itself = frechet.fad_estimate(same, same, resamples=20)
    assert itself.plain == pytest.approx(0.0, abs=1e-9) and itself.resampled_median > 0
    assert (itself.value, itself.ci_low, itself.ci_high) == (0.0, 0.0, 0.0)
    none = frechet.fad_estimate(*two_songs, resamples=0)
    assert none.plain == tiny.plain and np.isnan(none.value) and np.isnan(none.ci_low) and none.resamples == 0
    with pytest.raises(ValueError, match="confidence"):
        frechet.fad_estimate(*two_songs, confidence=1.0)


def test_fad_values_report_the_estimate_with_its_interval_and_the_plain_fd_apart():
    from synctrack.eval.values import Bootstrap, fad_values
    from synctrack.interfaces import EmbeddingSet

    generated, reference = six_songs(1, paired=False)
    songs = [f"s{i}" for i in range(6)]
    rows = fad_values(EmbeddingSet(songs, {"mix": generated}, "test", True),
                      EmbeddingSet(songs, {"mix": reference}, "test", True), Bootstrap(100, 0.9, 2))
    assert [(row.metric, row.track) for row in rows] == [("fad", "mix"), ("fad_plain", "mix")]
    corrected, plain = rows
    expected = frechet.fad_estimate(generated, reference, resamples=100, confidence=0.9, seed=2)
    assert (corrected.value, corrected.ci_low, corrected.ci_high) == (expected.value, expected.ci_low, expected.ci_high)
    assert plain.value == expected.plain and np.isnan(plain.ci_low) and np.isnan(plain.ci_high)
    assert corrected.n == plain.n == 6
    assert "bias-corrected" in corrected.note and "fewer embeddings (24) than dimensions (32)" in corrected.note
    assert "biased upwards" in plain.note
