"""Demography: birthdays, life events, leaving education, entrants, and net migration.

Each month the residents whose birthday month it is age a year (:func:`birthdays`):

- those reaching 65 leave, and a 16-year-old takes the slot in the same borough, with keyed draws of sex,
  ethnic group and qualification (at the whole working-age population's shares), health, young children, caring
  and education or training (as 16-year-olds), and a labour state drawn afresh from the shares of residents like
  them (:func:`redraw_state`);
- those entering a new age band get life events keeping each band's prevalence: health only worsens
  (none -> condition -> disabled, with the chances that lift the previous band's shares to the new), and young
  children and caring are drawn at the new band's prevalence;
- some leave education or training (the fall in the share in education from one year of age to the next): a
  labour-market entry, their state drawn afresh.

Their cached hazard inputs are refreshed in the same pass (:func:`glw_sim.engine.hazards.refresh_one`).

Net migration (``migration="balance"``, the baseline): weights are rescaled so that each borough x sex x single
year of age cell keeps its start total (:func:`migration_factors`, :func:`scale_weights`): net migration is
assumed to carry residents like the cell's own (labelled assumption).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.hazards import refresh_one
from glw_sim.engine.keyed import bases as keyed_bases
from glw_sim.engine.keyed import keyed
from glw_sim.engine.layout import (CELL_BAND, CHUNKS, CONDITION, DISABLED, E, FEMALE, I, MAX_AGE, MIN_AGE,
                                   N_CELL_BANDS, N_CELLS, NO_CONDITION, NO_REASON, U, age_band, cell, chunk)
from glw_sim.engine.logits import exp_total, loglinear_one
from glw_sim.engine.transitions import enter_inactivity

# the key bases of the birthday pass (keyed.DEMOGRAPHY), in this order
(EDU_LEAVE, REDRAW_STATE, REDRAW_REASON, REDRAW_WANT, ENTRANT_SEX, LIFE_HEALTH, LIFE_CHILDREN, LIFE_CARE,
 ENTRANT_ETHNICITY, ENTRANT_QUALIFICATION, ENTRANT_HEALTH, ENTRANT_CHILDREN, ENTRANT_CARE,
 ENTRANT_EDUCATION) = range(14)


@nb.njit(cache=True)
def cell_totals(weight, borough, sex, age):
    """Weighted residents in each borough x sex x single-year-of-age cell."""
    cur = np.zeros(N_CELLS)
    for i in range(len(weight)):
        cur[cell(borough[i], sex[i], age[i])] += weight[i]
    return cur


def migration_factors(cells_now: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The factor on each cell's weights that restores its start total, so the age structure holds within the
    bands too (band totals alone let a bulge of ages move through a band and shift its rates). A single year
    left with no residents (small scales) cannot be restored: the other years of its borough x sex x age band
    carry its weight, so the band's total still holds."""
    cur = cells_now
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(cur > 0, target / cur, 1.0)
        want = np.bincount(CELL_BAND, weights=target, minlength=N_CELL_BANDS)
        held = np.bincount(CELL_BAND, weights=np.where(cur > 0, target, 0.0), minlength=N_CELL_BANDS)
        return factor * np.where(held > 0, want / held, 1.0)[CELL_BAND]


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _scale_chunk(ch, res, factor, cells):
    weight = res.weight
    lo, hi = chunk(len(weight), ch)
    acc = cells[ch]
    acc[:] = 0.0
    for i in range(lo, hi):
        c = cell(res.borough[i], res.sex[i], res.age[i])
        weight[i] = weight[i] * factor[c]
        acc[c] += np.float64(weight[i])


@nb.njit(cache=True, parallel=True)
def scale_weights(res, factor, cells):
    """Weights times their cell's ``factor`` (net migration); each chunk ``c`` writes the weight in each cell after
    scaling to ``cells[c]``."""
    for ch in nb.prange(CHUNKS):
        _scale_chunk(ch, res, factor, cells)


@nb.njit(cache=True, inline="always")
def keyed_category(u, shares):
    """The category a uniform ``u`` falls in, for categories with ``shares`` (summing to 1)."""
    c = 0.0
    for k in range(len(shares) - 1):
        c += shares[k]
        if u < c:
            return k
    return len(shares) - 1


@nb.njit(cache=True, inline="always")
def redraw_state(i, bases, res, sm, s_feats, rs, r_feats, lg, lr):
    """A fresh labour state (and reason) for resident ``i`` from their stationary shares (state model ``sm``)."""
    tot = exp_total(lg, loglinear_one(sm.tables, sm.intercept, s_feats, i, lg))
    p0 = lg[0] / tot
    p1 = lg[1] / tot
    u = keyed(bases[REDRAW_STATE], i)
    new = E if u < p0 else (U if u < p0 + p1 else I)
    if new != res.state[i]:
        res.months_in_state[i] = 0
    res.state[i] = new
    res.reason[i] = NO_REASON
    res.wants_job[i] = False
    if new == I:
        enter_inactivity(i, keyed(bases[REDRAW_REASON], i), keyed(bases[REDRAW_WANT], i), False, lr, res, rs, r_feats)


