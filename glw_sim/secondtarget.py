"""The plan's second target from a results folder: the figures the report, the workbook and the comparison show.

A run with ``outputs.income`` records, in each reported year (month 0 and every twelfth month after), the lowest
fifth's median and mean equivalised income after housing costs (GBP a week, April 2024 prices) and its share in
work (:mod:`glw_sim.incomemetric`); a scenario with a counterfactual also records each replication's change
against it and the change split into entry into work, hours and pay
(:func:`glw_sim.incomemetric.decomposition`). This module turns those into figures with intervals (the same fits
as every other figure: :meth:`glw_sim.results.Results.fit`), one row per year and figure, and says in words what
the intervals hold and what the model cannot claim.
"""

from __future__ import annotations

import pandas as pd

from glw_sim import parameters as P
from glw_sim.incomemetric import PARTS
from glw_sim.results import Results, uncertainty_note

MEAN, MEDIAN, IN_WORK = ("income.bottom_fifth_mean_ahc_real", "income.bottom_fifth_median_ahc_real",
                         "income.bottom_fifth_in_work")
#: a figure's kind: ``gbpw`` GBP a week (to the penny), ``rate`` a share, ``gap`` a difference of shares,
#: ``share`` a relative change
PART_LABELS = {"entry": "entry into work", "hours": "hours", "pay": "pay"}
#: the plan's second target: +20% on the lowest fifth's income after housing costs by 2035
TARGET_RISE = 0.20

#: what the second target's figures cannot claim (the report and the workbook say it beside them)
CANNOT_CLAIM = (
    "Children and pensioners are in the target's population (HBAI ranks everyone by household income) but not "
    "the model's: the lowest fifth here is of working-age residents only.",
    "A resident in an 'other' household is assumed to live with their parents when under 30, else with one "
    "sharer; the household's income pools theirs (each other adult in work at the model's rate for their sex and "
    "age band), as HBAI does, but the household's make-up is an assumption, not Census 2021's. Couples pool a "
    "partner's pay the same way; no household has adults beyond these.",
    "There is no wage progression beyond the entrants' step (entrants are paid low for their first months, then "
    "at their own rank), no change of hours within a job, no second jobs or self-employment.",
    "Rents are the Local Housing Allowance for private renters and assumed social rents; there is no council tax, "
    "no childcare cost, no disability benefit, and benefit rules after the last published year are held at their "
    "nominal values while prices rise (so the counterfactual's real income falls).",
    "Pay grows by an assumed rate each year and the deflator is an assumed CPIH rate: the real figures move with "
    "both, which the intervals do not hold (a sweep shows them).",
)


def reported_months(res: Results) -> list[tuple[int, str]]:
    """The months with the second target's figures (month 0 and every twelfth month), as (month, date)."""
    ts = res.timeseries
    d = ts[(ts["metric"] == MEAN) & (ts["area"] == "London") & (ts["group"] == "all")]
    d = d.drop_duplicates("month").sort_values("month")
    return [(int(m), str(x)) for m, x in zip(d["month"], d["date"])]


def has_second_target(res: Results) -> bool:
    return res.has(MEAN)


def _row(res: Results, month: int, date: str, code: str, label: str, kind: str, values: pd.Series) -> dict:
    # (rounded to 1e-9: a change of exactly nothing can come out as 1e-13 from the binned medians, and with
    # every replication alike its interval would have no width and "leave out zero")
    f = res.fit(values.dropna().round(9))[0]
    return {"date": date, "month": month, "code": code, "label": label, "kind": kind, "mean": f.estimate,
            "low_95": f.low, "high_95": f.high, "noise": f.noise_half_width, "evidence": f.evidence_half_width,
            "replications": f.replications, "excludes_zero": f.excludes_zero()}


