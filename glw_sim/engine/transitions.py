"""Transitions between E, U and I: each resident's move with one keyed draw, the reason and wanting-a-job of a new
inactivity spell, and reason switches within a spell.

With chances ``a`` (into work, after programmes, levers and matching), ``p_u`` and ``p_i`` (:mod:`.hazards`,
times the programmes' multipliers), the uniform ``r`` of purpose MOVE gives E if ``r < a``, else U if
``r < a + p_u``, else I if ``r < a + p_u + p_i``, else no move. A new inactivity spell draws its reason from the
reason model's shares weighted by the reasons' exit multipliers (residents in education: student), and wants a
job with its reason's chance; a resident staying inactive (not in education) switches main reason with chance
``switch_rate``, drawn from the unweighted shares.
"""

from __future__ import annotations

import numba as nb

from glw_sim.engine.keyed import keyed
from glw_sim.engine.layout import E, I, MAX_MONTHS, NO_REASON, STUDENT, U
from glw_sim.engine.logits import exp_total, loglinear_one

# the key bases of the month's transition draws (keyed.TRANSITIONS), in this order
MOVE, REASON, WANT, SWITCH, SWITCH_REASON, SWITCH_WANT = range(6)


@nb.njit(cache=True, inline="always")
def draw_reason(i, u, entry, scratch, rs, r_feats):
    """Index of the reason drawn with uniform ``u`` for resident ``i`` from the reason model (as
    :func:`glw_sim.engine.logits.loglinear_probs_columns` and ``synthesis.assign_reasons``; ``entry``: weighted
    by the exit multipliers)."""
    k = rs.tables.shape[1]
    tot = exp_total(scratch, loglinear_one(rs.tables, rs.intercept, r_feats, i, scratch))
    for a in range(k):
        scratch[a] = scratch[a] / tot
    if entry:
        for a in range(k):
            scratch[a] = scratch[a] * rs.exit_mult[a]
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


@nb.njit(cache=True, inline="always")
def new_spell_reason(i, u_reason, u_want, entry, scratch, res, rs, r_feats):
    """Resident ``i``'s reason and wanting a job for inactivity (a new spell if ``entry``, else a switch)."""
    res.reason[i] = rs.codes[draw_reason(i, u_reason, entry, scratch, rs, r_feats)]
    res.wants_job[i] = u_want < rs.wants_job_prob[res.reason[i]]


@nb.njit(cache=True, inline="always")
def enter_inactivity(i, u_reason, u_want, entry, scratch, res, rs, r_feats):
    """Resident ``i``'s reason and wanting a job on becoming inactive: student if in education, else drawn from the
    reason model (weighted by the exit multipliers if ``entry``: a move, not a fresh state)."""
    if res.in_education[i]:
        res.reason[i] = STUDENT
        res.wants_job[i] = u_want < rs.wants_job_prob[res.reason[i]]
    else:
        new_spell_reason(i, u_reason, u_want, entry, scratch, res, rs, r_feats)


@nb.njit(cache=True, inline="always")
def move(i, old, a, p_u, p_i, bases, res, rs, r_feats, scratch):
    """Resident ``i``'s move from state ``old`` with chances ``a``, ``p_u``, ``p_i``; ``bases``: the month's key
    bases of the transition purposes (:data:`MOVE`, ...)."""
    r = keyed(bases[MOVE], i)
    new = old
    if r < a:
        new = E
    elif r < a + p_u:
        new = U
    elif r < a + p_u + p_i:
        new = I
    if new != old:
        res.state[i] = new
        res.months_in_state[i] = 0
        if old == I:
            res.reason[i] = NO_REASON
            res.wants_job[i] = False
        if new == I:
            enter_inactivity(i, keyed(bases[REASON], i), keyed(bases[WANT], i), True, scratch, res, rs, r_feats)
    else:
        if res.months_in_state[i] < MAX_MONTHS:
            res.months_in_state[i] += 1
        if old == I and not res.in_education[i] and keyed(bases[SWITCH], i) < rs.switch_rate:
            new_spell_reason(i, keyed(bases[SWITCH_REASON], i), keyed(bases[SWITCH_WANT], i), False, scratch, res,
                             rs, r_feats)
