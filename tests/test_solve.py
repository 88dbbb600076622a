"""glw-sim solve: the search finds a known optimum, resumes without repeating work, reports an unreachable
target's gap, refuses bad solve files in one line before any work, and its best.yaml reproduces its numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import norm

from glw_sim.cli import main
from glw_sim.solve import finished, open_study, outcome_from
from glw_sim.solvefile import SolveError
from glw_sim.solveout import pareto, run_solve

ROOT = Path(__file__).resolve().parents[1]

# two programmes with known linear effects (net extra residents in work per place a year) and costs (GBP per place)
EFFECT = {"workwell": 0.5, "connect_to_work": 0.3}
COST = {"workwell": 3000.0, "connect_to_work": 1200.0}
# the second target: the lowest fifth's mean income after housing costs (GBP a week) per place a year
INCOME = {"workwell": 1e-4, "connect_to_work": 0.0}
SD = 0.1  # the evidence: each draw scales every effect by (1 + SD z)
Z = norm.ppf((np.arange(20) + 0.5) / 20)  # 20 draws of the evidence, the same for every package


# London-like monthly flows (rows: from employed, unemployed, inactive) and the inactive's reasons, for the
# analytic evaluator's stocks and flows (the model's record: quarterly shares, the stocks at the first month)
P_LONDON = np.array([[0.985, 0.006, 0.009], [0.10, 0.83, 0.07], [0.03, 0.03, 0.94]])
STOCKS = [3_700_000.0, 300_000.0, 300_000.0, 300_000.0, 400_000.0]  # E, U, long-term sick, student, family
FLOWS = {"first": 0, "month": 24, "reasons": ["long_term_sick", "student", "family_home"],
         "exit_mult": [0.4, 1.0, 0.9], "stocks": [STOCKS] * 3,
         "quarterly": [np.linalg.matrix_power(P_LONDON, 3).tolist()] * 3, "population": [5e6] * 3}


class Linear:
    """An analytic evaluator through the solve's interface: counts its calls."""

    def __init__(self, flows: dict | None = None):
        self.calls = 0
        self.flows = flows

    def __call__(self, scenario, goal):
        self.calls += 1
        lin = sum(EFFECT[p.label] * p.places_per_year for p in scenario.interventions)
        cost = sum(COST[p.label] * p.places_per_year for p in scenario.interventions)
        net = lin * (1 + SD * Z)
        reps = {"net": net, "cost": np.full(len(Z), cost), "years": net, "peak": np.full(len(Z), cost / 2),
                "margin": net - goal.net_extra_employed}
        if scenario.outputs.income:
            reps["income"] = sum(INCOME[p.label] * p.places_per_year for p in scenario.interventions) * (1 + SD * Z)
        return outcome_from(reps, goal, Z[:, None], ("effect",), flows=self.flows)


def write(tmp_path: Path, target: float = 6000, trials: int = 100, extra: dict | None = None,
          name: str = "lin", income: bool = False) -> Path:
    (tmp_path / "base.yaml").write_text(
        f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: two-programmes\nhorizon: {{months: 24}}\n"
        + ("outputs: {income: true}\n" if income else "")
        + 
        "interventions:\n  - {type: workwell, places_per_year: 5000}\n"
        "  - {type: connect_to_work, places_per_year: 10000}\n")
    solve = {"name": name, "scenario": "base.yaml", "target": {"net_extra_employed": target, "by": "2027-06"},
             "variables": [{"programme": "workwell", "field": "places_per_year", "bounds": [0, 40000]},
                           {"programme": "connect_to_work", "field": "places_per_year", "bounds": [0, 40000]}],
             "search": {"trials": trials, "seed": 1, "scale": 0.01, "replications": 3}}
    for k, v in (extra or {}).items():
        solve[k] = v
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(solve, sort_keys=False))
    return path


def robust_net(places_per_year: float, effect: float) -> float:
    """Net extra reached in 80% of the draws: the normal quantile of (1 + SD z), as the solver computes it."""
    return effect * places_per_year * (1 - norm.ppf(0.8) * SD)


def test_finds_the_known_optimum_within_two_percent_of_cost(tmp_path):
    seen = []
    st = run_solve(write(tmp_path, trials=150), tmp_path / "res", evaluator=Linear(),
                   progress=lambda n, best: seen.append((n, best)))
    rec = json.loads((st.folder / "solution.json").read_text())
    assert [n for n, _ in seen] == list(range(1, 151))  # the progress bar: each package, with the best so far
    assert seen[-1][1]["reached"] and seen[-1][1]["cost"] == rec["outcome"]["cost"]["mean"]
    # the cheaper job is Connect to Work's (GBP 4,000 a job against 6,000): all of the target from it alone
    places = 6000 / robust_net(1, EFFECT["connect_to_work"])
    optimum = places * COST["connect_to_work"]
    assert rec["reached"]
    assert rec["outcome"]["cost"]["mean"] == pytest.approx(optimum, rel=0.02)
    assert rec["chance_of_target"] >= 0.8
    df = pd.read_csv(st.folder / "frontier.csv")
    # the frontier: sorted by cost its net extra only rises, and no package evaluated lies above it
    fr = df[df["on_frontier"]].sort_values("cost")
    assert (np.diff(fr["net_extra_employed"]) > 0).all()
    for r in df.itertuples():
        reach = fr[fr["cost"] <= r.cost]["net_extra_employed"].max()
        assert r.net_extra_employed <= reach
    assert {"set:workwell.places_per_year", "net_low_95", "net_high_95", "cost_low_95"} <= set(df.columns)
    report = (st.folder / "report.md").read_text()
    assert "cheapest package found" in report and "cost per net extra job" in report
    assert (st.folder / "frontier.png").stat().st_size > 1000


def test_pareto_keeps_only_packages_nothing_beats():
    cost = np.array([1.0, 2.0, 3.0, 3.0, 4.0])
    net = np.array([10.0, 5.0, 20.0, 15.0, 20.0])
    assert pareto(cost, net).tolist() == [True, False, True, False, False]


