"""Health as a monthly process: onset and recovery of long-term conditions and disability, and sickness absence.

Each month, before the programmes and the moves (:func:`health_pass`), every resident:

- may change health level (none, long-term condition, disabled) with the monthly chances of their age band and
  labour state (:class:`~glw_sim.engine.records.HealthRates` ``moves``). Recovery rates are published (or
  labelled assumptions); onset rates are set so that each band x state keeps its prevalence
  (:func:`health_moves`), so health churns without drifting and the calibrated flows between states hold. A
  dated trend multiplies onset (``onset_factor``). Residents whose health changes have their cached hazard
  inputs refreshed at once (:func:`glw_sim.engine.hazards.refresh_one`);
- in work, may go off sick (employed, temporarily away from work, as the LFS counts them) at the chance of their
  health level, and, off sick, return with ``back``.

In the month's moves (:mod:`glw_sim.engine.month`), an employed resident off sick leaves work for inactivity with
``Hazard.sick_leave`` (as long-term sick: :func:`after_move`) instead of their calibrated chance; the others' chance of
leaving for inactivity is scaled by ``Hazard.keep`` of their health level, so that each level's exits from work hold at
the calibration's (:func:`keep_factors`): retention acting on sickness absence is then a real route.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.hazards import refresh_one
from glw_sim.engine.keyed import key_base, keyed, named_purpose
from glw_sim.engine.layout import CHUNKS, E, I, LONG_TERM_SICK, N_BANDS, N_HEALTH, N_STATES, age_band, chunk

#: the keyed draws of the health pass: the health level's change, and sickness absence
HEALTH, ABSENCE = named_purpose("health"), named_purpose("absence")


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _health_chunk(ch, b_health, b_absence, res, hr, refresh, s_feats, r_feats, cached, scratch):
    lo, hi = chunk(len(res.state), ch)
    lg = scratch[ch]
    for i in range(lo, hi):
        h = np.int64(res.health[i])
        s = np.int64(res.state[i])
        row = hr.moves[age_band(res.age[i]), s, h]
        u = keyed(b_health, i)
        c = 0.0
        new = h
        for k in range(N_HEALTH):
            p = row[k] * hr.onset_factor if k > h else row[k]
            c += p
            if u < c:
                new = k
                break
        if new != h:
            res.health[i] = new
            refresh_one(i, lg, refresh, s_feats, r_feats, res, cached)
        if s != E:
            res.off_sick[i] = False
        elif res.off_sick[i]:
            if keyed(b_absence, i) < hr.back:
                res.off_sick[i] = False
        elif keyed(b_absence, i) < hr.absence_onset[new]:
            res.off_sick[i] = True


@nb.njit(cache=True, parallel=True)
def health_pass(mo, res, hr, refresh, s_feats, r_feats, cached, scratch):
    """This month's health changes and sickness absence for every resident (see the module's docstring);
    ``scratch``: (CHUNKS, the state model's size)."""
    b_health = key_base(mo.key_seed, mo.month, HEALTH)
    b_absence = key_base(mo.key_seed, mo.month, ABSENCE)
    for ch in nb.prange(CHUNKS):
        _health_chunk(ch, b_health, b_absence, res, hr, refresh, s_feats, r_feats, cached, scratch)


@nb.njit(cache=True, inline="always")
def leave_chance(i, p_i, res, hz):
    """Resident ``i``'s (employed) chance of leaving work for inactivity this month: ``hz.sick_leave`` if off sick,
    else their calibrated chance ``p_i`` times ``hz.keep`` of their health level
    (:class:`~glw_sim.engine.records.Hazard`)."""
    if res.off_sick[i]:
        return hz.sick_leave
    return p_i * hz.keep[res.health[i]]


@nb.njit(cache=True, inline="always")
def after_move(i, old, res):
    """After resident ``i``'s move from ``old``: one who left work while off sick is inactive as long-term sick;
    no one out of work is off sick."""
    if res.off_sick[i] and res.state[i] != E:
        if old == E and res.state[i] == I:
            res.reason[i] = LONG_TERM_SICK
        res.off_sick[i] = False


# ------------------------------------------------------------------------------------------------ the rates
def health_moves(prevalence: np.ndarray, recovery_disabled: float, recovery_condition: float,
                 to_condition: float, from_none: float) -> np.ndarray:
    """Monthly chances ``[band, state, from level, to level]`` that keep each band x state's ``prevalence``
    (``[band, state, level]`` shares) while residents recover at the given rates: disabled residents stop being
    disabled at ``recovery_disabled`` a month (a share ``to_condition`` of them keeping a long-term condition),
    residents with a long-term condition recover at ``recovery_condition``; a share ``from_none`` of new disability
    comes from residents with no condition (the rest from those with one). Balance of each level's inflow and
    outflow gives the onsets:

    - none -> disabled ``g p2 rD / p0``, condition -> disabled ``(1 - g) p2 rD / p1``;
    - none -> condition ``(p1 rL + (1 - g - f) p2 rD) / p0`` (never below 0: with ``f <= 1 - g`` it is not).
    """
    p = np.asarray(prevalence, dtype=np.float64)
    p0, p1, p2 = p[..., 0], p[..., 1], p[..., 2]
    rd, rl, f, g = recovery_disabled, recovery_condition, to_condition, from_none
    out = np.zeros(p.shape + (N_HEALTH,))
    with np.errstate(divide="ignore", invalid="ignore"):
        out[..., 2, 1] = np.where(p2 > 0, rd * f, 0.0)
        out[..., 2, 0] = np.where(p2 > 0, rd * (1 - f), 0.0)
        out[..., 1, 0] = np.where(p1 > 0, rl, 0.0)
        out[..., 0, 2] = np.where(p0 > 0, g * p2 * rd / p0, 0.0)
        out[..., 1, 2] = np.where(p1 > 0, (1 - g) * p2 * rd / p1, 0.0)
        out[..., 0, 1] = np.where(p0 > 0, np.maximum(p1 * rl + (1 - g - f) * p2 * rd, 0.0) / p0, 0.0)
    return np.minimum(out, 1.0)


def prevalence(age_band_of_resident: np.ndarray, state: np.ndarray, health: np.ndarray,
               weight: np.ndarray) -> np.ndarray:
    """Weighted shares ``[band, state, level]`` of each health level."""
    key = (np.asarray(age_band_of_resident, np.int64) * N_STATES + state) * N_HEALTH + health
    w = np.bincount(key, weights=weight, minlength=N_BANDS * N_STATES * N_HEALTH).reshape(N_BANDS, N_STATES, N_HEALTH)
    tot = w.sum(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tot > 0, w / tot, 0.0)


def off_sick_share(onset: np.ndarray, back: float, leave: float) -> np.ndarray:
    """The steady share off sick among employed residents of each health level: going off sick at ``onset``, then
    (in the month's order) returning at ``back`` and, if not, leaving work at ``leave``:
    ``(1 - s) onset = s (back + (1 - back) leave)``."""
    a = np.asarray(onset, dtype=np.float64)
    return a / (a + back + (1 - back) * leave)


def keep_factors(p_ei: np.ndarray, health: np.ndarray, weight: np.ndarray, off_share: np.ndarray,
                 leave: float) -> np.ndarray:
    """By health level, the factor on the chance of leaving work for inactivity of employed residents not off sick
    that keeps the level's exits at the calibration's: with ``s`` of the level off sick (leaving at ``leave``)
    and mean chance ``p`` (``p_ei`` of the level's employed residents), ``(1 - s) k p + s leave = p``."""
    keep = np.ones(N_HEALTH)
    for h in range(N_HEALTH):
        m = health == h
        if not m.any():
            continue
        p = float(np.average(p_ei[m], weights=weight[m]))
        s = float(off_share[h])
        if p > 0 and s < 1:
            keep[h] = max((p - s * leave) / ((1 - s) * p), 0.0)
    return keep
