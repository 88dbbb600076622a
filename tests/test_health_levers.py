"""The health process's levers: the incidence lever (``levers: [{kind: incidence, ...}]``, fewer residents fall ill)
and the dated trend in onset (``health: {trend: [...]}``, the rise in ill health of 2020-2024)."""

import numpy as np
import pytest

from glw_sim.model import GLWModel
from glw_sim.runner import components, simulate
from glw_sim.scenario import Scenario, ScenarioError, load_scenario
from glw_sim.states import Health, Sex

OFF = {"enabled": False}


def _kw(**over):
    return dict(scale=0.02, seed=5, labour_demand=OFF, collect_groups=False, cache_population=True,
                health_process=True, **over)


def _first_month_onsets(model):
    """After the first month: which residents' health worsened in the health pass (residents with a birthday this
    month are left out: demography may move their health too)."""
    before = model.population.health.copy()
    model.step()
    keep = np.ones(len(before), dtype=bool)
    keep[model._birthdays[model.current_month.month - 1]] = False
    return (model.population.health > before) & keep, before, keep


def test_the_incidence_lever_prevents_its_cut_of_onsets_in_its_group_and_no_others():
    """Same residents, same keyed draws: with the lever, the residents of its group (women) who fall ill are a subset
    of those who do without it, in the share 1 - cut (binomial: within 4 standard errors); men are untouched."""
    cut = 0.5
    base, _, _ = _first_month_onsets(GLWModel(**_kw()))
    model = GLWModel(levers=[{"kind": "incidence", "cut": cut, "who": {"sex": "female"}, "start": "2025-07"}],
                     **_kw())
    scen, _, _ = _first_month_onsets(model)
    women = model.population.sex == Sex.FEMALE
    assert np.array_equal(scen[~women], base[~women])  # men: the same residents fall ill
    assert not (scen & ~base).any()  # nobody falls ill only because of the lever
    n = int(base[women].sum())
    assert n > 200, n  # enough onsets to tell the share
    share = scen[women].sum() / n
    se = np.sqrt(cut * (1 - cut) / n)
    assert abs(share - (1 - cut)) < 4 * se, (share, se, n)


def test_the_trend_multiplies_onset_and_leaves_recovery_alone():
    """A trend of 2 from the first month: about twice the onsets (binomial, 4 standard errors; the rows' cap at 1
    never binds at these rates), the same recoveries (residents whose health improved)."""
    m1 = GLWModel(**_kw())
    before = m1.population.health.copy()
    base, _, keep = _first_month_onsets(m1)
    m1_rec = (m1.population.health < before) & keep
    m2 = GLWModel(health_trend=[{"start": "2025-07", "onset_factor": 2.0}], **_kw())
    scen, _, _ = _first_month_onsets(m2)
    m2_rec = (m2.population.health < before) & keep
    assert np.array_equal(m1_rec, m2_rec)
    assert not (base & ~scen).any()  # every onset without the trend happens with it (the same draws)
    n = int(base.sum())
    ratio = scen.sum() / n
    assert abs(ratio - 2.0) < 4 * np.sqrt(2.0 / n) + 0.02, (ratio, n)
    assert m2.onset_factor() == 2.0 and m1.onset_factor() == 1.0


def test_an_incidence_lever_adds_residents_in_work_and_gets_its_contribution_and_cost():
    """Cutting onset by half for everyone for two years: fewer residents become disabled, more stay in work
    (its contribution is positive); it is priced per resident reached (residents not disabled, once)."""
    sc = Scenario.model_validate({
        "name": "inc", "horizon": {"start": "2025-06", "months": 24}, "population": {"scale": 0.01, "seed": 3},
        "health": {"process": True}, "labour_demand": OFF,
        "levers": [{"kind": "incidence", "cut": 0.5, "start": "2025-07", "cost_per_resident_reached": 10.0},
                   {"kind": "retention", "cut": 0.1, "who": {"health": "disabled"}, "start": "2025-07"}]})
    assert [lab for _, lab in components(sc)] == ["incidence", "retention"]
    r = simulate(sc, 3, collect_groups=False)
    last = r.records[-1]
    assert last["contribution.incidence"] > 0, last["contribution.incidence"]
    total = last["contribution.incidence"] + last["contribution.retention"] + last["contribution.interactions"]
    assert total == pytest.approx(last["net_extra_employed"])
    assert last["lever.incidence.unpriced"] == 0.0
    reached = sum(x["lever.incidence.reached"] for x in r.records)
    spent = sum(x["lever.incidence.spending"] for x in r.records)
    assert spent == pytest.approx(10.0 * reached) and reached > 4e6  # most of London's 6.5m are not disabled


