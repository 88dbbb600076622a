"""The hazard of each move: a resident's monthly chances of moving to E, U and I, and the inputs cached for it.

The rule (:func:`move_probabilities`) reads each resident's stationary shares of E and U (``pi_e``, ``pi_u``:
from the hazards' state model, whose age effect is read ahead, :func:`glw_sim.hazards.led_state_model`) and
the reason-exit normaliser ``z``, all cached per resident and refreshed whenever their attributes change
(:func:`refresh_hazard_inputs`), and the constants of :class:`glw_sim.engine.records.Hazard`:

- from E: to U ``k_eu pi_u``, to I ``k_ei pi_i + cycle pi_u pi_i``;
- from U: to E ``a = k_eu pi_e + cycle pi_e pi_i`` and to I ``b = k_ui pi_i``, both times the duration factor
  ``h0(a + b) profile[band] / (a + b)`` (the duration model's first-month hazard at the mean, times the
  relative hazard of the spell's duration band, :class:`glw_sim.hazards.DurationTable`);
- from I (reason r): to E ``k_ei pi_e m``, to U ``(k_ui pi_u + cycle pi_e pi_u) m`` with
  ``m = exit_mult[r] / z`` (scaled down together if they pass 1).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.layout import CHUNKS, E, I, U, chunk
from glw_sim.engine.logits import exp_total, loglinear_one
from glw_sim.engine.tallies import HEALTH_STRIDE, group_of


@nb.njit(cache=True, inline="always")
def _duration_factor(hbar, d, hz):
    """The duration model's factor at mean hazard ``hbar`` for a spell of ``d`` months (the grid is geometric:
    the segment is guessed from the logarithm, then stepped to the one a binary search finds, so the result is
    the same)."""
    hbar_grid, h0_grid = hz.hbar, hz.h0
    gmax = len(hbar_grid) - 1
    lo, hi = 0, gmax
    if hbar <= hbar_grid[0]:
        h0 = h0_grid[0]
    elif hbar >= hbar_grid[gmax]:
        h0 = h0_grid[gmax]
    else:
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
    for e in range(1, len(hz.edges)):
        if d >= hz.edges[e]:
            band = e
    f = h0 * hz.profile[band] / hbar
    if f * hbar > 1.0:
        f = 1.0 / hbar
    return f


@nb.njit(cache=True, inline="always")
def flows_from_e(pe, pu, pin, k_eu, k_ei, k_ui, cycle):
    """(p_eu, p_ei) at stationary shares ``pe``, ``pu``, ``pin`` (see :func:`flows`)."""
    return k_eu * pu, k_ei * pin + cycle * pu * pin


@nb.njit(cache=True, inline="always")
def flows_from_u(pe, pu, pin, k_eu, k_ei, k_ui, cycle):
    """(p_ue, p_ui) before the duration factor (see :func:`flows`)."""
    return k_eu * pe + cycle * pe * pin, k_ui * pin


@nb.njit(cache=True, inline="always")
def flows_from_i(pe, pu, pin, k_eu, k_ei, k_ui, cycle):
    """(p_ie, p_iu) before the reason's exit multiplier (see :func:`flows`)."""
    return k_ei * pe, k_ui * pu + cycle * pe * pu


def flows(pe, pu, pin, k_eu, k_ei, k_ui, cycle):
    """The six monthly transition probabilities at stationary shares ``pe``, ``pu``, ``pin`` before duration and
    reasons act: ``(p_eu, p_ei, p_ue, p_ui, p_ie, p_iu)``, on numbers or arrays (:func:`glw_sim.hazards.monthly_probs`,
    which the calibration fits); the monthly pass computes only its resident's state's pair."""
    k = (k_eu, k_ei, k_ui, cycle)
    return (*flows_from_e.py_func(pe, pu, pin, *k), *flows_from_u.py_func(pe, pu, pin, *k),
            *flows_from_i.py_func(pe, pu, pin, *k))


@nb.njit(cache=True, inline="always")
def move_probabilities(old, reason, d, pe, pu, z, hz):
    """One resident's monthly probabilities of moving to E, U and I (own state: 0), from state ``old``
    (inactivity ``reason``, ``d`` months in it), cached shares ``pe``, ``pu`` and normaliser ``z``, under the
    constants ``hz`` (:class:`glw_sim.engine.records.Hazard`)."""
    pin = 1.0 - pe - pu
    if old == E:
        p_eu, p_ei = flows_from_e(pe, pu, pin, hz.k_eu, hz.k_ei, hz.k_ui, hz.cycle)
        return 0.0, p_eu, p_ei
    elif old == U:
        p_ue, p_ui = flows_from_u(pe, pu, pin, hz.k_eu, hz.k_ei, hz.k_ui, hz.cycle)
        f = _duration_factor(p_ue + p_ui, d, hz)
        return p_ue * f, 0.0, p_ui * f
    else:
        p_ie, p_iu = flows_from_i(pe, pu, pin, hz.k_eu, hz.k_ei, hz.k_ui, hz.cycle)
        m = hz.exit_mult[reason] / z
        a = p_ie * m
        b = p_iu * m
        s = a + b
        if s > 1.0:
            a /= s
            b /= s
        return a, b, 0.0


