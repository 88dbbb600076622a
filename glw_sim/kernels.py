"""Compiled (numba) kernels for the hot loops: one pass over the residents each.

Each kernel is a small pure function over arrays (Covasim's ``utils.py``
pattern). The numpy versions they replace are kept where they are clearer
(tests compare the two where it matters). Random numbers are drawn in bulk
by the model's numpy Generator and passed in, so results do not depend on
numba's own random state.
"""

from __future__ import annotations

import numba as nb
import numpy as np

E, U, I = 0, 1, 2


@nb.njit(cache=True)
def shuffle_within_blocks(n: int, starts: np.ndarray, lengths: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """A random order of 0..n-1 that keeps each contiguous block (stratum) in place.

    ``keys`` are uniform random numbers (one per unit) driving a Fisher-Yates shuffle per block.
    """
    order = np.arange(n)
    for b in range(len(starts)):
        s, m = starts[b], lengths[b]
        for j in range(m - 1, 0, -1):
            k = int(keys[s + j] * (j + 1))
            if k > j:
                k = j
            tmp = order[s + j]
            order[s + j] = order[s + k]
            order[s + k] = tmp
    return order


@nb.njit(cache=True)
def systematic_blocks(v: np.ndarray, order: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                      start_u: np.ndarray) -> np.ndarray:
    """Systematic selection within contiguous blocks visited in ``order``."""
    out = np.zeros(len(v), dtype=np.bool_)
    for b in range(len(starts)):
        c = start_u[b]
        for j in range(starts[b], starts[b] + lengths[b]):
            i = order[j]
            lo = np.floor(c)
            c += v[i]
            if np.floor(c) > lo:
                out[i] = True
    return out


@nb.njit(cache=True)
def rake_one(rest: np.ndarray, x: np.ndarray, table: np.ndarray, w: np.ndarray, groups: np.ndarray,
             target: np.ndarray, cell_of: np.ndarray, tol: float, max_sweeps: int) -> float:
    """Rake one margin: adjust ``table`` (k, levels) in place so weighted expected counts hit ``target``.

    ``rest`` (k, n) holds the other features' log-odds; ``cell_of[k]`` is the margin cell of outcome k (-1: none).
    Returns the worst relative error.
    """
    k, n = rest.shape
    ng, nc = target.shape
    p = np.empty(k)
    err = np.inf
    for _ in range(max_sweeps):
        cur = np.zeros((ng, nc))
        for i in range(n):
            g = groups[x[i]]
            if g < 0:
                continue
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
        err = 0.0
        for g in range(ng):
            for c in range(nc):
                if target[g, c] > 0 and cur[g, c] > 0:
                    r = abs(target[g, c] / cur[g, c] - 1.0)
                    if r > err:
                        err = r
        if err < tol:
            break
        for lev in range(table.shape[1]):
            g = groups[lev]
            if g < 0:
                continue
            for a in range(k):
                c = cell_of[a]
                if c >= 0 and target[g, c] > 0 and cur[g, c] > 0:
                    table[a, lev] += np.log(target[g, c] / cur[g, c])
    return err


@nb.njit(cache=True, parallel=True)
def move_probabilities(state, reason, months, pi_e, pi_u, z, k_eu, k_ei, k_ui, cycle,
                       hbar_grid, h0_grid, profile, edges, exit_mult, p_e, p_u, p_i):
    """Each resident's monthly probabilities of moving to E, U and I (own state: 0), in place."""
    n = len(state)
    gmax = len(hbar_grid) - 1
    for i in nb.prange(n):
        pe = pi_e[i]
        pu = pi_u[i]
        pin = 1.0 - pe - pu
        old = state[i]
        if old == E:
            p_e[i] = 0.0
            p_u[i] = k_eu * pu
            p_i[i] = k_ei * pin + cycle * pu * pin
        elif old == U:
            a = k_eu * pe + cycle * pe * pin
            b = k_ui * pin
            hbar = a + b
            lo, hi = 0, gmax
            if hbar <= hbar_grid[0]:
                h0 = h0_grid[0]
            elif hbar >= hbar_grid[gmax]:
                h0 = h0_grid[gmax]
            else:
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if hbar_grid[mid] <= hbar:
                        lo = mid
                    else:
                        hi = mid
                t = (hbar - hbar_grid[lo]) / (hbar_grid[hi] - hbar_grid[lo])
                h0 = h0_grid[lo] + t * (h0_grid[hi] - h0_grid[lo])
            d = months[i]
            band = 0
            for e in range(1, len(edges)):
                if d >= edges[e]:
                    band = e
            f = h0 * profile[band] / hbar
            if f * hbar > 1.0:
                f = 1.0 / hbar
            p_e[i] = a * f
            p_u[i] = 0.0
            p_i[i] = b * f
        else:
            m = exit_mult[reason[i]] / z[i]
            a = k_ei * pe * m
            b = (k_ui * pu + cycle * pe * pu) * m
            s = a + b
            if s > 1.0:
                a /= s
                b /= s
            p_e[i] = a
            p_u[i] = b
            p_i[i] = 0.0


@nb.njit(cache=True, parallel=True)
def apply_moves(state, reason, months, borough, u, p_e, p_u, p_i, work_mult, job_factor, flag):
    """Draw each resident's move; the chance into work is scaled by ``work_mult`` (programmes) and by
    the home borough's ``job_factor`` (matching). ``flag``: 1 left inactivity, 2 entered it."""
    for i in nb.prange(len(state)):
        old = state[i]
        r = u[i]
        a = p_e[i] * work_mult[i] * job_factor[borough[i]]
        if a > 1.0:
            a = 1.0
        new = old
        if r < a:
            new = E
        elif r < a + p_u[i]:
            new = U
        elif r < a + p_u[i] + p_i[i]:
            new = I
        flag[i] = 0
        if new != old:
            state[i] = new
            months[i] = 0
            if old == I:
                flag[i] = 1
                reason[i] = 0
            if new == I:
                flag[i] = 2
        elif months[i] < 65535:
            months[i] += 1


@nb.njit(cache=True, inline="always")
def _age_band(a):
    """Index of states.AGE_BANDS (16-24, 25-34, 35-49, 50-64) for an age."""
    return 0 if a <= 24 else (1 if a <= 34 else (2 if a <= 49 else 3))


N_CELLS = 33 * 2 * 4  # borough x sex x age band


@nb.njit(cache=True)
def cell_totals(weight, borough, sex, age):
    """Weighted residents in each borough x sex x age-band cell."""
    cur = np.zeros(N_CELLS)
    for i in range(len(weight)):
        cur[(borough[i] * 2 + sex[i]) * 4 + _age_band(age[i])] += weight[i]
    return cur


@nb.njit(cache=True)
def reweight_cells(weight, borough, sex, age, cell_target):
    """Scale weights so each borough x sex x age-band cell keeps its target total (net migration)."""
    factor = cell_totals(weight, borough, sex, age)
    for c in range(N_CELLS):
        factor[c] = cell_target[c] / factor[c] if factor[c] > 0 else 1.0
    for i in range(len(weight)):
        weight[i] = weight[i] * factor[(borough[i] * 2 + sex[i]) * 4 + _age_band(age[i])]


CHUNKS = 8  # fixed, so sums (and results) do not depend on the number of threads


@nb.njit(cache=True)
def _tally_range(lo, hi, state, reason, borough, sex, age, health, ethnicity, qualification, in_education,
                 wants_job, months, weight, old_state, valid_old, acc):
    # acc layout: 0:99 borough x state, 99:107 reasons, 107:113 sex x state, 113:125 band x state,
    # 125:134 health x state, 134:152 eth x state, 152:170 qual x state, 170:172 young, 172 want, 173 ltu,
    # 174:207 long-term sick by borough, 207:216 quarterly
    for i in range(lo, hi):
        w = np.float64(weight[i])
        s = state[i]
        acc[borough[i] * 3 + s] += w
        acc[99 + reason[i]] += w
        acc[107 + sex[i] * 3 + s] += w
        band = _age_band(age[i])
        acc[113 + band * 3 + s] += w
        acc[125 + health[i] * 3 + s] += w
        acc[134 + ethnicity[i] * 3 + s] += w
        acc[152 + qualification[i] * 3 + s] += w
        if band == 0:
            acc[170] += w
            if s != E and not in_education[i]:
                acc[171] += w
        if s == I and wants_job[i]:
            acc[172] += w
        if s == U and months[i] >= 12:
            acc[173] += w
        if reason[i] == 4:
            acc[174 + borough[i]] += w
        if valid_old[i]:
            acc[207 + old_state[i] * 3 + s] += w


@nb.njit(cache=True, parallel=True)
def _tally(state, reason, borough, sex, age, health, ethnicity, qualification, in_education, wants_job, months,
           weight, old_state, valid_old):
    n = len(state)
    parts = np.zeros((CHUNKS, 216))
    step = (n + CHUNKS - 1) // CHUNKS
    for c in nb.prange(CHUNKS):
        lo = c * step
        hi = min(n, lo + step)
        _tally_range(lo, hi, state, reason, borough, sex, age, health, ethnicity, qualification, in_education,
                     wants_job, months, weight, old_state, valid_old, parts[c])
    out = np.zeros(216)
    for c in range(CHUNKS):  # fixed order
        out += parts[c]
    return out


def tally(state, reason, borough, sex, age, health, ethnicity, qualification, in_education, wants_job, months,
          weight, old_state, valid_old):
    """All the weighted counts the monthly metrics need, in one parallel pass.

    Returns (by_borough[33,3], reasons[8], by_sex[2,3], by_band[4,3], by_health[3,3], by_eth[6,3],
    by_qual[6,3], young[2] (all 16-24, NEET), want, ltu, lts_borough[33], quarterly[3,3]).
    """
    a = _tally(state, reason, borough, sex, age, health, ethnicity, qualification, in_education, wants_job, months,
               weight, old_state, valid_old)
    return (a[0:99].reshape(33, 3), a[99:107], a[107:113].reshape(2, 3), a[113:125].reshape(4, 3),
            a[125:134].reshape(3, 3), a[134:152].reshape(6, 3), a[152:170].reshape(6, 3), a[170:172],
            a[172], a[173], a[174:207], a[207:216].reshape(3, 3))


@nb.njit(cache=True)
def loglinear_probs(tables: np.ndarray, intercept: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Softmax of intercept + sum_f tables[f, :, codes[f, i]] for each column i: (k, n) probabilities."""
    nf, k, _ = tables.shape
    n = codes.shape[1]
    out = np.empty((k, n))
    lg = np.empty(k)
    for i in range(n):
        mx = -np.inf
        for a in range(k):
            s = intercept[a]
            for f in range(nf):
                s += tables[f, a, codes[f, i]]
            lg[a] = s
            if s > mx:
                mx = s
        tot = 0.0
        for a in range(k):
            lg[a] = np.exp(lg[a] - mx) if lg[a] > -np.inf else 0.0
            tot += lg[a]
        for a in range(k):
            out[a, i] = lg[a] / tot
    return out


@nb.njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, parallel=True)
def keyed_uniforms(seed, month, purpose, idx):
    """Uniform [0, 1) numbers addressed by (seed, month, purpose, resident): common random numbers.

    Two runs with the same seed give resident ``i`` the same draw for the same purpose in the same month,
    whatever else differs between them, so a scenario and its baseline differ only where the policy
    acts (splitmix64 finaliser over the combined key; Steele, Lea and Flood 2014).
    """
    out = np.empty(len(idx))
    base = _mix64(np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(month) * np.uint64(0xD1B54A32D192ED03)
                  + np.uint64(purpose) * np.uint64(0xABC98388FB8FAC03))
    for j in nb.prange(len(idx)):
        z = _mix64(base ^ (np.uint64(idx[j]) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)))
        out[j] = (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return out
