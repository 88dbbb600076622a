"""Fit each programme's effect so participants gain what the evidence says.

The evidence for a programme is an employment difference between
participants and comparable non-participants at a follow-up (e.g. +4
percentage points at 12 months in the Health-led Employment Trials). The
model reproduces it the same way a trial would: a run with the programme and
its counterfactual run without it share every random number (common random
numbers), so the same residents can be compared. The cohort is everyone who
starts in the first ``cohort_months`` (12); their employment rate in the run with
the programme minus the same residents' rate without it, ``follow_up`` months
after the cohort's middle start month, is the model's effect. The
into-work multiplier is found by bisection (the effect rises with it).

Place-based programmes (JobsPlus) are evaluated as their source was: all
residents of the targeted places (participants or not) against the same
residents without the programme, ``follow_up`` months after it starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from glw_sim.interventions.base import DEFAULTS, ProgrammeSpec, with_defaults

#: Target effects (percentage points at follow-up months) and their sources; see calibration/SOURCES.md.
TARGETS = {
    "workwell": (0.04, 12, "Health-led Employment Trials, WMCA out-of-work: +4 pp (DWP RR 1025/1034); proxy for WorkWell"),
    "connect_to_work": (0.04, 12, "Health-led Employment Trials (IPS-LITE), WMCA: +4 pp (DWP RR 1025/1034)"),
    "restart": (0.05, 12, "ASSUMPTION: +5 pp; no published impact estimate (gross job outcomes 25%)"),
    "youth_guarantee": (0.01, 24, "DWP Employment Data Lab, Talent Match Plus: -1 to +3 pp at 2 years (n.s.); midpoint"),
    "jobs_plus": (0.03, 36, "Jobs-Plus (MDRC; Bloom, Riccio & Verma 2005; Riccio 2010): +16% earnings in fully "
                            "implemented sites; +3 pp residents' employment at 3 years derived (ASSUMPTION, 0-6 pp)"),
    "childcare": (0.09, 12, "Brewer, Cattan, Crawford & Rabe (2022): full-time free childcare +3.5 pp employment of "
                            "mothers whose youngest child is eligible, after a year; / ~0.4 not employed = +9 pp per "
                            "non-working parent (derived)"),
    "adult_skills": (0.02, 24, "ASSUMPTION: +2 pp in work 24 months after starting (sweep 0-5 pp); achievers vs "
                               "non-achievers design of Buscha, Urwin et al. (2012, BIS); small positive effects of "
                               "below-level-2 learning (BIS RP 150, 2013); not fitted: arises from qualification-"
                               "dependent hazards"),
}

#: Types whose effect is not fitted: it comes from the mechanism (adult skills: a higher qualification and the
#: hazards that go with it); their measured effect is only recorded and tested against the source's range.
NOT_FITTED = {"adult_skills"}

#: Effects fitted with the same multiplier as ``into_work`` (childcare lifts the barrier to searching and to working)
TIED = {"childcare": ("into_search",)}


#: Programmes too small to give a precise cohort are measured in a larger version (the effect per
#: participant is what is fitted; the programme's size matters only through displacement).
MEASURE_AS = {"workwell": {"areas": {"all": True}, "places_per_year": 26000, "referral_multiplier": 3.0},
              "jobs_plus": {"areas": {"all": True}, "place": {"share_of_borough": 0.05}, "places_per_year": 40000},
              "childcare": {"places_per_year": 20000, "referral_multiplier": 3.0}}

FIT_SCALE = 0.1  # ~650,000 agents: a cohort of several hundred starters, paired with its counterfactual
#: Place-based programmes measure every resident of the place (tens of thousands of agents at 4%)
MEASURE_SCALE = {"jobs_plus": 0.04}


def measured_effect(kind: str, multiplier: float, *, scale: float | None = None, seed: int = 11, follow_up: int = 12,
                    cohort_months: int = 12) -> float:
    """Participants' employment gain over their counterfactual, ``follow_up`` months after starting."""
    from glw_sim.calibration import load_fitted
    from glw_sim.model import GLWModel

    spec = ProgrammeSpec.model_validate(with_defaults({"type": kind, **MEASURE_AS.get(kind, {}),
                                                       "effect": {"into_work": multiplier,
                                                                  **{k: multiplier for k in TIED.get(kind, ())}}}))
    fitted = load_fitted()
    scale = scale or MEASURE_SCALE.get(kind, FIT_SCALE)
    m = GLWModel(scale=scale, seed=seed, fitted=fitted, interventions=[spec], cache_population=True)
    b = GLWModel(scale=scale, seed=seed, fitted=fitted, cache_population=True)
    place = m.programmes[0].place
    months = follow_up if place is not None else cohort_months // 2 + follow_up
    cohort = place.copy() if place is not None else None
    for t in range(1, months + 1):
        m.step()
        b.step()
        if t == cohort_months and place is None:
            cohort = m.programmes[0].ever_started.copy()
    w = m.population.weight.astype(np.float64)
    e_m = (m.population.state == 0) & cohort
    e_b = (b.population.state == 0) & cohort
    return float((w[e_m].sum() - w[e_b].sum()) / w[cohort].sum())


