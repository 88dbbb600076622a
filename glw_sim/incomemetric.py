"""The plan's second target as a model output (issue 21, step 4): income after housing costs of the lowest fifth.

Each working-age resident's benefit unit (:mod:`glw_sim.households`) has a weekly net income after housing costs
read from the committed table (:mod:`glw_sim.income`, ``calibration/income/net_income_ahc.parquet``; bilinear in
the two adults' gross weekly earnings), equivalised with HBAI's after-housing-costs scale. Earnings are the
resident's job (:mod:`glw_sim.pay`, April 2024 pounds) and, in a couple, the partner's when in work, uprated to the
policy year by ``pay_growth_per_year`` (ASSUMPTION) and never below that year's wage floor. Residents are ranked
by equivalised income (weighted); the lowest fifth's median and mean are reported each year in nominal pounds and
in April 2024 pounds (CPIH at ``cpih_per_year``, a labelled deflator: ASSUMPTION until the ONS series is
committed).

An 'other' resident's household pools their own benefit unit's income with its other adults' (parents under 30,
else a sharer: :data:`OTHER_PARENTS_BELOW`), equivalised over its adults, as HBAI counts household income.

What it is not: HBAI's own population (children and pensioners are in the target's, not the model's), households
beyond these make-ups (an assumption), council tax, mortgage interest, childcare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from datetime import date
from functools import lru_cache

import numba as nb
import numpy as np
import pandas as pd
from scipy.special import expit

from glw_sim import households as H
from glw_sim import income as I
from glw_sim import parameters as P
from glw_sim import pay as pay_mod
from glw_sim.engine import keyed
from glw_sim.engine.layout import CHUNKS, chunk
from glw_sim.ndtri import ndtri as ndtri_one
from glw_sim.population import Population
from glw_sim.states import Sex, age_band_of

#: the table's grid (tools/make_income_table.py writes it; checked on load): steps of 25 and 100 to 1,000, then a
#: few points, all whole pounds (the compiled lookup's cells rely on it: :data:`CELLS1`)
EARN1 = np.concatenate([np.arange(0, 1001, 25), np.arange(1100, 2001, 100)]).astype(np.float64)
EARN2 = np.concatenate([np.arange(0, 1001, 100), [1500, 2000]]).astype(np.float64)
N_UNITS, N_AREAS, SOCIAL_AREA, OWNER_AREA = 12, 16, 14, 15
#: each unit's (couple, children) for its equivalence scale (the table's UNITS)
UNIT_COUPLE = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
UNIT_CHILDREN = np.array([0, 0, 0, 0, 0, 1, 2, 3, 0, 1, 2, 3])


@dataclass(frozen=True)
class IncomeTable:
    years: np.ndarray
    ahc: np.ndarray  # [year, unit, area, earn1, earn2] weekly net income after housing costs

    def lookup(self, year: int, unit: np.ndarray, area: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
        """Net income after housing costs a week, bilinear in the two earnings (clipped to the grid)."""
        y = int(np.searchsorted(self.years, min(max(year, self.years[0]), self.years[-1])))
        tab = self.ahc[y]

        def axis(x, grid):
            x = np.clip(x, grid[0], grid[-1])
            j = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
            return j, (x - grid[j]) / (grid[j + 1] - grid[j])

        i1, f1 = axis(e1, EARN1)
        i2, f2 = axis(e2, EARN2)
        return ((1 - f1) * (1 - f2) * tab[unit, area, i1, i2] + f1 * (1 - f2) * tab[unit, area, i1 + 1, i2]
                + (1 - f1) * f2 * tab[unit, area, i1, i2 + 1] + f1 * f2 * tab[unit, area, i1 + 1, i2 + 1])


@lru_cache(maxsize=1)
def load_table() -> IncomeTable:
    df = pd.read_parquet(I.income_dir() / "net_income_ahc.parquet")
    years = np.sort(df.year.unique()).astype(np.int64)
    out = np.full((len(years), N_UNITS, N_AREAS, len(EARN1), len(EARN2)), np.nan, dtype=np.float32)
    yi = np.searchsorted(years, df.year.to_numpy())
    i1 = np.searchsorted(EARN1, df.earn1.to_numpy())
    i2 = np.searchsorted(EARN2, df.earn2.to_numpy())
    if not (np.all(EARN1[i1] == df.earn1.to_numpy()) and np.all(EARN2[np.minimum(i2, len(EARN2) - 1)]
                                                                 == df.earn2.to_numpy())):
        raise ValueError("net_income_ahc.parquet: earnings off the grid glw_sim.incomemetric expects")
    out[yi, df.unit.to_numpy(), df.area.to_numpy(), i1, i2] = df.net_ahc.to_numpy()
    single = UNIT_COUPLE == 0  # a unit without a partner: the same at every partner earnings
    out[:, single] = out[:, single][..., :1]
    if np.isnan(out).any():
        raise ValueError("net_income_ahc.parquet: the grid is incomplete")
    return IncomeTable(years, out)


def unit_and_area(hh: H.Households, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The table's benefit unit and tenure/rental area of each resident."""
    t, c = hh.type, np.minimum(hh.children, 3).astype(np.intp)
    unit = np.select([t == H.SINGLE, t == H.OTHER, t == H.LONE_PARENT, t == H.COUPLE],
                     [np.where(age < 25, 0, np.where(age < 35, 1, 2)), np.where(age < 25, 3, 4), 4 + np.maximum(c, 1),
                      8], 8 + np.maximum(c, 1))
    area = np.where(hh.tenure == H.PRIVATE, hh.brma, np.where(hh.tenure == H.SOCIAL, SOCIAL_AREA, OWNER_AREA))
    return unit.astype(np.intp), area.astype(np.intp)


