"""Compiled (numba) kernels for the hot loops: one pass over the residents each.

Each kernel is a pure function over arrays (Covasim's ``utils.py`` pattern).
A month is three of them: ``birthdays`` (demography of the month's birthday
residents, whose cached hazard inputs it refreshes), ``desired_from_list``
(expected moves into work over the residents not in work, for matching) and
``month_transitions`` (everyone's move and the metric tally); programmes add
``interventions.monthly.refer_and_discharge``. The synthesis uses the sampling
and raking kernels. Random numbers are keyed uniforms (common random numbers,
:func:`keyed_uniforms`) or come from the model's numpy Generator, whose state
numba shares, so results do not depend on numba's own random state. Sums run
in fixed chunks in a fixed order: results do not depend on the number of
threads.

Parallel kernels are only called from Python: a cached compiled function
calling a parallel one crashed when loaded from numba's cache.
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting at a barrier lose a whole time slice whenever another process
# holds one of the cores (10x slower months on a shared 2-core machine): wait passively instead. Read when
# the OpenMP runtime loads, i.e. at the first parallel kernel call; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# ...but a thread that sleeps at once after each parallel kernel takes about a millisecond to wake for the next one
# (measured: the 200k-resident monthly pass took 3.3 ms on two threads against 1.7 ms on one): GNU OpenMP's
# workers spin for about 0.1 ms (10,000 spins) first, which covers the gaps between one month's kernels and still
# yields the core at once to other processes on a busy machine.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import numba as nb  # noqa: E402
import numpy as np  # noqa: E402

E, U, I = 0, 1, 2


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


@nb.njit(cache=True, inline="always")
def _move_p(old, reason, d, pe, pu, z, k_eu, k_ei, k_ui, cycle, hbar_grid, h0_grid, profile, edges, exit_mult):
    """One resident's monthly probabilities of moving to E, U and I (own state: 0)."""
    pin = 1.0 - pe - pu
    if old == E:
        return 0.0, k_eu * pu, k_ei * pin + cycle * pu * pin
    elif old == U:
        gmax = len(hbar_grid) - 1
        a = k_eu * pe + cycle * pe * pin
        b = k_ui * pin
        hbar = a + b
        lo, hi = 0, gmax
        if hbar <= hbar_grid[0]:
            h0 = h0_grid[0]
        elif hbar >= hbar_grid[gmax]:
            h0 = h0_grid[gmax]
        else:
            # the grid is geometric (DurationModel): guess the segment from the logarithm, then step to the one a
            # binary search finds (grid[lo] <= hbar < grid[lo + 1]), so the result is the same
            lo = int((np.log(hbar) - np.log(hbar_grid[0])) / (np.log(hbar_grid[gmax]) - np.log(hbar_grid[0])) * gmax)
            lo = min(max(lo, 0), gmax - 1)
            while lo > 0 and hbar_grid[lo] > hbar:
                lo -= 1
            while lo < gmax - 1 and hbar_grid[lo + 1] <= hbar:
                lo += 1
            hi = lo + 1
            t = (hbar - hbar_grid[lo]) / (hbar_grid[hi] - hbar_grid[lo])
            h0 = h0_grid[lo] + t * (h0_grid[hi] - h0_grid[lo])
        band = 0
        for e in range(1, len(edges)):
            if d >= edges[e]:
                band = e
        f = h0 * profile[band] / hbar
        if f * hbar > 1.0:
            f = 1.0 / hbar
        return a * f, 0.0, b * f
    else:
        m = exit_mult[reason] / z
        a = k_ei * pe * m
        b = (k_ui * pu + cycle * pe * pu) * m
        s = a + b
        if s > 1.0:
            a /= s
            b /= s
        return a, b, 0.0


#: index of states.AGE_BANDS (16-24, 25-34, 35-49, 50-64) by age (a table: ages are in random order)
_BAND_OF_AGE = np.array([0 if a <= 24 else (1 if a <= 34 else (2 if a <= 49 else 3)) for a in range(256)],
                        dtype=np.int64)


@nb.njit(cache=True, inline="always")
def _age_band(a):
    """Index of states.AGE_BANDS (16-24, 25-34, 35-49, 50-64) for an age (0-255)."""
    return _BAND_OF_AGE[a]


N_AGES = 49  # single years of age 16..64
N_CELLS = 33 * 2 * N_AGES  # borough x sex x single year of age
#: each cell's borough x sex x age band (N_CELL_BANDS of them): net migration holds the band totals even where a
#: single year has emptied
CELL_BAND = np.arange(N_CELLS) // N_AGES * 4 + _BAND_OF_AGE[np.arange(N_CELLS) % N_AGES + 16]
N_CELL_BANDS = 33 * 2 * 4


