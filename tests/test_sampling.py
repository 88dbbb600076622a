import numpy as np
import pytest

from glw_sim.sampling import largest_remainder, systematic_categorical, systematic_select


def test_largest_remainder_sums_exactly():
    out = largest_remainder(10, [1, 1, 1])
    assert out.sum() == 10 and sorted(out) == [3, 3, 4]
    out = largest_remainder(1000, np.random.default_rng(0).random(49))
    assert out.sum() == 1000


def test_systematic_select_hits_every_stratum_total():
    rng = np.random.default_rng(1)
    strata = rng.integers(0, 33, 50_000)
    p = rng.random(50_000) * 0.9
    sel = systematic_select(p, strata, rng)
    diff = np.bincount(strata, sel) - np.bincount(strata, p)
    assert np.abs(diff).max() < 1.0  # floor or ceil of the expected count


def test_systematic_select_keeps_unit_probabilities():
    # each unit's selection frequency over many draws equals its probability
    rng = np.random.default_rng(2)
    p = np.array([0.1, 0.5, 0.9, 0.3, 0.2])
    strata = np.zeros(5, dtype=int)
    hits = np.mean([systematic_select(p, strata, rng) for _ in range(4000)], axis=0)
    assert np.allclose(hits, p, atol=0.03)  # 4000 draws: SE <= 0.008


def test_systematic_categorical_exact_counts():
    rng = np.random.default_rng(3)
    strata = rng.integers(0, 10, 20_000)
    probs = rng.dirichlet([1, 2, 3, 4], 20_000).T
    codes = systematic_categorical(probs, strata, rng)
    for k in range(4):
        diff = np.bincount(strata, codes == k, minlength=10) - np.bincount(strata, probs[k], minlength=10)
        assert np.abs(diff).max() < 1.0


def test_categorical_counts_are_unbiased_in_tiny_strata():
    # 3 units per stratum with a rare category: largest-remainder rounding would never give it a unit
    from glw_sim.sampling import randomized_round

    rng = np.random.default_rng(4)
    probs = np.repeat(np.array([[0.85], [0.06], [0.09]]), 3000, axis=1)
    strata = np.repeat(np.arange(1000), 3)
    codes = systematic_categorical(probs, strata, rng)
    share = np.bincount(codes, minlength=3) / 3000
    np.testing.assert_allclose(share, [0.85, 0.06, 0.09], atol=0.015)  # SE <= 0.0065
    counts = np.array([randomized_round(5, [4.25, 0.32, 0.43], rng) for _ in range(4000)])
    assert (counts.sum(axis=1) == 5).all()
    np.testing.assert_allclose(counts.mean(axis=0), [4.25, 0.32, 0.43], atol=0.03)


@pytest.mark.parametrize("k", [2, 3, 7])
def test_compiled_samplers_make_the_numpy_samplers_draws(k):
    # for sorted strata the compiled samplers (parallel over strata) make exactly the numpy versions' draws (same
    # generator state in, same units chosen out), including strata of one unit and categories with no chance; the
    # parallel selection used above engine.sampling.PARALLEL_SAMPLING_MIN units equals the serial one
    from glw_sim.engine import sampling as K
    from glw_sim.sampling import systematic_categorical_numpy

    rng = np.random.default_rng(k)
    sizes = np.concatenate([[1, 1, 2], rng.integers(1, 400, size=60)])
    strata = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    n = len(strata)
    probs = rng.random((k, n)) * (rng.random((k, 1)) > 0.2)  # some categories with no chance at all
    probs[0, rng.random(n) < 0.1] = 0.0
    probs[-1] += 1e-3
    probs /= probs.sum(axis=0)
    for seed, m in ((0, n), (1, n), (2, 3), (3, 1)):
        a = systematic_categorical_numpy(probs[:, :m], strata[:m], np.random.default_rng(seed))
        b = K.systematic_categorical_sorted(probs[:, :m], strata[:m], np.random.default_rng(seed))
        np.testing.assert_array_equal(a, b)
        v = probs[0, :m] * 1.5 - 0.1  # outside [0, 1] too: clipped alike
        a = K.systematic_select_sorted(v, strata[:m], np.random.default_rng(seed))
        b = K._select_sorted_large(v, strata[:m], np.random.default_rng(seed))
        np.testing.assert_array_equal(a, b)
