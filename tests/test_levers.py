"""System levers (scenario key ``levers:``, glw_sim/levers.py): retention, reactivation and demand, their
validation, books and attribution."""

import numpy as np
import pytest

from glw_sim.model import GLWModel
from glw_sim.runner import components, simulate
from glw_sim.scenario import Scenario, ScenarioError, load_scenario
from glw_sim.states import Health, InactivityReason

OFF = {"enabled": False}  # matching off: every chance into work as calibrated (no displacement)


def _kw(seed, **over):
    return dict(scale=0.02, seed=seed, labour_demand=OFF, collect_groups=False, cache_population=True, **over)


# ------------------------------------------------------------------------------------------------ retention
def test_retention_of_disabled_residents_agrees_with_their_stationary_share():
    """Cutting every exit from work of disabled residents by 10% (matching off), five years.

    The arithmetic: each resident's hazards make their stationary shares pi exactly stationary (glw_sim/hazards.py).
    Multiplying every exit from E by c = 0.9 is a change of time in E only (the jump chain is unchanged, the stay
    in E is 1/c times as long), so the stationary shares become (pi_E / c, pi_U, pi_I) / Z: a resident's share in
    work rises from pi to pi / (pi + c (1 - pi)). Summed over the disabled residents at the horizon (weights,
    pi_E as cached), that is the expected net extra residents in work. It must agree with the simulated net extra
    within 3 standard errors of the replications plus 5% (the part not yet reached after five years: the slowest
    residents' chains relax over several years, and some residents became disabled during the run)."""
    c = 0.9
    nets, analytic = [], []
    for seed in (3, 4, 5, 6):
        base = GLWModel(**_kw(seed))
        scen = GLWModel(levers=[{"kind": "retention", "who": {"health": "disabled"}, "cut": 1 - c,
                                 "start": "2025-07"}], **_kw(seed))
        for _ in range(60):
            scen.step()
            base.step()
        nets.append(scen.records[-1]["employed"] - base.records[-1]["employed"])
        pop = base.population
        pi, w = base.cached.pi_e.astype(np.float64), pop.weight.astype(np.float64)
        disabled = pop.health == Health.DISABLED
        analytic.append(float((w * (pi / (pi + c * (1 - pi)) - pi))[disabled].sum()))
    nets, analytic = np.array(nets), np.array(analytic)
    diff = nets - analytic
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert abs(diff.mean()) < 3 * se + 0.05 * analytic.mean(), (nets, analytic, se)
    assert nets.mean() > 0.8 * analytic.mean()


def test_retention_by_reason_cuts_only_moves_to_that_reason():
    """Cancelling drawn E->I moves whose reason is long-term sick: no move to unemployment or to another reason is
    touched, and the moves to long-term sickness fall by about the cut."""
    base = GLWModel(**_kw(3))
    scen = GLWModel(levers=[{"kind": "retention", "to": ["inactivity"], "reasons": ["long_term_sick"], "cut": 0.5,
                             "start": "2025-07"}], **_kw(3))
    lts = int(InactivityReason.LONG_TERM_SICK)
    moves = np.zeros((2, 3))  # run x (to U, to I long-term sick, to I other)
    for _ in range(12):
        was = [m.population.state == 0 for m in (scen, base)]
        same = scen.population.state == base.population.state
        scen.step()
        base.step()
        for j, m in enumerate((scen, base)):
            pop, w = m.population, m.population.weight.astype(np.float64)
            left = was[j] & same & was[1 - j] & (pop.state != 0)
            moves[j] += [w[left & (pop.state == 1)].sum(), w[left & (pop.state == 2) & (pop.reason == lts)].sum(),
                         w[left & (pop.state == 2) & (pop.reason != lts)].sum()]
    assert moves[0, 0] == pytest.approx(moves[1, 0], rel=0.01)  # to U: untouched (the same residents' draws)
    assert moves[0, 2] == pytest.approx(moves[1, 2], rel=0.01)  # to other reasons: untouched
    assert 0.35 < moves[0, 1] / moves[1, 1] < 0.65  # to long-term sickness: halved


# ------------------------------------------------------------------------------------------------ reactivation
def test_reactivation_by_reason_acts_only_on_that_reasons_residents():
    base = GLWModel(**_kw(3))
    scen = GLWModel(levers=[{"kind": "reactivation", "reasons": ["long_term_sick"], "into_search": 2.0,
                             "into_work": 1.5, "start": "2025-07", "cost_per_resident_reached": 100.0}], **_kw(3))
    lts = int(InactivityReason.LONG_TERM_SICK)
    ever = np.zeros(len(base.population), dtype=bool)
    spent = 0.0
    for _ in range(24):
        ever |= (scen.population.reason == lts) | (base.population.reason == lts)
        scen.step()
        base.step()
        spent += scen.records[-1]["lever.reactivation.spending"]
        assert scen.records[-1]["lever.reactivation.spending"] == pytest.approx(
            100.0 * scen.records[-1]["lever.reactivation.reached"])
    ever |= (scen.population.reason == lts) | (base.population.reason == lts)
    reached = scen.levers.reached["reactivation"]
    # residents never long-term sick at a month's start in either run and never reached (with the health process,
    # a resident can become long-term sick within a month and be reached then): exactly the counterfactual's
    # paths (common random numbers)
    untouched = ~ever & ~reached
    assert np.array_equal(scen.population.state[untouched], base.population.state[untouched])
    assert (scen.population.state[ever] != base.population.state[ever]).any()
    assert scen.records[-1]["employed"] > base.records[-1]["employed"]
    assert scen.spending == pytest.approx(spent) and spent > 0
    # it reached long-term sick residents only (some were long-term sick only between a birthday and the month's moves)
    assert 0 < reached.sum() <= 1.05 * ever.sum() and (reached & ever).sum() > 0.95 * reached.sum()