@nb.njit(cache=True, inline="always")
def _cell(borough, sex, age):
    """A resident's borough x sex x single-year-of-age cell (net migration keeps each cell's total, so the age
    structure within the bands holds too)."""
    return (np.int64(borough) * 2 + np.int64(sex)) * N_AGES + min(max(np.int64(age) - 16, 0), N_AGES - 1)


@nb.njit(cache=True)
def cell_totals(weight, borough, sex, age):
    """Weighted residents in each borough x sex x age-band cell."""
    cur = np.zeros(N_CELLS)
    for i in range(len(weight)):
        cur[_cell(borough[i], sex[i], age[i])] += weight[i]
    return cur


CHUNKS = 8  # fixed, so sums (and results) do not depend on the number of threads


@nb.njit(cache=True, inline="always")
def _chunk(n, c):
    """Bounds of chunk ``c`` of ``CHUNKS`` over ``range(n)`` (scratch arrays are made once per chunk)."""
    step = (n + CHUNKS - 1) // CHUNKS
    lo = min(n, c * step)
    return lo, min(n, lo + step)


@nb.njit(cache=True, inline="always")
def _tally_one(acc, s, reason, borough, sex, age, health, ethnicity, qualification, in_education, wants_job, months,
               weight, old_state, valid_old):
    # acc layout: 0:99 borough x state, 99:107 reasons, 107:113 sex x state, 113:125 band x state,
    # 125:134 health x state, 134:152 eth x state, 152:170 qual x state, 170:172 young, 172 want, 173 ltu,
    # 174:207 long-term sick by borough, 207:216 quarterly
    w = np.float64(weight)
    acc[borough * 3 + s] += w
    acc[99 + reason] += w
    acc[107 + sex * 3 + s] += w
    band = _age_band(age)
    acc[113 + band * 3 + s] += w
    acc[125 + health * 3 + s] += w
    acc[134 + ethnicity * 3 + s] += w
    acc[152 + qualification * 3 + s] += w
    if band == 0:
        acc[170] += w
        if s != E and not in_education:
            acc[171] += w
    if s == I and wants_job:
        acc[172] += w
    if s == U and months >= 12:
        acc[173] += w
    if reason == 4:
        acc[174 + borough] += w
    if valid_old:
        acc[207 + old_state * 3 + s] += w


@nb.njit(cache=True)
def _tally_range(lo, hi, state, reason, borough, sex, age, health, ethnicity, qualification, in_education,
                 wants_job, months, weight, old_state, valid_old, acc):
    for i in range(lo, hi):
        _tally_one(acc, state[i], reason[i], borough[i], sex[i], age[i], health[i], ethnicity[i], qualification[i],
                   in_education[i], wants_job[i], months[i], weight[i], old_state[i], valid_old[i])


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
    return split_tally(a)


@nb.njit(cache=True, inline="always")
def _exp_total(lg, mx):
    """Log-odds ``lg`` (maximum ``mx``) to unnormalised probabilities in place; returns their total."""
    tot = 0.0
    for a in range(len(lg)):
        lg[a] = np.exp(lg[a] - mx) if lg[a] > -np.inf else 0.0
        tot += lg[a]
    return tot


@nb.njit(cache=True, inline="always")
def _softmax_into(out, col, lg, mx):
    tot = _exp_total(lg, mx)
    for a in range(len(lg)):
        out[a, col] = lg[a] / tot


@nb.njit(cache=True, inline="always")
def _loglinear_one(tables, intercept, feats, i, lg):
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
        lo, hi = _chunk(n, ch)
        lg = np.empty(k)
        for j in range(lo, hi):
            mx = _loglinear_one(tables, intercept, feats, idx[j], lg)
            _softmax_into(out, j, lg, mx)
    return out


@nb.njit(cache=True, inline="always")
def _combination_softmax(key, levels, tables, intercept, code, lg):
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
    return _exp_total(lg, mx)


@nb.njit(cache=True)
def reason_z_table(r_tables, r_intercept, levels, reason_exit_mult):
    """The reason-exit normaliser ``Z = sum_r tau_r m_r`` for every combination of the reason model's features:
    a few thousand combinations instead of one per resident. The same arithmetic as computing it resident by
    resident, so the values are identical."""
    nf, kr, _ = r_tables.shape
    size = 1
    for f in range(nf):
        size *= levels[f]
    out = np.empty(size)
    lr = np.empty(kr)
    code = np.empty(nf, dtype=np.int64)
    for key in range(size):
        tot = _combination_softmax(key, levels, r_tables, r_intercept, code, lr)
        zz = 0.0
        for a in range(kr):
            zz += reason_exit_mult[a] * (lr[a] / tot)
        out[key] = zz
    return out


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
        lo, hi = _chunk(size, ch)
        lg = np.empty(ks)
        code = np.empty(nf, dtype=np.int64)
        for key in range(lo, hi):
            tot = _combination_softmax(key, levels, s_tables, s_intercept, code, lg)
            out[0, key] = lg[0] / tot
            out[1, key] = lg[1] / tot
    return out


