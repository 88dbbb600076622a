"""Labour demand and matching (glw_sim/demand.py) and its effect on the model."""

import numpy as np
import pytest

from glw_sim.demand import cobb_douglas_matches, commuting_matrix, fit_decay, level_path, load_workplaces, OUTSIDE_HOME_SHARE
from glw_sim.model import GLWModel, parse_month


def test_matching_function_closed_form():
    # mu S^a V^(1-a) with S=100, V=400, mu=0.5, a=0.5: 0.5 * 10 * 20 = 100
    assert cobb_douglas_matches(100, 400, 0.5, 0.5) == pytest.approx(100.0)
    # capped by vacancies: 1.0 * sqrt(400 * 100) = 200 > V = 100
    assert cobb_douglas_matches(400, 100, 1.0, 0.5) == pytest.approx(100.0)
    # a = 0.7: 0.5 * 1000^0.7 * 2000^0.3 (below both sides)
    assert cobb_douglas_matches(1000, 2000, 0.5, 0.7) == pytest.approx(0.5 * 1000**0.7 * 2000**0.3)
    # constant returns: doubling both sides doubles matches
    assert cobb_douglas_matches(200, 80, 0.6, 0.5) == pytest.approx(2 * cobb_douglas_matches(100, 40, 0.6, 0.5))
    assert cobb_douglas_matches(0, 100, 1.0, 0.5) == 0.0


def test_commuting_matrix_and_fitted_decay(targets):
    work = load_workplaces(targets.london_population, targets.geography.codes)
    assert work.jobs.sum() == pytest.approx(1.06 * targets.london_population)
    decay = fit_decay(work, targets.borough_population)
    c = commuting_matrix(work, decay)
    np.testing.assert_allclose(c.sum(axis=1), 1.0)
    outside = np.dot(targets.borough_population, 1 - np.diag(c)) / targets.borough_population.sum()
    assert outside == pytest.approx(OUTSIDE_HOME_SHARE, abs=1e-6)
    # dearer travel keeps searches closer to home
    dear = commuting_matrix(work, decay, transport_cost=2.0)
    assert (np.diag(dear) > np.diag(c)).all()
    # Westminster and the City draw searchers from everywhere
    geo = targets.geography
    assert c[:, geo.index("Westminster")].mean() > c[:, geo.index("Havering")].mean()


def test_level_path_growth_and_shocks():
    lv = level_path(parse_month("2025-06"), 0.02, [(parse_month("2026-06"), -0.1)])
    assert lv(0) == 1.0
    assert lv(6) == pytest.approx(1.02 ** 0.5)
    assert lv(12) == pytest.approx(1.02 * 0.9)


def _run(fitted, months=12, help_disabled=False, **demand):
    m = GLWModel(scale=0.02, seed=3, fitted=fitted, labour_demand=demand)
    if help_disabled:
        m.work_multiplier[m.population.health == 2] = 2.0
    m.run(months)
    return m


def _into_work(m):
    return np.mean([r["quarterly_unemployed_to_employed"] for r in m.records[3:]])


@pytest.fixture(scope="module")
def runs(fitted):
    return {
        "off": _run(fitted, enabled=False),
        "large": _run(fitted, vacancy_level=100.0, job_finding_cap=1.0),
        "large_two_way": _run(fitted, vacancy_level=100.0),
        "base": _run(fitted),
        "half": _run(fitted, vacancy_level=0.5),
    }


def test_plentiful_vacancies_reproduce_the_calibrated_baseline(runs, fitted):
    off, large, base = runs["off"], runs["large"], runs["base"]
    # the one-way rule (job_finding_cap 1): matching does not bind, identical to the model without matching
    # (common random numbers)
    assert np.array_equal(large.population.state, off.population.state)
    # and the default baseline (matching just binding at June 2025) stays within 2% of those flows
    assert abs(_into_work(base) / _into_work(off) - 1) < 0.02
    assert abs(base.records[-1]["employment_rate"] - off.records[-1]["employment_rate"]) < 0.002
    # the calibrated flows of the fit report still hold (as in test_model)
    fit = np.array(fitted.report["flows_model_quarterly"])
    assert abs(_into_work(base) / fit[1, 0] - 1) < 0.10


def test_plentiful_vacancies_raise_moves_into_work_up_to_the_cap(runs):
    # both ways (default cap 1.3): a hundred times the vacancies multiply every chance into work by 1.3, so the
    # quarterly share of the unemployed moving into work rises, by less than 1.3 (those who move early in the
    # quarter are not there to move later)
    ratio = _into_work(runs["large_two_way"]) / _into_work(runs["off"])
    assert 1.1 < ratio < 1.3, ratio
    assert runs["large_two_way"].records[-1]["employment_rate"] > runs["off"].records[-1]["employment_rate"] + 0.002


def test_halving_vacancies_cuts_moves_into_work(runs):
    base, half = runs["base"], runs["half"]
    ratio = _into_work(half) / _into_work(base)
    # matches fall at least as (1/2)^(1 - 0.5) = 0.71 at once, and further as the vacancy stock runs down
    assert 0.3 < ratio < 0.75, ratio
    assert half.records[-1]["unemployment_rate"] > base.records[-1]["unemployment_rate"] + 0.01
    assert half.records[-1]["employment_rate"] < base.records[-1]["employment_rate"] - 0.01
    assert half.records[-1]["vacancies"] < 0.5 * base.records[-1]["vacancies"]


def _gross_net(fitted, **demand):
    b = _run(fitted, **demand)
    h = _run(fitted, help_disabled=True, **demand)
    helped = h.work_multiplier == 2.0  # (disabled at the start: with the health process, health changes after)
    w = h.population.weight.astype(np.float64)
    emp_h, emp_b = h.population.state == 0, b.population.state == 0
    gross = w[helped & emp_h].sum() - w[helped & emp_b].sum()
    net = w[emp_h].sum() - w[emp_b].sum()
    return gross, net


def test_displacement_under_tight_demand_not_under_slack(fitted):
    gross_t, net_t = _gross_net(fitted, vacancy_level=0.7)
    gross_s, net_s = _gross_net(fitted, vacancy_level=100.0)
    assert gross_t > 0 and gross_s > 0
    assert net_t < 0.8 * gross_t  # others lose jobs the helped group takes
    assert abs(net_s / gross_s - 1) < 0.05  # slack demand: net approaches gross


def test_zero_effect_gives_zero_difference(fitted):
    a = _run(fitted, months=6)
    b = GLWModel(scale=0.02, seed=3, fitted=fitted)
    b.work_multiplier[:] = 1.0
    b.run(6)
    assert np.array_equal(a.population.state, b.population.state)