# ------------------------------------------------------------------------------------------------ demand
def test_a_demand_lever_from_the_start_is_labour_demand_growth():
    lever = GLWModel(scale=0.01, seed=3, levers=[{"kind": "demand", "growth_per_year": 0.02, "start": "2025-06",
                                                  "cost_per_year": 1.2e6}])
    plain = GLWModel(scale=0.01, seed=3, labour_demand={"growth_per_year": 0.02})
    lever.run(12)
    plain.run(12)
    assert np.array_equal(lever.population.state, plain.population.state)
    assert lever.spending == pytest.approx(12 * 1.2e6 / 12)


def test_demand_lever_grows_over_its_period_then_holds():
    from glw_sim.levers import Demand, demand_factor
    from glw_sim.months import parse_month

    lv = Demand(kind="demand", change=0.05, growth_per_year=0.02, start="2026-06", end="2028-06")
    start = parse_month("2025-06")
    assert demand_factor([lv], start, 11) == 1.0
    assert demand_factor([lv], start, 12) == pytest.approx(1.05)
    assert demand_factor([lv], start, 24) == pytest.approx(1.05 * 1.02)
    assert demand_factor([lv], start, 60) == pytest.approx(1.05 * 1.02 ** 2)  # held after its end


# ------------------------------------------------------------------------------------------------ attribution
def test_each_lever_gets_its_contribution_and_unpriced_levers_are_marked():
    sc = Scenario.model_validate({
        "name": "l", "horizon": {"start": "2025-06", "months": 6}, "population": {"scale": 0.01, "seed": 3},
        "levers": [{"kind": "retention", "who": {"health": "disabled"}, "cut": 0.2, "start": "2025-07"},
                   {"kind": "reactivation", "into_search": 1.5, "start": "2025-07", "cost_per_year": 1e6}]})
    assert [lab for _, lab in components(sc)] == ["retention", "reactivation"]
    r = simulate(sc, 3, collect_groups=False).records[-1]
    total = r["contribution.retention"] + r["contribution.reactivation"] + r["contribution.interactions"]
    assert total == pytest.approx(r["net_extra_employed"])
    assert r["contribution.retention"] > 0 and r["contribution.reactivation"] > 0
    assert r["lever.retention.unpriced"] == 1.0 and r["lever.reactivation.unpriced"] == 0.0
    assert r["spending_cumulative"] == pytest.approx(1e6 / 12 * 6)


# ------------------------------------------------------------------------------------------------ validation
BASE = "name: t\nhorizon: {start: 2025-06, months: 60}\n"


@pytest.mark.parametrize("lever, expected", [
    ("{kind: retention, cut: 0.1, start: 2031-01}", "levers.0.start: 2031-01 is outside the horizon"),
    ("{kind: retention, cut: 0.1, start: 2025-07, end: 2024-01}", "levers.0: end 2024-01 is before start 2025-07"),
    ("{kind: retentoin, cut: 0.1, start: 2025-07}", "(did you mean 'retention'?)"),
    ("{kind: retention, cut: 0.1, start: 2025-07, cutt: 2}", "levers.0.cutt: unknown key (did you mean 'cut'?)"),
    ("{kind: reactivation, into_search: 2, reasons: [long_term_sik], start: 2025-07}",
     "(did you mean 'long_term_sick'?)"),
    ("{kind: retention, cut: 0.1, to: [unemployment], reasons: [retired], start: 2025-07}",
     "reasons select moves to inactivity"),
    ("{kind: retention, cut: 0.1, start: 2025-07, cost_per_year: 1, cost_per_resident_reached: 1}", "not both"),
    ("{kind: demand, growth_per_year: 0.02, start: 2025-07, who: {health: disabled}}", "levers.0.who: unknown key"),
    ("{kind: retention, cut: 1.5, start: 2025-07}", "levers.0.cut: Input should be less than or equal to 1"),
    ("{kind: retention, cut: 0.1, start: 2025-07, who: {helth: disabled}}", "(did you mean 'health'?)"),
    ("{kind: retention, cut: 0.1, start: 2025-07, who: {health: disabld}}", "(did you mean 'disabled'?)"),
    ("{kind: retention, cut: 0.1, start: 2025-07, name: a.b}", "levers.0.name"),
])
def test_bad_levers_are_refused_in_one_line(tmp_path, lever, expected):
    path = tmp_path / "s.yaml"
    path.write_text(BASE + f"levers:\n  - {lever}\n")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ") and expected in msg, msg


def test_a_good_lever_file_loads(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE + "levers:\n  - {kind: retention, who: {health: disabled}, cut: 0.1, start: 2025-07, "
                    "name: keep-disabled}\n  - {kind: demand, growth_per_year: 0.02, start: 2025-07}\n")
    sc = load_scenario(path)
    assert [x.label for x in sc.levers] == ["keep-disabled", "demand"]


def test_a_demand_levers_jobs_are_not_counted_as_negative_displacement():
    # with a demand lever alone, the twin follows the counterfactual with that lever: it is the scenario itself
    sc = Scenario.model_validate({
        "name": "l", "horizon": {"start": "2025-06", "months": 6}, "population": {"scale": 0.01, "seed": 3},
        "levers": [{"kind": "demand", "change": 0.2, "start": "2025-07"}]})
    r = simulate(sc, 3, collect_groups=False).records[-1]
    assert r["net_extra_employed"] > 0
    assert r["displaced"] == pytest.approx(0.0, abs=1e-6)
    assert r["gross_extra_employed"] == pytest.approx(r["net_extra_employed"])