def test_resume_continues_without_repeating_and_asks_what_an_uninterrupted_solve_asks(tmp_path):
    path = write(tmp_path, trials=20)
    first = Linear()
    run_solve(path, tmp_path / "res", trials=8, evaluator=first)
    # a killed solve leaves a trial running: asked again first, as an uninterrupted solve would have asked it
    st = open_study(path, tmp_path / "res")
    from glw_sim.solve import sampler

    st.study.sampler = sampler(st.solve, 8)
    st.study.ask()
    # while a solve holds the study, another is refused (rather than taking its running trial for a dead one)
    with pytest.raises(SolveError, match="already running"):
        open_study(path, tmp_path / "res")
    st.close()
    again = Linear()
    st = run_solve(path, tmp_path / "res", evaluator=again)
    assert first.calls == 8 and again.calls == 12  # the finished 8 are not evaluated again
    straight = run_solve(path, tmp_path / "straight", evaluator=Linear())
    resumed = [t.params for t in finished(st.study)]
    assert resumed == [t.params for t in finished(straight.study)]
    a = pd.read_csv(st.folder / "frontier.csv").drop(columns="trial")
    b = pd.read_csv(straight.folder / "frontier.csv").drop(columns="trial")
    pd.testing.assert_frame_equal(a, b)


def test_unreachable_target_reports_the_most_reached_and_the_gap(tmp_path):
    target = 60_000
    one = [{"programme": "workwell", "field": "places_per_year", "bounds": [0, 40000]}]  # the other stays at 10,000
    path = write(tmp_path, target=target, trials=30, extra={"variables": one})
    st = run_solve(path, tmp_path / "res", evaluator=Linear(FLOWS))
    rec = json.loads((st.folder / "solution.json").read_text())
    most = robust_net(40000, EFFECT["workwell"]) + robust_net(10000, EFFECT["connect_to_work"])
    assert not rec["reached"]
    assert rec["remaining_gap"] >= target - most - 1e-6  # no package within the bounds does better
    assert rec["remaining_gap"] == pytest.approx(target - most, rel=0.05)
    df = pd.read_csv(st.folder / "frontier.csv")
    assert rec["remaining_gap"] == pytest.approx(-df["robust_margin"].max())
    report = (st.folder / "report.md").read_text()
    assert "not reached within the bounds" in report and f"{rec['remaining_gap']:,.0f} residents" in report
    # the gap as flows: net moves into work a month from the programmes' start (2025-06) to the date (2027-06)
    assert rec["months_to_close"] == 24 and f"{rec['remaining_gap'] / 24:,.0f} more net moves into work" in report
    # and as the change in each flow that alone would close it (gap_flows.csv; the arithmetic's own test below)
    flows = pd.read_csv(st.folder / "gap_flows.csv").set_index("flow")
    assert "## The gap as flows" in report and "| unemployed -> employed | 10.00%" in report
    assert flows.loc["unemployed -> employed", "rate_now"] == pytest.approx(0.10, abs=1e-9)  # the cube root's
    into = flows[flows["to"] != "inactive"].query("`from` != 'employed'")
    out = flows[flows["from"] == "employed"]
    ok = flows["closes_alone"]
    assert (into[into["closes_alone"]]["change_needed"] > 0).all()
    assert (out[out["closes_alone"]]["change_needed"] < 0).all()
    # the gap in 80% of the draws lies within the central gap's 95% interval, and so does its change
    both = flows[ok & flows["change_high_95"].notna()]
    assert len(both) >= 5
    assert ((both["change_low_95"] <= both["change_needed"]) & (both["change_needed"] <= both["change_high_95"])).all()


BAD = [
    ({"colour": "red"}, "colour: unknown key"),
    ({"variables": [{"programme": "workwell", "field": "places_per_year", "bounds": [40000, 0]}]},
     "variables.0: Value error, bounds must be [low, high] with low < high"),
    ({"target": {"net_extra_employed": 6000, "by": "2040-06"}}, "target.by: 2040-06 is outside"),
    ({"variables": [{"programme": "restart", "field": "places_per_year", "bounds": [0, 1]}]},
     "variables.0.programme: no programme 'restart'"),
    ({"variables": [{"programme": "workwell", "field": "colour", "bounds": [0, 1]}]},
     "variables.0.field: 'colour' is not a field"),
    ({"variables": [{"programme": "workwell", "field": "referral_multiplier", "bounds": [0, 50]}]},
     "variables.0: at 50"),
    ({"constraints": {"keep": ["workwell"]}}, "variables.0.bounds: workwell must stay"),
    ({"objective": "most_net_extra"}, "needs constraints.budget_per_year"),
    ({"target": {"by": "2027-06"}}, "give employment_rate or net_extra_employed"),
    ({"constraints": {"min_income_change": 1.0}}, "constraints.min_income_change: min_income_change reads the "
     "lowest fifth's income, which the base scenario (base.yaml) does not compute; expected outputs: {income: "
     "true}"),
    ({"objective": "most_income"}, "objective most_income needs constraints.budget_per_year"),
    ({"objective": "most_income", "constraints": {"budget_per_year": 1e7}}, "objective: objective most_income "
     "reads the lowest fifth's income"),
    ({"constraints": {"min_income_change": "lots"}}, "constraints.min_income_change: Input should be a valid"),
]


