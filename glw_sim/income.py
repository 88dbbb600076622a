"""Weekly household net income after housing costs (issue 21, step 3): a transparent Universal Credit calculator.

The table a run reads (``calibration/income/net_income_ahc.parquet``) is made by ``tools/make_income_table.py``
at development time; this module is the in-repository calculator that script uses (and the one the tests check by
hand), and the table's reader. PolicyEngine UK (AGPL-3.0) is not a dependency of the package: the script can ask it
for the same households (``--engine policyengine``, the optional extra ``incometable``), and the figures it gave for
hand-chosen households are committed (``calibration/income/policyengine_check.csv``) and compared in the tests.

A benefit unit (one adult or a couple, with 0-3 dependent children) with gross weekly earnings per adult, in a
tenure and rental area, in a policy year (April to March, named by its first year):

* income tax and employee National Insurance on each adult's earnings (annualised, 52 weeks), with the Marriage
  Allowance where a couple's lower earner is below the personal allowance (every couple taken to claim it);
* Universal Credit: standard allowance, child elements (two-child limit where in force), housing element (private
  renters: the rent up to the Local Housing Allowance of the household's size; social renters: the rent; owners:
  none), less 55% of net earnings above the work allowance (only for households with children), then the benefit
  cap (London) on UC plus Child Benefit unless earnings reach 16 hours a week at the National Living Wage;
* Child Benefit and the Warm Home Discount (150 GBP a year with UC; HBAI counts it); net income = earnings - tax -
  NI + UC + Child Benefit + Warm Home Discount; after housing costs: less the rent (or
  owners' housing costs, an ASSUMPTION); equivalised with HBAI's after-housing-costs scale.

Not modelled (README, what the model cannot claim): council tax and its support, childcare costs and the childcare
element, limited capability for work, carer element, disability benefits, pensions, savings, non-dependant
deductions, the higher first-child element, the under-25 couple rate, self-employment and the minimum income floor.
Rules after the last published year are held at their last values (:func:`rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from glw_sim.paths import calibration_dir, targets_dir

#: LHA categories (columns of calibration/targets/lha_london_monthly.csv): shared room, 1 to 4 bedrooms
LHA_COLUMNS = ("shared_A", "1bed_B", "2bed_C", "3bed_D", "4bed_E")

WEEKS_PER_MONTH = 12 / 52  # a monthly amount x 12 / 52 is weekly
#: housing costs a week (ASSUMPTIONS, labelled in calibration/SOURCES.md): social rents by LHA category (shared,
#: 1-4 bedrooms; London general-needs social rents of about 110-170 GBP a week), owners' housing costs (mortgage
#: interest and other costs HBAI deducts, averaged over outright owners and mortgagors)
SOCIAL_RENT_WEEK = np.array([100.0, 120.0, 140.0, 160.0, 180.0])
OWNER_COST_WEEK = 60.0
#: HBAI's after-housing-costs equivalence scale: first adult, partner, child (all children under 14: ASSUMPTION)
AHC_SCALE = (0.58, 0.42, 0.20)


def income_dir():
    return calibration_dir() / "income"


@lru_cache(maxsize=1)
def _rules_frame() -> pd.DataFrame:
    return pd.read_csv(income_dir() / "rules.csv")


@lru_cache(maxsize=1)
def _lha() -> pd.DataFrame:
    return pd.read_csv(targets_dir() / "lha_london_monthly.csv", comment="#")


def brmas() -> list[str]:
    """The 14 London Broad Rental Market Areas, in the table's order."""
    return list(_lha().brma)


def lha_monthly() -> np.ndarray:
    """(14 BRMAs, 5 categories) Local Housing Allowance, GBP a month (April 2024, frozen since)."""
    return _lha()[list(LHA_COLUMNS)].to_numpy(np.float64)


def published_years() -> list[int]:
    return sorted(_rules_frame().year.unique())


def rules(year: int) -> dict[str, float]:
    """The rules of policy year ``year`` (April to March); after the last published year, its values (held)."""
    df = _rules_frame()
    y = min(max(int(year), min(published_years())), max(published_years()))
    return dict(zip(df[df.year == y].parameter, df[df.year == y].value.astype(float)))


@dataclass
class Units:
    """Benefit units as arrays (one element each; broadcastable)."""

    couple: np.ndarray  # bool
    children: np.ndarray  # int, dependent children (0-3)
    age: np.ndarray  # int, the (first) adult's age
    tenure: np.ndarray  # int: 0 social rent, 1 private rent, 2 owner (glw_sim.households)
    rent_week: np.ndarray  # float, the rent (0 for owners)
    lha_week: np.ndarray  # float, the Local Housing Allowance of the household's size (private renters)
    earn1: np.ndarray  # float, gross weekly earnings of the first adult
    earn2: np.ndarray  # float, of the partner (0 without)


