"""Every programme's monthly work on the residents, in compiled passes over all programmes at once.

A month of programmes (:meth:`glw_sim.model.GLWModel._programmes`) needs, for each programme, the eligible
residents who are referred and join its waiting list, the waiting residents no longer eligible (who leave the
list unstarted), the supports and after-periods that end, each
provider's caseload and waiting list, and then (after providers start residents from their lists) the
multipliers on each resident's chances. Written as numpy, that is about fifteen passes over the whole
population per programme and month; here it is one pass for all programmes (:func:`refer_and_discharge`,
whose waiting lists are gathered in a short second loop), and the multipliers are worked out resident by
resident inside the month's expected-moves and transition passes (:func:`glw_sim.kernels.resident_multipliers`;
:func:`multipliers` writes them out, for :meth:`~glw_sim.model.GLWModel.programme_multipliers`).

The rules are those of :class:`glw_sim.interventions.base.Programme`, whose numpy methods
(:meth:`~glw_sim.interventions.base.Programme.eligible`, :meth:`~glw_sim.interventions.base.Programme.exposure`,
:meth:`~glw_sim.interventions.base.Programme.apply`) state them one programme at a time; the tests check
these kernels against them (``tests/test_programme_kernels.py``). :class:`ProgrammeTables` encodes the
validated specifications as the arrays and bit masks the kernels read.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.kernels import AFTER, CHUNKS, SUPPORTED, WAITING, _age_band, _chunk, _key_base, _keyed, _quiet
from glw_sim.kernels import resident_multipliers  # noqa: F401  (re-exported: the effects' rules)
from glw_sim.interventions.base import MAX_PROGRAMMES
from glw_sim.states import Health, InactivityReason, LabourState, Qualification

_E, _I = int(LabourState.EMPLOYED), int(LabourState.INACTIVE)


def width(n_programmes: int) -> int:
    """Columns of the model's (residents x programmes) arrays: a multiple of 8, so that a resident's statuses can
    be read 8 at a time as one 64-bit word (0 when no programme)."""
    return 8 * -(-n_programmes // 8)


def words(a: np.ndarray) -> np.ndarray:
    """A (residents x :func:`width`) array of bytes as 64-bit words: one word is 8 programmes."""
    return a.view(np.uint64)


def _rules(e, h, edu, yc, q, a, st, r, wj):
    """A programme's eligibility rules (``Eligibility`` ``e``, as ``Programme.eligible``) on grids of the
    resident's attributes (health, education, young children, qualification, age) and of their labour state,
    reason and wanting a job: (attributes allowed, states allowed). Months in state, area and place are apart."""
    def codes(enum, names):
        return [enum[x.upper()] for x in names]

    ok = (a >= e.age[0]) & (a <= e.age[1])
    if e.health is not None:
        ok &= np.isin(h, codes(Health, e.health))
    if e.qualifications is not None:
        ok &= np.isin(q, codes(Qualification, e.qualifications))
    if e.in_education is not None:
        ok &= edu == int(e.in_education)
    if e.young_children is not None:
        ok &= yc == int(e.young_children)
    dyn = np.isin(st, codes(LabourState, e.states))
    if e.reasons is not None:
        dyn &= (st != _I) | np.isin(r, codes(InactivityReason, e.reasons))
    if e.wants_job_only:
        dyn &= (st != _I) | (wj == 1)
    return ok, dyn


class ProgrammeTables:
    """A model's programmes as arrays (one row per programme), for the compiled passes. The eligibility rules are
    bit masks over programmes (bit j: programme j), so a resident's candidate programmes are found with three
    lookups: by attributes (``static_bits[static_key]``), by labour state (``state_bits[state_key]``) and by
    borough (``borough_bits``, where the programme has a provider); a model runs at most MAX_PROGRAMMES."""

    def __init__(self, programmes: list) -> None:
        p = len(programmes)
        if p > MAX_PROGRAMMES:  # (scenarios are validated; this guards the Python API)
            raise ValueError(f"at most {MAX_PROGRAMMES} programmes (bit masks of 64 bits), got {p}")
        self.state_ok = np.zeros((p, len(LabourState)), dtype=np.bool_)
        self.min_months = np.zeros(p, dtype=np.int64)
        self.provider_of_borough = np.full((p, 33), -1, dtype=np.int64)
        self.support_months = np.zeros(p, dtype=np.int64)
        self.after_months = np.zeros(p, dtype=np.int64)
        self.into_work = np.ones(p)
        self.into_search = np.ones(p)
        self.leave_work = np.ones(p)
        self.exponential = np.zeros(p, dtype=np.bool_)
        self.half_life = np.ones(p)
        self.spillover = np.zeros(p)
        self.has_place = np.zeros(p, dtype=np.bool_)
        self.skills_row = np.full(p, -1, dtype=np.int64)
        self.purposes = np.zeros(p, dtype=np.int64)
        self.n_providers = max([len(x.providers) for x in programmes] + [1])
        self.employment_bits = np.uint64(0)  # the employment programmes (participation: EMPLOYMENT_TYPES)
        self.static_bits = np.zeros(STATIC_KEYS, dtype=np.uint64)
        self.state_bits = np.zeros(STATE_KEYS, dtype=np.uint64)
        self.borough_bits = np.zeros(33, dtype=np.uint64)
        grid = np.meshgrid(np.arange(len(Health)), [0, 1], [0, 1], np.arange(len(Qualification)), np.arange(16, 65),
                           indexing="ij")
        sgrid = np.meshgrid(np.arange(len(LabourState)), np.arange(len(InactivityReason)), [0, 1], indexing="ij")
        static_keys, state_keys = static_key.py_func(*grid).ravel(), state_key.py_func(*sgrid).ravel()
        skills = 0
        for j, prog in enumerate(programmes):
            spec, e, eff = prog.spec, prog.spec.eligibility, prog.spec.effect
            bit = np.uint64(1) << np.uint64(j)
            ok, dyn = _rules(e, *grid, *sgrid)
            self.static_bits[static_keys[ok.ravel()]] |= bit
            self.state_bits[state_keys[dyn.ravel()]] |= bit
            self.borough_bits[prog.provider_of_borough >= 0] |= bit
            if prog.employment:
                self.employment_bits |= bit
            self.state_ok[j, [LabourState[x.upper()] for x in e.states]] = True
            self.min_months[j] = e.min_months_in_state
            self.provider_of_borough[j] = prog.provider_of_borough
            self.support_months[j] = spec.support_months
            self.after_months[j] = eff.after_months
            self.into_work[j], self.into_search[j], self.leave_work[j] = eff.into_work, eff.into_search, eff.leave_work
            self.exponential[j] = eff.decay == "exponential"
            self.half_life[j] = eff.half_life_months
            self.purposes[j] = prog.refer_purpose
            if spec.place is not None:
                self.has_place[j] = True
                self.spillover[j] = spec.place.spillover
            if spec.skills is not None:
                self.skills_row[j] = skills
                skills += 1
        self.n_skills = skills


_N_QUAL, _N_REASONS = len(Qualification), len(InactivityReason)
STATIC_KEYS = len(Health) * 2 * 2 * _N_QUAL * 65
STATE_KEYS = len(LabourState) * _N_REASONS * 2


@nb.njit(cache=True, inline="always")
def static_key(health, in_education, young_children, qualification, age):
    """Index of a resident's attributes in ProgrammeTables.static_bits."""
    return (((np.int64(health) * 2 + np.int64(in_education)) * 2 + np.int64(young_children)) * _N_QUAL
            + np.int64(qualification)) * 65 + np.int64(age)


