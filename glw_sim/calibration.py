"""Fit the baseline to the published targets, and report the fit.

The fits, in order (:func:`fit`; ``glw-sim calibrate`` runs it and writes
``calibration/fitted/baseline.json`` and ``fit_report.csv``):

1. **State model**: a log-linear P(E, U, I | borough, age, sex, health,
   ethnicity, qualification, education, children, caring), raked on a
   calibration population to each borough's APS stocks and London's group
   employment rates (:class:`glw_sim.loglinear.LogLinearModel`), the number
   of inactive students calibrated to the NEET target (:func:`fit_students`).
2. **Reason model**: P(reason | age, sex, health, children, caring) among the
   inactive who are not students, raked to London's reason shares and their
   sex split; the chance of wanting a job by reason, scaled to the published
   total.
3. **Flows**: the four constants of :mod:`glw_sim.hazards`, by least squares
   on log quarterly transition probabilities (LFS X02) aggregated over the
   calibration population (each resident's monthly matrix cubed), then
   corrected by simulation (:func:`refine_flows_by_simulation`).
4. **Hazard age leads**, so that every age band holds still in the no-change
   baseline (:func:`fit_hazard_leads`).

The fitted model itself, which runs load, and its run-time re-centring on
the population drawn are in :mod:`glw_sim.fitted`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from glw_sim import parameters as P
from glw_sim.fitted import REASON_CODES, FittedModel, borough_margin, reason_margins
from glw_sim.hazards import FlowParams, monthly_probs
from glw_sim.loglinear import LogLinearModel, Margin
from glw_sim.population import Population
from glw_sim.states import AGE_BANDS, Health, InactivityReason, LabourState
from glw_sim.synthesis import build_demography, draw_attributes
from glw_sim.targets import REASONS, Targets

STATE_COLUMNS = {
    "borough": 33, "age": 65, "sex": 2, "health": 3, "ethnicity": 6, "qualification": 6,
    "in_education": 2, "young_children": 2, "unpaid_carer": 2,
}
REASON_COLUMNS = {"age": 65, "sex": 2, "health": 3, "young_children": 2, "unpaid_carer": 2, "in_education": 2}


# --------------------------------------------------------------------------- priors

def state_priors(model: LogLinearModel) -> None:
    """Fixed log-odds the raking keeps (assumptions, see parameters.ASSUMPTIONS)."""
    E = int(LabourState.EMPLOYED)
    ages = np.arange(65)
    model.priors["age"][E] = np.where(ages >= 50, P.value("prior_age_50plus_employed_slope") * (ages - 50), 0.0)
    model.priors["young_children"][E, 1] = P.value("prior_young_children_employed")
    model.priors["unpaid_carer"][E, 1] = P.value("prior_carer_employed")


def reason_priors(model: LogLinearModel) -> None:
    k = {c: i for i, c in enumerate(REASON_CODES)}
    ages = np.arange(65)
    ret = k[InactivityReason.RETIRED]
    model.priors["age"][ret] = np.where(ages >= 50, P.value("prior_retired_slope") * (ages - 50), -np.inf)
    lts = k[InactivityReason.LONG_TERM_SICK]
    model.priors["health"][lts, Health.NONE] = P.value("prior_lts_no_condition")
    model.priors["health"][lts, Health.DISABLED] = P.value("prior_lts_disabled")
    model.priors["health"][k[InactivityReason.TEMP_SICK], Health.NONE] = P.value("prior_temp_sick_no_condition")
    fam = k[InactivityReason.FAMILY_HOME]
    model.priors["young_children"][fam, 1] = P.value("prior_family_young_children")
    model.priors["unpaid_carer"][fam, 1] = P.value("prior_family_carer")


# --------------------------------------------------------------------------- margins

def state_margins(targets: Targets, students: float | None = None) -> list[Margin]:
    """The published margins of the state model; ``students``: inactive residents in education (default: the
    published student share of the inactive; :func:`fit_students` calibrates it to the NEET band)."""
    pop = targets.london_population
    margins = [borough_margin(targets)]
    for dim in ("sex", "health", "ethnicity", "qualification"):
        g = targets.groups[dim]
        tgt = np.column_stack([g.population_share * g.employment_rate, g.population_share * (1 - g.employment_rate)]) * pop
        margins.append(Margin(f"{dim} employment", dim, np.arange(len(g.levels)), [[0], [1, 2]], tgt))
    g = targets.groups["age_band"]
    groups = np.full(65, -1)
    for b, (lo, hi) in enumerate(AGE_BANDS):
        groups[lo:hi + 1] = b
    tgt = np.column_stack([g.population_share * g.employment_rate, g.population_share * (1 - g.employment_rate)]) * pop
    margins.append(Margin("age band employment", "age", groups, [[0], [1, 2]], tgt, basis=age_basis()))
    # 16-24: unemployed as published (APS), the rest of the band's non-employed inactive.
    young = np.where(groups == 0, 0, -1)
    u_young = targets.young_unemployed_share * g.population_share[0] * pop
    margins.append(Margin("16-24 unemployment", "age", young, [[1], [0, 2]],
                          np.array([[u_young, g.population_share[0] * pop - u_young]]),
                          basis=age_basis()[:, :2] @ np.array([[1.0], [0.0]])))  # fading to 0 by 29.5
    # In education or training: inactive = the student share of London's inactive (APS reasons); unemployed =
    # the published share of unemployed 16-24s who are students; the rest in work (filled at fit time).
    inactive = targets.inactivity_rate * pop
    students = targets.reason_share[0] * inactive if students is None else students
    u_students = targets.unemployed_student_share * u_young
    m = Margin("education by state", "in_education", np.array([0, 1]), [[0], [1], [2]], None)
    m.target = np.array([[np.nan, targets.unemployed_share * pop - u_students, inactive - students],
                         [np.nan, u_students, students]])
    margins.append(m)
    return margins


def _fill_education_margin(m: Margin, pop: Population) -> None:
    """The in-work cell of the education margin is each group's size less its unemployed and inactive targets."""
    w = pop.weight.astype(np.float64)
    size = np.bincount(pop.in_education.astype(np.intp), weights=w, minlength=2)
    m.target[:, 0] = size - m.target[:, 1] - m.target[:, 2]