FIT_SEEDS = (11, 13, 17)


def fit_effect(kind: str, target: float, *, lo: float = 1.0, hi: float = 8.0, iterations: int = 6,
               tolerance: float = 0.002, **kw) -> float:
    """Into-work multiplier giving ``target`` (a share, e.g. 0.04), averaged over seeds.

    Regula falsi on log(multiplier) within [lo, hi]: a multiplier of 1 gives exactly no effect (common random
    numbers), and the effect is close to linear in log(multiplier), so a few evaluations suffice; stops once the
    seed-averaged effect is within ``tolerance`` of the target."""
    def effect(x: float) -> float:
        return float(np.mean([measured_effect(kind, float(np.exp(x)), seed=s, **kw) for s in FIT_SEEDS]))

    a, fa = np.log(lo), (0.0 if lo == 1.0 else effect(np.log(lo)))
    b = np.log(min(hi, 2.0))
    fb = effect(b)
    while fb < target and b < np.log(hi):
        a, fa, b = b, fb, min(np.log(hi), 2 * b)
        fb = effect(b)
    x = b
    for _ in range(iterations):
        x = a + (target - fa) * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
        fx = effect(x)
        if abs(fx - target) < tolerance:
            break
        if fx < target:
            a, fa = x, fx
        else:
            b, fb = x, fx
    return round(float(np.exp(x)), 3)


def fit_all(path: Path | None = None, kinds: list[str] | None = None) -> dict:
    """Fit programmes with a target (all, or ``kinds``) and update calibration/fitted/programmes.json."""
    from glw_sim.io import atomic_write_text
    from glw_sim.paths import fitted_dir

    path = Path(path) if path else fitted_dir() / "programmes.json"
    out = json.loads(path.read_text()) if path.exists() else {}
    for kind, (target, follow_up, source) in TARGETS.items():
        if kinds and kind not in kinds:
            continue
        mult = (DEFAULTS[kind]["effect"]["into_work"] if kind in NOT_FITTED
                else fit_effect(kind, target, follow_up=follow_up))
        out[kind] = {"into_work": mult, "target_effect": target, "follow_up_months": follow_up, "source": source,
                     "measured_effect": measured_effect(kind, mult, follow_up=follow_up)}
    atomic_write_text(path, json.dumps(out, indent=2))
    return out


def load_fitted_effects() -> None:
    """Put fitted multipliers into DEFAULTS (called at import by glw_sim.interventions)."""
    from glw_sim.paths import fitted_dir

    path = fitted_dir() / "programmes.json"
    if not path.exists():
        return
    for kind, rec in json.loads(path.read_text()).items():
        if kind in DEFAULTS and kind not in NOT_FITTED:
            DEFAULTS[kind]["effect"] = {**DEFAULTS[kind]["effect"], "into_work": rec["into_work"],
                                        **{k: rec["into_work"] for k in TIED.get(kind, ())}}
