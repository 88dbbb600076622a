"""Vectorised allocation kernels: exact stratified counts without Python loops over residents.

Systematic sampling within strata (Madow 1949) selects each unit with its
probability and, within every stratum, selects a number of units equal to the
expected number rounded up or down: so borough totals are right by
construction, not by luck, while each resident's chance stays its own.
"""

from __future__ import annotations

import numpy as np

from glw_sim.engine import sampling as K


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Integers proportional to ``shares`` that sum exactly to ``total`` (Hamilton's method)."""
    shares = np.asarray(shares, dtype=np.float64)
    raw = total * shares / shares.sum()
    base = np.floor(raw).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        base[np.argsort(-(raw - base), kind="stable")[:short]] += 1
    return base


def randomized_round(total: int, expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integers summing to ``total`` whose expectation is ``expected`` (which sums to ``total``).

    Floors plus the missing units given to categories systematically in proportion to their remainders
    (unbiased, unlike largest-remainder rounding, which never rounds up a small category in a small stratum).
    """
    expected = np.asarray(expected, dtype=np.float64)
    expected = expected * (total / expected.sum()) if expected.sum() > 0 else expected
    base = np.floor(expected).astype(np.int64)
    rem = expected - base
    short = int(total - base.sum())
    if short <= 0:
        return base
    cum = np.cumsum(rem / rem.sum() * short)
    start = rng.random()
    picks = np.floor(cum + start) - np.floor(np.r_[0.0, cum[:-1]] + start)
    base += picks.astype(np.int64)
    diff = int(total - base.sum())  # float edge cases
    if diff:
        base[np.argmax(rem if diff > 0 else base)] += diff
    return base


def _sorted(strata: np.ndarray) -> bool:
    return strata.ndim == 1 and bool((strata[1:] >= strata[:-1]).all())


def _stratum_runs(strata_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(strata_sorted)
    starts = np.r_[0, np.nonzero(np.diff(strata_sorted))[0] + 1] if n else np.zeros(0, np.int64)
    lengths = np.diff(np.r_[starts, n])
    return starts, lengths


def systematic_select(expected: np.ndarray, strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Select units with inclusion probability ``expected`` (in [0, 1]), systematically within strata.

    Within each stratum, units are put in random order and selected where the
    running total of ``expected`` plus a uniform random start crosses an
    integer. Each unit is selected with exactly its probability and each
    stratum selects ``floor`` or ``ceil`` of its expected total.
    """
    n = len(expected)
    if n == 0:
        return np.zeros(0, dtype=bool)
    strata = np.asarray(strata)
    if _sorted(strata):
        v, st = np.asarray(expected, dtype=np.float64), strata.astype(np.int64)
        if n >= K.PARALLEL_SAMPLING_MIN:
            return K._select_sorted_large(v, st, rng)
        return K.systematic_select_sorted(v, st, rng)
    v = np.clip(np.asarray(expected, dtype=np.float64), 0.0, 1.0)
    if n > 1 and (strata[1:] >= strata[:-1]).all():
        # strata already contiguous (residents are stored borough by borough): compiled fast path
        starts, lengths = _stratum_runs(strata)
        order = K.shuffle_within_blocks(n, starts, lengths, rng.random(n))
        return K.systematic_blocks(v, order, starts, lengths, rng.random(len(starts)))
    # random order within strata: a random permutation, then a stable (radix) sort by stratum
    perm = rng.permutation(n)
    order = perm[np.argsort(np.asarray(strata)[perm], kind="stable")]
    v_o = v[order]
    starts, lengths = _stratum_runs(np.asarray(strata)[order])
    cs = np.cumsum(v_o)
    offset = np.repeat(cs[starts] - v_o[starts], lengths)
    start = np.repeat(rng.random(len(starts)), lengths)
    hi = cs - offset + start
    sel_o = np.floor(hi) > np.floor(hi - v_o)
    out = np.empty(n, dtype=bool)
    out[order] = sel_o
    return out


def systematic_categorical(probs: np.ndarray, strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Assign one of ``k`` categories to each unit (``probs`` is (k, n), columns sum to 1).

    Each stratum first gets integer counts per category (its expected counts,
    rounded at random without bias so they sum to the stratum size); categories
    are then filled in turn by :func:`systematic_select` among units not yet
    assigned, with conditional probabilities scaled to hit those counts.
    """
    k, n = probs.shape
    strata = np.asarray(strata)
    if n and k < 8 and _sorted(strata):  # the compiled version (same draws, same numbers)
        # any strides: shares common to every unit come as a broadcast view, not n copies
        return K.systematic_categorical_sorted(np.asarray(probs, dtype=np.float64), strata.astype(np.int64), rng)
    return systematic_categorical_numpy(probs, strata, rng)


def systematic_categorical_numpy(probs: np.ndarray, strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """:func:`systematic_categorical` in numpy, for any strata and number of categories (for sorted strata the
    compiled ``glw_sim.engine.sampling.systematic_categorical_sorted`` makes the same draws and gives the same result)."""
    k, n = probs.shape
    out = np.full(n, k - 1, dtype=np.int64)
    if n == 0:
        return out
    uniq, sidx = np.unique(strata, return_inverse=True)
    expected = np.stack([np.bincount(sidx, weights=probs[c], minlength=len(uniq)) for c in range(k)], axis=1)
    sizes = np.bincount(sidx, minlength=len(uniq))
    counts = np.stack([randomized_round(int(sizes[s]), expected[s] + 1e-12, rng) for s in range(len(uniq))])
    remaining = np.ones(n, dtype=bool)
    tail = probs[::-1].cumsum(axis=0)[::-1]  # P(category >= c)
    for c in range(k - 1):
        idx = np.nonzero(remaining)[0]
        if len(idx) == 0:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = np.where(tail[c, idx] > 0, probs[c, idx] / tail[c, idx], 0.0)
        s = sidx[idx]
        total = np.bincount(s, weights=cond, minlength=len(uniq))
        scale = np.where(total > 0, counts[:, c] / np.maximum(total, 1e-300), 0.0)
        chosen = systematic_select(np.minimum(cond * scale[s], 1.0), s, rng)
        out[idx[chosen]] = c
        remaining[idx[chosen]] = False
    return out


def categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent draws of one category per column of ``probs`` (k, n)."""
    u = rng.random(probs.shape[1])
    cum = np.cumsum(probs, axis=0)
    return np.minimum((u[None, :] > cum).sum(axis=0), probs.shape[0] - 1)