# --------------------------------------------------------------------------- smooth age profile

#: Knots of the age profiles the age-band margins rake: the centres of the age bands (flat outside them).
AGE_KNOTS = np.array([(lo + hi) / 2.0 for lo, hi in AGE_BANDS])


def age_basis(knots: np.ndarray = AGE_KNOTS) -> np.ndarray:
    """(65 ages, knots) piecewise-linear hat functions at ``knots``, flat beyond the outer ones. Raking on
    age-band margins through this basis (:attr:`glw_sim.loglinear.Margin.basis`) gives an age effect that is
    continuous in age: constants per band would jump at the band edges (1.7 log-odds from 24 to 25 in the fit
    of 2026-11), and a cohort crossing an edge would then lag far behind its new shares."""
    ages = np.arange(65, dtype=float)
    eye = np.eye(len(knots))
    return np.column_stack([np.interp(ages, knots, eye[j]) for j in range(len(knots))])


def age_profile_max_step(model: LogLinearModel) -> float:
    """The largest change of any outcome's age log-odds (against inactivity) from one year of age to the next."""
    t = model.tables["age"] + model.priors["age"]
    return float(np.max(np.abs(np.diff(t[:, 16:65] - t[-1, 16:65], axis=1))))


# --------------------------------------------------------------------------- flows

def quarterly_from_monthly(pi: np.ndarray, w: np.ndarray, fp: FlowParams) -> np.ndarray:
    """Stock-weighted quarterly transition matrix implied by each resident's monthly chain."""
    p_eu, p_ei, p_ue, p_ui, p_ie, p_iu = monthly_probs(pi[0], pi[1], pi[2], fp)
    n = pi.shape[1]
    m = np.empty((n, 3, 3))
    m[:, 0, 1], m[:, 0, 2] = p_eu, p_ei
    m[:, 1, 0], m[:, 1, 2] = p_ue, p_ui
    m[:, 2, 0], m[:, 2, 1] = p_ie, p_iu
    m[:, 0, 0] = 1 - p_eu - p_ei
    m[:, 1, 1] = 1 - p_ue - p_ui
    m[:, 2, 2] = 1 - p_ie - p_iu
    q = m @ m @ m
    stock = (pi * w[None, :]).T  # (n, 3)
    agg = np.einsum("ni,nij->ij", stock, q)
    return agg / agg.sum(axis=1, keepdims=True)


