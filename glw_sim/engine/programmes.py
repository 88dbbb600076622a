"""Programmes: who is referred, waits, is supported and discharged, and what support does to a resident's chances.

A month of programmes (:meth:`glw_sim.model.GLWModel.programmes_month`) is one compiled pass over all programmes
at once (:func:`refer_and_discharge`: referral, the waiting lists' re-check, discharge, caseloads and waiting
lists), after which every provider (a mesa.Agent, :class:`glw_sim.interventions.base.Provider`) starts residents
from its list. The effects act inside the month's transition pass (:func:`effect`, resident by resident).

The rules, once:

- **eligibility** (:func:`eligible_bits`, :func:`meets`): the programme's attributes (health, education, young
  children, qualification, age) and labour state (state, inactivity reason, wanting a job) as bit masks over
  programmes (:class:`ProgrammeTables`), where the programme has a provider, at least ``min_months`` in the
  state, and, for a place-based programme, living in its place;
- **referral**: an eligible resident not in the programme, while it is active, is referred with chance
  ``refer_p[p, borough, state, health, age band]`` and joins the waiting list with that chance times
  ``take_p[p, borough]`` (one keyed uniform decides both);
- **effects** (:func:`effect`): the share ``frac`` of a programme's effect is 1 while supported, fades over
  ``after_months`` after support (linearly, or halving every ``half_life`` months), and is ``spillover`` for
  other residents of an active place-based programme's place; the multipliers act on moving into work, on
  starting to search for the inactive and on leaving work for the employed.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.keyed import bases as keyed_bases
from glw_sim.engine.keyed import keyed, named_purpose
from glw_sim.engine.layout import (AFTER, AGE_CODES, CHUNKS, E, I, MAX_MONTHS, MAX_PROGRAMMES, N_BOROUGHS, N_REASONS,
                                   NO_REASON, NOT_IN, U,
                                   PROGRAMMES_PER_WORD, SUPPORTED, WAITING, age_band, chunk)
from glw_sim.engine.records import Books, Effects, Plan, Rules
from glw_sim.states import MAX_AGE, MIN_AGE, Health, InactivityReason, LabourState, Qualification


def width(n_programmes: int) -> int:
    """Columns of the model's (residents x programmes) arrays: a multiple of 8, so that a resident's statuses can
    be read 8 at a time as one 64-bit word (0 when no programme)."""
    return PROGRAMMES_PER_WORD * -(-n_programmes // PROGRAMMES_PER_WORD)


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
        dyn &= (st != I) | np.isin(r, codes(InactivityReason, e.reasons))
    if e.wants_job_only:
        dyn &= (st != I) | (wj == 1)
    if e.employed_off_sick_only:  # for the employed, the slot of wanting a job holds being off sick (state_key)
        dyn &= (st != E) | (wj == 1)
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
        self.provider_of_borough = np.full((p, N_BOROUGHS), -1, dtype=np.int64)
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
        self.borough_bits = np.zeros(N_BOROUGHS, dtype=np.uint64)
        grid = np.meshgrid(np.arange(len(Health)), [0, 1], [0, 1], np.arange(len(Qualification)),
                           np.arange(MIN_AGE, MAX_AGE + 1), indexing="ij")
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

    def rules(self) -> Rules:
        return Rules(self.purposes, self.state_ok, self.static_bits, self.state_bits, self.borough_bits,
                     self.min_months, self.provider_of_borough, self.has_place, self.support_months,
                     self.after_months, self.skills_row, self.n_providers, self.employment_bits)

    def effects(self, active, status, since, place) -> Effects:
        """The programmes' state and effects as :func:`effect` reads them."""
        return Effects(active, status, words(status), since, place, words(place), self.into_work,
                       self.into_search, self.leave_work, self.after_months, self.exponential, self.half_life,
                       self.spillover)


#: the keyed-draw purpose of the retention levers' cancellations (:func:`retain`)
RETAIN = named_purpose("retention")