def income_tax_ni(earn_week: np.ndarray, r: dict) -> tuple[np.ndarray, np.ndarray]:
    """(income tax, employee NI) a week on gross weekly earnings (annualised over 52 weeks)."""
    annual = np.asarray(earn_week, float) * 52
    taxable = np.maximum(annual - r["personal_allowance"], 0)
    basic = np.minimum(taxable, r["basic_rate_limit"])
    tax = basic * r["basic_rate"] + (taxable - basic) * r["higher_rate"]
    ni_main = np.clip(annual, r["ni_primary_threshold"], r["ni_upper_limit"]) - r["ni_primary_threshold"]
    ni = ni_main * r["ni_main_rate"] + np.maximum(annual - r["ni_upper_limit"], 0) * r["ni_upper_rate"]
    return tax / 52, ni / 52


def marriage_allowance(u: Units, r: dict) -> tuple[np.ndarray, np.ndarray]:
    """(change in the first adult's tax, in the partner's) a week when a couple's lower earner, below the personal
    allowance, transfers 10% of it to a basic-rate partner (every couple taken to be married and to claim it)."""
    pa, limit = r["personal_allowance"], r["personal_allowance"] + r["basic_rate_limit"]
    a1, a2 = np.asarray(u.earn1, float) * 52, np.asarray(u.earn2, float) * 52
    move = r["marriage_allowance_share"] * pa
    d1, d2 = np.zeros(np.broadcast(a1, a2).shape), np.zeros(np.broadcast(a1, a2).shape)
    for low, high, d_low, d_high in ((a2, a1, d2, d1), (a1, a2, d1, d2)):
        ok = np.asarray(u.couple) & (low <= pa) & (high > pa) & (high <= limit) & (d_low == 0) & (d_high == 0)
        gain = np.minimum(move, np.maximum(high - pa, 0)) * r["basic_rate"]
        cost = np.maximum(low - (pa - move), 0) * r["basic_rate"]
        d_high[...] = np.where(ok, -gain, d_high)
        d_low[...] = np.where(ok, cost, d_low)
    return d1 / 52, d2 / 52


def child_benefit(children: np.ndarray, r: dict) -> np.ndarray:
    c = np.asarray(children)
    return np.where(c > 0, r["child_benefit_first"] + np.maximum(c - 1, 0) * r["child_benefit_other"], 0.0)


def universal_credit(u: Units, net_earn_week: np.ndarray, gross_earn_week: np.ndarray, r: dict) -> np.ndarray:
    """Universal Credit a week after the taper and the benefit cap (0 when the taper takes it all)."""
    sa = np.where(u.couple, r["sa_couple"], np.where(u.age < 25, r["sa_single_under_25"], r["sa_single_25_plus"]))
    n_child = np.minimum(u.children, 2) if r["two_child_limit"] else np.asarray(u.children)
    housing_m = np.where(u.tenure == 1, np.minimum(u.rent_week, u.lha_week),
                         np.where(u.tenure == 0, u.rent_week, 0.0)) / WEEKS_PER_MONTH
    maximum_m = sa + n_child * r["child_element"] + housing_m
    wa = np.where(u.children > 0, np.where(housing_m > 0, r["work_allowance_housing"], r["work_allowance_no_housing"]),
                  0.0)
    net_m = np.asarray(net_earn_week, float) / WEEKS_PER_MONTH
    uc_m = np.maximum(maximum_m - r["taper"] * np.maximum(net_m - wa, 0), 0)
    cap_m = np.where(u.couple | (u.children > 0), r["benefit_cap_family"], r["benefit_cap_single"]) / 12
    threshold = r["cap_earnings_hours"] * r["nlw"] * 52 / 12 - 0.005  # (earnings of exactly 16 hours are exempt)
    exempt = np.asarray(gross_earn_week, float) / WEEKS_PER_MONTH >= threshold
    cb_m = child_benefit(u.children, r) / WEEKS_PER_MONTH
    capped = np.where(exempt | (uc_m <= 0), uc_m, np.maximum(np.minimum(uc_m, cap_m - cb_m), 0))
    return capped * WEEKS_PER_MONTH


def net_income(u: Units, year: int) -> dict[str, np.ndarray]:
    """Weekly amounts of benefit units ``u`` in policy year ``year``: the parts and the totals."""
    r = rules(year)
    t1, n1 = income_tax_ni(u.earn1, r)
    t2, n2 = income_tax_ni(u.earn2, r)
    m1, m2 = marriage_allowance(u, r)
    t1, t2 = t1 + m1, t2 + m2
    gross = np.asarray(u.earn1, float) + np.asarray(u.earn2, float)
    net_earn = gross - t1 - n1 - t2 - n2
    uc = universal_credit(u, net_earn, gross, r)
    cb = child_benefit(u.children, r)
    whd = np.where(uc > 0, r["warm_home_discount"] / 52, 0.0)
    bhc = net_earn + uc + cb + whd
    housing = np.where(u.tenure == 2, OWNER_COST_WEEK, u.rent_week)
    ahc = bhc - housing
    scale = AHC_SCALE[0] + AHC_SCALE[1] * np.asarray(u.couple) + AHC_SCALE[2] * np.asarray(u.children)
    return {"earnings": gross, "tax": t1 + t2, "ni": n1 + n2, "uc": uc, "child_benefit": cb, "warm_home_discount": whd,
            "net_bhc": bhc,
            "housing_cost": housing, "net_ahc": ahc, "equivalised_ahc": ahc / scale}