OFF_DIAGONAL = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]


def fit_flows(pi: np.ndarray, w: np.ndarray, target_q: np.ndarray, sample: int = 100_000,
              rng: np.random.Generator | None = None) -> tuple[FlowParams, np.ndarray]:
    """Least squares on log quarterly probabilities (relative errors) over the six flows."""
    rng = rng or np.random.default_rng(0)
    if pi.shape[1] > sample:
        idx = rng.choice(pi.shape[1], sample, replace=False)
        pi, w = pi[:, idx], w[idx]

    def resid(x):
        q = quarterly_from_monthly(pi, w, FlowParams(*np.exp(x)))
        return [np.log(q[i, j] / target_q[i, j]) for i, j in OFF_DIAGONAL]

    x0 = np.log([0.07, 0.03, 0.05, 0.1])
    sol = least_squares(resid, x0, method="lm")
    fp = FlowParams(*map(float, np.exp(sol.x)))
    return fp, quarterly_from_monthly(pi, w, fp)


# --------------------------------------------------------------------------- the fit

def expected_neet(model: LogLinearModel, pop: Population) -> float:
    """Month-0 NEET rate of 16-24s implied by the state model: not in work and not in education or training."""
    pi = model.probabilities(pop)
    w = pop.weight.astype(np.float64)
    young = pop.age <= 24
    neet = w * young * (1.0 - pi[int(LabourState.EMPLOYED)]) * ~pop.in_education
    return float(neet.sum() / w[young].sum())


def fit_students(model: LogLinearModel, pop: Population, targets: Targets, *, iterations: int = 4) -> tuple[float, float]:
    """Calibrate the number of inactive residents in education so that month-0 NEET is the centre of its
    published band (targets.neet_target), by secant steps on the raked state model (warm-started). The published
    student count (Trust for London, APS 2018/19) is the first guess and is compared in the validation report.
    Returns (students, NEET)."""
    inactive = targets.inactivity_rate * targets.london_population
    goal = targets.neet_target[0]

    def neet_at(students: float) -> float:
        margins = state_margins(targets, students)
        _fill_education_margin(margins[-1], pop)
        model.rake(pop, margins, tol=1e-5, max_sweeps=100)
        return expected_neet(model, pop)

    s0 = targets.reason_share[0] * inactive
    n0 = neet_at(s0)
    s1 = s0 * 1.05
    n1 = neet_at(s1)
    for _ in range(iterations):
        if abs(n1 - goal) < 1e-4 or n1 == n0:
            break
        s2 = float(np.clip(s1 + (goal - n1) * (s1 - s0) / (n1 - n0), 0.5 * s0, min(2.0 * s0, 0.9 * inactive)))
        s0, n0 = s1, n1
        s1, n1 = s2, neet_at(s2)
    return s1, n1


