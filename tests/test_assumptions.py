"""Where each labelled assumption acts (issue 16), shown by behaviour: one that acts in a run changes a run's results
between the ends of its range; one that does not (read only when the baseline is fitted, fitted itself, or fixed
in the code) leaves a run unchanged even when handed to the model directly, which is why scenarios and sweeps
refuse it; the calibration priors do change what the fit starts from. About 15 s (tiny models, three months)."""

import dataclasses

import numpy as np
import pytest

from glw_sim import calibration
from glw_sim import parameters as P
from glw_sim.model import GLWModel

RUN = [k for k, a in P.ASSUMPTIONS.items() if a.acts == "run"]
NOT_RUN = [k for k, a in P.ASSUMPTIONS.items() if a.acts != "run"]
HEALTH = [k for k, a in P.ASSUMPTIONS.items() if a.acts == "health"]


def results(fitted, assumptions=None, health_process=False) -> np.ndarray:
    """Every London figure of a tiny run, month by month (same population and seed each time)."""
    m = GLWModel(scale=0.002, seed=5, fitted=fitted, assumptions=assumptions, cache_population=True,
                 collect_groups=False, health_process=health_process)
    m.run(3)
    keys = sorted(k for k, v in m.records[-1].items() if isinstance(v, float))
    return np.array([[r[k] for k in keys] for r in m.records], dtype=float)


@pytest.mark.parametrize("name", [*NOT_RUN, "no_such"])
def test_the_model_refuses_an_assumption_a_run_does_not_read(fitted, name):
    """The Python API refuses what scenarios and sweeps refuse, before building anything (the health process off:
    its assumptions are read only with it)."""
    with pytest.raises(ValueError, match=f"assumptions.{name}: "):
        GLWModel(scale=0.002, seed=5, fitted=fitted, assumptions={name: 0.5}, health_process=False)


@pytest.fixture(scope="module")
def default_run(fitted):
    return results(fitted)


def test_every_assumption_says_where_it_acts():
    assert len(P.ASSUMPTIONS) == 41
    assert {a.acts for a in P.ASSUMPTIONS.values()} <= {"run", "calibration", "fitted", "fixed", "health", "income"}
    assert sum(a.acts == "income" for a in P.ASSUMPTIONS.values()) == 13  # pay, hours and income: tests/test_pay.py
    assert HEALTH == ["health_recovery_disabled", "health_recovery_condition", "health_recovered_to_condition",
                      "health_onset_from_none", "absence_onset_condition", "absence_back", "absence_route_share"]
    assert RUN == ["duration_ratio_24m", *(f"exit_mult_{r}" for r in ("student", "family_home", "temp_sick",
                   "long_term_sick", "discouraged", "retired", "other")), "reason_switch_rate", "hazard_age_lead"]
    assert {k for k in NOT_RUN if P.ASSUMPTIONS[k].acts == "calibration"} == {k for k in P.ASSUMPTIONS
                                                                              if k.startswith("prior_")}
    assert P.ASSUMPTIONS["cycle_share"].acts == "fitted" and P.ASSUMPTIONS["min_agents_per_borough"].acts == "fixed"
    for k in RUN:
        assert P.not_settable(k) is None
    for k in NOT_RUN:
        assert P.not_settable(k)
    for k in HEALTH:
        assert P.not_settable(k, health_process=True) is None


@pytest.mark.parametrize("name", RUN)
def test_run_assumption_changes_the_run(fitted, name):
    a = P.ASSUMPTIONS[name]
    low, high = results(fitted, {name: a.low}), results(fitted, {name: a.high})
    assert not np.array_equal(low, high, equal_nan=True), f"{name} at {a.low:g} and {a.high:g} gave the same run"


@pytest.mark.parametrize("name", HEALTH)
def test_health_assumption_changes_a_run_with_the_health_process(fitted, name):
    """The health process's assumptions act when it is on (and are refused without it, above)."""
    a = P.ASSUMPTIONS[name]
    low, high = (results(fitted, {name: v}, health_process=True) for v in (a.low, a.high))
    assert not np.array_equal(low, high, equal_nan=True), f"{name} at {a.low:g} and {a.high:g} gave the same run"


@pytest.mark.parametrize("name", [k for k in NOT_RUN if P.ASSUMPTIONS[k].acts == "calibration"])
def test_calibration_prior_changes_what_the_fit_starts_from(fitted, monkeypatch, name):
    def priors():
        sm, rm = fitted.state_model.copy(), fitted.reason_model.copy()
        calibration.state_priors(sm)
        calibration.reason_priors(rm)
        return np.concatenate([np.ravel(v) for m in (sm, rm) for v in m.priors.values()])

    before = priors()
    a = P.ASSUMPTIONS[name]
    monkeypatch.setitem(P.ASSUMPTIONS, name, dataclasses.replace(a, value=a.high if a.high != a.value else a.low))
    assert not np.array_equal(priors(), before, equal_nan=True), f"{name} does not reach the fit's priors"


def test_report_lists_the_assumptions_a_run_reads():
    from types import SimpleNamespace

    from glw_sim.report import assumption_rows

    rows = assumption_rows(SimpleNamespace(scenario={"assumptions": {"exit_mult_retired": 0.2}}))
    assert [r["name"] for r in rows] == RUN
    assert [r["name"] for r in rows if r["overridden"]] == ["exit_mult_retired"]
    # a results folder from before the refusal may hold a non-run override: shown, marked as not read
    old = assumption_rows(SimpleNamespace(scenario={"assumptions": {"cycle_share": 0.4}}))
    row = next(r for r in old if r["name"] == "cycle_share")
    assert row["overridden"] and row["value"] == "0.4" and "not read by the run" in row["note"]