_N_QUAL = len(Qualification)
STATIC_KEYS = len(Health) * 2 * 2 * _N_QUAL * AGE_CODES
STATE_KEYS = len(LabourState) * N_REASONS * 2


@nb.njit(cache=True, inline="always")
def static_key(health, in_education, young_children, qualification, age):
    """Index of a resident's attributes in ProgrammeTables.static_bits."""
    return (((np.int64(health) * 2 + np.int64(in_education)) * 2 + np.int64(young_children)) * _N_QUAL
            + np.int64(qualification)) * AGE_CODES + np.int64(age)


@nb.njit(cache=True, inline="always")
def state_key(state, reason, wants_job):
    """Index of a resident's labour state, inactivity reason and wanting a job in ProgrammeTables.state_bits (for
    an employed resident, who never wants a job, that slot holds being off sick: :func:`eligible_bits`)."""
    return (np.int64(state) * N_REASONS + np.int64(reason)) * 2 + np.int64(wants_job)


@nb.njit(cache=True, inline="always")
def quiet(words, i):
    """True if all of resident ``i``'s bytes (8 programmes to a word) are zero."""
    for k in range(words.shape[1]):
        if words[i, k] != 0:
            return False
    return True


@nb.njit(cache=True, inline="always")
def _scaled(full, value, frac):
    return value if full else 1.0 + (value - 1.0) * frac


@nb.njit(cache=True, inline="always")
def effect(i, st, month, ef):
    """Resident ``i``'s multipliers (into work, to U, to I) from every programme that reaches them this month,
    programme by programme in order (``ef``: :class:`~glw_sim.engine.records.Effects`); the rule is in the
    module's docstring."""
    m = 1.0
    m_u = 1.0
    m_i = 1.0
    if quiet(ef.words, i) and (ef.place_words.shape[0] == 0 or quiet(ef.place_words, i)):
        return m, m_u, m_i
    for p in range(len(ef.active)):
        s = ef.status[i, p]
        if s == SUPPORTED:
            frac = 1.0
        elif s == AFTER:
            if ef.after_months[p] <= 0:
                continue
            t = month - ef.since[i, p]
            if ef.exponential[p]:
                frac = 0.5 ** (t / ef.half_life[p]) if t < ef.after_months[p] else 0.0
            else:
                frac = min(max(1.0 - t / ef.after_months[p], 0.0), 1.0)
        elif ef.spillover[p] > 0 and ef.active[p] and ef.place_words.shape[0] > 0 and ef.place[i, p]:
            frac = ef.spillover[p]
        else:
            continue
        full = frac == 1.0
        m *= _scaled(full, ef.into_work[p], frac)
        if st == I and ef.into_search[p] != 1.0:
            m_u *= _scaled(full, ef.into_search[p], frac)
        elif st == E and ef.leave_work[p] != 1.0:
            f = _scaled(full, ef.leave_work[p], frac)
            m_u *= f
            m_i *= f
    return m, m_u, m_i


@nb.njit(cache=True, inline="always")
def with_levers(i, st, mo, ef):
    """Resident ``i``'s multipliers (into work, to U, to I) from programmes (if ``mo.use_programmes``) and the levers
    (if ``mo.use_levers``): on moving into work, the employability and reactivation levers' ``mo.work_mult``; on an
    inactive resident's starting to search, the reactivation levers' ``mo.search_mult`` (empty when none)."""
    mult, m_u, m_i = 1.0, 1.0, 1.0
    if mo.use_programmes:
        mult, m_u, m_i = effect(i, st, mo.month, ef)
    if mo.use_levers:
        mult = mult * mo.work_mult[i]
        if st == I and len(mo.search_mult) > 0:
            m_u = m_u * mo.search_mult[i]
    return mult, m_u, m_i


