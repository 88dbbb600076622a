"""Health as a monthly process: onset and recovery of long-term conditions and disability, and sickness absence.

Each month, before the programmes and the moves (:func:`health_pass`), every resident:

- may change health level (none, long-term condition, disabled). Recovery rates are published (or labelled
  assumptions); onset rates are each resident's own, set so that the health levels of residents like them (the
  same attributes and labour state) hold (:func:`resident_prevalence`, :func:`moves_row`): health churns without
  drifting, prevalence by age band holds, and the calibrated flows between states hold. A dated trend multiplies
  onset (``onset_factor``, the scenario's ``health.trend``), and so do the incidence levers for the residents
  they reach (``onset_mult``, :mod:`glw_sim.levers`). Residents whose health changes have their cached hazard inputs
  refreshed (:func:`glw_sim.engine.hazards.refresh_health`);
- in work, may go off sick (employed, temporarily away from work, as the LFS counts them) at the chance of their
  health level, and, off sick, return with ``back``. These take no draw of their own for most residents: above
  the bound on any change of health (where none can be drawn), the health draw is uniform on what is left of
  [0, 1) and decides absence too; below it, absence has its own keyed draw.

In the month's moves (:mod:`glw_sim.engine.month`), an employed resident off sick leaves work for inactivity (as
long-term sick) with ``Hazard.sick_leave`` of their health level instead of their calibrated chance, and a share
``Hazard.sick_route`` of the others' drawn moves from work to long-term sickness is cancelled (:func:`after_move`):
that share of the exits to long-term sickness goes through sickness absence, and each health level's exits hold
at the calibration's (:func:`absence_route`). Retention acting on sickness absence is then a real route.

Why each resident's own onset. The population is drawn with health by age band (``HealthRates.prior``) and labour
state from the state model given health and the other attributes; the hazards hold each combination's state
shares. So among residents with attributes ``x`` in state ``s``, health level ``k`` has the share
``q_k ∝ P(s | x, k) prior_k`` (Bayes), and a health process keeps the whole population still only if it keeps
these shares for every ``x`` and ``s``. Onset and recovery that kept only each age band x state's shares moved
residents' health towards levels unlike their state (a disabled resident in work who recovers is replaced by
someone in work whose attributes fit disability less), and the baseline's employment rate drifted (0.3 points in
five years).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.hazards import refresh_health
from glw_sim.engine.transitions import new_spell_reason
from glw_sim.engine.keyed import keyed, named_purpose
from glw_sim.engine.layout import (CHUNKS, CONDITION, DISABLED, E, I, LONG_TERM_SICK, MAX_MONTHS, N_HEALTH,
                                   NO_CONDITION, NO_REASON, U, age_band, chunk)

#: the keyed draws: the health level's change, sickness absence, the reason and wanting a job of an inactive
#: resident whose health changed (the health pass, in this order), and the absence route out of work (the moves)
PURPOSES = np.array([named_purpose(p) for p in ("health", "absence", "health reason", "health want")],
                    dtype=np.int64)
ABSENCE, ABSENCE_ROUTE = int(PURPOSES[1]), named_purpose("absence route")


@nb.njit(cache=True, inline="always")
def resident_prevalence(i, s, h, band, cached, hr):
    """Among residents with resident ``i``'s attributes in their state ``s``, the shares (unnormalised) of health
    levels 0, 1, 2: ``P(s | x, k) prior[band, k]``. ``P(s | x, k)`` comes from their cached stationary shares (at
    their level ``h``) with the state model's health effect changed from ``h`` to ``k`` (the model is
    log-linear with health as one additive term, ``hr.health_odds``). A disabled resident's recovery does not
    depend on the shares: they are not computed (returned as 0, 0, 1)."""
    if h == DISABLED:  # recovery from disability does not depend on the shares
        return 0.0, 0.0, 1.0
    pe = np.float64(cached.pi_e[i])
    pu = np.float64(cached.pi_u[i])
    pin = max(1.0 - pe - pu, 0.0)
    return (_share(NO_CONDITION, s, h, pe, pu, pin, hr) * hr.prior[band, NO_CONDITION],
            _share(CONDITION, s, h, pe, pu, pin, hr) * hr.prior[band, CONDITION],
            _share(DISABLED, s, h, pe, pu, pin, hr) * hr.prior[band, DISABLED])


@nb.njit(cache=True, inline="always")
def _share(k, s, h, pe, pu, pin, hr):
    """State ``s``'s stationary share at health level ``k`` of a resident whose shares at level ``h`` are ``pe``,
    ``pu``, ``pin`` (``hr.health_odds[h, k]``: each state's odds changed from level ``h`` to ``k``)."""
    r = hr.health_odds[h, k]
    ve, vu, vi = pe * r[E], pu * r[U], pin * r[I]
    den = ve + vu + vi
    if den <= 0.0:
        return 0.0
    return (ve if s == E else vu if s == U else vi) / den


@nb.njit(cache=True, inline="always")
def moves_row(q0, q1, q2, h, rates):
    """Monthly chances of moving from health level ``h`` to levels 0, 1, 2 that keep the shares ``q0, q1, q2``
    (unnormalised) where they are, while residents recover at ``rates`` (recovery from disability ``rD``, from a
    condition ``rL``, the share ``f`` of recovered disabled keeping a condition, the share ``g`` of new
    disability from no condition). Balancing each level's inflow and outflow gives the onsets:

    - none -> disabled ``g q2 rD / q0``, condition -> disabled ``(1 - g) q2 rD / q1``;
    - none -> condition ``(q1 rL + (1 - g - f) q2 rD) / q0`` (never below 0: with ``f <= 1 - g`` it is not).
    """
    rd, rl, f, g = rates[0], rates[1], rates[2], rates[3]  # (HealthRates.rates, in this order)
    if h == DISABLED:
        return rd * (1.0 - f), rd * f, 0.0
    if h == CONDITION:
        return rl, 0.0, min((1.0 - g) * q2 * rd / q1, 1.0) if q1 > 0.0 else 0.0
    if q0 <= 0.0:
        return 0.0, 0.0, 0.0
    return 0.0, min(max(q1 * rl + (1.0 - g - f) * q2 * rd, 0.0) / q0, 1.0), min(g * q2 * rd / q0, 1.0)


@nb.njit(cache=True, inline="always")
def new_level(i, u, h, s, band, onset, cached, hr):
    """Resident ``i``'s (level ``h``, state ``s``) health level after the month's draw ``u``: the first level whose
    cumulative chance (:func:`moves_row`, onset times ``onset``) exceeds ``u``. A resident with a condition whose
    draw falls below the recovery rate recovers whatever their shares (level 0's cumulative chance is that rate),
    so their shares are not computed (nor the disabled's: :func:`resident_prevalence`)."""
    if h == CONDITION and u < hr.rates[1]:
        return NO_CONDITION
    q0, q1, q2 = resident_prevalence(i, s, h, band, cached, hr)
    row = moves_row(q0, q1, q2, h, hr.rates)
    c = 0.0
    for k in range(N_HEALTH):
        c += row[k] * onset if k > h else row[k]
        if u < c:
            return k
    return h


#: residents whose health changed are set aside in batches of this many per chunk and finished together
#: (:func:`_finish`), so the pass's loop over everyone stays small
BATCH = 1024


@nb.njit(cache=True, inline="always")
def _absence(i, u, t, s, h, bases, res, cached, hr):
    """Resident ``i``'s sickness absence (state ``s``, health level ``h``, the month's health draw ``u`` and its
    bound ``t``), without branches on the state: above ``t``, ``u`` is uniform on [t, 1), so ``u < t + (1 - t) p``
    has chance ``p`` and needs no draw of its own; below ``t``, absence's own keyed draw. Off sick: back with
    chance ``hr.back``; in work and not off sick: off sick with their own chance, the level's ``hr.absence_onset``
    in proportion to their own chance of leaving work for inactivity (from their cached stationary shares, as
    :func:`glw_sim.engine.hazards.flows_from_e`) relative to the level's mean (``hr.absence_coef``: the ratio of
    the two), so that absence, like the calibration's exits it carries, falls most on those most likely to leave;
    out of work: never. A resident not off sick whose draw is above ``t + (1 - t)`` times the level's bound on
    that chance (``hr.absence_bound``, :func:`absence_bound`; 0 for no condition) stays so without their hazard
    inputs being read: the same result, for most residents."""
    off = res.off_sick[i]
    if not off and u >= t + (1.0 - t) * hr.absence_bound[h]:
        return  # not off sick, and no chance of going off sick can reach the draw: stays so (read nothing more)
    pe, pu = np.float64(cached.pi_e[i]), np.float64(cached.pi_u[i])
    p = hr.back if off else hr.absence_coef[h] * ((hr.k_ei + hr.cycle * pu) * (1.0 - pe - pu))
    w = u if u >= t else keyed(bases[1], i)
    floor = t if u >= t else 0.0
    res.off_sick[i] = (s == E) & (off != (w < floor + (1.0 - floor) * p))


@nb.njit(cache=True, inline="always")
def _finish(batch, n, bases, res, hr, refresh, r_feats, rs, cached, lr):
    """The residents in ``batch[:n]`` (their old health levels in ``batch[BATCH:]``), whose health changed this
    month: an inactive resident's main reason follows the new level (drawn afresh, as a reason switch), their
    cached hazard inputs are refreshed (:func:`glw_sim.engine.hazards.refresh_health`), then their absence, which
    reads them."""
    for j in range(n):
        i, old = batch[j], batch[BATCH + j]
        new, s = np.int64(res.health[i]), np.int64(res.state[i])
        if s == I and not res.in_education[i]:
            new_spell_reason(i, keyed(bases[2], i), keyed(bases[3], i), False, lr, res, rs, r_feats)
        refresh_health(i, old, new, hr.health_odds[old, new], refresh.r_levels, refresh.z_table, r_feats, res,
                       cached)
        _absence(i, keyed(bases[0], i), hr.month_bound[age_band(res.age[i]), old, s], s, new, bases, res, cached,
                 hr)


@nb.njit(cache=True, _nrt=False, _noalias=True)  # no reference counting (engine/records.py); arrays distinct
def _health_chunk(ch, bases, res, hr, refresh, r_feats, rs, cached, r_scratch, batches):
    lo, hi = chunk(len(res.state), ch)
    lr, batch = r_scratch[ch], batches[ch]
    has_mult = len(hr.onset_mult) > 0
    n = 0
    for i in range(lo, hi):
        h = np.int64(res.health[i])
        s = np.int64(res.state[i])
        band = age_band(res.age[i])
        u = keyed(bases[0], i)
        t = hr.month_bound[band, h, s]
        if u < t:  # else no change can be drawn (bounds)
            new = new_level(i, u, h, s, band, hr.onset_factor * hr.onset_mult[i] if has_mult else hr.onset_factor,
                            cached, hr)
            if new != h:  # finished with the batch (their absence then, at the refreshed inputs)
                res.health[i] = new
                batch[n], batch[BATCH + n] = i, h
                n += 1
                if n == BATCH:
                    _finish(batch, n, bases, res, hr, refresh, r_feats, rs, cached, lr)
                    n = 0
                continue
        _absence(i, u, t, s, h, bases, res, cached, hr)
    _finish(batch, n, bases, res, hr, refresh, r_feats, rs, cached, lr)


@nb.njit(cache=True, parallel=True)
def health_pass(mo, res, hr, refresh, r_feats, rs, cached, r_scratch):
    """This month's health changes and sickness absence for every resident (see the module's docstring), with the
    month's key bases of :data:`PURPOSES` (``mo.health_bases``); an inactive resident whose health changes draws
    their main reason afresh (as a reason switch, :func:`glw_sim.engine.transitions.new_spell_reason`).
    ``r_scratch``: (CHUNKS, the reason model's size).

    A change of level is drawn only when the draw falls below the month's bound on its chance
    (``hr.month_bound``: :func:`change_bounds` with the trend but not the levers, which only cut onset: the same
    for a scenario and its counterfactual, so the absence draws taken from the health draw above it are common to
    both)."""
    batches = np.empty((CHUNKS, 2 * BATCH), dtype=np.int64)
    for ch in nb.prange(CHUNKS):
        _health_chunk(ch, mo.health_bases, res, hr, refresh, r_feats, rs, cached, r_scratch, batches)


@nb.njit(cache=True, inline="always")
def leave_chance(i, p_i, res, hz):
    """Resident ``i``'s (employed) chance of leaving work for inactivity this month: ``hz.sick_leave`` of their
    health level if off sick, else their calibrated chance ``p_i`` times ``hz.keep`` of their health level
    (:class:`~glw_sim.engine.records.Hazard`)."""
    h = res.health[i]
    if res.off_sick[i]:
        return hz.sick_leave[h]
    return p_i * hz.keep[h]


@nb.njit(cache=True, inline="always")
def after_move(i, old, months, res, hz, mo):
    """After resident ``i``'s move from ``old`` (``months`` in it): one who left work while off sick is inactive as
    long-term sick; one not off sick who drew a move from work to long-term sickness stays in work with chance
    ``hz.sick_route`` of their health level (that share of such exits goes through sickness absence instead,
    with a keyed draw of its own, so the flow is exactly multiplied by ``1 - sick_route``); no one out of work is
    off sick."""
    if old != E:
        return
    s = res.state[i]
    if s == E:
        return
    if res.off_sick[i]:
        if s == I:
            res.reason[i] = LONG_TERM_SICK
        res.off_sick[i] = False
    elif s == I and res.reason[i] == LONG_TERM_SICK:
        route = hz.sick_route[res.health[i]]
        if route > 0.0 and keyed(mo.absence_base, i) < route:
            res.state[i] = E
            res.months_in_state[i] = months + 1 if months < MAX_MONTHS else months
            res.reason[i] = NO_REASON
            res.wants_job[i] = False


# ------------------------------------------------------------------------------------------------ the rates
def month_bound(bound: np.ndarray, onset_factor: float) -> np.ndarray:
    """``[age band, level, state]``: this month's bound on a resident's chance of any change of health level, from
    :func:`change_bounds` and the month's trend on onset."""
    return bound[..., 0] + bound[..., 1] * onset_factor


def change_bounds(prior: np.ndarray, health_odds: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """``[age band, level h, state s, part]``: upper bounds on a resident's monthly chance of any change of health
    level (part 0: recovery, not multiplied by the trend; part 1: onset, before the trend and the levers), so the
    health pass computes a resident's shares (:func:`resident_prevalence`, :func:`moves_row`) only when the keyed
    draw falls below the bound: the draws and results are exactly those of computing everyone's.

    The bound on the ratio of shares. A resident at level ``h`` in state ``s`` has ``q_k / q_h = prior_k / prior_h *
    r[h, k, s] * den_h / den_k`` (:func:`_share`), with ``den_h = pe + pu + pin >= 1`` and ``den_k >= den_h * min_s'
    r[h, k, s']``: so ``q_k / q_h <= prior_k / prior_h * r[h, k, s] / min_s' r[h, k, s']``. The rows' terms are
    increasing in these ratios (and capped at 1 as :func:`moves_row` caps them); a small margin covers rounding."""
    rd, rl, f, g = (float(x) for x in rates[:4])
    n_bands = prior.shape[0]
    out = np.zeros((n_bands, N_HEALTH, 3, 2))
    for b in range(n_bands):
        for s in range(3):
            def ratio(h, k):
                if prior[b, h] <= 0.0:
                    return 1e300  # (finite: 0 times it is 0)
                r = health_odds[h, k]
                return prior[b, k] / prior[b, h] * r[s] / max(float(r.min()), 1e-300)

            out[b, DISABLED, s] = (rd, 0.0)
            out[b, CONDITION, s] = (rl, min((1.0 - g) * rd * ratio(CONDITION, DISABLED), 1.0))
            out[b, NO_CONDITION, s] = (0.0, min(rl * ratio(NO_CONDITION, CONDITION) + max(1.0 - g - f, 0.0) * rd
                                                * ratio(NO_CONDITION, DISABLED), 1.0)
                                       + min(g * rd * ratio(NO_CONDITION, DISABLED), 1.0))
    return out * (1.0 + 1e-9) + 1e-12


def absence_bound(coef: np.ndarray, k_ei: float, cycle: float) -> np.ndarray:
    """By health level, a bound on any resident's chance of going off sick, ``coef (k_ei + cycle pu)(1 - pe -
    pu)`` (:func:`_absence`): with ``pe >= 0`` it is at most ``(k_ei + cycle x)(1 - x)`` at ``x = pu``, whose
    largest value on [0, 1] is at ``x = (cycle - k_ei) / (2 cycle)`` (or an end); a margin of 1e-9 covers the
    float rounding of the resident's own product."""
    x = np.clip((cycle - k_ei) / (2.0 * cycle), 0.0, 1.0) if cycle > 0 else 0.0
    top = max((k_ei + cycle * x) * (1.0 - x), k_ei, 0.0)
    return np.asarray(coef, dtype=np.float64) * top * (1.0 + 1e-9)


def moves_matrix(q: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """:func:`moves_row` for every level: ``[..., from level, to level]`` for shares ``q[..., level]``."""
    q = np.asarray(q, dtype=np.float64)
    out = np.zeros(q.shape + (N_HEALTH,))
    for idx in np.ndindex(q.shape[:-1]):
        for h in range(N_HEALTH):
            out[idx + (h,)] = moves_row(q[idx + (0,)], q[idx + (1,)], q[idx + (2,)], h, rates)
    return out


def off_at_moves(onset, back, leave):
    """The steady chance of being off sick at the month's moves, for a chance ``onset`` of going off sick (each
    month, when not), ``back`` of coming back and ``leave`` of leaving work while off sick: the share ``o`` with
    ``o = o (1 - leave) (1 - back) + onset (1 - o (1 - leave))``, so ``o = onset / (1 - (1 - leave) (1 - back) +
    onset (1 - leave))`` (elementwise; by health level in :func:`absence_route`, by resident in
    ``GLWModel._start_absence``)."""
    return onset / (1 - (1 - leave) * (1 - back) + onset * (1 - leave))


def absence_route(onset: np.ndarray, back: float, exits_lts: np.ndarray, route: float) -> tuple[np.ndarray, np.ndarray]:
    """By health level: the chance of leaving work while off sick, and the steady share off sick at the month's
    end, so that a share ``route`` of each level's exits from work to long-term sickness (``exits_lts``: the
    calibration's monthly chance, per employed resident of the level) goes through sickness absence.

    In the month's order, the health pass sends residents off sick at ``onset`` and back at ``back``; then, at the
    moves, a share ``o`` is off sick (:func:`off_at_moves`) and leaves at ``leave``; the absence route's exits
    ``o leave = route exits_lts`` (solved together by fixed point: ``leave`` is small next to ``back``, so it
    settles in a few steps). The others' drawn moves to long-term sickness are cancelled with chance ``route``
    (:func:`after_move`), and their chance of leaving for inactivity is raised so the level's exits hold at the
    calibration's (:func:`keep_exits`). A level no one goes off sick at has no route."""
    a, x = np.asarray(onset, dtype=np.float64), np.asarray(exits_lts, dtype=np.float64)
    leave = np.zeros_like(a)
    for _ in range(100):
        o = off_at_moves(a, back, leave)
        with np.errstate(divide="ignore", invalid="ignore"):
            leave = np.where(o > 0, np.minimum(route * x / o, 1.0), 0.0)
    return leave, off_at_moves(a, back, leave) * (1 - leave)


def keep_exits(p_ei: np.ndarray, off: np.ndarray, lts_share: np.ndarray, health: np.ndarray, weight: np.ndarray,
               leave: np.ndarray, route: np.ndarray) -> np.ndarray:
    """By health level, the factor on the chance of leaving work for inactivity of employed residents not off sick
    (``hz.keep``, :func:`leave_chance`) that keeps the level's exits at the calibration's: those off sick (each
    resident's steady chance ``off`` at the moves) leave at the level's ``leave`` instead of their own ``p_ei``,
    and the others' moves to long-term sickness (share ``lts_share``) are cancelled with chance ``route``
    (:func:`after_move`), so ``keep = (sum p - leave sum off) / sum (1 - off) p (1 - route lts)``, weighted. Absence
    onset is in proportion to each one's own chance of leaving, so those off sick carry more than the level's
    mean chance: with everyone's the same, this is ``1 / (1 - off)``, the level-mean factor; with the spread of
    London's chances, about twice as many exits need making up, and without that the no-change baseline's
    employment crept up (about 0.14 points over ten years, issue 18). 1 for a level with no employed residents."""
    w = np.asarray(weight, dtype=np.float64)
    p, o = np.asarray(p_ei, dtype=np.float64), np.asarray(off, dtype=np.float64)
    n = len(leave)
    target = np.bincount(health, weights=w * p, minlength=n) - leave * np.bincount(health, weights=w * o, minlength=n)
    others = np.bincount(health, weights=w * (1 - o) * p * (1 - route[health] * lts_share), minlength=n)
    return np.where(others > 0, target / np.where(others > 0, others, 1.0), 1.0)


def lts_exit_chance(p_ei: np.ndarray, lts_share: np.ndarray, health: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """By health level, the weighted mean monthly chance that an employed resident leaves work for long-term
    sickness: their chance of leaving for inactivity ``p_ei`` times the share of such moves that draw long-term
    sickness (``lts_share``: the reason model's, weighted by the exit multipliers, as a move draws it); 0 for a
    level no one has."""
    w = np.asarray(weight, dtype=np.float64)
    total = np.bincount(health, weights=w, minlength=N_HEALTH)
    out = np.bincount(health, weights=w * p_ei * lts_share, minlength=N_HEALTH)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), 0.0)
