"""Compiled sampling and raking for the synthesis (:mod:`glw_sim.sampling`, :mod:`glw_sim.synthesis`).

Strata are stored in sorted order (residents are stored borough by borough): the same arithmetic in the same
order and the same draws from the same numpy Generator as the numpy versions, so the results are identical,
without their per-stratum Python loops.
"""

from __future__ import annotations

import numba as nb
import numpy as np



@nb.njit(cache=True)
def shuffle_within_blocks(n: int, starts: np.ndarray, lengths: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """A random order of 0..n-1 that keeps each contiguous block (stratum) in place.

    ``keys`` are uniform random numbers (one per unit) driving a Fisher-Yates shuffle per block.
    """
    order = np.arange(n)
    for b in range(len(starts)):
        _shuffle_block(order, keys, starts[b], lengths[b])
    return order


@nb.njit(cache=True, inline="always")
def _shuffle_block(order, keys, s, m):
    """Fisher-Yates shuffle of ``order[s:s + m]`` driven by ``keys[s:s + m]`` (in place)."""
    for j in range(m - 1, 0, -1):
        k = int(keys[s + j] * (j + 1))
        if k > j:
            k = j
        tmp = order[s + j]
        order[s + j] = order[s + k]
        order[s + k] = tmp


@nb.njit(cache=True)
def systematic_blocks(v: np.ndarray, order: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                      start_u: np.ndarray) -> np.ndarray:
    """Systematic selection within contiguous blocks visited in ``order``."""
    out = np.zeros(len(v), dtype=np.bool_)
    for b in range(len(starts)):
        _systematic_block(out, v, order, starts[b], lengths[b], start_u[b])
    return out


@nb.njit(cache=True, inline="always")
def _systematic_block(out, v, order, s, m, c):
    """Systematic selection in block ``order[s:s + m]`` from the uniform start ``c`` (into ``out``)."""
    for j in range(s, s + m):
        i = order[j]
        lo = np.floor(c)
        c += v[i]
        if np.floor(c) > lo:
            out[i] = True


@nb.njit(cache=True)
def _group_order(x, groups):
    """Residents with ``groups[x[i]] >= 0`` ordered by group, in index order within each (a stable counting
    sort): (order, starts of each group's run)."""
    ng = 0
    for lev in range(len(groups)):
        ng = max(ng, groups[lev] + 1)
    size = np.zeros(ng + 1, dtype=np.int64)
    for i in range(len(x)):
        g = groups[x[i]]
        if g >= 0:
            size[g + 1] += 1
    starts = np.cumsum(size)
    fill = starts[:-1].copy()
    order = np.empty(starts[-1], dtype=np.int64)
    for i in range(len(x)):
        g = groups[x[i]]
        if g >= 0:
            order[fill[g]] = i
            fill[g] += 1
    return order, starts


@nb.njit(cache=True, parallel=True)
def _rake_sweep(rest, x, table, w, groups, cell_of, order, starts, cur):
    k = rest.shape[0]
    for g in nb.prange(len(starts) - 1):  # a group's residents in index order: sums as in a single pass
        p = np.empty(k)
        for j in range(starts[g], starts[g + 1]):
            i = order[j]
            mx = -np.inf
            for a in range(k):
                p[a] = rest[a, i] + table[a, x[i]]
                if p[a] > mx:
                    mx = p[a]
            s = 0.0
            for a in range(k):
                p[a] = np.exp(p[a] - mx)
                s += p[a]
            for a in range(k):
                c = cell_of[a]
                if c >= 0:
                    cur[g, c] += w[i] * p[a] / s


@nb.njit(cache=True)
def _rake_update(table, groups, cell_of, target, cur, tol):
    """Worst relative error of ``cur`` against ``target``; unless below ``tol``, the raking step on ``table``."""
    ng, nc = target.shape
    err = 0.0
    for g in range(ng):
        for c in range(nc):
            if target[g, c] > 0 and cur[g, c] > 0:
                r = abs(target[g, c] / cur[g, c] - 1.0)
                if r > err:
                    err = r
    if err < tol:
        return err
    for lev in range(table.shape[1]):
        g = groups[lev]
        if g < 0:
            continue
        for a in range(table.shape[0]):
            c = cell_of[a]
            if c >= 0 and target[g, c] > 0 and cur[g, c] > 0:
                table[a, lev] += np.log(target[g, c] / cur[g, c])
    return err


def rake_one(rest: np.ndarray, x: np.ndarray, table: np.ndarray, w: np.ndarray, groups: np.ndarray,
             target: np.ndarray, cell_of: np.ndarray, tol: float, max_sweeps: int) -> float:
    """Rake one margin: adjust ``table`` (k, levels) in place so weighted expected counts hit ``target``.

    ``rest`` (k, n) holds the other features' log-odds; ``cell_of[k]`` is the margin cell of outcome k (-1: none).
    Returns the worst relative error. Each sweep runs over the groups in parallel. (Called from Python: a cached
    compiled function calling a parallel one can crash when loaded from numba's cache.)
    """
    order, starts = _group_order(x, groups)
    err = np.inf
    for _ in range(max_sweeps):
        cur = np.zeros(target.shape)
        _rake_sweep(rest, x, table, w, groups, cell_of, order, starts, cur)
        err = _rake_update(table, groups, cell_of, target, cur, tol)
        if err < tol:
            break
    return float(err)



@nb.njit(cache=True)
def _sorted_runs(strata):
    """(starts, lengths, run index of each unit) of the runs of equal values of sorted ``strata``."""
    n = len(strata)
    sidx = np.empty(n, dtype=np.int64)
    runs = 0
    for i in range(n):
        if i > 0 and strata[i] != strata[i - 1]:
            runs += 1
        sidx[i] = runs
    nr = runs + 1 if n else 0
    starts = np.empty(nr, dtype=np.int64)
    lengths = np.zeros(nr, dtype=np.int64)
    for i in range(n):
        if lengths[sidx[i]] == 0:
            starts[sidx[i]] = i
        lengths[sidx[i]] += 1
    return starts, lengths, sidx


@nb.njit(cache=True)
def systematic_select_sorted(expected, strata, rng):
    """``sampling.systematic_select`` for sorted ``strata``."""
    n = len(expected)
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    v = np.empty(n)
    for i in range(n):
        v[i] = min(max(expected[i], 0.0), 1.0)
    starts, lengths, _ = _sorted_runs(strata)
    if n > 1:
        order = shuffle_within_blocks(n, starts, lengths, rng.random(n))
        return systematic_blocks(v, order, starts, lengths, rng.random(len(starts)))
    # one unit: the numpy version's general path (a permutation of one unit draws nothing)
    start = rng.random(1)[0]
    offset = v[0] - v[0]
    hi = (v[0] - offset) + start
    out = np.zeros(1, dtype=np.bool_)
    out[0] = np.floor(hi) > np.floor(hi - v[0])
    return out


@nb.njit(cache=True)
def _randomized_round(total, expected, rng):
    """``sampling.randomized_round`` (fewer than 8 categories: numpy sums them in order)."""
    k = len(expected)
    esum = 0.0
    for a in range(k):
        esum += expected[a]
    e = expected.copy()
    if esum > 0:
        f = total / esum
        for a in range(k):
            e[a] = expected[a] * f
    base = np.empty(k, dtype=np.int64)
    rem = np.empty(k)
    bsum = 0
    for a in range(k):
        base[a] = np.int64(np.floor(e[a]))
        rem[a] = e[a] - base[a]
        bsum += base[a]
    short = total - bsum
    if short <= 0:
        return base
    rsum = 0.0
    for a in range(k):
        rsum += rem[a]
    start = rng.random()
    cum = 0.0
    prev = 0.0
    for a in range(k):
        cum += rem[a] / rsum * short
        base[a] += np.int64(np.floor(cum + start) - np.floor(prev + start))
        prev = cum
    bsum = 0
    for a in range(k):
        bsum += base[a]
    diff = total - bsum
    if diff:
        best = 0
        for a in range(1, k):
            if (rem[a] > rem[best]) if diff > 0 else (base[a] > base[best]):
                best = a
        base[best] += diff
    return base


@nb.njit(cache=True)
def searchsorted_rows(table, row, u):
    """``np.searchsorted(table[row[j]], u[j])`` (side left) for every j."""
    m = table.shape[1]
    out = np.empty(len(u), dtype=np.int64)
    for j in range(len(u)):
        t = table[row[j]]
        lo, hi = 0, m
        while lo < hi:
            mid = (lo + hi) // 2
            if t[mid] < u[j]:
                lo = mid + 1
            else:
                hi = mid
        out[j] = lo
    return out


# The same algorithms driven from Python, with the per-stratum work (the costly random-access shuffles) in
# parallel kernels: the categorical sampler at every size, the selection from PARALLEL_SAMPLING_MIN units on
# (below it the serial systematic_select_sorted). Same draws in the same order, so identical results.
PARALLEL_SAMPLING_MIN = 200_000


@nb.njit(cache=True, parallel=True)
def _shuffle_blocks_par(n, starts, lengths, keys):
    order = np.arange(n)
    for b in nb.prange(len(starts)):
        _shuffle_block(order, keys, starts[b], lengths[b])
    return order


@nb.njit(cache=True, parallel=True)
def _systematic_blocks_par(v, order, starts, lengths, start_u):
    out = np.zeros(len(v), dtype=np.bool_)
    for b in nb.prange(len(starts)):
        _systematic_block(out, v, order, starts[b], lengths[b], start_u[b])
    return out


@nb.njit(cache=True, parallel=True)
def _stratum_sums(probs, starts, lengths):
    k = probs.shape[0]
    out = np.zeros((len(starts), k))
    for s in nb.prange(len(starts)):
        for c in range(k):
            acc = 0.0
            for i in range(starts[s], starts[s] + lengths[s]):
                acc += probs[c, i]
            out[s, c] = acc
    return out


@nb.njit(cache=True)
def _round_strata(lengths, expected, rng):
    ns, k = expected.shape
    counts = np.empty((ns, k), dtype=np.int64)
    for s in range(ns):
        counts[s] = _randomized_round(lengths[s], expected[s] + 1e-12, rng)
    return counts


@nb.njit(cache=True, parallel=True)
def _category_cond(probs, idx, c, starts, lengths, counts_c, v):
    """One category's step of :func:`systematic_categorical_sorted` over the units ``idx`` not yet assigned (in
    runs by stratum: ``starts``, ``lengths``, and the stratum's count of category ``c``, ``counts_c``): each unit's
    chance of ``c`` given a category >= ``c``, scaled in its stratum so the chances sum to the count, into ``v``
    (the same sums in the same order as ``sampling.systematic_categorical_numpy``)."""
    k = probs.shape[0]
    for r in nb.prange(len(starts)):
        lo, hi = starts[r], starts[r] + lengths[r]
        total = 0.0
        for j in range(lo, hi):
            i = idx[j]
            tail = probs[k - 1, i]
            for a in range(k - 2, c - 1, -1):
                tail = tail + probs[a, i]
            cond = probs[c, i] / tail if tail > 0 else 0.0
            v[j] = cond
            total += cond
        sc = counts_c[r] / max(total, 1e-300) if total > 0 else 0.0
        for j in range(lo, hi):
            v[j] = min(min(v[j] * sc, 1.0), 1.0)


@nb.njit(cache=True, parallel=True)
def _assign_chosen(idx, chosen, starts, lengths, out, c):
    """``out[idx[j]] = c`` for the chosen units; returns the others' indices and their number in each run."""
    nr = len(starts)
    keep = np.zeros(nr, dtype=np.int64)
    for r in nb.prange(nr):
        for j in range(starts[r], starts[r] + lengths[r]):
            if not chosen[j]:
                keep[r] += 1
    offset = np.zeros(nr + 1, dtype=np.int64)
    for r in range(nr):
        offset[r + 1] = offset[r] + keep[r]
    rest = np.empty(offset[nr], dtype=np.int64)
    for r in nb.prange(nr):
        pos = offset[r]
        for j in range(starts[r], starts[r] + lengths[r]):
            if chosen[j]:
                out[idx[j]] = c
            else:
                rest[pos] = idx[j]
                pos += 1
    return rest, keep


def _select_sorted_large(v, s, rng):
    n = len(v)
    if n < 2:
        return systematic_select_sorted(v, s, rng)
    starts, lengths, _ = _sorted_runs(s)
    return _select_runs(np.minimum(np.maximum(v, 0.0), 1.0), starts, lengths, rng)


def _select_runs(v, starts, lengths, rng):
    """:func:`_select_sorted_large` of chances ``v`` in [0, 1] whose strata are the runs ``starts``, ``lengths``."""
    order = _shuffle_blocks_par(len(v), starts, lengths, rng.random(len(v)))
    return _systematic_blocks_par(v, order, starts, lengths, rng.random(len(starts)))


def systematic_categorical_sorted(probs, strata, rng):
    """``sampling.systematic_categorical`` for sorted ``strata`` and fewer than 8 categories (the same draws and
    results as ``sampling.systematic_categorical_numpy``): the units not yet assigned are kept as a list, in runs
    by stratum, so each category's step runs in parallel over strata."""
    k, n = probs.shape
    out = np.full(n, k - 1, dtype=np.int64)
    if n == 0:
        return out
    starts, lengths, _ = _sorted_runs(strata)
    counts = _round_strata(lengths, _stratum_sums(probs, starts, lengths), rng)
    idx = np.arange(n, dtype=np.int64)
    run = np.arange(len(starts))  # each current run's stratum (the strata with units left)
    for c in range(k - 1):
        if len(idx) == 0:
            break
        v = np.empty(len(idx))
        _category_cond(probs, idx, c, starts, lengths, np.ascontiguousarray(counts[run, c]), v)
        if len(idx) < 2:
            chosen = systematic_select_sorted(v, np.zeros(len(idx), dtype=np.int64), rng)
        else:
            chosen = _select_runs(v, starts, lengths, rng)
        idx, keep = _assign_chosen(idx, chosen, starts, lengths, out, c)
        run, lengths = run[keep > 0], keep[keep > 0]
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    return out