def test_incidence_and_trend_need_the_health_process():
    with pytest.raises(ValueError, match="incidence lever"):
        GLWModel(scale=0.001, seed=1, levers=[{"kind": "incidence", "cut": 0.1, "start": "2025-07"}],
                 health_process=False)
    with pytest.raises(ValueError, match="health_trend"):
        GLWModel(scale=0.001, seed=1, health_trend=[{"start": "2025-07", "onset_factor": 1.5}], health_process=False)


BASE = "name: t\nhorizon: {start: 2025-06, months: 60}\n"


@pytest.mark.parametrize("body, expected", [
    ("health: {process: false}\nlevers:\n  - {kind: incidence, cut: 0.2, start: 2025-07}\n",
     "levers.0: an incidence lever cuts the onset"),
    ("health: {process: true}\nlevers:\n  - {kind: incidence, cut: 0, start: 2025-07}\n",
     "levers.0.cut: Input should be greater than 0"),
    ("health: {process: false, trend: [{start: 2025-07, onset_factor: 1.2}]}\n",
     "health: trend: a trend in onset needs the health"),
    ("health: {process: true, trend: [{start: 2025-07, end: 2026-12, onset_factor: 1.2}, "
     "{start: 2026-06, onset_factor: 1.1}]}\n", "overlap"),
    ("health: {process: true, trend: [{start: 2031-01, onset_factor: 1.2}]}\n", "health.trend.0: 2031-01"),
    ("health: {process: true, trend: [{start: 2025-07, onset_factr: 1.2}]}\n", "health.trend.0.onset_factor: required field is missing"),
    ("health: {process: true, trend: [{start: 2025-07, onset_factor: 9}]}\n", "less than or equal to 5"),
])
def test_bad_health_levers_are_refused_in_one_line(tmp_path, body, expected):
    path = tmp_path / "s.yaml"
    path.write_text(BASE + body)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: ") and expected in msg, msg


def test_disabled_residents_are_not_reached_by_an_incidence_lever():
    m = GLWModel(levers=[{"kind": "incidence", "cut": 0.3, "start": "2025-07"}], **_kw())
    _, before, keep = _first_month_onsets(m)  # (residents with a birthday left out: their health may have moved)
    reached, mult = m.levers.reached["incidence"], m.levers.onset_mult
    disabled = (before == Health.DISABLED) & keep
    assert disabled.sum() > 100 and not reached[disabled].any()
    assert reached[(before != Health.DISABLED) & keep].all()
    assert np.allclose(mult[reached], 0.7) and np.allclose(mult[~reached], 1.0)


def test_the_hindcast_reproduces_londons_rise_in_long_term_sickness_since_2020():
    """scenarios/hindcast-2020.yaml (the fitted trend) from February 2020: the anchor (4.0% in 2020 Q1) plus the
    model's rise is within the issue's +-0.3 points of each later published point (2023 Q3, 4.2%, not fitted to;
    2024, 4.4%, fitted to), at the hindcast's scale with 2 replications (their mean; its noise at this scale is a
    few hundredths of a point). Without the trend the rise is about nothing, so the trend is what does it."""
    from glw_sim import hindcast

    models = hindcast.simulate(0.02, 2)
    rows = hindcast.checks(models)
    assert [r["fitted"] for r in rows] == [False, True]
    for r in rows:
        mean = r["values"].mean()
        assert r["low"] <= mean <= r["high"], (r["check"], mean, r["published"])
    flat = hindcast.simulate(0.02, 2, trend=[])
    assert abs(hindcast.rise(flat, "2024-06").mean()) < 0.15
    assert hindcast.rise(models, "2024-06").mean() > 0.25


@pytest.mark.parametrize("body, expected", [
    ("health: {process: true, trend: [{start: 2026-07, end: 2026-01, onset_factor: 1.2}]}\n",
     "health.trend.0: end 2026-01 is before start 2026-07"),
    ("interventions:\n  - {type: workwell, start: 2026-07, end: 2026-01}\n",
     "interventions.0: end 2026-01 is before start 2026-07"),
    ("integration_hubs:\n  - {areas: {boroughs: [Hackney]}, start: 2026-07, end: 2026-01}\n",
     "integration_hubs.0: end 2026-01 is before start 2026-07"),
])
def test_every_dated_period_is_checked_alike(tmp_path, body, expected):
    """Trend steps, programmes and hubs share one period check (glw_sim.months.Period): an end before its start
    would act never, so it is refused in one line."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE + body)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "\n" not in msg and expected in msg, msg