def figures(res: Results) -> pd.DataFrame:
    """One row per reported year and figure: date, month, code, label, kind, mean, 95% interval (low, high), its
    simulation-noise and evidence half-widths, replications, and whether the interval leaves out zero. Levels of
    the scenario (the lowest fifth's mean and median, its share in work); with a counterfactual, the
    counterfactual's levels, the changes (also the mean's as a share of the counterfactual's) and the
    decomposition of both changes (entry, hours, pay: they add to the change)."""
    rows = []
    cf = res.has_counterfactual and res.has(f"{MEAN}_change")
    for month, date in reported_months(res):
        at = {m: res.at(m, month) for m in (MEAN, MEDIAN, IN_WORK)}
        rows += [_row(res, month, date, MEAN, "Lowest fifth's mean income AHC (GBP/wk)", "gbpw", at[MEAN]),
                 _row(res, month, date, MEDIAN, "Lowest fifth's median income AHC (GBP/wk)", "gbpw", at[MEDIAN]),
                 _row(res, month, date, IN_WORK, "Share of the lowest fifth in work", "rate", at[IN_WORK])]
        if not cf or month == 0:
            continue
        ch = {m: res.at(f"{m}_change", month) for m in (MEAN, MEDIAN, IN_WORK)}
        base_mean = at[MEAN] - ch[MEAN]
        rows += [
            _row(res, month, date, f"{MEAN}_counterfactual", "Counterfactual: lowest fifth's mean (GBP/wk)", "gbpw",
                 base_mean),
            _row(res, month, date, f"{MEDIAN}_counterfactual", "Counterfactual: lowest fifth's median (GBP/wk)",
                 "gbpw", at[MEDIAN] - ch[MEDIAN]),
            _row(res, month, date, f"{MEAN}_change", "Change in the mean (GBP/wk)", "gbpw", ch[MEAN]),
            _row(res, month, date, f"{MEAN}_change_share", "Change in the mean, share of the counterfactual's",
                 "share", ch[MEAN] / base_mean),
            _row(res, month, date, f"{MEDIAN}_change", "Change in the median (GBP/wk)", "gbpw", ch[MEDIAN]),
            _row(res, month, date, f"{IN_WORK}_change", "Change in the share in work", "gap", ch[IN_WORK])]
        for fig, word in ((MEAN, "mean"), (MEDIAN, "median")):
            for part in PARTS:
                code = f"{fig}_change_{part}"
                if res.has(code):
                    rows.append(_row(res, month, date, code, f"Change in the {word}: {PART_LABELS[part]}", "gbpw",
                                     res.at(code, month)))
    return pd.DataFrame(rows)


def median_still(res: Results) -> bool:
    """Whether the median's change is zero (to a penny) in every replication of every reported year."""
    ts = res.timeseries
    d = ts[(ts["metric"] == f"{MEDIAN}_change") & (ts["area"] == "London") & (ts["group"] == "all")]
    return bool(len(d)) and bool((d["value"].abs() < 0.005).all())


def uncertainty_sentence(res: Results) -> str:
    """What the second target's intervals hold."""
    a = res.scenario.get("assumptions") or {}
    held = ", ".join(f"{label} {100 * P.value(name, a):g}%" for name, label in
                     (("pay_growth_per_year", "pay growth a year"), ("cpih_per_year", "CPIH a year")))
    return (f"{uncertainty_note(res)}. The income assumptions are held at their values, not drawn ({held}, "
            f"entrants paid in the bottom {100 * P.value('entrant_pay_top', a):g}% of their group's pay for "
            f"{P.value('entrant_pay_months', a):g} months, hours): the intervals do not hold them; a sweep over the "
            "scenario shows how far each moves the figures (README, 'Pay, hours and income').")


DECOMPOSITION_NOTE = (
    "Decomposition (sequential substitution on the same residents, who are the same in the scenario and its "
    "counterfactual): starting from the counterfactual, first who is in work becomes the scenario's (each "
    "entrant with the job they hold in the scenario; partners' work at the scenario's rates): entry into work; "
    "then residents in work in both runs take the scenario's hours: hours; then its hourly pay: pay. Each part is "
    "the change in the lowest fifth's figure at that step (the fifth re-ranked each time), so the parts add to the "
    "change; another order would move the interactions between the parts.")


def target_sentence(res: Results, table: pd.DataFrame) -> str:
    """The change in the mean at the last reported year against the plan's +20% (empty without a change)."""
    share = table[table["code"] == f"{MEAN}_change_share"]
    if not len(share):
        return ""
    r = share.iloc[-1]
    tied = "" if r["excludes_zero"] else " (its interval holds zero: no change can be claimed)"
    return (f"By {r['date']} the package moves the lowest fifth's mean income after housing costs by "
            f"{100 * r['mean']:+.1f}% of the counterfactual's (95% interval {100 * r['low_95']:+.1f}% to "
            f"{100 * r['high_95']:+.1f}%){tied}; the plan's second target is +{100 * TARGET_RISE:.0f}% by 2035.")
