"""The no-change baseline on the newest data (issue 15): the London flow rule, harmonisation by precision, the
continuous age profile and the hazards' age leads, NEET on the official definition, and the validation report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from glw_sim.fitted import load_fitted
from glw_sim.hazards import LEAD_KNOTS, led_state_model
from glw_sim.paths import fitted_dir
from glw_sim.targets import BALANCING, INTO_WORK, harmonise_weighted, load_targets, london_flow_rule, shift_to_total

UK = np.array([[0.0, 0.010237, 0.018667], [0.36741, 0.0, 0.22137], [0.05567, 0.055899, 0.0]])
for _i in range(3):
    UK[_i, _i] = 1.0 - UK[_i].sum()


def test_flow_rule_holds_london_stocks_and_uk_into_work_rates():
    stocks = np.array([0.75, 0.049, 0.201])
    q = london_flow_rule(UK, stocks)
    np.testing.assert_allclose(stocks @ q, stocks, atol=1e-12)  # stationary
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    for i, j in INTO_WORK:
        assert q[i, j] == UK[i, j]
    # London's larger unemployed stock comes from larger inflows into unemployment
    assert q[0, 1] > UK[0, 1] and q[2, 1] > UK[2, 1]


def test_flow_rule_leaves_stocks_that_uk_rates_already_hold():
    # the UK's own stationary distribution under its rates: the rule has nothing to move
    w, v = np.linalg.eig(UK.T)
    s = np.real(v[:, np.argmin(np.abs(w - 1))])
    s = s / s.sum()
    q = london_flow_rule(UK, s)
    for i, j in BALANCING:
        assert q[i, j] == pytest.approx(UK[i, j], rel=1e-6)


def test_london_targets_use_the_rule_and_keep_the_uk_rates():
    t = load_targets()
    stocks = np.array([t.employment_rate, t.unemployed_share, t.inactivity_rate])
    np.testing.assert_allclose(stocks @ t.quarterly_flows, stocks, atol=1e-10)
    np.testing.assert_allclose(t.quarterly_flows_uk[1, 0], 478 / 1301, rtol=1e-12)


def test_harmonise_weighted_moves_uncertain_rates_most():
    rates = np.array([0.409, 0.803, 0.775, 0.70])
    share = np.array([0.1431, 0.2644, 0.3441, 0.2484])
    out = harmonise_weighted(rates, share, 0.75, np.array([0.015, 0.015, 0.015, 0.03]))
    assert float(share @ out) == pytest.approx(0.75, abs=1e-9)
    moves = out - rates
    assert moves[3] > moves[1] and moves[3] > moves[2]  # the assumption moves more than the APS counts
    # a rate known almost exactly hardly moves
    tight = harmonise_weighted(rates, share, 0.75, np.array([0.015, 1e-5, 0.015, 0.03]))
    assert abs(tight[1] - rates[1]) < 1e-3
    # first-order condition of the least-squares problem: logit move / (variance x share x r(1-r)) is one number
    sd = np.array([0.015, 0.015, 0.015, 0.03])
    s_logit = sd / (rates * (1 - rates))
    d = np.log(out / (1 - out)) - np.log(rates / (1 - rates))
    ratio = d / (s_logit ** 2 * share * out * (1 - out))
    np.testing.assert_allclose(ratio, ratio.mean(), rtol=0.03)  # linearised at the solution
    # with no information about which rate is wrong, it is not the same as the common shift of shift_to_total
    assert not np.allclose(out, shift_to_total(rates, share, 0.75), atol=1e-3)


def test_led_state_model_reads_ages_ahead():
    sm = load_fitted().state_model
    led = led_state_model(sm, np.ones(len(LEAD_KNOTS)))
    full = sm.tables["age"] + sm.priors["age"]
    got = led.tables["age"] + led.priors["age"]
    np.testing.assert_allclose(got[:, 16:64], full[:, 17:65], atol=1e-12)  # one year ahead, exactly
    np.testing.assert_allclose(got[:, 64], full[:, 64], atol=1e-12)  # no one is older than 64
    half = led_state_model(sm, np.full(len(LEAD_KNOTS), 0.5))
    h = half.tables["age"] + half.priors["age"]
    np.testing.assert_allclose(h[:, 30], 0.5 * (full[:, 30] + full[:, 31]), atol=1e-12)


def test_employment_age_profile_is_continuous_at_band_edges():
    sm = load_fitted().state_model
    t = sm.tables["age"] + sm.priors["age"]
    d = t[0] - t[2]  # employment against inactivity, log-odds
    steps = np.abs(np.diff(d[16:65]))
    # the old fit jumped 1.7 log-odds from 24 to 25; a smooth profile changes by at most a slope's step
    assert steps.max() < 0.35, steps.round(2)
    assert steps[24 - 16] < 0.35


def test_fit_report_every_flow_within_ten_percent_of_the_rule():
    rep = pd.read_csv(fitted_dir() / "fit_report.csv")
    assert set(rep.columns) >= {"uk_published", "london_rule", "model", "relative_error"}
    assert len(rep) == 6
    assert (rep["relative_error"].abs() <= 0.10).all(), rep


def test_fitted_leads_and_students_are_recorded():
    f = load_fitted()
    assert len(f.hazard_leads) == len(LEAD_KNOTS) and np.all((f.hazard_leads >= 0) & (f.hazard_leads <= 4))
    assert abs(f.report["london_drift_pp_after_lead_fit"]) < 0.1  # the fit holds London still (its own runs)
    assert 300_000 < f.report["students_inactive"] < 600_000
    t = load_targets()
    c, lo, hi = t.neet_target
    assert lo <= f.report["neet_month0_expected"] <= hi


def test_month0_neet_on_the_official_definition_inside_its_band():
    from glw_sim.model import GLWModel

    t = load_targets()
    _, lo, hi = t.neet_target
    vals = [GLWModel(scale=0.02, seed=s).records[0]["neet_rate_16_24"] for s in (1, 2)]
    # 16-24s at scale 0.02: about 19,000 agents, NEET's sampling sd about 0.25 pp: the band is 2.6 pp wide
    assert lo <= np.mean(vals) <= hi, vals


def test_borough_rates_drawn_per_replication_keep_london_and_repeat():
    from glw_sim.model import GLWModel
    from glw_sim.runner import model_targets
    from glw_sim.scenario import load_scenario

    est = load_scenario("scenarios/baseline.yaml")
    draw = load_scenario("scenarios/baseline.yaml", {"population": {"borough_rates": "draw"}})
    t = load_targets()
    assert model_targets(est, 7) is t
    a, b, c = model_targets(draw, 7), model_targets(draw, 7), model_targets(draw, 8)
    np.testing.assert_array_equal(a.borough_rates, b.borough_rates)  # the same replication, the same draw
    assert np.abs(a.borough_rates - c.borough_rates).max() > 0.005  # another replication, another draw
    w = t.borough_population
    assert float(w @ a.borough_rates[:, 0] / w.sum()) == pytest.approx(t.employment_rate, abs=1e-9)
    # draws stay near their estimates: within the 95% intervals for most boroughs
    iv = t.borough_rate_interval
    inside = (a.borough_rates[:, 0] >= iv[:, 0, 0] - 0.005) & (a.borough_rates[:, 0] <= iv[:, 0, 1] + 0.005)
    assert inside.mean() > 0.8
    m = GLWModel(scale=0.004, seed=3, targets=a)
    assert m.records[0]["employment_rate"] == pytest.approx(0.75, abs=2e-4)
    # month 0 follows the drawn rates, not the estimates
    b0 = m.borough_records[0][1][:, 0]
    assert np.corrcoef(b0 - t.borough_rates[:, 0], a.borough_rates[:, 0] - t.borough_rates[:, 0])[0, 1] > 0.9
