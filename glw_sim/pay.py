"""Pay and hours of employed residents (issue 21, step 1): outside the engine's passes, made at reported years.

Every employed resident holds one job with a working pattern (part-time or full-time), paid hours a week and an
hourly wage. Nothing here feeds back into the labour market: the states, flows and every existing result are
untouched (the draws use keyed purposes of their own, :func:`glw_sim.engine.keyed.named_purpose`, and never the
model's generator), so a run with pay on gives the same labour-market results as one without.

**Hourly pay.** London residents' hourly pay, by working pattern and sex, is log-normal: its spread is a labelled
assumption (``pay_log_sd_*``), women's median relative to men's is a labelled assumption by pattern, and the two
medians of each pattern are set so that the share of the pattern's jobs paid below the London Living Wage in force
in April 2024 (13.15 GBP) is ASHE's (Trust for London from ONS ASHE: full-time 9.9%, part-time 40.8%; all 17.5%).
The ASHE London resident percentile table itself (Table 8, Nomis NM_30_1) was not found in a stored copy, so the
distribution's shape between the floor and the low-pay line is the log-normal's, not ASHE's.

**Qualification** shifts a resident's rank (a Gaussian copula): rank score ``z = delta_q + sqrt(1 - v) e``, ``e``
standard normal, ``v`` the employment-weighted variance of ``delta``, so that over all qualifications the score
stays standard normal in mean and variance and the pattern's distribution is kept; ``delta_q`` reproduces the
published relative odds of low pay by qualification (Trust for London 2021: over six in ten of those with no
qualifications, just above one in ten graduates; intermediate levels ASSUMPTIONS), shifted by one common amount
so that all jobs together are at 17.5%.

**Floors.** Pay is never below the National Living Wage of the year (the youth rates below 21). Pay is expressed
in April 2024 pounds (ASHE's period): the floor is April 2024's; the policy year's rates uprate it (glw_sim.income).

**Entrants.** People who enter work are paid, for their first ``entrant_pay_months`` in work, at a rank in the
bottom ``entrant_pay_top`` of their group's distribution (ASSUMPTIONS, swept 0.3 to 1.0 and 6 to 36 months), then
at their job's rank in the whole distribution: a stylised step, not a model of wage progression, which keeps the
no-change baseline's pay distribution still (month 0's recent entrants are paid the same way, and the medians
are fitted over them).

**Hours.** Part-time by sex at the APS shares (London 2009: men 11%, women 31%), more often with a child under 5,
in education or caring (odds ratios, ASSUMPTIONS, the sex totals kept); paid hours ``hours_full_time`` or
``hours_part_time`` (ASSUMPTIONS).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba as nb
import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit, ndtri

from glw_sim import parameters as P
from glw_sim.engine import keyed
from glw_sim.engine.layout import CHUNKS, chunk
from glw_sim.ndtri import ndtri as ndtri_one
from glw_sim.paths import targets_dir
from glw_sim.population import Population
from glw_sim.states import LabourState, Qualification, Sex

#: keyed-draw purposes: working pattern, pay rank
PAY_HOURS, PAY_RANK = keyed.named_purpose("pay hours"), keyed.named_purpose("pay rank")
#: the ASHE period the distribution describes (April of this year; pay is in its pounds)
PAY_YEAR = 2024


@lru_cache(maxsize=1)
def low_pay_targets() -> pd.DataFrame:
    return pd.read_csv(targets_dir() / "low_pay.csv")


@lru_cache(maxsize=1)
def wage_floors() -> pd.DataFrame:
    return pd.read_csv(targets_dir() / "wage_floors.csv").set_index("year")


def _target(measure: str, group: str) -> float:
    df = low_pay_targets()
    row = df[(df.measure == measure) & (df.group == group)]
    if len(row) != 1:
        raise KeyError(f"calibration/targets/low_pay.csv: no single row {measure}/{group}")
    return float(row.value.iloc[0])


def london_living_wage(year: int = PAY_YEAR) -> float:
    return float(wage_floors().loc[year, "london_living_wage"])


def wage_floor(age: np.ndarray, year: int = PAY_YEAR) -> np.ndarray:
    """The legal minimum hourly rate by age in April of ``year`` (NLW from 21, the youth rates below)."""
    f = wage_floors().loc[year]
    age = np.asarray(age)
    return np.where(age >= 21, f.nlw_21_plus, np.where(age >= 18, f.rate_18_20, f.rate_16_17)).astype(np.float64)


@dataclass
class Jobs:
    """Each resident's job, aligned with the population (valid where ``held``)."""

    held: np.ndarray  # bool: has a job with pay drawn (the employed)
    part_time: np.ndarray  # bool
    hours: np.ndarray  # float32, paid hours a week
    hourly: np.ndarray  # float32, GBP an hour, April 2024 pounds
    rank: np.ndarray  # float64, the job's rank score in the whole distribution (before the entrant rule)
    drawn: np.ndarray  # int64, the month whose keyed draws the job is (its spell's start: glw_sim.pay.spell_start)
    quantile: np.ndarray  # float64, the standard normal quantile of the (clipped) rank: kept, not recomputed
    priced: np.ndarray  # uint8, 2 qualification + sex when last priced (a change asks for a new price)

    @classmethod
    def empty(cls, n: int) -> Jobs:
        return cls(np.zeros(n, np.bool_), np.zeros(n, np.bool_), np.zeros(n, np.float32), np.zeros(n, np.float32),
                   np.zeros(n, np.float64), np.zeros(n, np.int64), np.zeros(n, np.float64), np.zeros(n, np.uint8))

    @property
    def weekly(self) -> np.ndarray:
        """Gross weekly earnings (0 without a job)."""
        return np.where(self.held, self.hourly.astype(np.float64) * self.hours, 0.0)


