"""Households (issue 21, step 2): each resident's household type, children, tenure, rental area and partner.

Drawn once at month 0 (keyed draws of their own, not the model's generator) and held fixed through the run
(ASSUMPTION: no household formation, moving or change of tenure), beside the population rather than in it, so the
compiled passes and every labour-market result are untouched.

* **Type** (single, lone parent, couple without children, couple with children, other: living with adults who are
  not a partner, e.g. parents or sharers, whose incomes the household pools: :mod:`glw_sim.incomemetric`): by whether the resident has a child under 5
  and age band (``calibration/targets/household_types.csv``, ASSUMPTIONS until Census 2021 TS003 is transcribed);
  lone parents are mostly women (``lone_parent_female_share``). Dependent children: 1, 2 or 3 (ASSUMPTION shares).
* **Tenure** (social rent, private rent, owner): each borough's Census 2021 shares (TS054, households; private
  rent includes living rent free, owners include shared ownership), with labelled odds for the young (private
  rent), lone parents and residents out of work (social rent), re-centred so every borough keeps its shares.
* **Rental area**: the borough's main Broad Rental Market Area (ASSUMPTION, ``borough_brma.csv``) and the Local
  Housing Allowance category of the household's size (shared room under 35 alone or in an 'other' household).
* **Partner** (couples): of the other sex, same age band and qualification (ASSUMPTION, assortative); in work with
  the model's own employment rate of that sex and age band this month (each partner has a fixed keyed rank, so a
  partner's work follows the rate smoothly), paid from the same distribution as residents (glw_sim.pay).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numba as nb
import numpy as np
import pandas as pd

from glw_sim.engine import keyed
from glw_sim.engine.layout import CHUNKS, chunk
from glw_sim.income import LHA_COLUMNS, brmas, lha_monthly  # noqa: F401  (re-exported: the rental areas)
from glw_sim.paths import targets_dir
from glw_sim.population import Population
from glw_sim.states import AGE_BAND_LABELS, LabourState, Sex, age_band_of

TYPES = ("single", "lone_parent", "couple_no_children", "couple_with_children", "other")
SINGLE, LONE_PARENT, COUPLE, COUPLE_CHILDREN, OTHER = range(5)
TENURES = ("social_rent", "private_rent", "owner")
SOCIAL, PRIVATE, OWNER = range(3)
_EMPLOYED = int(LabourState.EMPLOYED)  # (a plain int: a constant of the compiled passes)

#: ASSUMPTIONS (no published London figure transcribed): lone parents' sex, children per family, tenure odds
LONE_PARENT_FEMALE_SHARE = 0.90  # UK: about nine in ten lone parents are mothers (ONS Families and households)
CHILDREN_SHARES = np.array([0.45, 0.37, 0.18])  # one, two, three or more dependent children
TENURE_LOG_ODDS = {  # relative to owning, added before each borough's shares are restored
    "private_rent_16_34": np.log(3.0), "social_rent_lone_parent": np.log(3.0), "social_rent_not_employed": np.log(2.5),
    "private_rent_not_employed": np.log(1.3)}

HOUSEHOLD_TYPE, CHILDREN, TENURE, PARTNER = (keyed.named_purpose(p) for p in ("household type", "household children",
                                                                              "household tenure", "partner rank"))
PARTNER_HOURS, PARTNER_PAY = keyed.named_purpose("partner hours"), keyed.named_purpose("partner pay")


@lru_cache(maxsize=4)
def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(targets_dir() / name, comment="#")


def tenure_shares(borough_names: list[str]) -> np.ndarray:
    """(33, 3) social rent, private rent, owner: shares of households by borough (Census 2021 TS054)."""
    df = _read("tenure_borough.csv").set_index("ltla24_name").loc[borough_names]
    social = df["social"]
    private = df["private rented"] + df["rent free"]
    owner = df["owned outright"] + df["owned with mortgage"] + df["shared ownership"]
    out = np.column_stack([social, private, owner]).astype(np.float64)
    return out / out.sum(axis=1, keepdims=True)


def borough_brma(borough_names: list[str]) -> np.ndarray:
    m = _read("borough_brma.csv").set_index("name").loc[borough_names, "brma"]
    names = brmas()
    return np.array([names.index(b) for b in m], dtype=np.uint8)


def type_probabilities(pop: Population) -> np.ndarray:
    """(n, 5) chance of each household type, by young children, age band and sex."""
    table, cell = type_cells(pop)
    return table[cell]


def type_cells(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """(table, cell): :func:`type_probabilities` as a table of its 10 distinct rows (age band or young children,
    by sex: the same arithmetic, row by row) and each resident's row."""
    df = _read("household_types.csv")
    yc = df[df.young_children.astype(str) == "True"][list(TYPES)].to_numpy(np.float64)[0]
    by_band = df[df.young_children.astype(str) == "False"].set_index("age_band").loc[AGE_BAND_LABELS, list(TYPES)]
    kinds = np.vstack([by_band.to_numpy(np.float64), yc[None, :]])  # the 4 age bands, then young children
    lone_f = LONE_PARENT_FEMALE_SHARE
    p = np.repeat(kinds, 2, axis=0)  # row 2 * kind + female
    female = np.tile([False, True], len(kinds))
    # lone parents' sex: women's chance scaled up and men's down, so lone parents are lone_f women (roughly: by sex
    # shares of the population, which are near half)
    p[:, LONE_PARENT] *= np.where(female, 2 * lone_f, 2 * (1 - lone_f))
    kind = np.where(pop.young_children, len(kinds) - 1, age_band_of(np.arange(256))[pop.age])  # (by table)
    return p / p.sum(axis=1, keepdims=True), (2 * kind + (pop.sex == Sex.FEMALE)).astype(np.intp)


