"""Answers a director can quote: one cost per job everywhere, the hubs' own contribution, evidence draws, who
gains without movers read as losses, replications on several processes, and the precision a run chooses."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glw_sim import draws as evidence
from glw_sim.workbook import workbook_bytes
from glw_sim.results import console_summary, load_results
from glw_sim.pipeline import run_scenario
from glw_sim.runner import replicate, replication_seeds
from glw_sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _scenario(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\n" + text)
    return load_scenario(p)


def test_cost_per_net_job_is_the_same_number_everywhere(runs, tmp_path, capsys):
    package, _, _ = runs
    h = package.headline()
    cost = h["cost_per_net_extra_job"]["mean"]
    assert np.isfinite(cost) and cost > 0
    # summary.csv (what the console used to print) holds the headline's number
    s = package.summary.set_index(["area", "group", "metric"]).loc[("London", "all", "cost_per_net_extra_job")]
    assert s["mean"] == pytest.approx(cost, rel=1e-5)
    # the console
    assert f"£{cost:,.0f}" in console_summary(package)
    # the workbook
    wb = pd.read_excel(__import__("io").BytesIO(workbook_bytes(package)), sheet_name="Headline")
    at_end = wb[wb["Date"] == package.dates[1]].set_index("Code")
    assert at_end.loc["cost_per_net_extra_job", "Estimate"] == pytest.approx(cost, abs=0.5)  # (whole pounds)
    # the report
    html = (package.folder / "report.html").read_text()
    assert f"£{cost:,.0f}" in html
    # compare
    from glw_sim.compare import comparison_table

    table = comparison_table([package])
    assert table[table["metric"] == "cost_per_net_extra_job"]["mean"].iloc[0] == pytest.approx(cost)


def test_cost_interval_contains_its_estimate_or_is_marked_unbounded(runs):
    package, _, _ = runs
    for key in ("cost_per_net_extra_job", "cost_per_net_extra_employment_year"):
        c = package.headline()[key]
        assert (np.isnan(c["low_95"]) and np.isnan(c["high_95"])) or c["low_95"] <= c["mean"] <= c["high_95"]
    iv = package.interventions()
    for _, r in iv.dropna(subset=["cost_per_net_job_low_95"]).iterrows():
        assert r["cost_per_net_job_low_95"] <= r["cost_per_net_job"] <= r["cost_per_net_job_high_95"]


def test_employment_years_sum_the_monthly_net_gain(runs):
    package, _, _ = runs
    net = package.london("net_extra_employed")
    years = package.employment_years()
    assert years.to_numpy() == pytest.approx(net.loc[1:].sum().to_numpy() / 12.0)
    spend = package.at("spending_cumulative")
    y = package.headline()["cost_per_net_extra_employment_year"]["mean"]
    assert y == pytest.approx(spend.mean() / years.mean(), rel=1e-9)  # no draws with 2 replications: plain means


HUBS = """name: hubs-test
horizon: {months: 6}
population: {scale: 0.003, seed: 5}
replications: 2
interventions:
  - type: connect_to_work
    start: 2025-07
    places_per_year: 60000
    referral_multiplier: 5
integration_hubs:
  - areas: {boroughs: [Newham, Brent]}
    start: 2025-07
    referral_multiplier: 2.5