@nb.njit(cache=True, inline="always")
def retain(i, months, res, mo):
    """The retention levers on resident ``i``, who was in work (``months`` in it) and has just drawn a move out of
    it: the move is cancelled with chance ``1 - prod(1 - cut)`` over the levers that reach them
    (``mo.retain_bits``) and cut that move (to U: ``retain_u``; to I with the drawn reason: ``retain_i``), with a
    keyed draw of its own (``mo.retain_base``), so cancelling is exactly multiplying that flow by ``1 - cut``. A
    cancelled move leaves the resident as if they had stayed: in work a month longer, no reason."""
    bits = np.int64(mo.retain_bits[i])
    if bits == 0:
        return
    new = res.state[i]
    keep = 1.0
    for k in range(len(mo.retain_cut)):
        if (bits >> k) & 1:
            if (new == U and mo.retain_u[k]) or (new == I and mo.retain_i[k, res.reason[i]]):
                keep *= 1.0 - mo.retain_cut[k]
    if keep < 1.0 and keyed(mo.retain_base, i) < 1.0 - keep:
        res.state[i] = E
        res.months_in_state[i] = months + 1 if months < MAX_MONTHS else months
        res.reason[i] = NO_REASON
        res.wants_job[i] = False


def no_programmes(n: int) -> Effects:
    """The effects of a model without programmes (nothing reaches anyone)."""
    z8 = np.zeros((n, 0), dtype=np.int8)
    zb = np.zeros((0, 0), dtype=np.bool_)
    return Effects(np.zeros(0, dtype=np.bool_), z8, z8.view(np.uint64), np.zeros((n, 0), dtype=np.int32), zb,
                   zb.view(np.uint64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64),
                   np.zeros(0, dtype=np.bool_), np.zeros(0), np.zeros(0))


@nb.njit(cache=True, inline="always")
def eligible_bits(i, res, rules):
    """The programmes whose attribute and state rules resident ``i`` meets and which have a provider in their
    borough, as bits (bit p: programme p)."""
    return (rules.static_bits[static_key(res.health[i], res.in_education[i], res.young_children[i],
                                         res.qualification[i], res.age[i])]
            & rules.state_bits[state_key(res.state[i], res.reason[i], res.wants_job[i] or res.off_sick[i])]
            & rules.borough_bits[res.borough[i]])


@nb.njit(cache=True, inline="always")
def meets(p, i, bits, res, rules, place):
    """Resident ``i`` meets programme ``p``'s eligibility (``bits``: :func:`eligible_bits`): its rules, months in
    state and place."""
    return (((bits >> np.uint64(p)) & np.uint64(1)) != 0 and np.int64(res.months_in_state[i]) >= rules.min_months[p]
            and not (rules.has_place[p] and not place[i, p]))


@nb.njit(cache=True, parallel=True)
def eligible(p, res, rules, place):
    """Residents who meet programme ``p``'s eligibility rules now (boolean by resident; whether the programme is
    active or the resident already in it is apart)."""
    n = len(res.state)
    out = np.zeros(n, dtype=np.bool_)
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(n, ch)
        for i in range(lo, hi):
            out[i] = meets(p, i, eligible_bits(i, res, rules), res, rules, place)
    return out


@nb.njit(cache=True, inline="always")
def _refer(i, ch, month, bases, top, active_bits, ef, res, rules, chances, decline, referred):
    """Referral of resident ``i`` (not yet in a programme) to every programme whose rules they meet."""
    st = res.state[i]
    b = res.borough[i]
    bits = eligible_bits(i, res, rules) & active_bits
    if bits == 0:
        return
    if decline and not quiet(ef.words, i):
        for q in range(len(bases)):  # supported by an employment programme: not referred to another
            if ef.status[i, q] == SUPPORTED and ((rules.employment_bits >> np.uint64(q)) & np.uint64(1)) != 0:
                bits &= ~rules.employment_bits
                break
        if bits == 0:
            return
    refer_p, take_p = chances.refer, chances.take_up
    for p in range(len(bases)):
        if ef.status[i, p] != NOT_IN or not meets(p, i, bits, res, rules, ef.place):
            continue
        u = keyed(bases[p], i)
        if u >= top[p, st]:
            continue
        rp = refer_p[p, b, st, res.health[i], age_band(res.age[i])]
        if u < rp:
            referred[ch, p] += np.float64(res.weight[i])
        if u < rp * take_p[p, b]:
            ef.status[i, p] = WAITING
            ef.since[i, p] = month