@nb.njit(cache=True, inline="always")
def state_key(state, reason, wants_job):
    """Index of a resident's labour state, inactivity reason and wanting a job in ProgrammeTables.state_bits."""
    return (np.int64(state) * _N_REASONS + np.int64(reason)) * 2 + np.int64(wants_job)


@nb.njit(cache=True, parallel=True)
def refer_and_discharge(month, key_seed, purposes, active, status, status_words, since, state, health, age, months,
                        wants_job, in_education, reason, young_children, qualification, borough, weight, state_ok,
                        static_bits, state_bits, borough_bits, min_months, provider_of_borough, place, has_place, refer_p,
                        take_p, support_months, after_months, skills_row, done, n_providers, employment_bits, decline):
    """One month of every programme ``p`` (column ``p`` of ``status`` and ``since``), resident by resident:

    1. referral: a resident not in the programme (status 0) who is eligible (the rules of
       ``Programme.eligible``, as :class:`ProgrammeTables`' bit masks), while the programme is
       ``active``, is referred with chance ``refer_p[p, borough, state, health, age band]`` and joins the
       waiting list (status WAITING, ``since`` = month) with that chance times ``take_p[p, borough]``; one keyed
       uniform (purpose ``purposes[p]``) decides both. With ``decline`` (participation one at a time, declined
       while in another), a resident supported by an employment programme (``employment_bits``) is not referred
       to another;
    2. re-check of the waiting lists: a waiting resident who no longer meets the programme's eligibility rules
       (the same bit masks, months in state and place; for any reason: found work, aged out, changed state,
       reason or health, ...) leaves the list (status 0), never started: their weight is counted per programme
       x provider;
    3. discharge: a support that has lasted ``support_months[p]`` moves to the after-period (and, for a
       skills programme, flags the resident in ``done[skills_row[p]]``); an after-period that has lasted
       ``after_months[p]`` ends (status 0).

    Employed residents in no programme (``status_words``: the statuses 8 at a time) are skipped at once unless a
    programme takes employed residents. Returns (weighted referrals per programme, weighted caseload per
    programme x provider, the waiting residents of all programmes in index order, where each programme's
    start in that array, and the weighted leavers of the waiting lists per programme x provider)."""
    n = status.shape[0]
    n_prog = len(purposes)
    employed_ok = False
    bases = np.empty(n_prog, dtype=np.uint64)
    for p in range(n_prog):
        bases[p] = _key_base(key_seed, month, purposes[p])
        employed_ok = employed_ok or (active[p] and state_ok[p, _E])
    # highest referral chance of each programme by state: a resident whose uniform is above it is not referred,
    # whether eligible or not, so the eligibility rules need only be checked below it (the same result, faster)
    top = np.zeros((n_prog, refer_p.shape[2]))
    for p in range(n_prog):
        for s in range(refer_p.shape[2]):
            top[p, s] = refer_p[p, :, s].max()
    active_bits = np.uint64(0)
    for p in range(n_prog):
        if active[p]:
            active_bits |= np.uint64(1) << np.uint64(p)
    referred = np.zeros((CHUNKS, n_prog))
    caseload = np.zeros((CHUNKS, n_prog, n_providers))
    left = np.zeros((CHUNKS, n_prog, n_providers))
    n_wait = np.zeros((CHUNKS, n_prog), dtype=np.int64)
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(n, ch)
        # referral: residents not yet in a programme (two tight loops are faster than one); the programmes whose
        # rules a resident meets, as bits, from three table lookups (ProgrammeTables)
        for i in range(lo, hi):
            st = state[i]
            if st == _E and not employed_ok:
                continue
            b = borough[i]
            bits = (static_bits[static_key(health[i], in_education[i], young_children[i], qualification[i], age[i])]
                    & state_bits[state_key(st, reason[i], wants_job[i])] & borough_bits[b] & active_bits)
            if bits == 0:
                continue
            d = np.int64(months[i])
            if decline and not _quiet(status_words, i):
                for q in range(n_prog):  # supported by an employment programme: not referred to another
                    if status[i, q] == SUPPORTED and ((employment_bits >> np.uint64(q)) & np.uint64(1)) != 0:
                        bits &= ~employment_bits
                        break
                if bits == 0:
                    continue
            for p in range(n_prog):
                if ((bits >> np.uint64(p)) & np.uint64(1)) == 0 or status[i, p] != 0 or d < min_months[p] \
                        or (has_place[p] and not place[i, p]):
                    continue
                u = _keyed(bases[p], i)
                if u >= top[p, st]:
                    continue
                rp = refer_p[p, b, st, health[i], _age_band(age[i])]
                if u < rp:
                    referred[ch, p] += np.float64(weight[i])
                if u < rp * take_p[p, b]:
                    status[i, p] = WAITING
                    since[i, p] = month
        # re-check of the waiting lists, discharge, caseloads and waiting lists: residents in a programme
        for i in range(lo, hi):
            if _quiet(status_words, i):
                continue
            b = borough[i]
            eligible = np.uint64(0)
            checked = False
            for p in range(n_prog):
                s = status[i, p]
                if s == 0:
                    continue
                if s == WAITING:
                    if not checked:  # the resident's eligibility now, by the referral's rules (once)
                        eligible = (static_bits[static_key(health[i], in_education[i], young_children[i],
                                                           qualification[i], age[i])]
                                    & state_bits[state_key(state[i], reason[i], wants_job[i])] & borough_bits[b])
                        checked = True
                    if ((eligible >> np.uint64(p)) & np.uint64(1)) == 0 or np.int64(months[i]) < min_months[p] \
                            or (has_place[p] and not place[i, p]):
                        status[i, p] = 0
                        # (booked with the resident's provider; residents never change borough, so one
                        # outside the areas was put on the list by hand: booked with the first)
                        left[ch, p, max(provider_of_borough[p, b], 0)] += np.float64(weight[i])
                        continue
                    n_wait[ch, p] += 1
                    continue
                if s == SUPPORTED and month - since[i, p] >= support_months[p]:
                    s = AFTER
                    since[i, p] = month
                    if skills_row[p] >= 0:
                        done[skills_row[p], i] = True
                if s == AFTER and month - since[i, p] >= after_months[p]:
                    s = 0
                if s != status[i, p]:
                    status[i, p] = s
                if s == SUPPORTED:
                    caseload[ch, p, provider_of_borough[p, b]] += np.float64(weight[i])
    ref_out = np.zeros(n_prog)
    case_out = np.zeros((n_prog, n_providers))
    left_out = np.zeros((n_prog, n_providers))
    for ch in range(CHUNKS):  # fixed order: the same sums on any number of threads
        ref_out += referred[ch]
        case_out += caseload[ch]
        left_out += left[ch]
    # the waiting lists: each chunk writes its residents, in index order, at its own offset
    start = np.zeros(n_prog + 1, dtype=np.int64)
    offset = np.zeros((CHUNKS, n_prog), dtype=np.int64)
    for p in range(n_prog):
        pos = 0
        for ch in range(CHUNKS):
            offset[ch, p] = pos
            pos += n_wait[ch, p]
        start[p + 1] = start[p] + pos
    waiting = np.empty(start[n_prog], dtype=np.int64)
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(n, ch)
        pos = np.empty(n_prog, dtype=np.int64)
        for p in range(n_prog):
            pos[p] = start[p] + offset[ch, p]
        for i in range(lo, hi):
            if _quiet(status_words, i):
                continue
            for p in range(n_prog):
                if status[i, p] == WAITING:
                    waiting[pos[p]] = i
                    pos[p] += 1
    return ref_out, case_out, waiting, start, left_out