@pytest.mark.parametrize("change,expected", BAD)
def test_a_bad_solve_file_is_one_line_exit_2_before_any_work(tmp_path, capsys, change, expected):
    path = write(tmp_path, extra=change)
    code = main(["solve", str(path), "--results", str(tmp_path / "res"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("glw-sim: error: ") and str(path) in err
    assert expected.replace("Value error, ", "") in err
    assert not (tmp_path / "res" / "solve").exists()


def test_a_missing_or_broken_solve_file_is_one_line(tmp_path, capsys):
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    for path in (tmp_path / "missing.yaml", tmp_path / "broken.yaml"):
        assert main(["solve", str(path), "--results", str(tmp_path / "res"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err


def test_a_changed_solve_is_refused_rather_than_mixed(tmp_path, capsys):
    path = write(tmp_path, trials=3)
    run_solve(path, tmp_path / "res", evaluator=Linear())
    write(tmp_path, target=7000, trials=3)
    assert main(["solve", str(path), "--results", str(tmp_path / "res"), "--quiet"]) == 2
    assert "started with a different definition" in capsys.readouterr().err


def test_the_model_solve_and_its_best_yaml_agree(tmp_path, capsys):
    """A tiny solve through the model (two programmes, six months, scale 0.005, 3 replications, 2 packages): its
    best.yaml validates, and glw-sim run of it reproduces the solver's net extra and cost within their
    intervals."""
    (tmp_path / "base.yaml").write_text(
        f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: tiny\nhorizon: {{months: 12}}\n"
        "interventions:\n  - {type: connect_to_work, places_per_year: 10000, start: 2025-07}\n"
        "  - {type: youth_guarantee, start: 2025-07}\n")
    solve = {"name": "tiny", "scenario": "base.yaml", "target": {"employment_rate": 0.8, "by": "2025-12"},
             "variables": [{"programme": "connect_to_work", "field": "places_per_year", "bounds": [5000, 40000],
                            "step": 5000},
                           {"programme": "connect_to_work", "field": "referral_multiplier", "bounds": [1, 3]}],
             "search": {"trials": 2, "seed": 3, "scale": 0.005, "replications": 3, "startup_trials": 2}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(solve))
    assert main(["solve", str(tmp_path / "tiny.yaml"), "--results", str(tmp_path / "res"), "--quiet"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "res" / "solve" / "tiny"
    rec = json.loads((folder / "solution.json").read_text())
    assert not rec["reached"] and "gap of" in out  # 80% in six months is out of reach of these programmes
    assert rec["remaining_gap"] > 0
    assert set(rec["contributions"]) == {"connect_to_work", "youth_guarantee"}
    # the gap as flows, from the chosen package's own run: the model's rates are the LFS-calibrated ones (job
    # finding from unemployment of the order of 10% a month, job loss to unemployment well under 2%), and the
    # long-term sick leave inactivity slower than the inactive on average (exit_mult_long_term_sick 0.35)
    flows = pd.read_csv(folder / "gap_flows.csv").set_index("flow")
    r = flows["rate_now"]
    assert 0.03 < r["unemployed -> employed"] < 0.3 and 0 < r["employed -> unemployed"] < 0.02
    assert r["inactive -> employed (long_term_sick)"] < r["inactive -> employed"]
    assert (flows["rate_now_low_95"] <= r).all() and (r <= flows["rate_now_high_95"]).all()
    assert flows.loc["unemployed -> employed", "source"].startswith("measured")
    assert "## The gap as flows" in (folder / "report.md").read_text()
    assert "The flows alone, without residents ageing into and out of 16-64" in (folder / "report.md").read_text()
    assert "fitted so it reaches the run's stocks at the date" in (folder / "report.md").read_text()
    # with the fitted turnover, the chain unchanged reaches the run's own residents in work at the date
    from glw_sim import gapflows as G

    f = rec["outcome"]["flows"]
    x0, x_end = np.mean(f["stocks"], axis=0), np.mean(f["stocks_end"], axis=0)
    K = G.chain(G.monthly(np.mean(f["quarterly"], axis=0)), x0[2:] / x0[2:].sum(), f["exit_mult"])
    n = f["month"] - f["first"]
    assert G.employed_at(K, x0, n, G.turnover_of(K, x0, n, x_end)) == pytest.approx(x_end[0], rel=1e-9)
    assert main(["validate", str(folder / "best.yaml")]) == 0
    assert main(["run", str(folder / "best.yaml"), "--results", str(tmp_path / "runs"), "--quiet"]) == 0
    run = next((tmp_path / "runs" / "tiny-best").iterdir())
    s = pd.read_csv(run / "summary.csv")
    s = s[(s["area"] == "London") & (s["group"] == "all")].set_index("metric")
    for metric, key in (("net_extra_employed", "net"), ("spending_cumulative", "cost")):
        o = rec["outcome"][key]
        half = (o["high_95"] - o["low_95"]) / 2
        assert abs(s.loc[metric, "mean"] - o["mean"]) <= half
        assert s.loc[metric, "low_95"] <= o["mean"] <= s.loc[metric, "high_95"]


def test_most_net_extra_within_a_budget_finds_the_known_optimum(tmp_path):
    # the budget a year is the most spent in any 12 months (the analytic evaluator: half the cost to the date)
    budget = 10e6
    path = write(tmp_path, trials=100, extra={"objective": "most_net_extra",
                                              "constraints": {"budget_per_year": budget}})
    st = run_solve(path, tmp_path / "res", evaluator=Linear())
    rec = json.loads((st.folder / "solution.json").read_text())
    best = robust_net(2 * budget / COST["connect_to_work"], EFFECT["connect_to_work"])  # all on the cheaper job
    assert rec["feasible"] and rec["outcome"]["peak_year_cost"] <= budget
    # within 5%: the budget's edge is found less closely than the target's (3% short at 100 to 150 trials)
    assert rec["robust_margin"] + 6000 == pytest.approx(best, rel=0.05)
    assert rec["robust_margin"] + 6000 <= best + 1e-6  # nothing within the budget does better
    assert "buys the most within the budget" in (st.folder / "report.md").read_text()


def test_nsga2_and_max_places_refuse_packages_without_running_them(tmp_path):
    path = write(tmp_path, trials=12, extra={"constraints": {"max_places": 30000}})
    text = path.read_text().replace("seed: 1", "seed: 1\n  sampler: nsga2")
    path.write_text(text)
    ev = Linear()
    st = run_solve(path, tmp_path / "res", evaluator=ev)
    trials = finished(st.study)
    skipped = [t for t in trials if "skipped" in t.user_attrs]
    assert len(trials) == 12 and ev.calls == 12 - len(skipped) and skipped
    assert all(sum(t.params.values()) > 30000 for t in skipped)
    assert all(sum(t.params.values()) <= 30000 for t in trials if "outcome" in t.user_attrs)


def test_the_shipped_solve_file_is_valid():
    from glw_sim.solvefile import load_solve

    solve, scen = load_solve(ROOT / "solves" / "route-to-80.yaml")
    assert solve.target.employment_rate == 0.8 and solve.target.by == "2030-06"
    kinds = {("programme" if v.programme else "lever" if v.lever else "hubs") for v in solve.variables}
    assert kinds == {"programme", "lever", "hubs"}


KILLED = """
import sys, time
sys.path.insert(0, {tests!r})
from test_solve import Linear
from glw_sim.solveout import run_solve

class Slow(Linear):
    def __call__(self, scenario, goal):
        out = super().__call__(scenario, goal)
        open({marker!r}, "a").write("x")
        time.sleep(0.4)
        return out

run_solve({path!r}, {res!r}, evaluator=Slow())
"""


def test_a_solve_killed_with_sigkill_resumes_where_it_stopped(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    path = write(tmp_path, trials=14)
    marker = tmp_path / "evaluated"
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(tests=str(ROOT / "tests"), marker=str(marker), path=str(path),
                                    res=str(tmp_path / "res")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    deadline = time.time() + 120
    while time.time() < deadline and (not marker.exists() or len(marker.read_text()) < 5):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    held = open_study(path, tmp_path / "res")  # the kernel dropped the killed solve's lock
    done = len(finished(held.study))
    held.close()
    assert 4 <= done < 14
    again = Linear()
    st = run_solve(path, tmp_path / "res", evaluator=again)
    assert again.calls == 14 - done  # nothing finished is evaluated again
    straight = run_solve(path, tmp_path / "straight", evaluator=Linear())
    assert [t.params for t in finished(st.study)] == [t.params for t in finished(straight.study)]


def test_the_scenarios_precision_chooses_every_evaluations_scale_once(tmp_path, monkeypatch):
    """Without search.scale and replications, the base scenario's precision: block chooses them once (a pilot
    through the model), stored in solve.json: a resumed solve reads them back and runs no pilot."""
    import glw_sim.precision as precision

    path = write(tmp_path, trials=3, extra={"search": {"trials": 3, "seed": 1},  # (a pilot of three months)
                                            "target": {"net_extra_employed": 6000, "by": "2025-09"}})
    base = tmp_path / "base.yaml"
    base.write_text(base.read_text().replace("horizon: {months: 24}", "horizon: {months: 24}\nprecision: "
                                             "{relative: 0.5, absolute: 5000, max_scale: 0.005, "
                                             "max_replications: 4}"))
    calls = []
    real = precision.choose
    monkeypatch.setattr(precision, "choose", lambda *a, **k: calls.append(1) or real(*a, **k))
    st = run_solve(path, tmp_path / "res", evaluator=Linear())
    assert calls == [1] and st.settings["chosen"]
    assert st.settings["scale"] == 0.005 and 2 <= st.settings["replications"] <= 4
    assert json.loads((st.folder / "solve.json").read_text())["settings"] == st.settings
    run_solve(path, tmp_path / "res", trials=5, evaluator=Linear())
    assert calls == [1]
    best = yaml.safe_load((st.folder / "best.yaml").read_text())
    assert best["population"]["scale"] == 0.005 and best["precision"] is None


def test_gap_flows_match_a_hand_worked_markov_chain():
    """Two states in effect (nobody unemployed): employed leave for inactivity at s = 2% a month, inactive find
    work at f = 10%; 1,000 residents at the stationary share e* = f / (f + s) = 83.33%; a gap of 10 residents.
    By hand: in the long run, f' = (e* + 0.01) s / (1 - e* - 0.01) = 0.843333 x 0.02 / 0.156667 = 0.107660
    (+0.7660 pp), or s' = f (1 - e') / e' = 0.1 x 0.156667 / 0.843333 = 0.018577 (-0.1423 pp); by month n,
    e_n = e*' + (e0 - e*') (1 - f' - s)^n, which the exact change must satisfy."""
    from glw_sim import gapflows as G

    s, f, n, N = 0.02, 0.10, 24, 1000.0
    P = np.array([[1 - s, 0.0, s], [0.5, 0.5, 0.0], [f, 0.0, 1 - f]])  # (the unemployed row: nobody there)
    e0 = f / (f + s)
    stocks = [N * e0, 0.0, N * (1 - e0) * 0.25, N * (1 - e0) * 0.75]  # two reasons, the same multiplier
    rec = {"first": 0, "month": n, "reasons": ["long_term_sick", "other"], "exit_mult": [0.5, 0.5],
           "stocks": [stocks] * 2, "quarterly": [np.linalg.matrix_power(P, 3).tolist()] * 2, "population": [N] * 2}
    df = G.decompose(rec, 10.0, 5.0, 15.0).set_index("flow")
    ie, ei = df.loc["inactive -> employed"], df.loc["employed -> inactive"]
    assert ie["rate_now"] == pytest.approx(f, abs=1e-9) and ei["rate_now"] == pytest.approx(s, abs=1e-9)
    assert ie["steady_state_change"] == pytest.approx(0.107660 - f, abs=1e-6)
    assert ei["steady_state_change"] == pytest.approx(0.018577 - s, abs=1e-6)

    def e_n(f_, s_):
        star = f_ / (f_ + s_)
        return star + (e0 - star) * (1 - f_ - s_) ** n

    # the exact change closes the gap in the closed form to a millionth of a resident
    assert N * (e_n(f + ie["change_needed"], s) - e0) == pytest.approx(10.0, abs=1e-6)
    assert N * (e_n(f, s + ei["change_needed"]) - e0) == pytest.approx(10.0, abs=1e-6)
    # the gap's interval gives the change's, in order; by 24 months the chain is not yet at its long run, so
    # more is needed than in the long run; the linearisation is within 10% of exact for a gap of 1% of residents
    assert ie["change_low_95"] < ie["change_needed"] < ie["change_high_95"]
    assert ei["change_low_95"] < ei["change_needed"] < ei["change_high_95"] < 0
    assert ie["change_needed"] > ie["steady_state_change"]
    assert ie["linearised_change"] == pytest.approx(ie["change_needed"], rel=0.1)
    assert ie["extra_moves_per_month"] == pytest.approx(ie["change_needed"] * N * (1 - e0), rel=0.02)
    # one reason alone (a quarter of the inactive) needs at least four times the rate change of them all: four
    # times in the first month, more after, as its own stock empties faster than the whole
    lts = df.loc["inactive -> employed (long_term_sick)"]
    assert 4 * ie["change_needed"] < lts["change_needed"] < 6 * ie["change_needed"]
    # nobody unemployed: a flow out of unemployment cannot close anything; unemployment's inflow is zero to cut
    assert not df.loc["employed -> unemployed", "closes_alone"]
    assert np.isnan(df.loc["employed -> unemployed", "change_needed"])
    # a gap too large for a flow: it says so, with the most it could close
    big = G.decompose(rec, 300.0, 300.0, 300.0).set_index("flow").loc["employed -> inactive"]
    assert not big["closes_alone"] and 0 < big["most_it_closes"] < 300  # (at most the 167 not in work)


def test_the_chain_by_reason_keeps_each_reasons_stock_in_balance():
    """At the three-state chain's stationary stocks, every reason's stock is stationary too (inflow in
    proportion to share x exit multiplier, outflow at the inactive's rate x multiplier / its mean), and the
    aggregate's rates are the three-state chain's."""
    from glw_sim import gapflows as G

    shares, mult = np.array([0.3, 0.3, 0.4]), np.array([0.4, 1.0, 0.9])
    K = G.chain(P_LONDON, shares, mult)
    assert np.allclose(K.sum(axis=1), 1.0) and (K >= 0).all()
    pi = G.stationary(P_LONDON)
    x = np.concatenate([pi[:2], pi[2] * shares])
    assert np.allclose(x @ K, x, atol=1e-12)
    assert G._rate(K, x, [(2 + r, 0) for r in range(3)]) == pytest.approx(P_LONDON[2, 0])
    assert G.monthly(np.linalg.matrix_power(P_LONDON, 3)) == pytest.approx(P_LONDON, abs=1e-12)
    # from the stationary stocks, the chain's own employment rate at the date is the stationary share
    rec = {"first": 0, "month": 24, "reasons": ["a", "b", "c"], "exit_mult": mult.tolist(),
           "stocks": [x.tolist()] * 2, "quarterly": [np.linalg.matrix_power(P_LONDON, 3).tolist()] * 2}
    assert G.projected_rate(rec) == pytest.approx(pi[0], abs=1e-9)


def test_a_solve_on_a_dask_localcluster_gives_the_local_frontier(tmp_path):
    """The same solve (scale 0.002, 2 replications, 2 packages, six months) run in this process and with its
    replications on a Dask LocalCluster (one worker process): the same seeds give the same packages and the
    same figures, to the last digit (each replication is seeded; the cluster changes where it runs, not what)."""
    from glw_sim.solve import ModelEvaluator

    (tmp_path / "base.yaml").write_text(
        f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: dask-tiny\nhorizon: {{months: 6}}\n"
        "interventions:\n  - {type: connect_to_work, places_per_year: 10000, start: 2025-07}\n")
    solve = {"name": "dask-tiny", "scenario": "base.yaml", "target": {"net_extra_employed": 100000, "by": "2025-12"},
             "variables": [{"programme": "connect_to_work", "field": "places_per_year", "bounds": [5000, 40000],
                            "step": 5000}],
             "search": {"trials": 2, "seed": 5, "scale": 0.002, "replications": 2, "startup_trials": 2}}
    path = tmp_path / "dask-tiny.yaml"
    path.write_text(yaml.safe_dump(solve))
    here = run_solve(path, tmp_path / "here")
    dask = ModelEvaluator(1, "local")
    try:
        there = run_solve(path, tmp_path / "dask", evaluator=dask)
        assert dask._client is not None and len(dask._client.scheduler_info()["workers"]) == 1  # (it ran there)
    finally:
        dask.close()
    a, b = finished(here.study), finished(there.study)
    assert len(a) == len(b) == 2 and [t.params for t in a] == [t.params for t in b]
    assert [t.user_attrs["outcome"]["reps"] for t in a] == [t.user_attrs["outcome"]["reps"] for t in b]
    fa = pd.read_csv(here.folder / "frontier.csv")
    fb = pd.read_csv(there.folder / "frontier.csv")
    pd.testing.assert_frame_equal(fa, fb)
    assert fa["net_extra_employed"].notna().all() and (fa["cost"] > 0).all()


def robust_income(workwell_places: float) -> float:
    """The lowest fifth's income change reached in 80% of the draws (the same draws scale it as the effects)."""
    return INCOME["workwell"] * workwell_places * (1 - norm.ppf(0.8) * SD)


def test_the_second_target_as_a_constraint_moves_the_optimum_to_where_both_bind(tmp_path):
    """Least cost to 6,000 net extra in work with the lowest fifth's income up at least GBP 1 a week: Connect to
    Work is the cheaper job but raises no income in this problem, WorkWell both; the optimum takes just enough
    WorkWell for the income and the rest of the target from Connect to Work (both constraints bind)."""
    path = write(tmp_path, trials=200, income=True, extra={"constraints": {"min_income_change": 1.0}})
    st = run_solve(path, tmp_path / "res", evaluator=Linear())
    rec = json.loads((st.folder / "solution.json").read_text())
    w = 1.0 / robust_income(1)  # WorkWell places for GBP 1 a week in 80% of the draws
    c = (6000 - robust_net(w, EFFECT["workwell"])) / robust_net(1, EFFECT["connect_to_work"])
    optimum = w * COST["workwell"] + c * COST["connect_to_work"]  # GBP 37.1m, against 26.2m without the income
    assert rec["reached"] and rec["outcome"]["income_robust"] >= 1.0 - 1e-9
    # within 3%: two constraints bind, found less closely than one (2% in the test of the first target alone)
    assert rec["outcome"]["cost"]["mean"] == pytest.approx(optimum, rel=0.03)
    assert rec["outcome"]["cost"]["mean"] >= optimum * (1 - 1e-6)  # nothing meeting both costs less
    df = pd.read_csv(st.folder / "frontier.csv")
    assert {"income_change", "income_low_95", "income_high_95", "income_robust"} <= set(df.columns)
    assert not df[df["feasible"]]["income_robust"].lt(1.0 - 1e-9).any()
    report = (st.folder / "report.md").read_text()
    assert "at least £1.00 a week" in report and "lowest fifth's mean income after housing costs" in report


def test_most_income_within_a_budget_spends_it_all_on_the_programme_that_raises_it(tmp_path):
    budget = 10e6
    path = write(tmp_path, trials=150, income=True, extra={"objective": "most_income",
                                                         "constraints": {"budget_per_year": budget}})
    st = run_solve(path, tmp_path / "res", evaluator=Linear())
    rec = json.loads((st.folder / "solution.json").read_text())
    best = robust_income(2 * budget / COST["workwell"])  # the budget a year is half the cost to the date
    assert rec["feasible"] and rec["outcome"]["peak_year_cost"] <= budget
    # within 5% at 150 trials (as most_net_extra's test: the budget's edge is found less closely; 100 trials: 5.1%)
    assert rec["outcome"]["income_robust"] == pytest.approx(best, rel=0.05)
    assert rec["outcome"]["income_robust"] <= best + 1e-9
    assert "raises the lowest fifth's income most" in (st.folder / "report.md").read_text()


def test_the_second_target_needs_a_reported_year_by_the_date(tmp_path, capsys):
    path = write(tmp_path, income=True, extra={"constraints": {"min_income_change": 1.0},
                                               "target": {"net_extra_employed": 6000, "by": "2026-03"}})
    assert main(["solve", str(path), "--results", str(tmp_path / "res"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err
    assert "target.by: 2026-03 is before the lowest fifth's income is first reported (2026-06" in err


def test_the_model_solve_reads_the_second_target_at_the_last_reported_year(tmp_path):
    """Through the model (outputs.income on; scale 0.002, 2 replications, one package, to June 2026): the lowest
    fifth's income change is read at month 12, the first reported year, with its interval, into frontier.csv
    and the report; a minimum far below any change (GBP -1,000 a week) is met."""
    (tmp_path / "base.yaml").write_text(
        f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: inc-tiny\nhorizon: {{months: 12}}\n"
        "outputs: {income: true}\n"
        "interventions:\n  - {type: connect_to_work, places_per_year: 10000, start: 2025-07}\n")
    solve = {"name": "inc-tiny", "scenario": "base.yaml", "target": {"net_extra_employed": 100000, "by": "2026-06"},
             "constraints": {"min_income_change": -1000},
             "variables": [{"programme": "connect_to_work", "field": "places_per_year", "bounds": [5000, 40000],
                            "step": 5000}],
             "search": {"trials": 1, "seed": 5, "scale": 0.002, "replications": 2, "startup_trials": 1}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(solve))
    st = run_solve(tmp_path / "s.yaml", tmp_path / "res")
    o = json.loads((st.folder / "solution.json").read_text())["outcome"]
    inc = o["income"]
    assert o["income_month"] == 12 and np.isfinite([inc["mean"], inc["low_95"], inc["high_95"]]).all()
    assert inc["low_95"] <= inc["mean"] <= inc["high_95"] and o["income_robust"] > -1000
    assert finished(st.study)[0].user_attrs["constraints"][1] <= 0  # (target, income, budget): income met
    df = pd.read_csv(st.folder / "frontier.csv")
    assert df.loc[0, "income_change"] == pytest.approx(inc["mean"])
    assert "lowest fifth's mean income after housing costs" in (st.folder / "report.md").read_text()


def test_gap_flows_with_turnover_match_a_hand_worked_chain():
    """The two-state chain of the hand-worked test with residents also leaving work for good at 1 a month and
    as many entering inactivity (ageing: a constant turnover v = (-1, 0, +1)): E(t+1) = E(t)(1 - s - f) + N f - 1,
    so E* = (N f - 1) / (s + f) and E_n = E* + (E0 - E*)(1 - s - f)^n. The turnover fitted from the run's end
    stocks is v, the chain with it reaches them, and the change that closes the gap satisfies the closed form."""
    from glw_sim import gapflows as G

    s, f, n, N, v = 0.02, 0.10, 24, 1000.0, 1.0
    P = np.array([[1 - s, 0.0, s], [0.5, 0.5, 0.0], [f, 0.0, 1 - f]])
    e0 = f / (f + s)
    x0 = np.array([N * e0, 0.0, N * (1 - e0) * 0.25, N * (1 - e0) * 0.75])
    K = G.chain(P, [0.25, 0.75], [0.5, 0.5])
    turn = np.array([-v, 0.0, 0.25 * v, 0.75 * v])
    x = x0.copy()
    for _ in range(n):
        x = x @ K + turn
    assert G.turnover_of(K, x0, n, x) == pytest.approx(turn, abs=1e-9)
    star = (N * f - v) / (s + f)
    assert x[0] == pytest.approx(star + (N * e0 - star) * (1 - s - f) ** n, rel=1e-12)  # (the closed form)
    rec = {"first": 0, "month": n, "reasons": ["long_term_sick", "other"], "exit_mult": [0.5, 0.5],
           "stocks": [x0.tolist()] * 2, "stocks_end": [x.tolist()] * 2,
           "quarterly": [np.linalg.matrix_power(P, 3).tolist()] * 2}
    ie = G.decompose(rec, 10.0, 5.0, 15.0).set_index("flow").loc["inactive -> employed"]

    def e_n(f_):
        st = (N * f_ - v) / (s + f_)
        return st + (N * e0 - st) * (1 - s - f_) ** n

    assert e_n(f + ie["change_needed"]) - e_n(f) == pytest.approx(10.0, abs=1e-6)
    # in the long run: (N f' - 1) / (s + f') = E* + 10, so f' = (s (E* + 10) + 1) / (N - E* - 10)
    f_long = (s * (star + 10) + v) / (N - star - 10)
    assert ie["steady_state_change"] == pytest.approx(f_long - f, abs=1e-9)
    # the flows alone (no turnover) overstate the path: the check the report prints
    assert G.projected_rate(rec) > x[0] / x.sum()


# ----------------------------------------------------------------------------- the staged search

class Noisy(Linear):
    """The analytic problem with simulation noise that shrinks with scale x replications, as the model's: each
    replication r adds NOISE / sqrt(scale) x e_r to the net extra, e_r the same in every package (common random
    numbers); replication r's draw of the evidence is the r-th of R quantiles. Records each call's precision."""

    NOISE = 20.0

    def __init__(self):
        super().__init__()
        self.precisions = []

    def __call__(self, scenario, goal):
        self.calls += 1
        scale, R = scenario.population.scale, scenario.replications
        self.precisions.append((scale, R))
        z = norm.ppf((np.arange(R) + 0.5) / R)
        e = np.random.default_rng(7).standard_normal(R)
        lin = sum(EFFECT[p.label] * p.places_per_year for p in scenario.interventions)
        cost = sum(COST[p.label] * p.places_per_year for p in scenario.interventions)
        net = lin * (1 + SD * z) + self.NOISE / np.sqrt(scale) * e
        reps = {"net": net, "cost": np.full(R, cost), "years": net, "peak": np.full(R, cost / 2),
                "margin": net - goal.net_extra_employed}
        fit = R >= 10  # (enough replications to separate the evidence from the noise)
        return outcome_from(reps, goal, z[:, None] if fit else None, ("effect",) if fit else ())


STAGED = {"trials": 150, "seed": 1, "scale": 0.02, "replications": 28,
          "coarse": {"scale": 0.005, "replications": 3}, "refine": 6}


def test_the_staged_search_finds_the_known_optimum_at_the_default_precision(tmp_path):
    """150 packages at the coarse precision (scale 0.005 x 3: noise of about 280 residents a replication), the 6
    most promising again at the default one (0.02 x 28): the chosen package is within 2% of the optimum's cost,
    and its figures and chance are the default precision's."""
    seen = []
    ev = Noisy()
    st = run_solve(write(tmp_path, trials=150, extra={"search": STAGED}), tmp_path / "res", evaluator=ev,
                   progress=lambda n, best: seen.append((n, best)))
    assert ev.precisions.count((0.005, 3)) == 150 and ev.precisions[150:] == [(0.02, 28)] * 6
    assert [n for n, _ in seen] == list(range(1, 157))  # the progress bar counts both stages
    rec = json.loads((st.folder / "solution.json").read_text())
    places = 6000 / robust_net(1, EFFECT["connect_to_work"])
    assert rec["reached"] and rec["stage"] == "fine" and rec["refined"] == 6
    assert rec["outcome"]["cost"]["mean"] == pytest.approx(places * COST["connect_to_work"], rel=0.02)
    df = pd.read_csv(st.folder / "frontier.csv")
    assert (df["stage"] == "fine").sum() == 6 and (df["stage"] == "coarse").sum() == 144
    fine = df[df["stage"] == "fine"]
    assert (fine["replications"] == 28).all() and (df[df["stage"] == "coarse"]["scale"] == 0.005).all()
    row = df[df["trial"] == rec["trial"]].iloc[0]
    assert row["stage"] == "fine" and row["chance_of_target"] == pytest.approx(rec["chance_of_target"])
    # the coarse rows are not compared with the chosen package (other seeds and precision): left empty
    assert df[df["stage"] == "coarse"]["within_noise_of_chosen"].isna().all()
    best = yaml.safe_load((st.folder / "best.yaml").read_text())
    assert best["population"]["scale"] == 0.02 and best["replications"] == 28
    report = (st.folder / "report.md").read_text()
    assert "in two stages" in report and "the default precision's" in report


def test_the_second_stage_brackets_the_cheapest_reaching_package_on_the_coarse_ladder(tmp_path):
    """The second stage bisects the coarse ladder (cost against the margin reached): the package chosen is
    re-evaluated reaching the target, the ladder's next cheaper one re-evaluated missing it, and the ladder is
    the coarse frontier (each rung reaches more than every cheaper package)."""
    from glw_sim.solve import evaluations, rank_key, refined
    from glw_sim.solvestages import ladder

    path = write(tmp_path, trials=60, extra={"search": {**STAGED, "trials": 60, "refine": 8}})
    st = run_solve(path, tmp_path / "res", evaluator=Noisy())
    done = sorted(evaluations(st, "coarse"), key=lambda t: rank_key(t, st.solve))
    lad = ladder(done, st.solve)
    margins = [t.user_attrs["outcome"]["robust_margin"] for t in lad]
    costs = [t.user_attrs["outcome"]["cost"]["mean"] for t in lad]
    assert (np.diff(margins) > 0).all() and (np.diff(costs) >= 0).all()
    fine = refined(st)
    assert len(fine) == 8
    rec = json.loads((st.folder / "solution.json").read_text())
    assert rec["reached"] and rec["stage"] == "fine"
    numbers = [t.number for t in lad]
    reached = [i for i, t in enumerate(lad) if t.number in fine and fine[t.number]["constraints"][0] <= 0]
    missed = [i for i, t in enumerate(lad) if t.number in fine and fine[t.number]["constraints"][0] > 0]
    assert reached and max(missed, default=-1) < min(reached) and min(reached) - max(missed, default=-1) == 1
    # the chosen package is the cheapest re-evaluated one that reaches (on the ladder or off it)
    ok = [k for k, v in fine.items() if all(c <= 0 for c in v["constraints"])]
    assert rec["trial"] == min(ok, key=lambda k: fine[k]["outcome"]["cost"]["mean"])
    assert numbers[min(reached)] in ok
    st.close()


def test_a_staged_solve_of_an_unreachable_target_reports_the_most_reached_at_the_default_precision(tmp_path):
    target = 60_000
    one = [{"programme": "workwell", "field": "places_per_year", "bounds": [0, 40000]}]
    path = write(tmp_path, target=target, trials=40, extra={"variables": one,
                                                            "search": {**STAGED, "trials": 40, "refine": 6}})
    st = run_solve(path, tmp_path / "res", evaluator=Noisy())
    rec = json.loads((st.folder / "solution.json").read_text())
    most = robust_net(40000, EFFECT["workwell"]) + robust_net(10000, EFFECT["connect_to_work"])
    assert not rec["reached"] and rec["stage"] == "fine"
    assert rec["remaining_gap"] == pytest.approx(target - most, rel=0.05)
    df = pd.read_csv(st.folder / "frontier.csv")
    fine = df[df["stage"] == "fine"]
    # the gap is the most reached among the re-evaluated packages (the default precision's), not a coarse row's
    assert len(fine) == 6 and rec["remaining_gap"] == pytest.approx(-fine["robust_margin"].max())


@pytest.mark.parametrize("stage,kill_after", [("coarse", 5), ("fine", 14 + 3)])
def test_a_staged_solve_killed_with_sigkill_resumes_either_stage(tmp_path, stage, kill_after):
    """Killed with SIGKILL in the coarse stage, or in the second after two re-evaluations were stored: run
    again, it evaluates only what was not finished (coarse packages in the study, re-evaluations in
    refine.json) and ends on the frontier an uninterrupted staged solve with the same seed ends on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = write(tmp_path, trials=14, extra={"search": {**STAGED, "trials": 14, "refine": 4}})
    marker = tmp_path / "evaluated"
    script = tmp_path / "killed.py"
    script.write_text(KILLED.replace("Linear", "Noisy").format(tests=str(ROOT / "tests"), marker=str(marker),
                                                              path=str(path), res=str(tmp_path / "res")))
    proc = subprocess.Popen([sys.executable, str(script)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 120
    while time.time() < deadline and (not marker.exists() or len(marker.read_text()) < kill_after):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    held = open_study(path, tmp_path / "res")
    done = len(finished(held.study))
    refine = held.folder / "refine.json"
    fine = len(json.loads(refine.read_text())["evaluations"]) if refine.exists() else 0
    held.close()
    if stage == "coarse":
        assert 4 <= done < 14 and fine == 0
    else:
        assert done == 14 and 2 <= fine < 4
    again = Noisy()
    st = run_solve(path, tmp_path / "res", evaluator=again)
    assert again.precisions == [(0.005, 3)] * (14 - done) + [(0.02, 28)] * (4 - fine)  # nothing finished again
    straight = run_solve(path, tmp_path / "straight", evaluator=Noisy())
    assert [t.params for t in finished(st.study)] == [t.params for t in finished(straight.study)]
    # (a trial the kill left running is asked again under a new number: the rows compared without it)
    a = pd.read_csv(st.folder / "frontier.csv").drop(columns="trial")
    b = pd.read_csv(straight.folder / "frontier.csv").drop(columns="trial")
    pd.testing.assert_frame_equal(a, b)
    assert (a["stage"] == "fine").sum() == 4
    ra, rb = (json.loads((x.folder / "solution.json").read_text()) for x in (st, straight))
    assert ra["values"] == rb["values"] and ra["outcome"] == rb["outcome"]


STAGED_BAD = [
    ({"search": {"trials": 5, "refine": 3}}, "search: Value error, refine re-evaluates the coarse stage's"),
    ({"search": {"trials": 5, "scale": 0.01, "replications": 3, "coarse": {"scale": 0.02, "replications": 3}}},
     "must be cheaper than the default precision"),
    ({"search": {"trials": 5, "coarse": {"scale": 0.005}}}, "search.coarse.replications: required field is missing"),
    ({"search": {"trials": 5, "coarse": {"scale": 0.005, "replications": 1}}}, "search.coarse.replications"),
    ({"search": {"trials": 5, "coarse": {"scale": 0.005, "replications": 3, "colour": 1}}},
     "search.coarse.colour"),
]


@pytest.mark.parametrize("change,expected", STAGED_BAD)
def test_a_bad_staged_search_is_one_line_exit_2_before_any_work(tmp_path, capsys, change, expected):
    test_a_bad_solve_file_is_one_line_exit_2_before_any_work(tmp_path, capsys, change, expected)


def test_the_evaluators_own_pool_gives_the_figures_of_a_pool_per_package(tmp_path):
    """ModelEvaluator(2) keeps one process pool for every package (workers start, and keep their population,
    once): two packages on it give the replications' figures of replicate()'s pool started per package."""
    from glw_sim.runner import replicate, replication_seeds
    from glw_sim.scenario import Scenario
    from glw_sim.solve import Goal, ModelEvaluator, results_outcome

    base = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
    goal = Goal(6, None, 1000.0, 0.8)
    ev = ModelEvaluator(2)
    try:
        for places in (5000, 20000):
            data = {**base, "name": "pool", "horizon": {**base.get("horizon", {}), "months": 6},
                    "population": {**base.get("population", {}), "scale": 0.002}, "replications": 2,
                    "precision": None,
                    "interventions": [{"type": "connect_to_work", "places_per_year": places, "start": "2025-07"}]}
            sc = Scenario.model_validate(data)
            mine = ev(sc, goal)
            from glw_sim.precision import _results

            parts, drawn = replicate(sc, replication_seeds(sc.population.seed, 2), workers=2)
            theirs = results_outcome(_results(sc, parts, drawn), goal)
            assert mine.reps == theirs.reps and mine.net == theirs.net
        assert ev._pool is not None
    finally:
        ev.close()
    assert ev._pool is None