def policy_year(d: date) -> int:
    """The policy (tax) year a month falls in, named by its first year (April to March)."""
    return d.year if d.month >= 4 else d.year - 1


def uprate(weekly: np.ndarray, year: int, assumptions: dict | None) -> np.ndarray:
    return weekly * (1 + P.value("pay_growth_per_year", assumptions)) ** (year - pay_mod.PAY_YEAR)


def deflator(year: int, assumptions: dict | None) -> float:
    """Pounds of policy year ``year`` in April 2024 pounds (CPIH at the labelled rate)."""
    return (1 + P.value("cpih_per_year", assumptions)) ** (year - pay_mod.PAY_YEAR)


#: 'other' households (ASSUMPTION, README "Pay, hours and income"): a resident living with adults who are not a
#: partner lives with their parents (a couple, both adults at the model's employment rates of men and women aged
#: 35-49, or 50-64 from the resident's 20th birthday) when under OTHER_PARENTS_BELOW, else with one other adult of
#: their own sex and age band (a sharer); HBAI counts the whole household's income, equivalised over its adults
OTHER_PARENTS_BELOW = 30
HOST_UNIT_PARENTS, HOST_UNIT_SHARER = 8, 2  # the table's units: a couple without children, a single adult 35+
PARENTS_BAND_YOUNG, PARENTS_BAND = 2, 3  # the parents' age band: 35-49 while the resident is under 20, then 50-64
OTHER_TYPE, MALE, FEMALE = int(H.OTHER), int(Sex.MALE), int(Sex.FEMALE)  # (plain ints, constants of the pass)
HOST2_HOURS, HOST2_PAY, HOST2_RANK = (keyed.named_purpose(p) for p in ("host hours", "host pay", "host rank"))


def _adult_pay(idx: np.ndarray, sex: np.ndarray, qual: np.ndarray, key_seed: int, hours_purpose: int,
               pay_purpose: int, model: pay_mod.PayModel) -> np.ndarray:
    """Gross weekly earnings when in work (April 2024 pounds) of adults beside the residents ``idx`` (of ``sex``,
    at qualification ``qual``): part-time at their sex's share, paid at a fixed rank, both keyed draws of month 0
    by resident (``hours_purpose``, ``pay_purpose``), never below the adult floor (one compiled pass)."""
    return _adult_pay_pass(np.asarray(idx, np.int64), np.asarray(sex, dtype=np.intp), np.asarray(qual),
                           np.uint64(keyed.key_base(key_seed, 0, hours_purpose)),
                           np.uint64(keyed.key_base(key_seed, 0, pay_purpose)),
                           expit(model.pt_intercept).astype(np.float64), model.delta.astype(np.float64),
                           float(model.within), model.mu.astype(np.float64), model.sd.astype(np.float64),
                           model.hours.astype(np.float64), float(pay_mod.wage_floor(np.array([30]))[0]))


