"""Model parameters that no published table pins down: labelled assumptions.

Each :class:`Assumption` has a value, a plausible range for sensitivity sweeps,
a unit and a note saying what it rests on. Published figures live in
``calibration/targets/`` instead; fitted values in ``calibration/fitted/``.
Dotted names (``assumptions.<name>``) are what a sweep file varies.

Each assumption also says where it acts (:attr:`Assumption.acts`): only those that act in a run (``"run"``) may
be set by a scenario or varied by a sweep; the others are refused by name (:func:`not_settable`), because a run
would silently ignore them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

#: where an assumption acts:
#: ``"run"``: read by every run (glw_sim.hazards.Hazards, from the scenario's ``assumptions:``), so a scenario may
#: set it and a sweep vary it;
#: ``"calibration"``: read only when the baseline is fitted (glw_sim.calibration.fit, ``glw-sim calibrate``); a
#: run reads the fitted files, so setting it in a scenario changes nothing;
#: ``"fitted"``: not a setting at all: the value is fitted to data (calibration/fitted) and listed for reference;
#: ``"fixed"``: a constant of the code, read without the scenario's overrides;
#: ``"health"``: read by a run with the health process on (a scenario's ``health: {process: true}``,
#: ``GLWModel(health_process=True)``; on by default: README, "Health as a monthly process"); refused everywhere
#: else, since a run without it would ignore it;
#: ``"income"``: read by a run with pay, hours and households on (``GLWModel(income=True)``, glw_sim.pay; README,
#: "Pay, hours and income"); they change no labour-market result, only the income outputs; refused without it.
Acts = Literal["run", "calibration", "fitted", "fixed", "health", "income"]


@dataclass(frozen=True)
class Assumption:
    value: float
    low: float
    high: float
    unit: str
    note: str
    acts: Acts


A = Assumption

ASSUMPTIONS: dict[str, Assumption] = {
    # --- synthesis ---------------------------------------------------------
    "min_agents_per_borough": A(400, 400, 400, "residents", "floor on agents per authority at small scales, so every borough's rate is resolved to 0.25 pp; weights keep totals", "fixed"),
    # --- unemployment duration dependence (U exits by completed months unemployed) ---
    # ONS (2013) 'Moving between unemployment and employment': unemployed < 3 months were 3.2x as
    # likely to move into work as those unemployed > 2 years. Intermediate steps interpolate geometrically.
    "duration_ratio_24m": A(1 / 3.2, 0.2, 0.5, "ratio", "U-exit hazard at 24+ months relative to < 3 months (ONS 2013: 1/3.2)", "run"),
    # --- inactivity reasons --------------------------------------------------
    "exit_mult_student": A(1.0, 0.6, 1.5, "ratio", "relative monthly exit from inactivity, students (most leave through leaving education)", "run"),
    "exit_mult_family_home": A(0.9, 0.6, 1.2, "ratio", "relative exit from inactivity, looking after family/home", "run"),
    "exit_mult_temp_sick": A(2.5, 1.5, 4.0, "ratio", "relative exit, temporarily sick (short spells by definition)", "run"),
    "exit_mult_long_term_sick": A(0.35, 0.2, 0.6, "ratio", "relative exit, long-term sick; 3.6% of health-inactive in work a year later vs 42% of unemployed (UK LFS 1998-2013, 2014 study)", "run"),
    "exit_mult_discouraged": A(2.5, 1.5, 4.0, "ratio", "relative exit, discouraged workers (want work)", "run"),
    "exit_mult_retired": A(0.25, 0.1, 0.5, "ratio", "relative exit, retired", "run"),
    "exit_mult_other": A(1.3, 0.8, 1.8, "ratio", "relative exit, other reasons", "run"),
    "reason_switch_rate": A(0.01, 0.0, 0.03, "per month", "probability an inactive resident's main reason is re-drawn in a month", "run"),
    # --- priors (log-odds) the raking keeps: structure no margin pins down ---
    "prior_young_children_employed": A(-0.5, -1.0, 0.0, "log-odds", "parents of under-5s less often employed, before margins", "calibration"),
    "prior_carer_employed": A(-0.3, -0.8, 0.0, "log-odds", "unpaid carers less often employed, before margins", "calibration"),
    "prior_age_50plus_employed_slope": A(-0.08, -0.15, -0.03, "log-odds per year", "within 50-64, employment falls with age (shape kept by raking)", "calibration"),
    "prior_lts_no_condition": A(-3.0, -5.0, -1.5, "log-odds", "long-term sick without a recorded condition is rare", "calibration"),
    "prior_lts_disabled": A(1.5, 0.5, 2.5, "log-odds", "long-term sick more likely among disabled", "calibration"),
    "prior_temp_sick_no_condition": A(-1.0, -2.0, 0.0, "log-odds", "temporarily sick without a condition less likely", "calibration"),
    "prior_family_young_children": A(2.5, 1.5, 3.5, "log-odds", "looking after family/home with a child under 5", "calibration"),
    "prior_family_carer": A(1.5, 0.5, 2.5, "log-odds", "looking after family/home while an unpaid carer", "calibration"),
    "prior_retired_slope": A(0.3, 0.15, 0.5, "log-odds per year from 50", "retirement rises steeply with age; none below 50", "calibration"),
    "hazard_age_lead": A(np.nan, 0.0, 3.0, "years", "hazards target the state shares of residents this many years older, offsetting the lag of an ageing cohort behind its age profile; fitted by age band so the no-change baseline holds still (calibration/fitted, glw_sim.calibration.fit_hazard_leads); a value set here applies to every band", "run"),
    # --- health as a monthly process (glw_sim.engine.health; each resident's onset keeps the health shares of residents like them) ---
    "health_recovery_disabled": A(0.030, 0.020, 0.040, "per month", "chance a disabled resident is no longer disabled a month on; DWP, The employment of disabled people 2024 (LFS longitudinal): nearly one in three disabled in one year are not the next (1 - (1 - 0.31)^(1/12) = 0.030)", "health"),
    "health_recovery_condition": A(0.030, 0.015, 0.050, "per month", "chance a long-term condition (not a disability) ends in a month; ASSUMPTION: as for disability (no published London or UK rate found)", "health"),
    "health_recovered_to_condition": A(0.5, 0.3, 0.7, "share", "of residents no longer disabled, the share who keep a long-term condition (ASSUMPTION)", "health"),
    "health_onset_from_none": A(0.5, 0.3, 0.7, "share", "of new disability, the share arising in residents with no long-term condition (ASSUMPTION)", "health"),
    "absence_onset_condition": A(0.014, 0.008, 0.025, "per month", "chance an employed resident with a long-term condition or disability goes off sick for a long spell (4+ weeks; ASSUMPTION: long spells only with a condition); 0.33% of London's employees a month: DWP's 960,000 (2010-13) to 1.8m (2016) long spells a year, 0.32-0.59% of UK employees a month, times London's lower absence (ONS, Sickness absence in the UK labour market 2023 and 2024: 1.5% of hours vs 2.0% UK), over the 23% of employed Londoners with a condition", "health"),
    "absence_back": A(0.50, 0.35, 0.65, "per month", "chance of returning to work from a long spell of sickness absence in a month (ASSUMPTION: mean long spell about two months, CIPD 2008 / CBI 2008 via NICE PH19)", "health"),
    "absence_route_share": A(0.5, 0.3, 0.8, "share", "of exits from work to long-term sickness, the share that pass through a long spell of sickness absence (ASSUMPTION); checked against the share of long spells that end in leaving work, 5.6-10% (DWP, Health in the workplace 2019: over 100,000 leave after a 4+ week spell each year, of 1.8m to 960,000 spells)", "health"),
    # --- pay and hours (glw_sim.pay; the distribution is calibrated to ASHE 2024's low-pay shares) ---
    "pay_log_sd_full_time": A(0.50, 0.40, 0.60, "log points", "spread (SD of log hourly pay) of full-time London residents' jobs; ASSUMPTION: the UK's hourly 90/10 ratio of about 3.5 (ONS ASHE) is ln(3.5)/2.56 = 0.49, London a little wider", "income"),
    "pay_log_sd_part_time": A(0.45, 0.35, 0.55, "log points", "spread of part-time jobs' log hourly pay (ASSUMPTION: narrower than full-time, more jobs near the wage floors)", "income"),
    "pay_female_ratio_full_time": A(0.90, 0.85, 0.95, "ratio", "women's median hourly pay over men's, full-time (ASSUMPTION: London's full-time gender gap about 10%; GLA Economic Fairness: 14% over all jobs in 2023, larger than the full-time gap)", "income"),
    "pay_female_ratio_part_time": A(1.03, 0.97, 1.10, "ratio", "women's median hourly pay over men's, part-time (ONS ASHE 2024, UK: a reverse gap of 3% for part-time; ASSUMPTION that London's is the same)", "income"),
    "entrant_pay_top": A(0.5, 0.3, 1.0, "quantile", "people entering work draw their pay rank uniformly from the bottom this share of their group's distribution (ASSUMPTION: entry jobs are low-paid; 1.0 means as the stock)", "income"),
    "entrant_pay_months": A(12, 6, 36, "months", "months in work before an entrant is paid at their job's rank in the whole distribution (ASSUMPTION: a stylised step that keeps the no-change baseline's pay distribution still; not a model of wage progression)", "income"),
    "pay_growth_per_year": A(0.04, 0.02, 0.06, "per year", "nominal growth of every job's pay from April 2024 (ASSUMPTION near ONS average weekly earnings' regular pay growth of 2024-25; the wage floors of each year still hold)", "income"),
    "cpih_per_year": A(0.03, 0.02, 0.05, "per year", "CPIH inflation, the deflator of the second target's real income (ASSUMPTION: a labelled deflator until the ONS CPIH index is committed)", "income"),
    "hours_full_time": A(37.5, 35.0, 40.0, "hours a week", "paid hours of a full-time job (ASSUMPTION near ASHE's full-time mean; ASHE counts over 30 hours as full-time)", "income"),
    "hours_part_time": A(18.0, 14.0, 22.0, "hours a week", "paid hours of a part-time job (ASSUMPTION near ASHE's part-time mean; 30 hours or fewer)", "income"),
    "part_time_odds_young_children": A(3.0, 1.5, 5.0, "odds ratio", "parents of a child under 5 work part-time more often (ASSUMPTION; the sex totals are kept)", "income"),
    "part_time_odds_in_education": A(5.0, 2.0, 10.0, "odds ratio", "residents in education or training work part-time more often (ASSUMPTION; the sex totals are kept)", "income"),
    "part_time_odds_carer": A(1.5, 1.0, 2.5, "odds ratio", "unpaid carers work part-time more often (ASSUMPTION; the sex totals are kept)", "income"),
    # --- flow shape ---
    "cycle_share": A(np.nan, 0.0, 1.0, "fitted", "the circulation E->I->U->E is fitted (calibration/fitted); listed here for reference", "fitted"),
}

#: In education or training (full- or part-time, the official NEET definition), share by age. 16-17: DfE,
#: "Participation in education, training and NEET age 16 to 17 by local authority" (England, 2025: 86.0% full-time
#: education, 4.2% apprenticeship, 0.9% work-based learning, 0.1% part-time); 18: from DfE "Participation in
#: education, training and employment age 16 to 18" (England, end of 2023: 83.6% of 16-18s in any education or
#: training) less the 16-17 shares; 19-34: ASSUMPTION (the shape of the LFS/APS full-time education tables plus
#: 5 points of part-time education and training at 19-24; 25-34 as full-time); checked in the validation report
#: against London's inactive-student total and the NEET band. Ages not listed (35-64): 0.006, ASSUMPTION (adult full-time students are rare; UK LFS: most inactive students are 16-24).
IN_EDUCATION_BY_AGE: dict[int, float] = {
    16: 0.93, 17: 0.89, 18: 0.69, 19: 0.57, 20: 0.52, 21: 0.45, 22: 0.32, 23: 0.23, 24: 0.18,
    25: 0.08, 26: 0.06, 27: 0.05, 28: 0.04, 29: 0.035, 30: 0.03, 31: 0.025, 32: 0.02, 33: 0.02, 34: 0.02,
}

#: Parent of a child under 5, by age band (16-24, 25-34, 35-49, 50-64) and sex (ASSUMPTION).
YOUNG_CHILDREN_BY_BAND_SEX = np.array([[0.02, 0.05], [0.16, 0.22], [0.17, 0.14], [0.03, 0.01]])
#: Unpaid carer by age band (ASSUMPTION anchored to London's 7.8% of residents 5+, Census 2021, rising with age).
UNPAID_CARER_BY_BAND = np.array([0.04, 0.05, 0.08, 0.13])

#: Duration bands for unemployment (completed months) and relative exit hazards.
DURATION_EDGES = np.array([0, 3, 6, 12, 24])


def duration_profile(ratio_24m: float) -> np.ndarray:
    """Relative U-exit hazard in each duration band, geometric from 1 down to ``ratio_24m``."""
    return ratio_24m ** (np.arange(len(DURATION_EDGES)) / (len(DURATION_EDGES) - 1))


def in_education_share(age: np.ndarray) -> np.ndarray:
    table = np.full(65, 0.006)
    for a, v in IN_EDUCATION_BY_AGE.items():
        table[a] = v
    return table[np.asarray(age, dtype=np.intp)]


def not_settable(name: str, health_process: bool = False, income: bool = False) -> str | None:
    """Why a scenario or sweep may not set assumption ``name`` (unknown, or a run would not read it), or None if
    it may (``health_process``: the run has the health process on, so it reads the ``"health"`` ones; ``income``:
    the run has pay and hours on, so it reads the ``"income"`` ones)."""
    if name not in ASSUMPTIONS:
        return (f"unknown assumption {name!r}; expected one a run reads: {', '.join(run_assumptions())} (see "
                "glw_sim/parameters.py)")
    a = ASSUMPTIONS[name]
    if a.acts == "calibration":
        return "acts only when the baseline is fitted (glw-sim calibrate), not in a run; it cannot be set or swept"
    if a.acts == "fitted":
        return "not read by a run (fitted in calibration/fitted; it cannot be set or swept)"
    if a.acts == "health" and not health_process:
        return ("acts only with the health process (glw_sim.engine.health), which this run has switched off: leave "
                "health: {process: true}, the default (README, 'Health as a monthly process')")
    if a.acts == "income" and not income:
        return ("acts only with pay, hours and income on (GLWModel(income=True), glw_sim.pay; README, 'Pay, hours and "
                "income'); it cannot be set or swept without it")
    if a.acts == "fixed":
        return (f"not read from a scenario: it is fixed at {a.value:g} in the code (its range is "
                f"[{a.low:g}, {a.high:g}]); it cannot be changed or swept")
    return None


def run_assumptions() -> list[str]:
    """The assumptions a run reads (a scenario may set them, a sweep vary them)."""
    return [k for k, a in ASSUMPTIONS.items() if a.acts == "run"]


def value(name: str, overrides: dict[str, float] | None = None) -> float:
    if overrides and name in overrides:
        return float(overrides[name])
    return float(ASSUMPTIONS[name].value)