def fit(targets: Targets, *, scale: float = 0.03, seed: int = 20250601) -> FittedModel:
    """Fit all three parts on a calibration population (deterministic for a seed)."""
    from glw_sim.sampling import systematic_categorical

    rng = np.random.default_rng(seed)
    pop = build_demography(targets, scale, rng, int(P.value("min_agents_per_borough")))
    draw_attributes(pop, np.arange(len(pop)), targets, rng)

    sm = LogLinearModel(["employed", "unemployed", "inactive"], dict(STATE_COLUMNS))
    state_priors(sm)
    margins = state_margins(targets)
    _fill_education_margin(margins[-1], pop)
    sm.rake(pop, margins, tol=1e-5, max_sweeps=100)
    students, _ = fit_students(sm, pop, targets)
    margins = state_margins(targets, students)
    _fill_education_margin(margins[-1], pop)
    state_err = sm.rake(pop, margins, tol=1e-6, max_sweeps=300)
    age_step = age_profile_max_step(sm)
    neet0 = expected_neet(sm, pop)

    pi = sm.probabilities(pop)
    pop.state[:] = systematic_categorical(pi, pop.borough, rng)
    inactive = np.nonzero(pop.state == LabourState.INACTIVE)[0]
    rest = inactive[~pop.in_education[inactive]]
    rm = LogLinearModel([InactivityReason(c).name.lower() for c in REASON_CODES], dict(REASON_COLUMNS))
    reason_priors(rm)
    reason_err = rm.rake(pop, reason_margins(targets, float(pop.weight[rest].sum(dtype=np.float64))), index=rest,
                         tol=1e-6, max_sweeps=300)

    flow, q_model = fit_flows(pi, pop.weight.astype(np.float64), targets.quarterly_flows, rng=rng)

    # Wants a job: published total (250,000), split by reason in proportion to the assumed shares.
    import pandas as pd
    from glw_sim.paths import targets_dir

    rs = pd.read_csv(targets_dir() / "inactivity_reasons.csv").set_index("reason")
    share_by_code = np.zeros(8)
    for r in REASONS:
        share_by_code[int(r)] = rs.loc[r.name.lower(), "wants_job_share"]
    inactive_total = targets.inactivity_rate * targets.london_population
    expected = float(np.dot(targets.reason_share, share_by_code[1:])) * inactive_total
    scale_w = targets.wants_job_total / expected
    wants = np.minimum(share_by_code * scale_w, 1.0)
    wants[InactivityReason.DISCOURAGED] = 1.0

    fitted = FittedModel(sm, rm, flow, wants, list(REASON_CODES), {})
    flow, q_sim = refine_flows_by_simulation(fitted, targets, pi, pop.weight.astype(np.float64), q_model, rng)
    fitted.flow = flow
    leads, drift, band_drift = fit_hazard_leads(fitted, targets)
    q_model = simulated_quarterly_flows(fitted, targets)

    report = {
        "state_margin_max_rel_error": state_err,
        "reason_margin_max_rel_error": reason_err,
        "age_profile_max_step_logodds": age_step,
        "students_inactive": students,
        "students_inactive_published": float(targets.reason_share[0] * targets.inactivity_rate
                                             * targets.london_population),
        "neet_month0_expected": neet0,
        "hazard_leads": [float(x) for x in leads],
        "london_drift_pp_after_lead_fit": drift,
        "band_drift_pp_after_lead_fit": [float(x) for x in band_drift],
        "flows_target_quarterly": targets.quarterly_flows.tolist(),
        "flows_uk_quarterly": targets.quarterly_flows_uk.tolist(),
        "flows_model_quarterly": q_model.tolist(),
        "flows_period": targets.flows_period,
        "calibration_scale": scale,
        "calibration_seed": seed,
    }
    fitted.report = report
    return fitted


def simulated_quarterly_flows(fitted: FittedModel, targets: Targets, *, scale: float = 0.02, months: int = 15,
                              seed: int = 1) -> np.ndarray:
    """Mean quarterly transition matrix of a short baseline simulation (months 3..``months``)."""
    from glw_sim.model import GLWModel

    m = GLWModel(scale=scale, seed=seed, fitted=fitted, targets=targets, collect_boroughs=False)
    m.run(months)
    names = ("employed", "unemployed", "inactive")
    q = np.eye(3)
    for i, j in OFF_DIAGONAL:
        q[i, j] = np.mean([r[f"quarterly_{names[i]}_to_{names[j]}"] for r in m.records[3:]])
    return q


def refine_flows_by_simulation(fitted: FittedModel, targets: Targets, pi: np.ndarray, w: np.ndarray,
                               q_analytic: np.ndarray, rng: np.random.Generator, iterations: int = 3):
    """Correct the analytic flow fit for what it leaves out (duration dependence, reason mix, leaving
    education, entrants at 16): refit against targets scaled by analytic/simulated, a fixed point."""
    target = targets.quarterly_flows.copy()
    goal = targets.quarterly_flows
    q_sim = simulated_quarterly_flows(fitted, targets)
    for _ in range(iterations):
        for i, j in OFF_DIAGONAL:
            target[i, j] = goal[i, j] * q_analytic[i, j] / q_sim[i, j]
        flow, q_analytic = fit_flows(pi, w, target, rng=np.random.default_rng(0))
        fitted.flow = flow
        q_sim = simulated_quarterly_flows(fitted, targets)
    return fitted.flow, q_sim