@nb.njit(cache=True, parallel=True)
def _adult_pay_pass(idx, sex, qual, base_hours, base_pay, pt_share, delta, within, mu, sd, hours, floor):
    out = np.empty(len(idx))
    for j in nb.prange(len(idx)):
        pat = 1 if keyed.keyed(base_hours, idx[j]) < pt_share[sex[j]] else 0
        z = delta[qual[j]] + within * ndtri_one(min(max(keyed.keyed(base_pay, idx[j]), 1e-9), 1 - 1e-9))
        out[j] = max(np.exp(mu[sex[j], pat] + sd[pat] * z), floor) * hours[pat]
    return out


def partner_pay(hh: H.Households, pop: Population, model: pay_mod.PayModel, key_seed: int) -> np.ndarray:
    """Partners' gross weekly earnings when in work (April 2024 pounds): of the other sex and the resident's
    qualification, part-time at their sex's share, paid at a fixed keyed rank (drawn once: a partner's pay stays).
    For an 'other' resident, the first other adult's (a parent, the father, or a sharer of the resident's sex;
    from the resident's unused partner draws). 0 for the rest."""
    out = np.zeros(len(pop), np.float32)
    idx = np.flatnonzero(hh.couple)
    out[idx] = _adult_pay(idx, 1 - pop.sex[idx].astype(np.intp), pop.qualification[idx], key_seed, H.PARTNER_HOURS,
                          H.PARTNER_PAY, model)
    idx = np.flatnonzero(hh.type == H.OTHER)
    parents = pop.age[idx] < OTHER_PARENTS_BELOW
    sex = np.where(parents, int(Sex.MALE), pop.sex[idx])
    out[idx] = _adult_pay(idx, sex, pop.qualification[idx], key_seed, H.PARTNER_HOURS, H.PARTNER_PAY, model)
    return out