@nb.njit(cache=True, inline="always")
def _enter(i, bases, res, dem):
    """A 16-year-old entrant of keyed attributes takes resident ``i``'s slot."""
    res.age[i] = MIN_AGE
    res.sex[i] = FEMALE if keyed(bases[ENTRANT_SEX], i) < dem.female_entrant else 1 - FEMALE
    res.ethnicity[i] = keyed_category(keyed(bases[ENTRANT_ETHNICITY], i), dem.ethnicity_share)
    res.qualification[i] = keyed_category(keyed(bases[ENTRANT_QUALIFICATION], i), dem.qualification_share)
    res.health[i] = keyed_category(keyed(bases[ENTRANT_HEALTH], i), dem.health_prev[0])
    res.young_children[i] = keyed(bases[ENTRANT_CHILDREN], i) < dem.young_children[0, res.sex[i]]
    res.unpaid_carer[i] = keyed(bases[ENTRANT_CARE], i) < dem.unpaid_carer[0]
    res.in_education[i] = keyed(bases[ENTRANT_EDUCATION], i) < dem.edu_share[MIN_AGE]
    res.months_in_state[i] = 0


@nb.njit(cache=True, inline="always")
def _life_events(i, band, bases, res, dem):
    """Health onset, young children and caring of resident ``i`` entering age ``band`` (see the docstring)."""
    hp = dem.health_prev
    o0, o1, o2 = hp[band - 1, NO_CONDITION], hp[band - 1, CONDITION], hp[band - 1, DISABLED]
    n1, n2 = hp[band, CONDITION], hp[band, DISABLED]
    u = keyed(bases[LIFE_HEALTH], i)
    h = res.health[i]
    p_dis = min(max((n2 - o2) / (1.0 - o2), 0.0), 1.0)
    to_dis = h != DISABLED and u < p_dis
    p_ltc = min(max((n1 - o1 * (1 - p_dis)) / max(o0 * (1 - p_dis), 1e-9), 0.0), 1.0)
    to_ltc = h == NO_CONDITION and not to_dis and u >= p_dis and u < p_dis + p_ltc * (1 - p_dis)
    if to_dis:
        res.health[i] = DISABLED
    elif to_ltc:
        res.health[i] = CONDITION
    res.young_children[i] = keyed(bases[LIFE_CHILDREN], i) < dem.young_children[band, res.sex[i]]
    res.unpaid_carer[i] = keyed(bases[LIFE_CARE], i) < dem.unpaid_carer[band]


@nb.njit(cache=True, parallel=True)
def birthdays(idx, mo, purposes, res, dem, sm, s_feats, rs, r_feats, refresh, cached, work):
    """Residents ``idx`` have their birthday (see the module's docstring); ``work``
    (:class:`~glw_sim.engine.records.BirthdayWork`): ``leaver``, set True where the slot became an entrant,
    ``cell_change``, the weight moving between cells, per chunk, and scratch. ``sm``: the state
    model (:class:`~glw_sim.engine.records.LogLinear`) the fresh states are drawn from; ``refresh``: what the
    hazard inputs' refresh needs (:class:`~glw_sim.engine.records.Refresh`)."""
    bases = keyed_bases(mo.key_seed, mo.month, purposes)
    for ch in nb.prange(CHUNKS):
        _birthdays_chunk(ch, idx, bases, res, dem, sm, s_feats, rs, r_feats, refresh, cached, work)


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _birthdays_chunk(ch, idx, bases, res, dem, sm, s_feats, rs, r_feats, refresh, cached, work):
    leaver = work.leaver
    lo, hi = chunk(len(idx), ch)
    lg, lg_s, lr = work.state_scratch[ch], work.hazard_scratch[ch], work.reason_scratch[ch]
    moved = work.cell_change[ch]
    moved[:] = 0.0
    for j in range(lo, hi):
        i = idx[j]
        old = np.int64(res.age[i])
        a = old + 1
        was = cell(res.borough[i], res.sex[i], old)
        if a > MAX_AGE:
            leaver[j] = True
            _enter(i, bases, res, dem)
            redraw_state(i, bases, res, sm, s_feats, rs, r_feats, lg, lr)
        else:
            leaver[j] = False
            res.age[i] = a
            band = age_band(a)
            if band != age_band(old):
                _life_events(i, band, bases, res, dem)
            if res.in_education[i]:
                p = min(max(1 - dem.edu_share[a] / dem.edu_share[old], 0.0), 1.0)
                if keyed(bases[EDU_LEAVE], i) < p:
                    res.in_education[i] = False
                    redraw_state(i, bases, res, sm, s_feats, rs, r_feats, lg, lr)
        now = cell(res.borough[i], res.sex[i], res.age[i])
        if now != was:
            moved[was] -= np.float64(res.weight[i])
            moved[now] += np.float64(res.weight[i])
        refresh_one(i, lg_s, refresh, s_feats, r_feats, res, cached)