def baseline_drift(fitted: FittedModel, targets: Targets, *, scale: float, months: int,
                   seeds: tuple[int, ...]) -> tuple[float, np.ndarray]:
    """Mean change in London's employment rate, and in each age band's, from month 0 to the second half of a
    no-change baseline of ``months`` months (percentage points; mean over ``seeds``)."""
    from glw_sim.model import GLWModel
    from glw_sim.states import AGE_BAND_LABELS

    london, bands = 0.0, np.zeros(len(AGE_BAND_LABELS))
    for seed in seeds:
        m = GLWModel(scale=scale, seed=seed, fitted=fitted, targets=targets, collect_boroughs=False)
        m.run(months)
        e = np.array([r["employment_rate"] for r in m.records])
        rates = np.array([[g[("age_band", b, "employment_rate")] for b in AGE_BAND_LABELS] for _, g in m.group_records])
        london += 100.0 * (e[months // 2:].mean() - e[0])
        bands += 100.0 * (rates[-(len(rates) // 2):].mean(axis=0) - rates[0])
    return london / len(seeds), bands / len(seeds)


def fit_hazard_leads(fitted: FittedModel, targets: Targets, *, scale: float = 0.05, months: int = 120,
                     seeds: tuple[int, ...] = (11, 12), iterations: int = 3,
                     start: np.ndarray | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Fit the hazards' age lead of each age band (:func:`glw_sim.hazards.led_state_model`) so that every band's
    employment rate, and so London's, holds still in the no-change baseline: damped secant steps on each band's
    drift, under common seeds so the runs differ only by the leads. The best of the leads tried (least squared
    drift of the bands, weighted by their populations) is kept. Returns the leads, London's drift left and each
    band's (percentage points). ``start``: the first two leads tried are ``start`` and ``start + 0.5`` (a refit
    from stored leads, ``tools/refit_leads.py``) instead of 1 and 2 for every band."""
    share = np.array([targets.age_sex_share[lo - 16:hi - 15].sum() for lo, hi in AGE_BANDS])

    def drift(leads: np.ndarray) -> tuple[float, np.ndarray]:
        fitted.hazard_leads = np.asarray(leads, dtype=float).copy()
        return baseline_drift(fitted, targets, scale=scale, months=months, seeds=seeds)

    tried = []
    l0 = np.full(4, 1.0) if start is None else np.asarray(start, dtype=float).copy()
    d0, b0 = drift(l0)
    tried.append((l0, d0, b0))
    l1 = np.full(4, 2.0) if start is None else np.clip(l0 + 0.5, 0.0, 4.0)
    d1, b1 = drift(l1)
    tried.append((l1, d1, b1))
    for _ in range(iterations):
        diff = b1 - b0
        slope = np.where(np.abs(diff) > 0.02, diff / np.where(l1 != l0, l1 - l0, 1.0), np.nan)
        step = np.where(np.isfinite(slope), -0.7 * b1 / slope, 0.0)
        l2 = np.clip(l1 + np.clip(step, -1.5, 1.5), 0.0, 4.0)
        l0, b0 = l1, b1
        l1 = l2
        d1, b1 = drift(l1)
        tried.append((l1, d1, b1))
    best = min(tried, key=lambda t: float(np.dot(share, t[2] ** 2)))
    fitted.hazard_leads = np.asarray(best[0], dtype=float)
    return fitted.hazard_leads, float(best[1]), best[2]


def fit_report_frame(fitted: FittedModel):
    """One row per flow: the UK's published rate (LFS X02), London's target under the flow rule
    (:func:`glw_sim.targets.london_flow_rule`), the model's, and the model's relative error against the target."""
    import pandas as pd

    names = ["employed", "unemployed", "inactive"]
    t = np.array(fitted.report["flows_target_quarterly"])
    m = np.array(fitted.report["flows_model_quarterly"])
    uk = np.array(fitted.report.get("flows_uk_quarterly", t))
    rows = [{"target": f"quarterly {names[i]}->{names[j]}", "uk_published": uk[i, j], "london_rule": t[i, j],
             "model": m[i, j], "relative_error": m[i, j] / t[i, j] - 1} for i, j in OFF_DIAGONAL]
    return pd.DataFrame(rows)