@nb.njit(cache=True, inline="always")
def _follow(i, ch, month, ef, res, rules, done, caseload, left, n_wait):
    """Re-check of resident ``i``'s waiting lists and discharge of their supports and after-periods."""
    b = res.borough[i]
    bits = np.uint64(0)
    checked = False
    for p in range(len(ef.active)):
        s = ef.status[i, p]
        if s == NOT_IN:
            continue
        if s == WAITING:
            if not checked:  # the resident's eligibility now, by the referral's rules (once)
                bits = eligible_bits(i, res, rules)
                checked = True
            if not meets(p, i, bits, res, rules, ef.place):
                ef.status[i, p] = NOT_IN
                # (booked with the resident's provider; residents never change borough, so one outside the
                # areas was put on the list by hand: booked with the first)
                left[ch, p, max(rules.provider_of_borough[p, b], 0)] += np.float64(res.weight[i])
                continue
            n_wait[ch, p] += 1
            continue
        if s == SUPPORTED and month - ef.since[i, p] >= rules.support_months[p]:
            s = AFTER
            ef.since[i, p] = month
            if rules.skills_row[p] >= 0:
                done[rules.skills_row[p], i] = True
        if s == AFTER and month - ef.since[i, p] >= rules.after_months[p]:
            s = NOT_IN
        if s != ef.status[i, p]:
            ef.status[i, p] = s
        if s == SUPPORTED:
            caseload[ch, p, rules.provider_of_borough[p, b]] += np.float64(res.weight[i])


def refer_and_discharge(mo, rules, ef, res, chances, done, decline):
    """One month of every programme ``p`` (column ``p`` of ``ef.status`` and ``ef.since``), resident by resident:
    referral (``chances``: :class:`~glw_sim.engine.records.Chances`; the keyed uniform of purpose
    ``rules.purposes[p]``; with ``decline``, a resident supported by an employment programme is not referred to
    another); the waiting lists' re-check (a waiting resident who no longer meets the programme's eligibility
    leaves the list, never started: their weight is counted per programme x provider); discharge (a support
    that has lasted ``support_months[p]`` moves to the after-period and, for a skills programme, flags the
    resident in ``done[skills_row[p]]``; an after-period that has lasted ``after_months[p]`` ends).

    Employed residents in no programme are skipped at once unless a programme takes employed residents. Returns
    (weighted referrals per programme, weighted caseload per programme x provider, the waiting residents of all
    programmes in index order, where each programme's start in that array, and the weighted leavers of the
    waiting lists per programme x provider)."""
    n_prog, n_prov = len(rules.purposes), rules.n_providers
    books = Books(np.zeros((CHUNKS, n_prog)), np.zeros((CHUNKS, n_prog, n_prov)), np.zeros((CHUNKS, n_prog, n_prov)),
                  np.zeros((CHUNKS, n_prog), dtype=np.int64))
    _refer_pass(mo, rules, ef, res, chances, done, decline, _plan(mo, rules, ef, chances.refer), books)
    waiting, start = _waiting_lists(ef, books.n_wait)
    ref_out = np.zeros(n_prog)
    case_out = np.zeros((n_prog, n_prov))
    left_out = np.zeros((n_prog, n_prov))
    for ch in range(CHUNKS):  # fixed order: the same sums on any number of threads
        ref_out += books.referred[ch]
        case_out += books.caseload[ch]
        left_out += books.left[ch]
    return ref_out, case_out, waiting, start, left_out