@nb.njit(cache=True, inline="always")
def resident_probabilities(i, res, cached, hz):
    """:func:`move_probabilities` of resident ``i`` (:class:`~glw_sim.engine.records.Residents`, its
    :class:`~glw_sim.engine.records.Cached` inputs)."""
    return move_probabilities(res.state[i], res.reason[i], res.months_in_state[i], cached.pi_e[i], cached.pi_u[i],
                              cached.z[i], hz)


@nb.njit(cache=True, inline="always")
def refresh_one(i, lg, rf, s_feats, r_feats, res, cached):
    """Resident ``i``'s cached hazard inputs (``lg``: scratch of the state model's size): stationary shares of E
    and U (from ``rf.s_table`` when it is not empty, else resident by resident: the same sums in the same
    order), the reason-exit normaliser (``rf.z_table``; in education: ``rf.z_student``) and the tally group."""
    s_tables, s_intercept = rf.tables, rf.intercept
    ks = s_tables.shape[1]
    nr = len(rf.r_levels)
    ns = len(rf.s_levels)
    if rf.s_table.shape[1] > 0:
        key = 0
        for f in range(ns):
            key = key * rf.s_levels[f] + np.int64(s_feats[f][i])
        cached.pi_e[i] = rf.s_table[0, key]
        cached.pi_u[i] = rf.s_table[1, key]
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
        cached.pi_e[i] = e0 / tot
        cached.pi_u[i] = e1 / tot
    else:
        tot = exp_total(lg, loglinear_one(s_tables, s_intercept, s_feats, i, lg))
        cached.pi_e[i] = lg[0] / tot
        cached.pi_u[i] = lg[1] / tot
    if res.in_education[i]:
        cached.z[i] = rf.z_student
    else:
        key = 0
        for f in range(nr):
            key = key * rf.r_levels[f] + r_feats[f][i]
        cached.z[i] = rf.z_table[key]
    cached.group[i] = group_of(res.sex[i], res.age[i], res.health[i], res.ethnicity[i], res.qualification[i],
                               res.in_education[i])


@nb.njit(cache=True, inline="always")
def refresh_health(i, old, new, odds, r_levels, z_table, r_feats, res, cached):
    """:func:`refresh_one` for resident ``i`` whose health level alone changed, from ``old`` to ``new``, without
    reading their other attributes. The state model is log-linear with health one additive term, so the new shares
    are the old ones with each state's odds times ``odds`` (``exp`` of the change in its health effect, by state:
    ``HealthRates.health_odds[old, new]``), normalised: equal to :func:`refresh_one`'s to float32 rounding (the
    shares are stored in float32); the tally group moves by :data:`~glw_sim.engine.tallies.HEALTH_STRIDE` per
    level; the reason-exit normaliser is read from its table by the reason model's features (``r_levels``,
    ``z_table``: :class:`~glw_sim.engine.records.Refresh`'s; in education: unchanged). A resident's shares are
    computed afresh from the tables whenever another attribute changes (birthdays, life events), so rounding does
    not build up."""
    pe0, pu0 = np.float64(cached.pi_e[i]), np.float64(cached.pi_u[i])
    pe = pe0 * odds[E]
    pu = pu0 * odds[U]
    pin = max(1.0 - pe0 - pu0, 0.0) * odds[I]
    tot = pe + pu + pin
    cached.pi_e[i] = pe / tot
    cached.pi_u[i] = pu / tot
    if not res.in_education[i]:
        key = 0
        for f in range(len(r_levels)):
            key = key * r_levels[f] + r_feats[f][i]
        cached.z[i] = z_table[key]
    cached.group[i] = np.int64(cached.group[i]) + (np.int64(new) - np.int64(old)) * HEALTH_STRIDE


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _refresh_chunk(ch, idx, lg, rf, s_feats, r_feats, res, cached):
    lo, hi = chunk(len(idx), ch)
    for j in range(lo, hi):
        refresh_one(idx[j], lg[ch], rf, s_feats, r_feats, res, cached)


@nb.njit(cache=True, parallel=True)
def refresh_hazard_inputs(idx, rf, s_feats, r_feats, res, cached):
    """:func:`refresh_one` for residents ``idx``."""
    lg = np.empty((CHUNKS, rf.tables.shape[1]))  # scratch, per chunk
    for ch in nb.prange(CHUNKS):
        _refresh_chunk(ch, idx, lg, rf, s_feats, r_feats, res, cached)