@nb.njit(cache=True, inline="always")
def group_of(sex, age, health, ethnicity, qualification, in_education):
    """A resident's tally group: (sex, age band, health, ethnic group, qualification, in education or training) in
    mixed radix (N_GROUPS of them)."""
    return ((((np.int64(sex) * 4 + _age_band(age)) * 3 + health) * 6 + ethnicity) * 6 + qualification) * 2 \
        + np.int64(in_education)




@nb.njit(cache=True, inline="always")
def _refresh_one(i, lg, s_tables, s_intercept, s_feats, s_levels, s_table, r_feats, r_levels,
                 z_table, in_education, z_student, pi_e, pi_u, z, sex, age, health, ethnicity, qualification, group):
    """:func:`refresh_hazard_inputs` for resident ``i`` (``lg``: scratch of the state model's size)."""
    ks = s_tables.shape[1]
    nr = len(r_levels)
    ns = len(s_levels)
    use_table = s_table.shape[1] > 0
    if use_table:
        key = 0
        for f in range(ns):
            key = key * s_levels[f] + np.int64(s_feats[f][i])
        pi_e[i] = s_table[0, key]
        pi_u[i] = s_table[1, key]
    elif ks == 3:  # E, U, I: the same sums in the same order, in registers (about twice as fast)
        s0, s1, s2 = s_intercept[0], s_intercept[1], s_intercept[2]
        for f in range(ns):
            c = np.int64(s_feats[f][i])
            s0 += s_tables[f, 0, c]
            s1 += s_tables[f, 1, c]
            s2 += s_tables[f, 2, c]
        mx = max(s0, max(s1, s2))
        e0 = np.exp(s0 - mx) if s0 > -np.inf else 0.0
        e1 = np.exp(s1 - mx) if s1 > -np.inf else 0.0
        e2 = np.exp(s2 - mx) if s2 > -np.inf else 0.0
        tot = e0 + e1 + e2
        pi_e[i] = e0 / tot
        pi_u[i] = e1 / tot
    else:
        tot = _exp_total(lg, _loglinear_one(s_tables, s_intercept, s_feats, i, lg))
        pi_e[i] = lg[0] / tot
        pi_u[i] = lg[1] / tot
    if in_education[i]:
        z[i] = z_student
    else:
        key = 0
        for f in range(nr):
            key = key * r_levels[f] + r_feats[f][i]
        z[i] = z_table[key]
    group[i] = group_of(sex[i], age[i], health[i], ethnicity[i], qualification[i], in_education[i])


@nb.njit(cache=True, parallel=True)
def refresh_hazard_inputs(idx, s_tables, s_intercept, s_feats, s_levels, s_table, r_feats, r_levels, z_table,
                          in_education, z_student, pi_e, pi_u, z, sex, age, health, ethnicity, qualification, group):
    """Cached hazard inputs of residents ``idx``: stationary shares of E and U (from the hazards' state model,
    whose age effect is read ahead, :func:`glw_sim.hazards.led_state_model`; from :func:`state_share_table` if
    ``s_table`` is not empty) and the reason-exit
    normaliser (:func:`reason_z_table`; students: ``z_student``); and their tally group (:func:`group_of`)."""
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(len(idx), ch)
        lg = np.empty(s_tables.shape[1])
        for j in range(lo, hi):
            _refresh_one(idx[j], lg, s_tables, s_intercept, s_feats, s_levels, s_table, r_feats, r_levels, z_table, in_education, z_student, pi_e, pi_u, z, sex, age, health, ethnicity,
                         qualification, group)


@nb.njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def _key_base(seed, month, purpose):
    return _mix64(np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(month) * np.uint64(0xD1B54A32D192ED03)
                  + np.uint64(purpose) * np.uint64(0xABC98388FB8FAC03))


