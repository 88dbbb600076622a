"""The plan's dates: a run reports its figures at 2030-06 (and the scenario's milestones) beside the horizon, in
summary.csv and the report, and compare sets runs of different lengths side by side on the same date."""

import re
from pathlib import Path

import pandas as pd
import pytest

from glw_sim.cli import main
from glw_sim.pipeline import run_scenario
from glw_sim.compare import write_comparison
from glw_sim.results import load_results
from glw_sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def long_runs(tmp_path_factory):
    """The baseline to 2030-06 (60 months, listing 2028-06 too) and to 2035-06 (the default 120), tiny."""
    d = tmp_path_factory.mktemp("milestones")
    out = {}
    for months, extra in ((60, {"milestones": ["2028-06"]}), (120, {})):
        sc = load_scenario(SCENARIOS / "baseline.yaml", {"name": f"base-{months}", "horizon": {"months": months},
                                                         "population": {"scale": 0.002, "seed": 5},
                                                         "replications": 2, **extra})
        out[months] = load_results(run_scenario(sc, d / "results").folder)
    return out, d


def test_a_default_run_reports_2030_06_beside_the_horizon(long_runs):
    runs, _ = long_runs
    res = runs[120]
    assert res.dates[1] == "2035-06" and res.milestones() == [(60, "2030-06")]
    s = pd.read_csv(res.folder / "summary.csv")
    assert {"date", "mean_2030-06", "low_95_2030-06", "high_95_2030-06"} <= set(s.columns)
    row = s[(s["area"] == "London") & (s["group"] == "all") & (s["metric"] == "employment_rate")].iloc[0]
    f = res.figure("employment_rate", 60)  # the same fit as at the horizon, at month 60
    assert row["date"] == "2035-06"
    assert row["mean_2030-06"] == pytest.approx(f.estimate, rel=1e-5)
    assert row["low_95_2030-06"] == pytest.approx(f.low, rel=1e-5)
    assert row["mean"] == pytest.approx(res.figure("employment_rate").estimate, rel=1e-5)
    html = (res.folder / "report.html").read_text()
    head = re.search(r'<table id="outcomes"><tr>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<th class="n">([^<]+)</th>', head) == ["2025-06", "2030-06", "2035-06", "95% interval"]
    assert f"{100 * f.estimate:.1f}%" in html
    assert 'id="headline-dates"' in html
    # and the listed milestones with the plan's date, where the run ends at 2030-06
    short = runs[60]
    assert short.milestones() == [(36, "2028-06"), (60, "2030-06")]
    assert {"mean_2028-06", "mean_2030-06"} <= set(pd.read_csv(short.folder / "summary.csv").columns)


def test_compare_aligns_a_60_and_a_120_month_run_at_2030_06(long_runs, tmp_path):
    runs, _ = long_runs
    a, b = runs[60], runs[120]
    out = write_comparison([a.folder, b.folder], tmp_path / "cmp")
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    at = table[(table["at"] == "2030-06") & (table["metric"] == "employment_rate")].set_index("run")
    assert set(at["date"]) == {"2030-06"} and sorted(at["month"]) == [60, 60]
    assert at.loc[f"base-120 ({b.run_id})", "mean"] == pytest.approx(b.figure("employment_rate", 60).estimate)
    assert at.loc[f"base-60 ({a.run_id})", "mean"] == pytest.approx(a.figure("employment_rate").estimate)
    hz = table[(table["at"] == "horizon") & (table["metric"] == "employment_rate")].set_index("run")
    assert hz.loc[f"base-120 ({b.run_id})", "date"] == "2035-06"
    html = out.read_text()
    assert "At 2030-06, every run" in html and 'id="comparison-2030-06"' in html


@pytest.mark.parametrize("line,fragment", [
    ("milestones: [2030-13]", "milestones.0: expected a month as YYYY-MM"),
    ("milestones: [2026-06, 2031-06]", "milestones.1: 2031-06 is outside the run (the horizon runs 2025-06 to 2027-06)"),
])
def test_a_bad_milestone_is_one_line_exit_2(tmp_path, capsys, line, fragment):
    p = tmp_path / "s.yaml"
    p.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: m\nhorizon: {{months: 24}}\n{line}\n")
    for command in ("validate", "run"):
        code = main([command, str(p), "--results", str(tmp_path / "r")] if command == "run" else [command, str(p)])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, err