@dataclass(frozen=True)
class PayModel:
    """The fitted constants of the draws (:func:`fit_pay`)."""

    mu: np.ndarray  # [sex, pattern (0 full-time, 1 part-time)]: log median hourly pay
    sd: np.ndarray  # [pattern]
    delta: np.ndarray  # [qualification]: rank-score shift
    within: float  # sqrt(1 - v)
    pt_intercept: np.ndarray  # [sex]: log-odds of part-time with no other factor
    log_or: np.ndarray  # (young children, in education, carer)
    hours: np.ndarray  # [pattern]
    entrant_top: float
    entrant_months: int


def _a(name: str, assumptions: dict | None) -> float:
    return P.value(name, assumptions)


def part_time_logit(pop: Population, idx: np.ndarray, log_or: np.ndarray) -> np.ndarray:
    return log_or[0] * pop.young_children[idx] + log_or[1] * pop.in_education[idx] + log_or[2] * pop.unpaid_carer[idx]


def fit_hours(cell_w: np.ndarray, assumptions: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """(intercept by sex, log odds ratios) of working part-time, keeping each sex's published share; ``cell_w``:
    the employed's weights by sex and combination of the factors (:func:`_employed_cells`)."""
    log_or = np.log([_a("part_time_odds_young_children", assumptions), _a("part_time_odds_in_education", assumptions),
                     _a("part_time_odds_carer", assumptions)])
    k = np.arange(8)
    extra = log_or[0] * (k % 2) + log_or[1] * ((k // 2) % 2) + log_or[2] * (k // 4)  # by combination of the factors
    pt_int = np.zeros(2)
    for s, label in ((Sex.MALE, "male"), (Sex.FEMALE, "female")):
        target = _target("part_time_share", label)
        pt_int[s] = brentq(lambda a: np.dot(cell_w[s], expit(a + extra)) / cell_w[s].sum() - target, -15, 15)
    return pt_int, log_or


@nb.njit(cache=True)
def _employed_cells(emp, weight, sex, young_children, in_education, unpaid_carer, qualification, n_qual):
    """The employed's (``emp``) weights by [sex, young children + 2 in education + 4 carer] and by qualification,
    in one pass in their order (the same sums, in the same order, as ``np.bincount`` over each sex's and over
    all)."""
    cells, by_qual = np.zeros((2, 8)), np.zeros(n_qual)
    for j in range(len(emp)):
        i = emp[j]
        w = np.float64(weight[i])
        combo = np.intp(young_children[i]) + 2 * np.intp(in_education[i]) + 4 * np.intp(unpaid_carer[i])
        cells[sex[i], combo] += w
        by_qual[qualification[i]] += w
    return cells, by_qual


def fit_pay(pop: Population, key_seed: int, assumptions: dict | None = None) -> tuple[PayModel, Jobs]:
    """Fit the pay and hours constants on the employed residents of ``pop`` (month 0): the medians so that each
    working pattern's share below the London Living Wage is ASHE's over month 0's own draws (recent entrants, in
    work under ``entrant_pay_months``, at their entrant rank, as every later month). Returns the model and month
    0's jobs (drawn and priced with the fitted model, from the rank scores the fit used: no second pass)."""
    emp = np.flatnonzero(pop.state == LabourState.EMPLOYED)
    cell_w, wq = _employed_cells(emp, pop.weight, pop.sex, pop.young_children, pop.in_education, pop.unpaid_carer,
                                 pop.qualification, len(Qualification))
    pt_int, log_or = fit_hours(cell_w, assumptions)
    sd = np.array([_a("pay_log_sd_full_time", assumptions), _a("pay_log_sd_part_time", assumptions)])
    ratio = np.array([_a("pay_female_ratio_full_time", assumptions), _a("pay_female_ratio_part_time", assumptions)])
    delta, within = _qualification_shift(wq)
    model = PayModel(np.zeros((2, 2)), sd, delta, within, pt_int, log_or,
                     np.array([_a("hours_full_time", assumptions), _a("hours_part_time", assumptions)]),
                     _a("entrant_pay_top", assumptions), int(_a("entrant_pay_months", assumptions)))
    jobs = Jobs.empty(len(pop))
    _draw_pass(emp, (pop.sex, pop.young_children, pop.in_education, pop.unpaid_carer),
               (jobs.held, jobs.part_time, jobs.hours, jobs.rank, jobs.quantile),
               np.uint64(keyed.key_base(key_seed, 0, PAY_HOURS)), np.uint64(keyed.key_base(key_seed, 0, PAY_RANK)),
               part_time_thresholds(model), model.hours.astype(np.float32))  # (draw_jobs' of month 0, compiled)
    line = np.log(london_living_wage())
    assert wage_floors().loc[PAY_YEAR, ["nlw_21_plus", "rate_18_20", "rate_16_17"]].max() < london_living_wage()
    # every floor is below the line, so a job is below it exactly when mu + x < line, x = sd z + log(ratio) female
    # (z the rank score paid at, effective_score's): mu = line - the weighted target quantile of x, by bins 1e-4
    # wide in log pay (no sort of millions of jobs; the share misses by under a thousandth of a point)
    step = 1e-4
    x, least = _log_pay_offsets(emp, jobs.rank, jobs.quantile, pop.months_in_state, pop.qualification,
                                jobs.part_time, pop.sex == Sex.FEMALE,
                                (delta.astype(np.float64), float(within), np.int64(model.entrant_months),
                                 float(model.entrant_top), sd.astype(np.float64), np.log(ratio).astype(np.float64)))
    lo = np.floor(least / step) * step
    bins = _log_pay_bins(emp, x, jobs.part_time, pop.weight, lo, step)
    mu = np.zeros((2, 2))
    for p, label in ((0, "full_time"), (1, "part_time")):
        target = _target("below_llw_share", label)
        cum = np.cumsum(bins[p]) / bins[p].sum()
        hi = line - (lo[p] + (int(np.searchsorted(cum, target)) + 1) * step)
        mu[Sex.MALE, p] = hi
        mu[Sex.FEMALE, p] = hi + np.log(ratio[p])
    model = PayModel(mu, sd, delta, within, pt_int, log_or, model.hours, model.entrant_top, model.entrant_months)
    _price_all(emp, pop.months_in_state, np.int64(model.entrant_months), jobs.rank, jobs.quantile, pop.qualification,
               pop.sex, pop.age, jobs.part_time, jobs.hourly, jobs.priced, _prices(model))  # (price's, compiled)
    return model, jobs


@nb.njit(cache=True, parallel=True)
def _log_pay_offsets(idx, rank, quantile, months, qualification, part_time, female, consts):
    """Each employed resident's (``idx``) log pay less their pattern's median for men: ``sd z + log(ratio)
    female``, ``z`` the rank score they are paid at (:func:`effective_score`, the normal quantile bit for bit:
    an entrant's of their entrant rank, the rest their job's kept ``quantile``), and each pattern's least.
    ``consts``: (delta, within, entrant_months, entrant_top, sd, log_ratio)."""
    delta, within, entrant_months, entrant_top, sd, log_ratio = consts
    out = np.empty(len(idx))
    for j in nb.prange(len(idx)):
        i = idx[j]
        q = (ndtri_one(min(max(rank[i] * entrant_top, 1e-9), 1 - 1e-9)) if months[i] < entrant_months
             else quantile[i])
        z = delta[qualification[i]] + within * q
        p = np.intp(part_time[i])
        out[j] = sd[p] * z + log_ratio[p] * female[i]
    least = np.full(2, np.inf)
    for j in range(len(idx)):
        p = np.intp(part_time[idx[j]])
        least[p] = min(least[p], out[j])
    return out, least


@nb.njit(cache=True)
def _log_pay_bins(idx, x, part_time, weight, lo, step):
    """Weights of ``x`` by pattern in bins ``step`` wide from the pattern's ``lo`` (in the residents' order: as
    ``np.bincount(((x - lo) / step).astype(np.int64), weights=w)`` of each pattern), the two padded alike."""
    k = np.empty(len(idx), np.int64)
    n = 0
    for j in range(len(idx)):
        k[j] = np.int64((x[j] - lo[np.intp(part_time[idx[j]])]) / step)
        n = max(n, k[j] + 1)
    bins = np.zeros((2, n))
    for j in range(len(idx)):
        i = idx[j]
        bins[np.intp(part_time[i]), k[j]] += np.float64(weight[i])
    return bins


@nb.njit(cache=True, parallel=True)
def _draw_pass(idx, people, job, base_hours, base_rank, pt_threshold, pattern_hours):
    """:func:`draw_jobs` (unpriced) of residents ``idx`` in one compiled pass: the working pattern by a keyed
    uniform below ``pt_threshold`` (:func:`part_time_thresholds`: the same numbers), the rank by another."""
    sex, young_children, in_education, unpaid_carer = people
    held, part_time, hours, rank, quantile = job
    for j in nb.prange(len(idx)):
        i = idx[j]
        combo = np.intp(young_children[i]) + 2 * np.intp(in_education[i]) + 4 * np.intp(unpaid_carer[i])
        pt = keyed.keyed(base_hours, i) < pt_threshold[sex[i], combo]
        part_time[i] = pt
        hours[i] = pattern_hours[1 if pt else 0]
        rank[i] = keyed.keyed(base_rank, i)
        quantile[i] = ndtri_one(min(max(rank[i], 1e-9), 1 - 1e-9))
        held[i] = True


@nb.njit(cache=True, parallel=True)
def _price_all(idx, months, entrant_months, rank, quantile, qualification, sex, age, part_time, hourly, priced,
               prices):
    """:func:`price` of residents ``idx`` in one compiled pass (:func:`_price_one`), each marked priced at their
    qualification and sex (``Jobs.priced``)."""
    for j in nb.prange(len(idx)):
        i = idx[j]
        _price_one(i, months[i] < entrant_months, rank, quantile, qualification, sex, age, part_time, hourly, prices)
        priced[i] = np.uint8(2 * qualification[i] + sex[i])


def _prices(model: PayModel) -> tuple:
    """:func:`_price_one`'s constants."""
    return (model.delta.astype(np.float64), float(model.within), model.mu.astype(np.float64),
            model.sd.astype(np.float64), float(model.entrant_top), wage_floor(np.arange(256)))


def _qualification_shift(wq: np.ndarray) -> tuple[np.ndarray, float]:
    """Rank-score shifts by qualification reproducing the published relative odds of low pay, all jobs at 17.5%
    (``wq``: the employed's weights by qualification)."""
    wq = wq / wq.sum()
    rel = logit(np.array([_target("below_llw_by_qualification", q.name.lower()) for q in Qualification]))
    overall = _target("below_llw_share", "all")
    rel_shares = expit(rel + brentq(lambda d: np.dot(wq, expit(rel + d)) - overall, -10, 10))
    c = ndtri(overall)
    within = 1.0
    for _ in range(50):  # fixed point: the shifts' spread sets the within-qualification spread and back
        delta = c - within * ndtri(rel_shares)
        delta -= np.dot(wq, delta)
        v = float(np.dot(wq, delta ** 2))
        within = np.sqrt(max(1.0 - v, 0.05))
    return delta, within


def effective_score(jobs: Jobs, pop: Population, idx: np.ndarray, model: PayModel) -> np.ndarray:
    """The rank scores residents ``idx`` are paid at: their job's rank, or while in work under
    ``entrant_months``, its entrant rank (the same rank within the bottom ``entrant_top`` of the distribution)."""
    u = jobs.rank[idx]
    recent = pop.months_in_state[idx] < model.entrant_months
    u = np.clip(np.where(recent, u * model.entrant_top, u), 1e-9, 1 - 1e-9)
    return model.delta[pop.qualification[idx]] + model.within * ndtri(u)


def price(jobs: Jobs, pop: Population, idx: np.ndarray, model: PayModel) -> None:
    """Hourly pay of residents ``idx`` from their job's pattern and rank, never below the wage floor."""
    _price_scores(jobs, pop, idx, model, effective_score(jobs, pop, idx, model))


def _price_scores(jobs: Jobs, pop: Population, idx: np.ndarray, model: PayModel, z: np.ndarray) -> None:
    pat = jobs.part_time[idx].astype(np.intp)
    hourly = np.exp(model.mu[pop.sex[idx], pat] + model.sd[pat] * z)
    jobs.hourly[idx] = np.maximum(hourly, wage_floor(pop.age[idx]))


def draw_jobs(jobs: Jobs, pop: Population, idx: np.ndarray, model: PayModel, key_seed: int, month: int,
              priced: bool = True) -> None:
    """Draw pattern, hours and pay rank for residents ``idx`` (keyed by resident and month: common random
    numbers across a scenario and its counterfactual), and price them (unless not ``priced``)."""
    if len(idx) == 0:
        return
    idx = np.asarray(idx, dtype=np.int64)
    u_pt = keyed.keyed_uniforms(key_seed, month, PAY_HOURS, idx)
    pt = u_pt < expit(model.pt_intercept[pop.sex[idx]] + part_time_logit(pop, idx, model.log_or))
    jobs.part_time[idx] = pt
    jobs.hours[idx] = model.hours[pt.astype(np.intp)]
    jobs.rank[idx] = keyed.keyed_uniforms(key_seed, month, PAY_RANK, idx)
    jobs.quantile[idx] = ndtri(np.clip(jobs.rank[idx], 1e-9, 1 - 1e-9))
    jobs.held[idx] = True
    if priced:
        price(jobs, pop, idx, model)


@nb.njit(cache=True, inline="always")
def _price_one(i, entrant, rank, quantile, qualification, sex, age, part_time, hourly, prices):
    """:func:`price` of resident ``i`` (``entrant``: in work under ``entrant_months``), in the same arithmetic (the
    normal quantile bit for bit, :func:`glw_sim.ndtri.ndtri`, or the job's kept one past the entrant months; ``exp`` is the C library's where numpy's may use its
    own vector version, so an hourly pay can differ from :func:`price`'s in the last bit of its float32)."""
    delta, within, mu, sd, entrant_top, floor_by_age = prices
    q = ndtri_one(min(max(rank[i] * entrant_top, 1e-9), 1 - 1e-9)) if entrant else quantile[i]
    z = delta[qualification[i]] + within * q
    pat = np.intp(part_time[i])
    h = np.exp(mu[sex[i], pat] + sd[pat] * z)
    hourly[i] = np.float32(max(h, floor_by_age[age[i]]))


def spell_start(pop: Population, month: int) -> np.ndarray:
    """The month each resident's current spell began (``month`` less the completed months in their state; 0 for a
    spell begun before the run): an employed resident's job is the one drawn for that month."""
    return np.maximum(np.int64(month) - pop.months_in_state.astype(np.int64), 0)


def refresh_jobs_reference(jobs: Jobs, pop: Population, model: PayModel, key_seed: int, month: int) -> None:
    """:func:`refresh_jobs` in numpy, for the tests: residents out of work hold no job; an employed resident whose
    job was drawn for another spell (or who holds none) draws the job of their spell's start (:func:`draw_jobs`,
    keyed by that month); every employed resident is priced (:func:`price`: the entrant rule by their months in
    work, the floor by their age now)."""
    emp = pop.state == LabourState.EMPLOYED
    jobs.held[~emp] = False
    idx = np.flatnonzero(emp)
    s = spell_start(pop, month)[idx]
    stale = ~jobs.held[idx] | (jobs.drawn[idx] != s)
    for m in np.unique(s[stale]):
        who = idx[stale][s[stale] == m]
        draw_jobs(jobs, pop, who, model, key_seed, int(m), priced=False)
        jobs.drawn[who] = m
    price(jobs, pop, idx, model)


def part_time_thresholds(model: PayModel) -> np.ndarray:
    """[sex, young children + 2 in education + 4 carer] chance of working part-time: the same arithmetic, element
    by element, as :func:`draw_jobs` (so the same numbers)."""
    k = np.arange(8)
    yc, edu, carer = (k % 2).astype(np.bool_), ((k // 2) % 2).astype(np.bool_), (k // 4).astype(np.bool_)
    logit_ = model.log_or[0] * yc + model.log_or[1] * edu + model.log_or[2] * carer
    return np.stack([expit(model.pt_intercept[s] + logit_) for s in (0, 1)])


def refresh_jobs(jobs: Jobs, pop: Population, model: PayModel, key_seed: int, month: int, since: int | None = None
                 ) -> int:
    """Every resident's job as of month ``month``, in one compiled pass (:func:`_refresh_pass`; the same jobs as
    :func:`refresh_jobs_reference`): a job is a function of the resident and the month their spell in work began
    (its keyed draws: working pattern, hours and pay rank), and its pay of their months in work (the entrant rule)
    and age (the floor), so it is made when a figure needs it (each reported year) rather than each month.
    ``since``: the month of the last refresh (None: unknown); a job whose price cannot have changed since then is
    not priced again (drawn since, under the entrant months then or now, possibly past a birthday at 18 or 21,
    or of another qualification or sex: the same prices as pricing every one). Returns the number of jobs drawn."""
    prices = _prices(model)
    gap = np.int64(1 << 40) if since is None else np.int64(month - since)
    return int(_refresh_pass((pop.state, pop.months_in_state, pop.sex, pop.young_children, pop.in_education,
                              pop.unpaid_carer, pop.qualification, pop.age),
                             (jobs.held, jobs.part_time, jobs.hours, jobs.rank, jobs.hourly, jobs.drawn,
                              jobs.quantile, jobs.priced),
                             np.int64(month), gap, np.int64(model.entrant_months), np.uint64(key_seed),
                             part_time_thresholds(model), model.hours.astype(np.float32), prices))


@nb.njit(cache=True, parallel=True)
def _refresh_pass(people, job, month, gap, entrant_months, key_seed, pt_threshold, pattern_hours, prices):
    """:func:`refresh_jobs`' pass, in the engine's fixed chunks (:data:`glw_sim.engine.layout.CHUNKS`): the working
    pattern by a keyed uniform below ``pt_threshold[sex, combination of the three factors]`` (the same numbers as
    :func:`part_time_logit` through ``expit``), the rank by another, both keyed by the spell's start month."""
    state, months, sex, young_children, in_education, unpaid_carer, qualification, age = people
    held, part_time, hours, rank, hourly, drawn, quantile, priced = job
    n = len(state)
    drawn_by_chunk = np.zeros(CHUNKS, np.int64)
    birthdays = (gap + 11) // 12  # at most, since the last refresh
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(n, ch)
        k = 0
        for i in range(lo, hi):
            if state[i] != 0:  # LabourState.EMPLOYED == 0
                held[i] = False
                continue
            m = np.int64(months[i])
            s = month - m if month > m else np.int64(0)
            fresh = not held[i] or drawn[i] != s
            if fresh:
                combo = np.intp(young_children[i]) + 2 * np.intp(in_education[i]) + 4 * np.intp(unpaid_carer[i])
                pt = keyed.keyed(keyed.key_base(key_seed, s, PAY_HOURS), i) < pt_threshold[sex[i], combo]
                part_time[i] = pt
                hours[i] = pattern_hours[1 if pt else 0]
                rank[i] = keyed.keyed(keyed.key_base(key_seed, s, PAY_RANK), i)
                quantile[i] = ndtri_one(min(max(rank[i], 1e-9), 1 - 1e-9))
                held[i] = True
                drawn[i] = s
                k += 1
            key = np.uint8(2 * qualification[i] + sex[i])
            if fresh or m < entrant_months + gap or np.int64(age[i]) < 21 + birthdays or priced[i] != key:
                _price_one(i, m < entrant_months, rank, quantile, qualification, sex, age, part_time, hourly,
                           prices)
                priced[i] = key
        drawn_by_chunk[ch] = k
    return drawn_by_chunk.sum()


#: penny bins of the median's histogram: hourly pay from 0 to 1,000 GBP (the few above in the last bin, which
#: cannot move a median of about 20 GBP)
_PENNY_BINS = 100_001


@nb.njit(cache=True, parallel=True)
def _summary_pass(held, weight, hourly, part_time, hours, llw, n_bins):
    """One pass over the residents, by the engine's fixed chunks (summed in chunk order: the same numbers whatever
    the threads): over those holding a job, the weights' total, the weighted sums of being below ``llw``, of part
    time and of weekly pay, and the weights by penny of hourly pay (as
    ``np.bincount((hourly * 100).astype(np.int64), weights=w)``, clipped to ``n_bins``)."""
    bins = np.zeros((CHUNKS, n_bins))
    sums = np.zeros((CHUNKS, 4))  # total, below, part time, weekly
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(len(held), ch)
        total = below = pt = weekly = 0.0
        for i in range(lo, hi):
            if held[i]:
                w = np.float64(weight[i])
                h = np.float64(hourly[i])
                total += w
                below += w * (hourly[i] < llw)
                pt += w * part_time[i]
                weekly += w * (h * np.float64(hours[i]))
                bins[ch, min(np.int64(h * 100.0), n_bins - 1)] += w
        sums[ch, 0], sums[ch, 1], sums[ch, 2], sums[ch, 3] = total, below, pt, weekly
    out, acc = np.zeros(n_bins), np.zeros(4)
    for ch in range(CHUNKS):
        out += bins[ch]
        acc += sums[ch]
    return acc[0], acc[1], acc[2], acc[3], out


def pay_summary(jobs: Jobs, pop: Population) -> dict[str, float]:
    """Month's pay figures (weighted over residents holding a job), in one compiled pass over the residents
    (:func:`_summary_pass`; sums in float64, by the engine's chunks): the shares below the London Living Wage and
    part-time, the median hourly pay (to the penny) and mean weekly pay. A year's records read millions of jobs,
    so one pass rather than a gather and a pass per figure (issue 21: the with-income baseline's cost)."""
    total, below, pt, weekly, bins = _summary_pass(jobs.held, pop.weight, jobs.hourly, jobs.part_time, jobs.hours,
                                                   np.float32(london_living_wage()), _PENNY_BINS)
    if total == 0:
        return {}
    median = float(np.searchsorted(np.cumsum(bins), 0.5 * bins.sum()) / 100)
    return {"pay.below_llw_share": below / total, "pay.part_time_share": pt / total, "pay.median_hourly": median,
            "pay.mean_weekly": weekly / total}