@nb.njit(cache=True, parallel=True)
def multipliers(month, prog, state, work_mult, move_mult):
    """:func:`resident_multipliers` for everyone: into work to ``work_mult``, to U and to I to ``move_mult[0]`` and
    ``move_mult[1]``."""
    (active, status, status_words, since, place, place_words, into_work, into_search, leave_work, after_months,
     exponential, half_life, spillover) = prog
    n = len(state)
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(n, ch)
        for i in range(lo, hi):
            m, m_u, m_i = resident_multipliers(i, state[i], month, active, status, status_words, since, place,
                                               place_words, into_work, into_search, leave_work, after_months,
                                               exponential, half_life, spillover)
            work_mult[i] = m
            move_mult[0, i] = m_u
            move_mult[1, i] = m_i


@nb.njit(cache=True, parallel=True)
def helped_in_work(started_words, place_words, levers, state_s, weight_s, state_b, weight_b):
    """Over residents who started any programme (``started_words``: residents x programmes, 8 to a word), live in a
    place-based programme's place (``place_words``, no rows if none) or are reached by an employability lever
    (``levers``, empty if none): their weight, and their weighted residents in work in the scenario
    (``state_s``, ``weight_s``) and in the counterfactual (``state_b``, ``weight_b``)."""
    n = len(state_s)
    places = place_words.shape[0] > 0
    any_levers = len(levers) > 0
    acc = np.zeros((CHUNKS, 3))
    for ch in nb.prange(CHUNKS):
        lo, hi = _chunk(n, ch)
        for i in range(lo, hi):
            if not ((any_levers and levers[i]) or not _quiet(started_words, i)
                    or (places and not _quiet(place_words, i))):
                continue
            w = np.float64(weight_s[i])
            acc[ch, 0] += w
            if state_s[i] == _E:
                acc[ch, 1] += w
            if state_b[i] == _E:
                acc[ch, 2] += np.float64(weight_b[i])
    out = np.zeros(3)
    for ch in range(CHUNKS):
        out += acc[ch]
    return out