def second_parent(hh: H.Households, pop: Population, model: pay_mod.PayModel, key_seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(fixed rank for being in work, gross weekly earnings when in work) of the second parent (the mother) of each
    'other' resident living with parents (keyed draws of their own); 0 for the rest."""
    idx = np.flatnonzero((hh.type == H.OTHER) & (pop.age < OTHER_PARENTS_BELOW)).astype(np.int64)
    rank, weekly = np.zeros(len(pop), np.float32), np.zeros(len(pop), np.float32)
    rank[idx] = keyed.keyed_uniforms(key_seed, 0, HOST2_RANK, idx)
    weekly[idx] = _adult_pay(idx, np.full(len(idx), int(Sex.FEMALE)), pop.qualification[idx], key_seed, HOST2_HOURS,
                             HOST2_PAY, model)
    return rank, weekly


class _Earnings(NamedTuple):
    held: np.ndarray
    hourly: np.ndarray
    hours: np.ndarray
    partner_rank: np.ndarray
    partner_weekly: np.ndarray
    parent2_rank: np.ndarray
    parent2_weekly: np.ndarray


class _Units(NamedTuple):
    age: np.ndarray
    sex: np.ndarray
    type: np.ndarray
    children: np.ndarray
    tenure: np.ndarray
    brma: np.ndarray


class _Year(NamedTuple):
    ahc: np.ndarray  # the year's table [unit, area, earn1, earn2]
    earn1: np.ndarray
    earn2: np.ndarray
    scale: np.ndarray  # equivalence scale by unit
    adult_scale: np.ndarray  # HBAI's (first adult, each other adult): an 'other' household's scale
    rate: np.ndarray  # [sex, age band] employment rate this month (partners')
    floor: np.ndarray  # wage floor by age this year
    growth: float  # pay uprating from April 2024


def _lookup_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The income pass's lookup tables, from the definitions they stand for (so the pass and they cannot
    disagree): the benchmark unit by [household type, children (to 3), age] and the area by [tenure, rental area]
    (:func:`unit_and_area`), couples by household type (``Households.couple``), and the age band of partners'
    employment rates by age (:func:`glw_sim.states.age_band_of`, as ``employment_rate_by_sex_band``)."""
    from types import SimpleNamespace

    n_types, n_tenures, ages = len(H.TYPES), len(H.TENURES), np.arange(256)
    t, c, a = (x.ravel() for x in np.meshgrid(np.arange(n_types), np.arange(4), ages, indexing="ij"))
    zero = np.zeros_like(t)
    unit = unit_and_area(SimpleNamespace(type=t, children=c, tenure=zero, brma=zero), a)[0]
    ten, b = (x.ravel() for x in np.meshgrid(np.arange(n_tenures), ages, indexing="ij"))
    zero = np.zeros_like(ten)
    area = unit_and_area(SimpleNamespace(type=zero, children=zero, tenure=ten, brma=b), zero)[1]
    couple = H.Households.couple.fget(SimpleNamespace(type=np.arange(n_types)))
    return (unit.reshape(n_types, 4, 256).astype(np.int64), area.reshape(n_tenures, 256).astype(np.int64),
            np.asarray(couple, dtype=np.bool_), age_band_of(ages).astype(np.int64))


#: lookup tables of the income pass (numba freezes them as constants): unit by [type, children, age], area by
#: [tenure, rental area], couple by type, partners' age band by age (:func:`_lookup_tables`)
UNIT_OF, AREA_OF, COUPLE_TYPE, PARTNER_BAND_OF_AGE = _lookup_tables()


def _cells(grid: np.ndarray) -> np.ndarray:
    """The grid cell (its lower point's index, at most the last but one) of every whole number of pounds from the
    grid's first point to its last: the grid's points are whole pounds, so a value's cell is its floor's."""
    k = np.arange(int(grid[-1]) + 1)
    return np.minimum(np.searchsorted(grid, k, side="right") - 1, len(grid) - 2).astype(np.int64)


#: the earnings grids' cells by whole pound (:func:`_axis`)
CELLS1, CELLS2 = _cells(EARN1), _cells(EARN2)
assert EARN1[0] == EARN2[0] == 0 and np.all(EARN1 == np.round(EARN1)) and np.all(EARN2 == np.round(EARN2))


@nb.njit(cache=True, inline="always")
def _axis(x, grid, cells):
    """Grid cell and fraction of ``x`` on ``grid`` (clipped to it): the cell from ``cells`` by the whole pound
    (the same cell as a search, without one)."""
    x = min(max(x, grid[0]), grid[-1])
    j = cells[int(x)]
    return j, (x - grid[j]) / (grid[j + 1] - grid[j])


@nb.njit(cache=True, parallel=True)
def _equivalised(e, u, y, out):
    """Each resident's equivalised income after housing costs (one pass; see :func:`equivalised_ahc`): unit, band
    and area from tables, the earnings selected without a branch (residents are in random order)."""
    n = len(out)
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(n, ch)
        for i in range(lo, hi):
            a = u.age[i]
            w1 = max(e.hourly[i] * y.growth, y.floor[a]) * e.hours[i]
            e1 = w1 if e.held[i] else 0.0
            t = u.type[i]
            unit = UNIT_OF[t, min(u.children[i], 3), a]
            w2 = e.partner_weekly[i] * y.growth
            e2 = w2 if COUPLE_TYPE[t] & (e.partner_rank[i] < y.rate[1 - u.sex[i], PARTNER_BAND_OF_AGE[a]]) else 0.0
            area = AREA_OF[u.tenure[i], u.brma[i]]
            v = _ahc(y, unit, area, e1, e2)
            if t == OTHER_TYPE:  # the household's other adults: parents or a sharer (OTHER_PARENTS_BELOW)
                parents = a < OTHER_PARENTS_BELOW
                if parents:
                    band = PARENTS_BAND_YOUNG if a < 20 else PARENTS_BAND
                    h1 = w2 if e.partner_rank[i] < y.rate[MALE, band] else 0.0
                    h2 = e.parent2_weekly[i] * y.growth if e.parent2_rank[i] < y.rate[FEMALE, band] else 0.0
                    v += _ahc(y, HOST_UNIT_PARENTS, area, h1, h2)
                    out[i] = v / (y.adult_scale[0] + 2 * y.adult_scale[1])
                else:
                    h1 = w2 if e.partner_rank[i] < y.rate[u.sex[i], PARTNER_BAND_OF_AGE[a]] else 0.0
                    v += _ahc(y, HOST_UNIT_SHARER, area, h1, 0.0)
                    out[i] = v / (y.adult_scale[0] + y.adult_scale[1])
            else:
                out[i] = v / y.scale[unit]


@nb.njit(cache=True, inline="always")
def _ahc(y, unit, area, e1, e2):
    """The table's net income after housing costs of ``unit`` in ``area``, bilinear in the earnings ``e1``, ``e2``."""
    j1, f1 = _axis(e1, y.earn1, CELLS1)
    j2, f2 = _axis(e2, y.earn2, CELLS2)
    return ((1 - f1) * (1 - f2) * y.ahc[unit, area, j1, j2] + f1 * (1 - f2) * y.ahc[unit, area, j1 + 1, j2]
            + (1 - f1) * f2 * y.ahc[unit, area, j1, j2 + 1] + f1 * f2 * y.ahc[unit, area, j1 + 1, j2 + 1])


def equivalised_ahc(pay_run, d: date, assumptions: dict | None = None, *, held: np.ndarray | None = None,
                    hourly: np.ndarray | None = None, hours: np.ndarray | None = None,
                    rate: np.ndarray | None = None) -> np.ndarray:
    """Each resident's benefit unit's weekly equivalised income after housing costs in month ``d`` (nominal): the
    table (bilinear in the two adults' earnings) over HBAI's scale; own pay and a partner's in work uprated to the
    policy year, own pay never below that year's floor (one compiled pass). ``held``, ``hourly``, ``hours`` (each
    resident's job) and ``rate`` (partners' employment rate by sex and age band) replace the run's own: the
    decomposition's mixed states (:func:`decomposition`)."""
    pop, hh, jobs = pay_run.population, pay_run.households, pay_run.jobs
    year = policy_year(d)
    floor_year = min(max(year, pay_mod.PAY_YEAR), int(pay_mod.wage_floors().index.max()))
    tab = load_table()
    yi = int(np.searchsorted(tab.years, min(max(year, tab.years[0]), tab.years[-1])))
    scale = I.AHC_SCALE[0] + I.AHC_SCALE[1] * UNIT_COUPLE + I.AHC_SCALE[2] * UNIT_CHILDREN
    growth = float(uprate(np.ones(1), year, assumptions)[0])
    y = _Year(tab.ahc[yi], EARN1, EARN2, scale.astype(np.float64), np.array(I.AHC_SCALE[:2], np.float64),
              H.employment_rate_by_sex_band(pop) if rate is None else rate,
              pay_mod.wage_floor(np.arange(65), floor_year), growth)
    e = _Earnings(jobs.held if held is None else held, jobs.hourly if hourly is None else hourly,
                  jobs.hours if hours is None else hours, hh.partner_rank, pay_run.partner_weekly,
                  pay_run.parent2_rank, pay_run.parent2_weekly)
    u = _Units(pop.age, pop.sex, hh.type, hh.children, hh.tenure, hh.brma)
    out = np.empty(len(pop))
    _equivalised(e, u, y, out)
    return out


def _binned(values: np.ndarray, weights: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """(weight, weighted sum) of ``values`` in bins ``step`` wide: weighted quantiles of millions of residents in
    one pass, without sorting them (exact to the bin's width). One compiled pass (the same sums, in the same
    order, as ``np.bincount(idx, weights=w)`` and ``np.bincount(idx, weights=w * v)``)."""
    v = np.ascontiguousarray(values, np.float64)
    lo = np.floor(v.min() / step) * step
    n_bins = int((v.max() - lo) / step) + 1
    return _bin_pass(v, np.ascontiguousarray(weights), np.zeros(0, np.bool_), lo, float(step), n_bins)[:2]


#: coarse bins of :func:`_lowest_binned`: 10 GBP wide from -5,000 GBP a week (the first and last bins also hold
#: any below and above: 3,000 bins, to 25,000 GBP, in cache); fixed, so one pass finds them with the least and
#: greatest values
COARSE_FROM, COARSE_WIDTH, N_COARSE = -5000.0, 10.0, 3000


@nb.njit(cache=True, parallel=True)
def _coarse_pass(v, w):
    """(least, greatest, weights by coarse bin) of ``v`` weighted by ``w``, by the engine's fixed chunks (summed in
    chunk order: the same numbers whatever the threads; each chunk's accumulators its own, so no cache line is
    written by two threads). Below the first bin's top and at or above the last's bottom (or a NaN): those bins."""
    least, most, part = np.full(CHUNKS, np.inf), np.full(CHUNKS, -np.inf), np.zeros((CHUNKS, N_COARSE))
    for ch in nb.prange(CHUNKS):
        a, b = chunk(len(v), ch)
        bins, least_ch, most_ch = part[ch], np.inf, -np.inf
        for i in range(a, b):
            x = (v[i] - COARSE_FROM) / COARSE_WIDTH
            bins[0 if x < 1.0 else (np.int64(x) if x < N_COARSE - 1 else N_COARSE - 1)] += np.float64(w[i])
            least_ch, most_ch = min(least_ch, v[i]), max(most_ch, v[i])
        least[ch], most[ch] = least_ch, most_ch
    out = np.zeros(N_COARSE)
    for ch in range(CHUNKS):
        out += part[ch]
    return least.min(), most.max(), out


def _lowest_binned(values: np.ndarray, weights: np.ndarray, step: float, share: float,
                   held: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """:func:`_binned` of the lowest ``share`` only (the bins a quantile below ``share`` reads; with ``held``, the
    weight of those in work too) and the weights' total: coarse bins (:data:`COARSE_WIDTH` wide, a few thousand,
    in cache, :func:`_coarse_pass`) find where the lowest ``share`` ends, then the fine bins are filled up to a
    coarse bin past it (the same bins as :func:`_binned`'s below there, their sums by chunk, so equal to the last
    bits). Millions of fine bins filled at random cost more than the two passes."""
    v = np.ascontiguousarray(values, np.float64)
    w = np.ascontiguousarray(weights)
    least, most, wc = _coarse_pass(v, w)
    lo = np.floor(least / step) * step
    n_all = int((most - lo) / step) + 1
    total = float(wc.sum())
    j = int(np.searchsorted(np.cumsum(wc), share * total))
    if j >= N_COARSE - 2:  # (the last bin holds any above: no end)
        n_bins = n_all
    else:  # a coarse bin's margin past the end of the lowest share
        n_bins = min(n_all, int((COARSE_FROM + (j + 2) * COARSE_WIDTH - lo) / step) + 1)
    h = np.zeros(0, np.bool_) if held is None else np.ascontiguousarray(held)
    wb, vb, hb = _bin_pass_chunks(v, w, h, lo, float(step), n_bins)
    return wb, vb, hb, total


@nb.njit(cache=True, parallel=True)
def _bin_pass_chunks(v, w, held, lo, step, n_bins):
    """:func:`_bin_pass` by the engine's fixed chunks, summed in chunk order (the same bins to the last bits of
    their sums' order; the same numbers whatever the threads)."""
    wp, vp, hp = np.zeros((CHUNKS, n_bins)), np.zeros((CHUNKS, n_bins)), np.zeros((CHUNKS, n_bins))
    with_held = len(held) > 0
    for ch in nb.prange(CHUNKS):
        a, b = chunk(len(v), ch)
        for i in range(a, b):
            k = np.int64((v[i] - lo) / step)
            if k < n_bins:
                wi = np.float64(w[i])
                wp[ch, k] += wi
                vp[ch, k] += wi * v[i]
                if with_held:
                    hp[ch, k] += wi * held[i]
    wb, vb, hb = np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins)
    for ch in range(CHUNKS):
        wb += wp[ch]
        vb += vp[ch]
        hb += hp[ch]
    return wb, vb, hb


@nb.njit(cache=True)
def _bin_pass(v, w, held, lo, step, n_bins):
    """Bins ``step`` wide from ``lo``, the first ``n_bins`` (values above them skipped); ``held`` (or empty: none)
    also binned by weight."""
    wb, vb, hb = np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins)
    with_held = len(held) > 0
    for i in range(len(v)):
        k = np.int64((v[i] - lo) / step)
        if k < n_bins:
            wi = np.float64(w[i])
            wb[k] += wi
            vb[k] += wi * v[i]
            if with_held:
                hb[k] += wi * held[i]
    return wb, vb, hb


def weighted_median(values: np.ndarray, weights: np.ndarray, step: float = 0.01) -> float:
    wb, vb = _binned(values, weights, step)
    k = int(np.searchsorted(np.cumsum(wb), 0.5 * wb.sum()))
    return float(vb[k] / wb[k])


def bottom_fifth(values: np.ndarray, weights: np.ndarray, share: float = 0.2, step: float = 0.01
                 ) -> tuple[float, float]:
    """(median, mean) of the lowest ``share`` of residents ranked by ``values`` (weighted; to a penny: residents
    are binned by ``step``, the fifth's boundary bin counted in part)."""
    wb, vb, _, total = _lowest_binned(values, weights, step, share)
    return _fifth(wb, vb, share, total)[:2]


def _fifth(wb: np.ndarray, vb: np.ndarray, share: float, total: float | None = None) -> tuple[float, float, int]:
    """(median, mean, boundary bin) of the lowest ``share`` from binned weights and weighted sums (``total``: the
    weights' total, when the bins hold only the lowest part)."""
    cum, cum_v = np.cumsum(wb), np.cumsum(vb)
    target = share * (cum[-1] if total is None else total)
    j = int(np.searchsorted(cum, target))
    below, below_v = (cum[j - 1], cum_v[j - 1]) if j else (0.0, 0.0)
    mean = (below_v + (target - below) * vb[j] / wb[j]) / target
    k = int(np.searchsorted(cum, 0.5 * target))
    return float(vb[k] / wb[k]), float(mean), j


def income_records(pay_run, d: date, assumptions: dict | None = None) -> dict[str, float]:
    """The month's second-target figures (weekly pounds): the lowest fifth's median and mean equivalised income after
    housing costs, nominal and in April 2024 pounds (CPIH), and the share of the fifth in work."""
    eq = equivalised_ahc(pay_run, d, assumptions)
    w = pay_run.population.weight
    step = 0.01
    wb, vb, hb, total = _lowest_binned(eq, w, step, 0.2, pay_run.jobs.held)
    med, mean, j = _fifth(wb, vb, 0.2, total)
    real = 1 / deflator(policy_year(d), assumptions)
    in_work = hb[:j + 1].sum() / wb[:j + 1].sum()  # the fifth's share in work (its boundary bin whole)
    return {"income.bottom_fifth_median_ahc": med, "income.bottom_fifth_mean_ahc": mean,
            "income.bottom_fifth_median_ahc_real": med * real, "income.bottom_fifth_mean_ahc_real": mean * real,
            "income.bottom_fifth_in_work": float(in_work)}


#: the decomposition's parts, in the order they are substituted (:func:`decomposition`)
PARTS = ("entry", "hours", "pay")
#: the figures decomposed: the lowest fifth's real median and mean (``<figure>_change_<part>``)
DECOMPOSED = ("income.bottom_fifth_median_ahc_real", "income.bottom_fifth_mean_ahc_real")


def decomposition(scenario, counterfactual, d: date, assumptions: dict | None = None,
                  ends: tuple[dict, dict] | None = None) -> dict[str, float]:
    """The lowest fifth's change in real median and mean income after housing costs (scenario minus
    counterfactual, month ``d``) split into entry into work, hours and pay, by sequential substitution on the same
    residents (common random numbers: the two runs have the same residents, households, weights and ages):

    0. the counterfactual: its jobs (who holds one, their hours and hourly pay) and its partners' employment rates;
    1. **entry**: who is in work becomes the scenario's (residents and, through the rates, partners); a resident
       in work only in the scenario brings the job they hold there, one in work only in the counterfactual loses
       theirs; residents in work in both keep the counterfactual's hours and pay;
    2. **hours**: residents in work in both take the scenario's hours (at the counterfactual's hourly pay);
    3. **pay**: they take the scenario's hourly pay too: this is the scenario.

    Each part is the change in the figure (the fifth re-ranked at each step) from the step before, so the parts
    add exactly to the change 3 minus 0 (the ``_change`` figures). The order is a choice (entry, then hours, then
    pay: an entrant's whole job counts as entry); another order would move the interactions between parts. Keys
    ``<figure>_change_<part>`` for the :data:`DECOMPOSED` figures and :data:`PARTS`, in GBP a week (April 2024).
    ``ends``: the counterfactual's and the scenario's records of the month (:func:`income_records`), which are
    states 0 and 3 (the same residents and arrays): only the two mixed states are computed (a run's yearly cost
    halved; tests/test_incomemetric.py checks the four-state version against the records)."""
    sc, cf = scenario.jobs, counterfactual.jobs
    both = sc.held & cf.held
    hourly_mixed = np.where(both, cf.hourly, sc.hourly)
    states = [dict(held=cf.held, hourly=cf.hourly, hours=cf.hours,
                   rate=H.employment_rate_by_sex_band(counterfactual.population)),
              dict(held=sc.held, hourly=hourly_mixed, hours=np.where(both, cf.hours, sc.hours)),
              dict(held=sc.held, hourly=hourly_mixed, hours=sc.hours),
              dict()]
    w = scenario.population.weight
    real = 1 / deflator(policy_year(d), assumptions)

    def figure(k: int) -> np.ndarray:  # (median, mean) of state k, real
        if ends is not None and k in (0, 3):
            return np.array([ends[k // 3][name] for name in DECOMPOSED])
        return np.array(bottom_fifth(equivalised_ahc(scenario, d, assumptions, **states[k]), w)) * real

    figs = [figure(k) for k in range(4)]
    out = {}
    for j, name in enumerate(DECOMPOSED):  # (bottom_fifth's order: median, mean)
        for k, part in enumerate(PARTS):
            out[f"{name}_change_{part}"] = float(figs[k + 1][j] - figs[k][j])
    return out


class PayRun:
    """A run's pay, hours and households: pay fitted on month 0's employed, every one of them drawn a job; after
    that, each resident's job is made when a figure needs it (:attr:`jobs`: :func:`glw_sim.pay.refresh_jobs`, a
    job being a function of the resident and the start of their spell in work); households drawn at month 0
    (:mod:`glw_sim.households`, given the boroughs' names)."""

    def __init__(self, pop: Population, key_seed: int, assumptions: dict | None = None,
                 borough_names: list[str] | None = None) -> None:
        self.population, self.key_seed, self.assumptions = pop, int(key_seed), assumptions
        self.households = H.draw_households(pop, borough_names, self.key_seed) if borough_names else None
        self.model, self._jobs = pay_mod.fit_pay(pop, self.key_seed, assumptions)
        self.partner_weekly = (partner_pay(self.households, pop, self.model, self.key_seed)
                               if self.households is not None
                               else None)
        self.parent2_rank, self.parent2_weekly = (second_parent(self.households, pop, self.model, self.key_seed)
                                                  if self.households is not None else (None, None))
        self._month = self._jobs_month = 0

    @property
    def jobs(self) -> pay_mod.Jobs:
        """Every resident's job as of the last month the model reached (made on first use in a month)."""
        if self._jobs_month != self._month:
            pay_mod.refresh_jobs(self._jobs, self.population, self.model, self.key_seed, self._month,
                                 since=self._jobs_month)
            self._jobs_month = self._month
        return self._jobs

    def month(self, month: int) -> None:
        """After month ``month``'s moves: the jobs are as of this month from now on."""
        self._month = int(month)

    def records(self, month: int, when=None) -> dict[str, float]:
        """The pay figures and (with households and the month's date ``when``) the second target's, in month 0 and
        every twelfth month after (the reported years; weighted medians over millions of residents cost seconds)."""
        if month % 12:
            return {}
        out = pay_mod.pay_summary(self.jobs, self.population)
        if self.households is not None and when is not None:
            out.update(income_records(self, when, self.assumptions))
        return out