def _plan(mo, rules, ef, refer_p) -> Plan:
    """The month's referral constants: each programme's key base, its highest referral chance by state (a resident
    whose uniform is above it is not referred, whether eligible or not, so the eligibility rules need only be
    checked below it: the same result, faster), the active programmes as bits, whether any takes employed
    residents."""
    n_prog = len(rules.purposes)
    top = refer_p.max(axis=(1, 3, 4)) if n_prog else np.zeros((0, refer_p.shape[2]))
    active_bits = np.uint64(0)
    for p in range(n_prog):
        if ef.active[p]:
            active_bits |= np.uint64(1) << np.uint64(p)
    employed_ok = bool(np.any(ef.active & rules.state_ok[:, E]))
    return Plan(keyed_bases(mo.key_seed, mo.month, rules.purposes), np.ascontiguousarray(top), active_bits,
                employed_ok)


@nb.njit(cache=True, parallel=True)
def _refer_pass(mo, rules, ef, res, chances, done, decline, plan, books):
    """:func:`refer_and_discharge` but the waiting lists: their lengths per chunk and programme in ``books``."""
    for ch in nb.prange(CHUNKS):
        _programmes_chunk(ch, mo, rules, ef, res, chances, done, decline, plan, books)


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _programmes_chunk(ch, mo, rules, ef, res, chances, done, decline, plan, books):
    lo, hi = chunk(ef.status.shape[0], ch)
    # referral: residents not yet in a programme (two tight loops are faster than one)
    for i in range(lo, hi):
        if res.state[i] == E and not plan.employed_ok:
            continue
        _refer(i, ch, mo.month, plan.bases, plan.top, plan.active_bits, ef, res, rules, chances, decline,
               books.referred)
    # re-check of the waiting lists, discharge, caseloads and waiting lists: residents in a programme
    for i in range(lo, hi):
        if not quiet(ef.words, i):
            _follow(i, ch, mo.month, ef, res, rules, done, books.caseload, books.left, books.n_wait)


def _waiting_lists(ef, n_wait):
    """The waiting residents of every programme, in index order (each chunk writes its own at its offset)."""
    n_prog = n_wait.shape[1]
    per = n_wait.sum(axis=0)
    start = np.zeros(n_prog + 1, dtype=np.int64)
    start[1:] = np.cumsum(per)
    offset = np.zeros_like(n_wait)
    offset[1:] = np.cumsum(n_wait, axis=0)[:-1]
    waiting = np.empty(start[n_prog], dtype=np.int64)
    _list_waiting(ef, start[None, :n_prog] + offset, waiting)  # each chunk's next position in each list
    return waiting, start


@nb.njit(cache=True, parallel=True)
def _list_waiting(ef, pos, waiting):
    for ch in nb.prange(CHUNKS):
        _list_chunk(ch, ef, pos, waiting)


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _list_chunk(ch, ef, positions, waiting):
    lo, hi = chunk(ef.status.shape[0], ch)
    n_prog = len(ef.active)
    pos = positions[ch]
    for i in range(lo, hi):
        if quiet(ef.words, i):
            continue
        for p in range(n_prog):
            if ef.status[i, p] == WAITING:
                waiting[pos[p]] = i
                pos[p] += 1


@nb.njit(cache=True, parallel=True)
def multipliers(month, ef, state, work_mult, move_mult):
    """:func:`effect` for everyone: into work to ``work_mult``, to U and to I to ``move_mult[0]`` and
    ``move_mult[1]``."""
    n = len(state)
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(n, ch)
        for i in range(lo, hi):
            m, m_u, m_i = effect(i, state[i], month, ef)
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
        lo, hi = chunk(n, ch)
        for i in range(lo, hi):
            if not ((any_levers and levers[i]) or not quiet(started_words, i)
                    or (places and not quiet(place_words, i))):
                continue
            w = np.float64(weight_s[i])
            acc[ch, 0] += w
            if state_s[i] == E:
                acc[ch, 1] += w
            if state_b[i] == E:
                acc[ch, 2] += np.float64(weight_b[i])
    out = np.zeros(3)
    for ch in range(CHUNKS):
        out += acc[ch]
    return out
