"""The month's tallies: every resident's weight counted once, by the cells the metrics are summed from.

The monthly pass (:mod:`glw_sim.engine.month`) adds each resident with :func:`count_one` into per-chunk
accumulators: borough x state x reason, tally group x state (group: :func:`group_of`), and a few extras (inactive
wanting a job, unemployed a year or more, the state three months ago x the state now). :func:`tally_from_groups`
sums them into the flat layout of :mod:`glw_sim.engine.layout` (``T_*``), which :func:`split_tally` cuts into the
tables :func:`glw_sim.metrics.from_tally` turns into rates.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.layout import (B_SIZE, E, I, LONG_TERM_MONTHS, LONG_TERM_SICK, N_BANDS, N_BOROUGHS,
                                   N_ETHNICITY, N_GROUPS, N_HEALTH, N_QUALIFICATIONS, N_REASONS, N_SEXES, N_STATES,
                                   T_BAND, T_BOROUGH, T_ETHNICITY, T_FLOWS, T_HEALTH, T_LTS_BOROUGH, T_LTU,
                                   T_QUALIFICATION, T_REASON, T_SEX, T_SIZE, T_WANT, T_YOUNG, U, UNKNOWN_STATE,
                                   X_FLOWS, X_LTU, X_SIZE, X_WANT, YOUNG_BAND, age_band)


#: the step in a tally group (:func:`group_of`) between two health levels with the other attributes the same
HEALTH_STRIDE = N_ETHNICITY * N_QUALIFICATIONS * 2


@nb.njit(cache=True, inline="always")
def group_of(sex, age, health, ethnicity, qualification, in_education):
    """A resident's tally group: (sex, age band, health, ethnic group, qualification, in education or training) in
    mixed radix (N_GROUPS of them)."""
    return ((((np.int64(sex) * N_BANDS + age_band(age)) * N_HEALTH + health) * N_ETHNICITY + ethnicity)
            * N_QUALIFICATIONS + qualification) * 2 + np.int64(in_education)


@nb.njit(cache=True, inline="always")
def count_one(i, res, group, ring, slot, g_acc, b_acc, x_acc, by_group):
    """Add resident ``i`` (state now ``res.state[i]``) to one chunk's accumulators; with ``by_group``, also by
    tally ``group`` and the extras, and ``ring[slot]`` (each resident's state three months ago; UNKNOWN_STATE for
    an entrant's slot) is overwritten with the state now."""
    s = res.state[i]
    w = np.float64(res.weight[i])
    b_acc[(np.int64(res.borough[i]) * N_STATES + s) * N_REASONS + res.reason[i]] += w
    if by_group:
        prev = ring[slot, i]
        g_acc[np.int64(group[i]) * N_STATES + s] += w
        if s == I and res.wants_job[i]:
            x_acc[X_WANT] += w
        if s == U and res.months_in_state[i] >= LONG_TERM_MONTHS:
            x_acc[X_LTU] += w
        if prev != UNKNOWN_STATE:
            x_acc[X_FLOWS + prev * N_STATES + s] += w
        ring[slot, i] = s


@nb.njit(cache=True)
def tally_from_groups(g_acc, b_acc, x_acc):
    """The flat counts (layout ``T_*``) from the grouped counts of :func:`count_one`."""
    acc = np.zeros(T_SIZE)
    for b in range(N_BOROUGHS):
        for s in range(N_STATES):
            for r in range(N_REASONS):
                w = b_acc[(b * N_STATES + s) * N_REASONS + r]
                acc[T_BOROUGH + b * N_STATES + s] += w
                acc[T_REASON + r] += w
                if r == LONG_TERM_SICK:
                    acc[T_LTS_BOROUGH + b] += w
    for g in range(N_GROUPS):
        rest = g
        edu = rest % 2
        rest //= 2
        q = rest % N_QUALIFICATIONS
        rest //= N_QUALIFICATIONS
        e = rest % N_ETHNICITY
        rest //= N_ETHNICITY
        h = rest % N_HEALTH
        rest //= N_HEALTH
        band = rest % N_BANDS
        sx = rest // N_BANDS
        for s in range(N_STATES):
            w = g_acc[g * N_STATES + s]
            acc[T_SEX + sx * N_STATES + s] += w
            acc[T_BAND + band * N_STATES + s] += w
            acc[T_HEALTH + h * N_STATES + s] += w
            acc[T_ETHNICITY + e * N_STATES + s] += w
            acc[T_QUALIFICATION + q * N_STATES + s] += w
            if band == YOUNG_BAND:
                acc[T_YOUNG] += w
                if s != E and edu == 0:
                    acc[T_YOUNG + 1] += w
    acc[T_WANT] = x_acc[X_WANT]
    acc[T_LTU] = x_acc[X_LTU]
    for j in range(N_STATES * N_STATES):
        acc[T_FLOWS + j] = x_acc[X_FLOWS + j]
    return acc


def split_tally(a):
    """The counts from the flat tally: (by_borough[33, 3], reasons[8], by_sex[2, 3], by_band[4, 3],
    by_health[3, 3], by_eth[6, 3], by_qual[6, 3], young[2] (all 16-24, NEET), want, ltu, lts_borough[33],
    quarterly[3, 3])."""
    s = N_STATES
    return (a[T_BOROUGH:T_REASON].reshape(N_BOROUGHS, s), a[T_REASON:T_SEX], a[T_SEX:T_BAND].reshape(N_SEXES, s),
            a[T_BAND:T_HEALTH].reshape(N_BANDS, s), a[T_HEALTH:T_ETHNICITY].reshape(N_HEALTH, s),
            a[T_ETHNICITY:T_QUALIFICATION].reshape(N_ETHNICITY, s),
            a[T_QUALIFICATION:T_YOUNG].reshape(N_QUALIFICATIONS, s), a[T_YOUNG:T_WANT], a[T_WANT], a[T_LTU],
            a[T_LTS_BOROUGH:T_FLOWS], a[T_FLOWS:T_SIZE].reshape(s, s))


@nb.njit(cache=True)
def tally(res, previous):
    """The flat tally of the residents as they stand, everything counted (as the month pass counts them, by
    :func:`count_one`); ``previous``: each resident's state three months ago (UNKNOWN_STATE if not known)."""
    n = len(res.state)
    group = np.empty(n, dtype=np.int64)
    for i in range(n):
        group[i] = group_of(res.sex[i], res.age[i], res.health[i], res.ethnicity[i], res.qualification[i],
                            res.in_education[i])
    ring = previous.reshape(1, n).copy()
    g_acc, b_acc, x_acc = np.zeros(N_GROUPS * N_STATES), np.zeros(B_SIZE), np.zeros(X_SIZE)
    for i in range(n):
        count_one(i, res, group, ring, 0, g_acc, b_acc, x_acc, True)
    return tally_from_groups(g_acc, b_acc, x_acc)