"""


def test_hubs_get_their_own_contribution_and_cost(tmp_path):
    sc = _scenario(tmp_path, HUBS)
    res = load_results(run_scenario(sc, tmp_path / "results", charts=False).folder)
    assert res.has("contribution.integration_hubs") and res.has("contribution.connect_to_work")
    # the parts and their interactions add up to the net, replication by replication
    total = (res.at("contribution.integration_hubs") + res.at("contribution.connect_to_work")
             + res.at("contribution.interactions"))
    assert total.to_numpy() == pytest.approx(res.at("net_extra_employed").to_numpy())
    iv = res.interventions().set_index("programme")
    # two boroughs for the 6 months from July 2025 (months 1-6) at GBP 500,000 a borough-year
    assert iv.loc["integration_hubs", "spending"] == pytest.approx(2 * 500_000 * 6 / 12, rel=1e-9)
    assert "Integration hubs" in console_summary(res) or "integration hubs" in console_summary(res)


def _fake_evidence(tmp_path, monkeypatch):
    """A calibration folder with a programme evidence file (effect of Connect to Work 0 to 6 pp)."""
    import shutil

    from glw_sim.paths import calibration_dir

    cal = tmp_path / "calibration"
    shutil.copytree(calibration_dir(), cal)
    (cal / "evidence").mkdir(exist_ok=True)
    (cal / "evidence" / "programmes.csv").write_text(
        "type,parameter,central,low,high,distribution,unit,source\n"
        "connect_to_work,effect,0.03,0.0,0.06,triangular,proportion points at 12 months,test\n"
        "connect_to_work,cost_per_start,3670,2500,5000,triangular,GBP,test\n")
    monkeypatch.setenv("GLW_SIM_CALIBRATION", str(cal))
    return cal


def test_each_replication_draws_the_evidence_left_at_defaults(tmp_path, monkeypatch):
    _fake_evidence(tmp_path, monkeypatch)
    sc = _scenario(tmp_path, HUBS)
    inputs = [name for name, _, _ in evidence.drawn_inputs(sc)]
    assert inputs == ["interventions.0.effect", "labour_demand.matching_elasticity", "labour_demand.vacancy_response",
                      "labour_demand.job_finding_cap"]
    a, b = evidence.draw(sc, 1), evidence.draw(sc, 2)
    assert evidence.draw(sc, 1).values == a.values  # keyed on the seed: reproducible
    assert a.values != b.values
    # the drawn effect sets the multiplier: no effect is 1, the central effect the fitted multiplier
    m = {e: evidence.effect_fields("connect_to_work", e)[("effect", "into_work")] for e in (0.0, 0.04)}
    assert m[0.0] == pytest.approx(1.0, abs=0.05)
    from glw_sim.interventions.base import DEFAULTS

    assert m[0.04] > m[0.0] and DEFAULTS["connect_to_work"]["effect"]["into_work"] > 1
    mult = a.scenario.interventions[0].effect.into_work
    assert mult == pytest.approx(evidence.effect_fields("connect_to_work", a.values["interventions.0.effect"])
                                 [("effect", "into_work")])
    # values a scenario sets are the user's: not drawn
    fixed = _scenario(tmp_path, HUBS.replace("referral_multiplier: 5", "referral_multiplier: 5\n    effect: "
                                             "{into_work: 1.5}") + "labour_demand: {vacancy_response: 0.3}\n",
                      "fixed.yaml")
    assert [n for n, _, _ in evidence.drawn_inputs(fixed)] == ["labour_demand.matching_elasticity",
                                                                "labour_demand.job_finding_cap"]
    off = _scenario(tmp_path, HUBS + "uncertainty: {evidence: 'off'}\n", "off.yaml")
    assert evidence.drawn_inputs(off) == []
    # a baseline draws nothing unless asked
    base = _scenario(tmp_path, "name: b\n", "b.yaml")
    assert evidence.drawn_inputs(base) == []
    assert evidence.drawn_inputs(_scenario(tmp_path, "name: b\nuncertainty: {evidence: 'on'}\n", "on.yaml"))


def test_replications_on_two_processes_give_the_same_tables(tmp_path):
    sc = _scenario(tmp_path, HUBS.replace("months: 6", "months: 3"))
    seeds = replication_seeds(sc.population.seed, 2)
    one, d1 = replicate(sc, seeds, workers=1)
    two, d2 = replicate(sc, seeds, workers=2)
    for a, b in zip(one, two):
        pd.testing.assert_frame_equal(a, b)
    assert [d.values for d in d1] == [d.values for d in d2]


SKILLS = """name: skills-test
horizon: {months: 12}
population: {scale: 0.003, seed: 5}
replications: 2
interventions:
  - type: adult_skills
    start: 2025-07
    places_per_year: 200000
    support_months: 3
    referral_multiplier: 5
"""


def test_who_gains_counts_course_movers_apart_from_gains(tmp_path):
    sc = _scenario(tmp_path, SKILLS)
    res = load_results(run_scenario(sc, tmp_path / "results", charts=False).folder)
    ts = res.timeseries
    last = ts[(ts["month"] == res.horizon) & ts["group"].str.startswith("qualification=")]
    moved = last[last["metric"] == "moved_in_work"].groupby("replication")["value"]
    assert moved.sum().abs().max() < 1e-6  # movers leave one group and join another
    assert last[last["metric"] == "moved_in_work"]["value"].abs().max() > 0  # and there are some
    # by the group they would be in without the package, the qualification groups add up to London's net
    net = last[last["metric"] == "net_extra_employed"].groupby("replication")["value"].sum()
    assert net.to_numpy() == pytest.approx(res.at("net_extra_employed").to_numpy(), abs=1e-6)


def test_precision_chooses_a_larger_run_for_a_tighter_target(tmp_path, monkeypatch):
    import glw_sim.precision as P

    monkeypatch.setattr(P, "PILOT_SCALE", 0.002)
    monkeypatch.setattr(P, "SCALE_GRID", (0.002, 0.004, 0.008))
    base = HUBS.replace("months: 6", "months: 4")
    loose = _scenario(tmp_path, base + "precision: {relative: 1.0, absolute: 100000}\n", "loose.yaml")
    c = P.choose(loose)
    assert c.scenario.population.scale == 0.002 and c.scenario.replications == P.min_replications(loose)
    tight = _scenario(tmp_path, base + "precision: {relative: 0.01, absolute: 1, max_scale: 0.008, "
                                       "max_replications: 12}\n", "tight.yaml")
    c = P.choose(tight)
    assert c.scenario.population.scale == 0.008 and c.scenario.replications == 12
    assert set(c.needed) >= {"net_extra_employed", "contribution.connect_to_work", "contribution.integration_hubs"}


def test_too_few_replications_to_separate_the_evidence_say_so_instead_of_zero(runs):
    """The package draws its evidence but has 2 replications, fewer than its drawn inputs need to be told apart
    from noise (glw_sim.uncertainty.usable_inputs): the console says the noise column holds both and prints 'in
    noise' in the evidence column, never an evidence part of ±0; the report's sentence says the same."""
    package, base, _ = runs
    n, k = package.timeseries["replication"].nunique(), len(package.drawn_inputs)
    assert k > 0 and n - k - 1 < 3
    text = console_summary(package)
    assert "cannot tell the evidence's part from the noise's" in text and "in noise" in text
    net = next(line for line in text.splitlines() if line.strip().startswith("Net extra residents in work"))
    assert "in noise" in net and "±0 " not in net
    assert "too few to tell them apart" in (package.folder / "report.html").read_text()
    plain = console_summary(base)  # a baseline draws nothing: its evidence column says so ('-'), not ±0
    assert "noise only" in plain
    emp = next(line for line in plain.splitlines() if line.strip().startswith("Employment rate 16-64"))
    assert emp.rstrip().endswith(" -")