def _categorical(p: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum((u[:, None] > np.cumsum(p, axis=1)).sum(axis=1), p.shape[1] - 1).astype(np.uint8)


@nb.njit(cache=True)
def _categorical_cells(cum, cell, u):
    """:func:`_categorical` of rows ``cum[cell]`` (cumulative chances of a table's rows) without (n, k) arrays."""
    k = cum.shape[1]
    out = np.empty(len(u), np.uint8)
    for i in range(len(u)):
        c = 0
        for j in range(k):
            if u[i] > cum[cell[i], j]:
                c += 1
        out[i] = min(c, k - 1)
    return out


def categorical_by_cell(table: np.ndarray, cell: np.ndarray, u: np.ndarray) -> np.ndarray:
    """:func:`_categorical` (``table[cell]``, ``u``), the same numbers, from the table's few rows."""
    return _categorical_cells(np.cumsum(table, axis=1), np.asarray(cell, np.intp), u)


@dataclass
class Households:
    """Each resident's household, aligned with the population."""

    type: np.ndarray  # uint8, TYPES
    children: np.ndarray  # uint8, dependent children (0 without)
    tenure: np.ndarray  # uint8, TENURES
    brma: np.ndarray  # uint8, index into brmas()
    partner_rank: np.ndarray  # float64 uniform: the partner is in work when below their group's employment rate
    # (the partner's working pattern and pay rank: keyed draws of PARTNER_HOURS and PARTNER_PAY, read where the
    # partner's pay is made, glw_sim.incomemetric.partner_pay)

    @property
    def couple(self) -> np.ndarray:
        return (self.type == COUPLE) | (self.type == COUPLE_CHILDREN)

    def lha_category(self, age: np.ndarray) -> np.ndarray:
        """The LHA category of the household's size: a shared room alone under 35 or in an 'other' household, one
        bedroom for a single adult or couple, then one more per child (two children share, ASSUMPTION)."""
        cat = np.where(self.children == 0, 1, np.where(self.children <= 2, 2, 3))
        shared = (self.type == OTHER) | ((self.type == SINGLE) & (age < 35))
        return np.where(shared, 0, cat).astype(np.uint8)


def draw_households(pop: Population, borough_names: list[str], key_seed: int) -> Households:
    """Each resident's household (keyed draws of month 0 by resident: type, children, tenure, partner rank), each
    categorical drawn in one compiled pass from its table's few rows (:func:`_categorical_keyed`)."""
    n = len(pop)
    b_type, b_children, b_tenure = (np.uint64(keyed.key_base(key_seed, 0, p)) for p in (HOUSEHOLD_TYPE, CHILDREN,
                                                                                         TENURE))
    table, cell = type_cells(pop)
    htype = _categorical_keyed(np.cumsum(table, axis=1), np.asarray(cell, np.intp), b_type)
    with_children = (htype == LONE_PARENT) | (htype == COUPLE_CHILDREN)
    kids = _categorical_keyed(np.cumsum(CHILDREN_SHARES[None, :], axis=1), np.zeros(n, np.intp), b_children)
    children = np.where(with_children, 1 + kids, 0)
    table, cell = tenure_cells(pop, htype, borough_names)
    tenure = _categorical_keyed(np.cumsum(table, axis=1), np.asarray(cell, np.intp), b_tenure)
    rank = keyed.keyed_uniforms(key_seed, 0, PARTNER, np.arange(n, dtype=np.int64))
    return Households(htype, children.astype(np.uint8), tenure, borough_brma(borough_names)[pop.borough], rank)


@nb.njit(cache=True, parallel=True)
def _categorical_keyed(cum, cell, base):
    """:func:`_categorical_cells` with each resident's uniform its keyed draw (``keyed(base, i)``: the numbers of
    ``keyed.keyed_uniforms`` over every resident), without an array of them."""
    k = cum.shape[1]
    out = np.empty(len(cell), np.uint8)
    for i in nb.prange(len(cell)):
        u = keyed.keyed(base, i)
        c = 0
        for j in range(k):
            if u > cum[cell[i], j]:
                c += 1
        out[i] = min(c, k - 1)
    return out


def tenure_probabilities(pop: Population, htype: np.ndarray, borough_names: list[str]) -> np.ndarray:
    """(n, 3) chance of each tenure: the labelled odds, then per-borough intercepts restoring its shares (raked on
    the 33 boroughs x 8 combinations of the odds' factors, not on each resident)."""
    table, cell = tenure_cells(pop, htype, borough_names)
    return table[cell]


def tenure_cells(pop: Population, htype: np.ndarray, borough_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(table, cell): :func:`tenure_probabilities` as its (33 boroughs x 8 combinations) rows and each resident's."""
    lo = TENURE_LOG_ODDS
    k = np.arange(8)
    z = np.zeros((8, 3))
    z[:, PRIVATE] = lo["private_rent_16_34"] * (k % 2) + lo["private_rent_not_employed"] * ((k // 2) % 2)
    z[:, SOCIAL] = lo["social_rent_lone_parent"] * (k // 4) + lo["social_rent_not_employed"] * ((k // 2) % 2)
    target = tenure_shares(borough_names)
    n_b = len(target)
    cell, cell_w = _tenure_cell_pass(pop.borough, pop.age, pop.state, htype, pop.weight, n_b)
    intercept = np.zeros((n_b, 3))
    for _ in range(100):  # raking the borough intercepts (3 x 33 numbers)
        e = np.exp(z[None, :, :] + intercept[:, None, :])
        p = e / e.sum(axis=2, keepdims=True)
        got = np.einsum("bc,bck->bk", cell_w, p)
        got /= got.sum(axis=1, keepdims=True)
        intercept += np.log(target / got)
    e = np.exp(z[None, :, :] + intercept[:, None, :])
    p = (e / e.sum(axis=2, keepdims=True)).reshape(n_b * 8, 3)
    return p, cell


@nb.njit(cache=True)
def _tenure_cell_pass(borough, age, state, htype, weight, n_boroughs):
    """Each resident's tenure cell (8 borough + under 35 + 2 not employed + 4 lone parent) and the weights by
    cell (in the residents' order: ``np.bincount(cell, weights=w)``'s sums), in one pass."""
    cell = np.empty(len(borough), np.intp)
    cell_w = np.zeros((n_boroughs, 8))
    for i in range(len(borough)):
        combo = ((1 if age[i] < 35 else 0) + (2 if state[i] != _EMPLOYED else 0)
                 + (4 if htype[i] == LONE_PARENT else 0))
        cell[i] = np.intp(borough[i]) * 8 + combo
        cell_w[borough[i], combo] += np.float64(weight[i])
    return cell, cell_w


def employment_rate_by_sex_band(pop: Population) -> np.ndarray:
    """(2 sexes, 4 bands) this month's employment rate (weighted)."""
    emp, tot = _rate_pass(pop.sex, pop.age, pop.weight, pop.state, age_band_of(np.arange(256)).astype(np.intp))
    return (emp / np.maximum(tot, 1e-12)).reshape(2, 4)


@nb.njit(cache=True, parallel=True)
def _rate_pass(sex, age, weight, state, band_of_age):
    """Weights of the employed and of all by sex x age band, in one pass by the engine's fixed chunks (summed in
    chunk order: the same numbers whatever the threads; ``np.bincount(cell, weights=w * employed)`` and
    ``np.bincount(cell, weights=w)`` to the last bits of their sums' order)."""
    emp, tot = np.zeros((CHUNKS, 8)), np.zeros((CHUNKS, 8))
    for ch in nb.prange(CHUNKS):
        lo, hi = chunk(len(sex), ch)
        e, t = np.zeros(8), np.zeros(8)  # (the chunk's own: no cache line shared with another thread's)
        for i in range(lo, hi):
            c = np.intp(sex[i]) * 4 + band_of_age[age[i]]
            w = np.float64(weight[i])
            e[c] += w * (1.0 if state[i] == _EMPLOYED else 0.0)
            t[c] += w
        emp[ch], tot[ch] = e, t
    e, t = np.zeros(8), np.zeros(8)
    for ch in range(CHUNKS):
        e += emp[ch]
        t += tot[ch]
    return e, t


def partner_employed(hh: Households, pop: Population) -> np.ndarray:
    """Couples' partners in work this month, at the model's rate for the partner's sex and the resident's band."""
    rate = employment_rate_by_sex_band(pop)
    return hh.couple & (hh.partner_rank < rate[1 - pop.sex.astype(np.intp), age_band_of(pop.age)])