@nb.njit(cache=True, inline="always")
def _keyed(base, i):
    z = _mix64(base ^ (np.uint64(i) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True, parallel=True)
def keyed_uniforms(seed, month, purpose, idx):
    """Uniform [0, 1) numbers addressed by (seed, month, purpose, resident): common random numbers.

    Two runs with the same seed give resident ``i`` the same draw for the same purpose in the same month,
    whatever else differs between them, so a scenario and its baseline differ only where the policy
    acts (splitmix64 finaliser over the combined key; Steele, Lea and Flood 2014).
    """
    out = np.empty(len(idx))
    base = _key_base(seed, month, purpose)
    for j in nb.prange(len(idx)):
        out[j] = _keyed(base, idx[j])
    return out


# ---------------------------------------------------------------------------------------------- programmes
# A resident's status in a programme (glw_sim.interventions.base.Programme): 0 none, waiting, supported, after support
WAITING, SUPPORTED, AFTER = 1, 2, 3


@nb.njit(cache=True, inline="always")
def _quiet(words, i):
    """True if all of resident ``i``'s bytes (8 programmes to a word) are zero."""
    for k in range(words.shape[1]):
        if words[i, k] != 0:
            return False
    return True


@nb.njit(cache=True, inline="always")
def _scaled(full, value, frac):
    return value if full else 1.0 + (value - 1.0) * frac


@nb.njit(cache=True, inline="always")
def resident_multipliers(i, st, month, active, status, status_words, since, place, place_words, into_work,
                         into_search, leave_work, after_months, exponential, half_life, spillover):
    """Resident ``i``'s multipliers (into work, to U, to I) from every programme that reaches them this month (as
    ``Programme.apply``, programme by programme in order; the arguments after ``month`` are
    ``GLWModel._programme_effects()``): the share ``frac`` of a programme's effect is 1 while supported, fades
    over ``after_months[p]`` after support (linearly, or halving every ``half_life[p]`` months if
    ``exponential[p]``), and is ``spillover[p]`` for other residents of an active place-based programme's place. The move multipliers act on starting to
    search for the inactive and on leaving work for the employed."""
    m = 1.0
    m_u = 1.0
    m_i = 1.0
    if _quiet(status_words, i) and (place_words.shape[0] == 0 or _quiet(place_words, i)):
        return m, m_u, m_i
    for p in range(len(active)):
        s = status[i, p]
        if s == SUPPORTED:
            frac = 1.0
        elif s == AFTER:
            if after_months[p] <= 0:
                continue
            t = month - since[i, p]
            if exponential[p]:
                frac = 0.5 ** (t / half_life[p]) if t < after_months[p] else 0.0
            else:
                frac = min(max(1.0 - t / after_months[p], 0.0), 1.0)
        elif spillover[p] > 0 and active[p] and place_words.shape[0] > 0 and place[i, p]:
            frac = spillover[p]
        else:
            continue
        full = frac == 1.0
        m *= _scaled(full, into_work[p], frac)
        if st == I and into_search[p] != 1.0:
            m_u *= _scaled(full, into_search[p], frac)
        elif st == E and leave_work[p] != 1.0:
            f = _scaled(full, leave_work[p], frac)
            m_u *= f
            m_i *= f
    return m, m_u, m_i


def no_programmes(n: int) -> tuple:
    """The arguments of :func:`resident_multipliers` for a model without programmes (nothing reaches anyone)."""
    z8 = np.zeros((n, 0), dtype=np.int8)
    zb = np.zeros((0, 0), dtype=np.bool_)
    return (np.zeros(0, dtype=np.bool_), z8, z8.view(np.uint64), np.zeros((n, 0), dtype=np.int32), zb,
            zb.view(np.uint64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.bool_), np.zeros(0), np.zeros(0))


# ---------------------------------------------------------------------------------------------- the month
# Two passes over the residents per month (GLWModel._transitions), after the birthdays and the refresh:
# 1. ``desired_from_list``: expected moves into work by home borough (the matching input), over the residents not in
#    work, whom the last monthly pass listed (plus this month's birthday residents);
# 2. ``month_transitions``, in CHUNKS fixed chunks: net-migration weights, each resident's keyed draw, move, the
#    reason and wants-a-job of new (or switching) inactivity spells, the tally of every monthly metric, and the
#    list of residents not in work and the weight of each borough x sex x age-band cell for next month.
# Sums run in fixed chunks in a fixed order, so results do not depend on the number of threads.


@nb.njit(cache=True, parallel=True)
def desired_from_list(n, not_employed, not_employed_count, birth_month, this_birth_month, birthday, weight,
                      borough, desired_out, state, reason, months, pi_e, pi_u, z, k_eu, k_ei, k_ui, cycle,
                      hbar_grid, h0_grid, profile, edges, exit_mult, work_mult, use_work_mult, month, prog, use_prog):
    """Expected moves into work this month by home borough (the matching input): each resident's weighted chance
    into work (times programme effects, :func:`resident_multipliers` of ``prog``, if ``use_prog``, and
    ``work_mult`` if ``use_work_mult``) summed into ``desired_out`` (as ``np.bincount``) over the residents not in work: those :func:`month_transitions`
    listed last month (chunk ``c``'s ``not_employed_count[c]`` from ``not_employed[_chunk(n, c)[0]]`` on), except
    this month's birthday residents (``birth_month == this_birth_month``), whose state may have changed since, and
    the ``birthday`` residents not in work."""
    (p_active, p_status, p_words, p_since, p_place, p_place_words, p_into_work, p_into_search, p_leave_work,
     p_after, p_exponential, p_half_life, p_spillover) = prog
    acc = np.zeros((2 * CHUNKS, 33))
    for task in nb.prange(2 * CHUNKS):  # listed and birthday residents alternate, so threads share the work evenly
        listed = task % 2 == 0
        if listed:
            lo = _chunk(n, task // 2)[0]
            hi = lo + not_employed_count[task // 2]
        else:
            lo, hi = _chunk(len(birthday), task // 2)
        for j in range(lo, hi):
            if listed:
                i = not_employed[j]
                if birth_month[i] == this_birth_month:
                    continue
            else:
                i = birthday[j]
            if state[i] == E:
                continue
            pe, _, _ = _move_p(state[i], reason[i], months[i], pi_e[i], pi_u[i], z[i], k_eu, k_ei, k_ui, cycle,
                               hbar_grid, h0_grid, profile, edges, exit_mult)
            w = np.float64(weight[i]) * pe
            if use_prog or use_work_mult:
                mult = 1.0
                if use_prog:
                    mult, _, _ = resident_multipliers(i, state[i], month, p_active, p_status, p_words, p_since,
                                                      p_place, p_place_words, p_into_work, p_into_search,
                                                      p_leave_work, p_after, p_exponential, p_half_life, p_spillover)
                if use_work_mult:
                    mult = mult * work_mult[i]
                w = w * mult
            acc[task, borough[i]] += w
    desired_out[:] = 0.0
    for t in range(2 * CHUNKS):  # fixed order
        desired_out += acc[t]


@nb.njit(cache=True, parallel=True)
def scale_weights(weight, borough, sex, age, factor, cells):
    """Weights times their borough x sex x single-year cell's ``factor`` (net migration); each chunk ``c`` writes
    the weight in each cell after scaling to ``cells[c]``."""
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(len(weight), ch)
        acc = cells[ch]
        acc[:] = 0.0
        for i in range(lo, hi):
            c = _cell(borough[i], sex[i], age[i])
            weight[i] = weight[i] * factor[c]
            acc[c] += np.float64(weight[i])


@nb.njit(cache=True, inline="always")
def _draw_reason(i, u, entry, scratch, r_tables, r_intercept, r_feats, reason_exit_mult):
    """Index of the reason drawn with uniform ``u`` for resident ``i`` from the reason model (as
    :func:`loglinear_probs_columns` and ``synthesis.assign_reasons``; ``entry``: weighted by exit multipliers)."""
    k = r_tables.shape[1]
    tot = _exp_total(scratch, _loglinear_one(r_tables, r_intercept, r_feats, i, scratch))
    for a in range(k):
        scratch[a] = scratch[a] / tot
    if entry:
        for a in range(k):
            scratch[a] = scratch[a] * reason_exit_mult[a]
        tot = scratch[0]
        for a in range(1, k):
            tot = tot + scratch[a]
        for a in range(k):
            scratch[a] = scratch[a] / tot
    c = 0.0
    cnt = 0
    for a in range(k):
        c += scratch[a]
        if u > c:
            cnt += 1
    return min(cnt, k - 1)


N_GROUPS = 2 * 4 * 3 * 6 * 6 * 2  # sex x age band x health x ethnicity x qualification x in education


@nb.njit(cache=True, parallel=True)
def month_transitions(do_moves, key_seed, month, purposes, state, reason, months, borough, group, in_education,
                      wants_job, weight, pi_e, pi_u, z, k_eu, k_ei, k_ui,
                      cycle, hbar_grid, h0_grid, profile, edges, exit_mult, work_mult, use_work_mult, prog, use_prog,
                      job_factor,
                      r_tables, r_intercept, r_feats, reason_codes, reason_exit_mult, wants_job_prob, switch_rate,
                      ring, not_employed, not_employed_count, by_group):
    """One month's E/U/I moves for everyone and the tally of the month's metrics, in one pass.

    With ``do_moves``: each resident draws a keyed uniform (``purposes``: move, reason, want, switch,
    switch reason, switch want) and moves with the probabilities of :func:`_move_p`: if ``use_prog``, times the
    effects of the programmes that reach the resident (:func:`resident_multipliers` of ``prog``: into work, and
    on moving to U and to I, i.e. search and staying in work); the chance into work times ``work_mult`` (if
    ``use_work_mult``: employability levers) and the home borough's ``job_factor`` (matching); new inactivity
    spells draw a reason in proportion to share x exit multiplier and wants-a-job; inactive residents not in
    education who stayed inactive switch reason with ``switch_rate``. ``ring[month % 3]`` holds each resident's
    state three months ago (255: not known, e.g. an entrant) and is overwritten with the new state (net migration
    scales the weights before, :func:`scale_weights`). For next month's expected moves (:func:`desired_from_list`), each chunk ``c`` writes the residents not in work
    after the month, in index order, from ``not_employed[_chunk(n, c)[0]]`` on and their number to
    ``not_employed_count[c]``. Returns the counts of :func:`tally`; without ``by_group``, only those by borough, state and
    reason (the group, wanting-a-job, long-term unemployed and flow counts are left at 0 and ``ring`` as it was)."""
    n = len(state)
    slot = month % 3
    b_move = _key_base(key_seed, month, purposes[0])
    b_reason = _key_base(key_seed, month, purposes[1])
    b_want = _key_base(key_seed, month, purposes[2])
    b_switch = _key_base(key_seed, month, purposes[3])
    b_sw_reason = _key_base(key_seed, month, purposes[4])
    b_sw_want = _key_base(key_seed, month, purposes[5])
    k = r_tables.shape[1]
    (p_active, p_status, p_words, p_since, p_place, p_place_words, p_into_work, p_into_search, p_leave_work,
     p_after, p_exponential, p_half_life, p_spillover) = prog
    groups = np.zeros((CHUNKS, N_GROUPS * 3))
    boroughs = np.zeros((CHUNKS, 33 * 24))
    extra = np.zeros((CHUNKS, 11))
    step = (n + CHUNKS - 1) // CHUNKS
    for ch in nb.prange(CHUNKS):
        lo = ch * step
        hi = min(n, lo + step)
        g_acc = groups[ch]
        b_acc = boroughs[ch]
        x_acc = extra[ch]
        listed = 0
        scratch = np.empty(k)
        for i in range(lo, hi):
            old = state[i]
            if do_moves:
                p_e, p_u, p_i = _move_p(old, reason[i], months[i], pi_e[i], pi_u[i], z[i], k_eu, k_ei, k_ui, cycle,
                                        hbar_grid, h0_grid, profile, edges, exit_mult)
                mult = 1.0
                if use_prog:
                    mult, m_u, m_i = resident_multipliers(i, old, month, p_active, p_status, p_words, p_since, p_place,
                                                          p_place_words, p_into_work, p_into_search, p_leave_work,
                                                          p_after, p_exponential, p_half_life, p_spillover)
                    p_u = p_u * m_u
                    p_i = p_i * m_i
                if use_work_mult:
                    mult = mult * work_mult[i]
                a = p_e * mult * job_factor[borough[i]]
                if a > 1.0:
                    a = 1.0
                r = _keyed(b_move, i)
                new = old
                if r < a:
                    new = E
                elif r < a + p_u:
                    new = U
                elif r < a + p_u + p_i:
                    new = I
                if new != old:
                    state[i] = new
                    months[i] = 0
                    if old == I:
                        reason[i] = 0
                        wants_job[i] = False
                    if new == I:
                        if in_education[i]:
                            reason[i] = 1
                        else:
                            reason[i] = reason_codes[_draw_reason(i, _keyed(b_reason, i), True, scratch, r_tables,
                                                                  r_intercept, r_feats, reason_exit_mult)]
                        wants_job[i] = _keyed(b_want, i) < wants_job_prob[reason[i]]
                else:
                    if months[i] < 65535:
                        months[i] += 1
                    if old == I and not in_education[i] and _keyed(b_switch, i) < switch_rate:
                        reason[i] = reason_codes[_draw_reason(i, _keyed(b_sw_reason, i), False, scratch, r_tables,
                                                              r_intercept, r_feats, reason_exit_mult)]
                        wants_job[i] = _keyed(b_sw_want, i) < wants_job_prob[reason[i]]
            g = np.int64(group[i])
            s = state[i]
            # weighted counts by borough x state x reason and by (sex, age band, health, ethnicity, qualification,
            # in education) x state; the metrics' margins are summed from these (tally_from_groups)
            w = np.float64(weight[i])
            if s != E:
                not_employed[lo + listed] = i
                listed += 1
            b_acc[borough[i] * 24 + s * 8 + reason[i]] += w
            if by_group:
                prev = ring[slot, i]
                g_acc[g * 3 + s] += w
                if s == I and wants_job[i]:
                    x_acc[0] += w
                if s == U and months[i] >= 12:
                    x_acc[1] += w
                if prev != 255:
                    x_acc[2 + prev * 3 + s] += w
                ring[slot, i] = s
        not_employed_count[ch] = listed
    g_out = np.zeros(N_GROUPS * 3)
    b_out = np.zeros(33 * 24)
    x_out = np.zeros(11)
    for ch in range(CHUNKS):  # fixed order
        g_out += groups[ch]
        b_out += boroughs[ch]
        x_out += extra[ch]
    return tally_from_groups(g_out, b_out, x_out)



@nb.njit(cache=True)
def tally_from_groups(g_acc, b_acc, x_acc):
    """The flat counts of :func:`tally` from the grouped counts of :func:`month_transitions`."""
    acc = np.zeros(216)
    for b in range(33):
        for s in range(3):
            for r in range(8):
                w = b_acc[b * 24 + s * 8 + r]
                acc[b * 3 + s] += w
                acc[99 + r] += w
                if r == 4:
                    acc[174 + b] += w
    for g in range(N_GROUPS):
        edu = g % 2
        q = (g // 2) % 6
        e = (g // 12) % 6
        h = (g // 72) % 3
        band = (g // 216) % 4
        sx = g // 864
        for s in range(3):
            w = g_acc[g * 3 + s]
            acc[107 + sx * 3 + s] += w
            acc[113 + band * 3 + s] += w
            acc[125 + h * 3 + s] += w
            acc[134 + e * 3 + s] += w
            acc[152 + q * 3 + s] += w
            if band == 0:
                acc[170] += w
                if s != E and edu == 0:
                    acc[171] += w
    acc[172] = x_acc[0]
    acc[173] = x_acc[1]
    for j in range(9):
        acc[207 + j] = x_acc[2 + j]
    return acc


def split_tally(a):
    """The counts of :func:`tally` from its flat array."""
    return (a[0:99].reshape(33, 3), a[99:107], a[107:113].reshape(2, 3), a[113:125].reshape(4, 3),
            a[125:134].reshape(3, 3), a[134:152].reshape(6, 3), a[152:170].reshape(6, 3), a[170:172],
            a[172], a[173], a[174:207], a[207:216].reshape(3, 3))


# ---------------------------------------------------------------------------------------------- demography
# purposes (model keyed-draw codes) used by the demography kernels, in this order
# EDU_LEAVE, REDRAW_STATE, REDRAW_REASON, REDRAW_WANT, ENTRANT_SEX, LIFE_HEALTH, LIFE_CHILDREN, LIFE_CARE, then the
# entrants' ethnic group, qualification, health, young children, caring and education


@nb.njit(cache=True, inline="always")
def _redraw_one(i, b_state, b_reason, b_want, state, reason, months, wants_job, in_education, s_tables, s_intercept,
                s_feats, r_tables, r_intercept, r_feats, reason_codes, wants_job_prob, lg, lr):
    """A fresh labour state (and reason) for resident ``i`` from their stationary shares (GLWModel._redraw_state)."""
    tot = _exp_total(lg, _loglinear_one(s_tables, s_intercept, s_feats, i, lg))
    p0 = lg[0] / tot
    p1 = lg[1] / tot
    u = _keyed(b_state, i)
    new = E if u < p0 else (U if u < p0 + p1 else I)
    if new != state[i]:
        months[i] = 0
    state[i] = new
    reason[i] = 0
    wants_job[i] = False
    if new == I:
        if in_education[i]:
            reason[i] = 1
        else:
            reason[i] = reason_codes[_draw_reason(i, _keyed(b_reason, i), False, lr, r_tables, r_intercept, r_feats,
                                                  wants_job_prob)]  # (exit multipliers unused: not an entry)
        wants_job[i] = _keyed(b_want, i) < wants_job_prob[reason[i]]


@nb.njit(cache=True, inline="always")
def _keyed_category(u, shares):
    """The category a uniform ``u`` falls in, for categories with ``shares`` (summing to 1)."""
    c = 0.0
    for k in range(len(shares) - 1):
        c += shares[k]
        if u < c:
            return k
    return len(shares) - 1


@nb.njit(cache=True, parallel=True)
def birthdays(idx, key_seed, month, purposes, age, sex, ethnicity, qualification, health, young_children,
              unpaid_carer, in_education, state, reason, months, wants_job, health_prev, young_children_p,
              unpaid_carer_p, edu_share, female_entrant, ethnicity_share, qualification_share, s_tables, s_intercept,
              s_feats, r_tables, r_intercept, r_feats, reason_codes, wants_job_prob, leaver, borough, weight,
              cell_change, refresh):
    """Residents ``idx`` have their birthday (GLWModel._demography): age a year; those reaching 65 leave and their
    slot becomes a 16-year-old entrant (``leaver[j] = True``) with keyed draws of sex, ethnic group,
    qualification, health, young children, caring and education or training at the shares of new 16-year-olds,
    and a labour state drawn afresh; those entering a new age band get life events (health onset, young
    children, caring at the new band's prevalence); some leave education or training, and their labour state is
    drawn afresh. The weight moving between borough x sex x age-band cells goes to ``cell_change`` (per chunk).
    Every birthday resident's cached hazard inputs are then refreshed (:func:`refresh_hazard_inputs`; ``refresh``
    holds its arguments after the state model's and the reason model's, starting with the hazard tables: the state
    model's, with the age effect read ahead, :attr:`glw_sim.hazards.Hazards.state_model`)."""
    (h_tables, h_intercept, s_levels, s_table, r_levels, z_table, z_student, pi_e, pi_u, z, group) = refresh
    b_edu = _key_base(key_seed, month, purposes[0])
    b_state = _key_base(key_seed, month, purposes[1])
    b_reason = _key_base(key_seed, month, purposes[2])
    b_want = _key_base(key_seed, month, purposes[3])
    b_sex = _key_base(key_seed, month, purposes[4])
    b_health = _key_base(key_seed, month, purposes[5])
    b_children = _key_base(key_seed, month, purposes[6])
    b_care = _key_base(key_seed, month, purposes[7])
    b_e_eth = _key_base(key_seed, month, purposes[8])
    b_e_qual = _key_base(key_seed, month, purposes[9])
    b_e_health = _key_base(key_seed, month, purposes[10])
    b_e_children = _key_base(key_seed, month, purposes[11])
    b_e_care = _key_base(key_seed, month, purposes[12])
    b_e_edu = _key_base(key_seed, month, purposes[13])
    ks = s_tables.shape[1]
    kr = r_tables.shape[1]
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(len(idx), ch)
        lg = np.empty(ks)
        lg_s = np.empty(ks)
        lr = np.empty(kr)
        moved = cell_change[ch]
        moved[:] = 0.0
        for j in range(lo, hi):
            i = idx[j]
            old = np.int64(age[i])
            a = old + 1
            was = _cell(borough[i], sex[i], old)
            if a > 64:  # a 16-year-old entrant of a keyed sex takes the slot
                leaver[j] = True
                age[i] = 16
                sex[i] = 1 if _keyed(b_sex, i) < female_entrant else 0
                ethnicity[i] = _keyed_category(_keyed(b_e_eth, i), ethnicity_share)
                qualification[i] = _keyed_category(_keyed(b_e_qual, i), qualification_share)
                health[i] = _keyed_category(_keyed(b_e_health, i), health_prev[0])
                young_children[i] = _keyed(b_e_children, i) < young_children_p[0, sex[i]]
                unpaid_carer[i] = _keyed(b_e_care, i) < unpaid_carer_p[0]
                in_education[i] = _keyed(b_e_edu, i) < edu_share[16]
                months[i] = 0
                _redraw_one(i, b_state, b_reason, b_want, state, reason, months, wants_job, in_education, s_tables,
                            s_intercept, s_feats, r_tables, r_intercept, r_feats, reason_codes, wants_job_prob, lg, lr)
            else:
                leaver[j] = False
                age[i] = a
                nb_ = _age_band(a)
                if nb_ != _age_band(old):
                    o0, o1, o2 = health_prev[nb_ - 1, 0], health_prev[nb_ - 1, 1], health_prev[nb_ - 1, 2]
                    n1, n2 = health_prev[nb_, 1], health_prev[nb_, 2]
                    u = _keyed(b_health, i)
                    h = health[i]
                    p_dis = min(max((n2 - o2) / (1.0 - o2), 0.0), 1.0)
                    to_dis = h != 2 and u < p_dis
                    p_ltc = min(max((n1 - o1 * (1 - p_dis)) / max(o0 * (1 - p_dis), 1e-9), 0.0), 1.0)
                    to_ltc = h == 0 and not to_dis and u >= p_dis and u < p_dis + p_ltc * (1 - p_dis)
                    if to_dis:
                        health[i] = 2
                    elif to_ltc:
                        health[i] = 1
                    young_children[i] = _keyed(b_children, i) < young_children_p[nb_, sex[i]]
                    unpaid_carer[i] = _keyed(b_care, i) < unpaid_carer_p[nb_]
                if in_education[i]:
                    p = min(max(1 - edu_share[a] / edu_share[old], 0.0), 1.0)
                    if _keyed(b_edu, i) < p:
                        in_education[i] = False
                        _redraw_one(i, b_state, b_reason, b_want, state, reason, months, wants_job, in_education, s_tables,
                                    s_intercept, s_feats, r_tables, r_intercept, r_feats, reason_codes, wants_job_prob,
                                    lg, lr)
            now = _cell(borough[i], sex[i], age[i])
            if now != was:
                moved[was] -= np.float64(weight[i])
                moved[now] += np.float64(weight[i])
            _refresh_one(i, lg_s, h_tables, h_intercept, s_feats, s_levels, s_table, r_feats,
                         r_levels, z_table, in_education, z_student, pi_e, pi_u, z, sex, age, health, ethnicity,
                         qualification, group)


# ---------------------------------------------------------------------------------------------- sampling
# Compiled versions of glw_sim.sampling for strata stored in sorted order (residents are stored borough by
# borough): the same arithmetic in the same order and the same draws from the same numpy Generator, so the
# results are identical to the numpy versions, without their per-stratum Python loops.


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
