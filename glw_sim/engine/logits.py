"""Log-linear models compiled: a resident's log-odds and shares, and tables of them by feature combination.

The state model gives each resident's stationary shares of E, U and I; the reason model the shares of the
inactivity reasons (:class:`glw_sim.loglinear.LogLinearModel`, whose ``stacked()`` tables these read). Feature
``f`` of resident ``i`` is read from ``feats[f][i]``, a tuple of uint8 columns.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.layout import CHUNKS, chunk


@nb.njit(cache=True, inline="always")
def exp_total(lg, mx):
    """Log-odds ``lg`` (maximum ``mx``) to unnormalised probabilities in place; returns their total."""
    tot = 0.0
    for a in range(len(lg)):
        lg[a] = np.exp(lg[a] - mx) if lg[a] > -np.inf else 0.0
        tot += lg[a]
    return tot


@nb.njit(cache=True, inline="always")
def softmax_into(out, col, lg, mx):
    tot = exp_total(lg, mx)
    for a in range(len(lg)):
        out[a, col] = lg[a] / tot


@nb.njit(cache=True, inline="always")
def loglinear_one(tables, intercept, feats, i, lg):
    """Log-odds of resident ``i`` into ``lg``; returns their maximum (as :func:`loglinear_probs_columns`)."""
    nf, k, _ = tables.shape
    for a in range(k):
        lg[a] = intercept[a]
    for f in range(nf):  # each feature read once (a tuple indexed at run time is slow); sums in the same order
        c = np.int64(feats[f][i])
        for a in range(k):
            lg[a] += tables[f, a, c]
    mx = -np.inf
    for a in range(k):
        if lg[a] > mx:
            mx = lg[a]
    return mx


@nb.njit(cache=True, parallel=True)
def loglinear_probs_columns(tables, intercept, feats, idx):
    """Softmax of intercept + sum_f tables[f, :, x_f] for residents ``idx``, reading feature ``f`` of resident
    ``idx[j]`` from ``feats[f]`` (a tuple of uint8 columns). Returns (k, n) probabilities."""
    k = tables.shape[1]
    n = len(idx)
    out = np.empty((k, n))
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(n, ch)
        lg = np.empty(k)
        for j in range(lo, hi):
            mx = loglinear_one(tables, intercept, feats, idx[j], lg)
            softmax_into(out, j, lg, mx)
    return out


@nb.njit(cache=True, inline="always")
def combination_softmax(key, levels, tables, intercept, code, lg):
    """A log-linear model's unnormalised probabilities at one combination of its features (``key`` in mixed
    radix, first feature most significant) into ``lg``; returns their total."""
    nf, k, _ = tables.shape
    rest = key
    for f in range(nf - 1, -1, -1):
        code[f] = rest % levels[f]
        rest //= levels[f]
    mx = -np.inf
    for a in range(k):
        v = intercept[a]
        for f in range(nf):
            v += tables[f, a, code[f]]
        lg[a] = v
        if v > mx:
            mx = v
    return exp_total(lg, mx)


@nb.njit(cache=True)
def reason_tables(r_tables, r_intercept, levels, reason_exit_mult, chosen):
    """For every combination of the reason model's features (a few thousand instead of one per resident): the
    reason-exit normaliser ``Z = sum_r tau_r m_r``, by the same arithmetic as resident by resident (so the values
    are identical), and the share ``sum_(r chosen) m_r tau_r / Z`` of the weighted shares on the ``chosen`` reasons
    (long-term sickness: the share of moves into inactivity that draw it, as a new spell draws its reason)."""
    nf, kr, _ = r_tables.shape
    size = 1
    for f in range(nf):
        size *= levels[f]
    z, share = np.empty(size), np.empty(size)
    lr = np.empty(kr)
    code = np.empty(nf, dtype=np.int64)
    for key in range(size):
        tot = combination_softmax(key, levels, r_tables, r_intercept, code, lr)
        zz, on = 0.0, 0.0
        for a in range(kr):
            v = reason_exit_mult[a] * (lr[a] / tot)
            zz += v
            if chosen[a]:
                on += v
        z[key] = zz
        share[key] = on / zz if zz > 0.0 else 0.0
    return z, share


@nb.njit(cache=True, parallel=True)
def state_share_table(s_tables, s_intercept, levels):
    """Stationary shares of E and U (float32, as cached) for every combination of the state model's features,
    by the same arithmetic as resident by resident."""
    nf, ks, _ = s_tables.shape
    size = 1
    for f in range(nf):
        size *= levels[f]
    out = np.empty((2, size), dtype=np.float32)
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(size, ch)
        lg = np.empty(ks)
        code = np.empty(nf, dtype=np.int64)
        for key in range(lo, hi):
            tot = combination_softmax(key, levels, s_tables, s_intercept, code, lg)
            out[0, key] = lg[0] / tot
            out[1, key] = lg[1] / tot
    return out



@nb.njit(cache=True, parallel=True)
def rake_rest(tables, intercept, feats, idx, margin_feature, margin_prior):
    """(k, n) log-odds of residents ``idx`` from every feature but ``margin_feature``, plus that feature's prior
    (``LogLinearModel._rake_one``: logits - (table + prior)[:, x] + prior[:, x], in that order)."""
    nf, k, _ = tables.shape
    n = len(idx)
    out = np.empty((k, n))
    for j in nb.prange(n):
        i = idx[j]
        xm = feats[margin_feature][i]
        for a in range(k):
            v = intercept[a]
            for f in range(nf):
                v += tables[f, a, feats[f][i]]
            out[a, j] = (v - tables[margin_feature, a, xm]) + margin_prior[a, xm]
    return out
