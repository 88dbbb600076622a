"""The published figures the baseline is calibrated to, read from ``calibration/targets/``.

Every CSV there has ``period`` and ``source`` columns; ``calibration/SOURCES.md``
cites each one (publisher, table, period). This module only reads and checks
them, and *harmonises* them: published tables come from different periods and
weightings, so their implied London totals differ slightly from the plan's
June 2025 headline. Each table is shifted on the logit scale by one common
amount so that it sums to the headline (the relative differences between
boroughs or groups, which are what the table is evidence of, are kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from glw_sim.geography import Geography, load_geography
from glw_sim.paths import targets_dir
from glw_sim.states import AGE_BAND_LABELS, InactivityReason, LabourState

REASONS = [r for r in InactivityReason if r != InactivityReason.NONE]


def _read(path: Path, required: set[str]) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path}: calibration target file is missing")
    df = pd.read_csv(path, comment="#")
    missing = required - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return df


def logit_offset(rates: np.ndarray, weights: np.ndarray, total_rate: float) -> float:
    """The common logit offset that makes the weighted mean of ``rates`` equal ``total_rate``."""
    rates = np.clip(np.asarray(rates, float), 1e-6, 1 - 1e-6)
    w = np.asarray(weights, float) / np.sum(weights)
    lg = logit(rates)

    def f(d: float) -> float:
        return float(np.dot(w, expit(lg + d)) - total_rate)

    return float(brentq(f, -10.0, 10.0))


def shift_to_total(rates: np.ndarray, weights: np.ndarray, total_rate: float) -> np.ndarray:
    """Shift ``rates`` by one common logit offset so their weighted mean is ``total_rate``."""
    return shift_by(rates, logit_offset(rates, weights, total_rate))


def shift_by(rates: np.ndarray, offset: float) -> np.ndarray:
    """Move ``rates`` by a logit ``offset`` (e.g. the ends of an interval, by its estimate's offset)."""
    return expit(logit(np.clip(np.asarray(rates, float), 1e-6, 1 - 1e-6)) + offset)


#: The flows the London rule keeps at the UK's rates: moving into work (from U and from I).
INTO_WORK = ((1, 0), (2, 0))
#: The flows the rule sets so that London's stocks are stationary, as close as possible to the UK's.
BALANCING = ((0, 1), (0, 2), (1, 2), (2, 1))


def london_flow_rule(uk: np.ndarray, stocks: np.ndarray) -> np.ndarray:
    """London's quarterly transition probabilities from the UK's (rows and columns E, U, I).

    No London or regional flow rates after 2011 are published. The rule: residents move into work at the UK's
    rates (U->E, I->E unchanged): in the LFS panel, regional differences in moving into work are explained by
    the regional employment rate (Curnock, Popham and Leyland 2014, J Epidemiol Community Health 68 Suppl 1:A46),
    and London's rate (75.0%) is the UK's. The other four flows (E->U, E->I, U->I, I->U) are the closest to the
    UK's, in squared log ratio, that make London's stocks ``stocks`` (shares E, U, I) stationary: London's larger
    unemployed stock then comes from larger inflows, as the rule's source implies.
    """
    from scipy.optimize import minimize

    uk = np.asarray(uk, float)
    s = np.asarray(stocks, float) / np.sum(stocks)
    x0 = np.log([uk[i, j] for i, j in BALANCING])

    def build(x: np.ndarray) -> np.ndarray:
        q = uk.copy()
        for (i, j), v in zip(BALANCING, np.exp(x)):
            q[i, j] = v
        for i in range(3):
            q[i, i] = 0.0
            q[i, i] = 1.0 - q[i].sum()
        return q

    def balance(x: np.ndarray) -> np.ndarray:
        q = build(x)
        return 100.0 * (s @ q - s)[1:]  # two independent stock equations (the third follows)

    sol = minimize(lambda x: float(np.sum((x - x0) ** 2)), x0, method="SLSQP",
                   constraints=[{"type": "eq", "fun": balance}], options={"ftol": 1e-13, "maxiter": 1000})
    if not sol.success and np.max(np.abs(balance(sol.x))) < 1e-10:  # feasible and still at the start: done
        sol.success = True
    if not sol.success or np.max(np.abs(balance(sol.x))) > 1e-9:
        raise ValueError(f"London flow rule: no stationary flows near the UK's ({sol.message})")
    return build(sol.x)


def harmonise_weighted(rates: np.ndarray, weights: np.ndarray, total_rate: float, sd: np.ndarray) -> np.ndarray:
    """Move ``rates`` to a weighted mean of ``total_rate``, each by as little as its uncertainty allows.

    The smallest sum of squared logit moves, each in units of its rate's standard deviation (``sd``, on the rate
    scale, taken to the logit scale at the rate), subject to the total: rates that are published move little,
    assumptions more. At the solution each logit move is proportional to its variance times the total's
    sensitivity to it (share x r(1 - r)), the first-order condition the tests check."""
    from scipy.optimize import minimize

    r = np.clip(np.asarray(rates, float), 1e-6, 1 - 1e-6)
    w = np.asarray(weights, float) / np.sum(weights)
    s = np.asarray(sd, float) / (r * (1 - r))
    lg = logit(r)
    sol = minimize(lambda d: float(np.sum((d / s) ** 2)), np.zeros(len(r)), method="SLSQP",
                   constraints=[{"type": "eq", "fun": lambda d: 100.0 * (float(np.dot(w, expit(lg + d))) - total_rate)}],
                   options={"ftol": 1e-15, "maxiter": 500})
    out = expit(lg + sol.x)
    if not sol.success or abs(float(np.dot(w, out)) - total_rate) > 1e-9:
        raise ValueError(f"cannot harmonise rates {rates} to {total_rate} ({sol.message})")
    return out


@dataclass(frozen=True)
class GroupTarget:
    """Population shares and employment rates of one grouping (e.g. ethnicity), London 16-64."""

    dimension: str
    levels: tuple[str, ...]
    population_share: np.ndarray  # sums to 1
    employment_rate: np.ndarray  # harmonised so share . rate = London rate


@dataclass(frozen=True)
class Targets:
    """All calibration targets, harmonised to the London headline."""

    geography: Geography
    london_population: float  # residents 16-64
    employment_rate: float
    inactivity_rate: float
    unemployed_share: float  # unemployed / population 16-64
    gap_to_80: float  # published residents needed in work for 80%
    borough_population: np.ndarray  # [33] residents 16-64 in the base year
    borough_rates: np.ndarray  # [33, 3] shares of population in E, U, I (harmonised)
    borough_rates_published: pd.DataFrame  # as transcribed, for fit reports and charts
    age_sex_share: np.ndarray  # [49 ages 16..64, 2 sexes], sums to 1
    groups: dict[str, GroupTarget]
    reason_share: np.ndarray  # [len(REASONS)] share of inactive, sums to 1
    reason_female_share: np.ndarray  # [len(REASONS)] share of each reason's inactive who are women (nan = none)
    wants_job_total: float  # inactive who want a job
    young_unemployed_share: float  # unemployed 16-24 / residents 16-24 (APS)
    unemployed_student_share: float  # share of unemployed 16-24s who are in education (LFS)
    neet_target: tuple[float, float, float]  # NEET 16-24: central, low, high (published band)
    quarterly_flows: np.ndarray  # [3, 3] London's quarterly transition probabilities (the rule, rows: E, U, I)
    flows_period: str
    quarterly_flows_uk: np.ndarray  # [3, 3] the UK's (LFS X02), which the rule starts from
    # [33, 3 (E, U, I), 2 (low, high)] 95% intervals of the borough estimates, moved by the same logit offsets
    # as the estimates (None if the table has no intervals); glw_sim.smallarea.draw_borough_rates draws from them
    borough_rate_interval: np.ndarray | None = None


def _load_borough_rates(geo: Geography, path: Path) -> pd.DataFrame:
    df = _read(path, {"code", "employment_rate", "inactivity_rate", "period", "source"})
    df = df.set_index("code")
    unknown = set(df.index) - set(geo.codes)
    if unknown:
        raise ValueError(f"{path}: unknown authority codes {sorted(unknown)}")
    missing = set(geo.codes) - set(df.index)
    if missing:
        raise ValueError(f"{path}: no rates for {sorted(missing)}")
    return df.loc[list(geo.codes)]


@lru_cache(maxsize=4)
def load_targets(directory: Path | None = None) -> Targets:
    """Read and harmonise every target table (cached per directory)."""
    d = Path(directory) if directory is not None else targets_dir()
    geo = load_geography(d / "geography.csv")

    head = _read(d / "london_headline.csv", {"metric", "value"}).set_index("metric")["value"].astype(float)
    emp_rate = head["employment_rate_16_64"] / 100.0
    inact_rate = head["inactivity_rate_16_64"] / 100.0
    gap = head["extra_employed_needed_for_80pc"]
    # Working-age population implied by the plan: 80% x P - 75% x P = 327,000.
    london_pop = gap / (head["target_employment_rate"] / 100.0 - emp_rate)
    unemp_share = 1.0 - emp_rate - inact_rate

    pop = _read(d / "borough_population.csv", {"code", "pop_16_64"}).set_index("code").loc[list(geo.codes)]
    bpop = pop["pop_16_64"].to_numpy(float)
    bpop = bpop * london_pop / bpop.sum()

    br = _load_borough_rates(geo, d / "borough_rates.csv")
    e_raw = br["employment_rate"].to_numpy(float) / 100.0
    d_e = logit_offset(e_raw, bpop, emp_rate)
    e = shift_by(e_raw, d_e)
    if "unemployed_share" in br.columns:
        # small-area table (glw_sim.smallarea): ONS model-based unemployment x the estimated activity rate
        u_raw = br["unemployed_share"].to_numpy(float)
    else:
        # Unemployed share of the population = 100 - employment - inactivity (APS, same survey).
        u_raw = np.clip(100.0 - br["employment_rate"].to_numpy(float) - br["inactivity_rate"].to_numpy(float), 0.5,
                        None)
    d_u = logit_offset(u_raw / 100.0, bpop, unemp_share)
    u = shift_by(u_raw / 100.0, d_u)
    u = np.minimum(u, 1.0 - e - 1e-4)
    rates = np.column_stack([e, u, 1.0 - e - u])
    interval = None
    ends = [f"{k}_{s}" for k in ("employment", "unemployed", "inactivity") for s in ("low", "high")]
    if set(ends) <= set(br.columns):
        # each estimate's interval moves with it: the same logit offset (inactivity's: the one that takes the
        # inactivity estimates to London's total; the harmonised inactivity is the rest, 1 - E - U)
        d_i = logit_offset(br["inactivity_rate"].to_numpy(float) / 100.0, bpop, inact_rate)
        interval = np.stack([shift_by(br[[f"{k}_low", f"{k}_high"]].to_numpy(float) / 100.0, off)
                             for k, off in (("employment", d_e), ("unemployed", d_u), ("inactivity", d_i))], axis=1)

    ages = _read(d / "age_sex.csv", {"age", "male", "female"}).set_index("age").loc[range(16, 65)]
    age_sex = ages[["male", "female"]].to_numpy(float)
    age_sex /= age_sex.sum()

    g = _read(d / "group_rates.csv", {"dimension", "group", "population_share", "employment_rate"})
    groups: dict[str, GroupTarget] = {}
    for dim, sub in g.groupby("dimension", sort=False):
        share = sub["population_share"].to_numpy(float)
        share = share / share.sum()
        sd = sub["employment_rate_sd"].to_numpy(float) if "employment_rate_sd" in sub else np.full(len(sub), np.nan)
        if np.all(np.isfinite(sd)):  # published rates move little, assumptions more
            rate = harmonise_weighted(sub["employment_rate"].to_numpy(float) / 100.0, share, emp_rate, sd / 100.0)
        else:
            rate = shift_to_total(sub["employment_rate"].to_numpy(float) / 100.0, share, emp_rate)
        groups[str(dim)] = GroupTarget(str(dim), tuple(sub["group"]), share, rate)
    if "age_band" in groups and groups["age_band"].levels != AGE_BAND_LABELS:
        raise ValueError(f"{d / 'group_rates.csv'}: age bands must be {AGE_BAND_LABELS}")

    young = _read(d / "youth.csv", {"metric", "value"}).set_index("metric")["value"].astype(float)

    rs = _read(d / "inactivity_reasons.csv", {"reason", "share_of_inactive", "female_share"}).set_index("reason")
    names = [r.name.lower() for r in REASONS]
    unknown = set(rs.index) - set(names)
    if unknown:
        raise ValueError(f"{d / 'inactivity_reasons.csv'}: unknown reasons {sorted(unknown)}")
    rs = rs.reindex(names)
    share = rs["share_of_inactive"].fillna(0).to_numpy(float)
    reason_share = share / share.sum()

    fl = _read(d / "flows_quarterly.csv", {"from", "to", "flow", "from_stock", "period"})
    q = np.zeros((3, 3))
    idx = {s.name.lower(): int(s) for s in LabourState}
    for a, b, f, st in zip(fl["from"], fl["to"], fl["flow"], fl["from_stock"]):
        q[idx[a], idx[b]] = f / st
    for i in range(3):
        q[i, i] = 0.0
        q[i, i] = 1.0 - q[i].sum()
    q_london = london_flow_rule(q, np.array([emp_rate, unemp_share, inact_rate]))

    return Targets(
        geography=geo,
        london_population=float(london_pop),
        employment_rate=float(emp_rate),
        inactivity_rate=float(inact_rate),
        unemployed_share=float(unemp_share),
        gap_to_80=float(gap),
        borough_population=bpop,
        borough_rates=rates,
        borough_rates_published=br.reset_index(),
        age_sex_share=age_sex,
        groups=groups,
        reason_share=reason_share,
        reason_female_share=rs["female_share"].to_numpy(float),
        wants_job_total=float(head["inactive_want_a_job"]),
        young_unemployed_share=float(young["unemployed"] / young[["employed", "unemployed", "inactive"]].sum()),
        unemployed_student_share=float(young["unemployed_students_share"]),
        neet_target=(float(young["neet_rate"]), float(young["neet_low"]), float(young["neet_high"])),
        quarterly_flows=q_london,
        flows_period=str(fl["period"].iloc[0]),
        quarterly_flows_uk=q,
        borough_rate_interval=interval,
    )
