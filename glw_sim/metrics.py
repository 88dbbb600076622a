"""The plan's outcome metrics (GLW Box E), weighted, from the month's tally.

The month pass counts every resident's weight once, by the cells of :mod:`glw_sim.engine.tallies`
(:func:`glw_sim.engine.tallies.tally` counts a population as it stands); :func:`from_tally` turns those counts
into the metrics, so they cost nothing per resident.

Definitions (ONS / GLW plan):
- employment rate: employed / residents 16-64;
- unemployment rate: unemployed / economically active (employed + unemployed);
- inactivity rate: inactive / residents; by reason: inactive for that reason / residents;
- health-related inactivity rate: inactive because long-term sick / residents (Box E);
- disability employment gap: employment rate of non-disabled minus disabled (Equality Act core);
- NEET rate 16-24: not employed and not in education or training (full- or part-time: the official
  definition; ``in_education``) / residents 16-24;
- ethnicity employment gap: White minus all ethnic minority groups combined;
- borough spread: highest minus lowest borough employment rate (and standard deviation);
- gap to 80%: 80% of residents minus residents in work (the plan's 327,000).
"""

from __future__ import annotations

import numpy as np

from glw_sim.engine import tallies
from glw_sim.engine.layout import UNKNOWN_STATE
from glw_sim.engine.records import residents
from glw_sim.population import Population
from glw_sim.states import N_BOROUGHS, AGE_BAND_LABELS, Ethnicity, Health, InactivityReason, Qualification, Sex

TARGET_RATE = 0.80

GROUPINGS = {
    "sex": [s.name.lower() for s in Sex],
    "age_band": list(AGE_BAND_LABELS),
    "health": [h.name.lower() for h in Health],
    "ethnicity": [e.name.lower() for e in Ethnicity],
    "qualification": [q.name.lower() for q in Qualification],
}
REASON_NAMES = [r.name.lower() for r in InactivityReason if r != InactivityReason.NONE]


def _rate(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


#: London metrics that need the counts by group, wanting a job, duration or the quarterly flows (not collected by a
#: model with ``collect_groups=False``: NaN there)
GROUP_METRICS = ("inactive_want_job", "disability_employment_rate", "disability_employment_gap",
                 "ethnicity_employment_gap", "female_employment_rate", "male_employment_rate", "neet_rate_16_24",
                 "long_term_unemployed_share")


def from_tally(t, groups: bool = True) -> tuple[dict[str, float], np.ndarray, dict[tuple[str, str], float],
                                                np.ndarray]:
    """The London metrics, the borough metrics (33 x :data:`BOROUGH_METRICS`) and the group rates
    {(grouping, level, metric): rate} from the counts of :func:`glw_sim.engine.tallies.split_tally`, and the
    quarterly flows (shares of each state three months ago). Without ``groups`` (the counts
    by borough, state and reason only), :data:`GROUP_METRICS` are NaN, there are no group rates and the
    quarterly flows are NaN."""
    bb, rs, sx, ab, hl, et, ql, yg, want, ltu, lts_b, q = t
    c = bb.sum(axis=0)
    total = c.sum()
    out = {
        "population": total, "employed": c[0], "unemployed": c[1], "inactive": c[2],
        "employment_rate": _rate(c[0], total), "unemployment_rate": _rate(c[1], c[0] + c[1]),
        "inactivity_rate": _rate(c[2], total),
    }
    for code, name in enumerate(REASON_NAMES, start=1):
        out[f"inactivity_rate_{name}"] = _rate(rs[code], total)
    out["health_related_inactivity_rate"] = out["inactivity_rate_long_term_sick"]
    out["inactive_want_job"] = float(want)
    dis, nondis = hl[Health.DISABLED], hl[Health.NONE] + hl[Health.LONG_TERM_CONDITION]
    out["disability_employment_rate"] = _rate(dis[0], dis.sum())
    out["disability_employment_gap"] = _rate(nondis[0], nondis.sum()) - out["disability_employment_rate"]
    minority = et[1:].sum(axis=0)
    out["ethnicity_employment_gap"] = _rate(et[0, 0], et[0].sum()) - _rate(minority[0], minority.sum())
    out["female_employment_rate"] = _rate(sx[Sex.FEMALE, 0], sx[Sex.FEMALE].sum())
    out["male_employment_rate"] = _rate(sx[Sex.MALE, 0], sx[Sex.MALE].sum())
    out["neet_rate_16_24"] = _rate(yg[1], yg[0])
    tot_b = bb.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.column_stack([bb[:, 0] / tot_b, bb[:, 1] / (bb[:, 0] + bb[:, 1]), bb[:, 2] / tot_b, lts_b / tot_b])
    rate_b = b[:, 0]
    if np.isnan(rate_b).any():  # a borough with no residents (small test populations)
        rate_b = rate_b[~np.isnan(rate_b)]
    out["borough_employment_spread"] = float(rate_b.max() - rate_b.min()) if len(rate_b) else float("nan")
    out["borough_employment_sd"] = float(rate_b.std()) if len(rate_b) else float("nan")
    out["gap_to_80"] = TARGET_RATE * total - c[0]
    out["long_term_unemployed_share"] = _rate(ltu, c[1])
    if not groups:
        out.update(dict.fromkeys(GROUP_METRICS, float("nan")))
        return out, b, {}, np.full((3, 3), np.nan)
    # every group's employment, unemployment and inactivity rates at once (as _rate: NaN for an empty group)
    table = np.concatenate([sx, ab, hl, et, ql])
    e, u, n_ = table[:, 0], table[:, 1], table[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.column_stack([e / (e + u + n_), u / (e + u), n_ / (e + u + n_)])
        quarterly = q / q.sum(axis=1, keepdims=True)
    grp = dict(zip(_GROUP_KEYS, rates.ravel().tolist()))
    return out, b, grp, quarterly


#: the keys of the group rates :func:`from_tally` returns, in the order of its table
_GROUP_KEYS = [(name, lev, metric) for name, levels in GROUPINGS.items() for lev in levels
               for metric in ("employment_rate", "unemployment_rate", "inactivity_rate")]


BOROUGH_METRICS = ["employment_rate", "unemployment_rate", "inactivity_rate", "health_related_inactivity_rate"]


def borough_sampling_se(pop: Population, rate: np.ndarray) -> np.ndarray:
    """Binomial standard error of each borough's employment rate from the agents that estimate it."""
    n = np.bincount(pop.borough, minlength=N_BOROUGHS).astype(np.float64)
    return np.sqrt(rate * (1 - rate) / np.maximum(n, 1))


def of_population(pop: Population, previous: np.ndarray | None = None) -> tuple:
    """:func:`from_tally` of a population as it stands, counted as a model's month counts it
    (:func:`glw_sim.engine.tallies.tally`); ``previous``: each resident's state three months ago (default: not
    known, so the flows are NaN)."""
    prev = np.full(len(pop), UNKNOWN_STATE, dtype=np.uint8) if previous is None else previous
    return from_tally(tallies.split_tally(tallies.tally(residents(pop), prev)))


def london(pop: Population) -> dict[str, float]:
    """The London metrics of a population as it stands."""
    return of_population(pop)[0]


def boroughs(pop: Population) -> np.ndarray:
    """The borough metrics (33 x :data:`BOROUGH_METRICS`) of a population as it stands."""
    return of_population(pop)[1]
