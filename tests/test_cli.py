"""The command line end to end, and every scenario error as one line with exit code 2."""

import json
from pathlib import Path

import pandas as pd
import pytest

from glw_sim.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def small(tmp_path, extra=""):
    base = SCENARIOS / "baseline.yaml"
    return write(tmp_path, f"extends: {base}\nname: tiny\nhorizon: {{months: 3}}\npopulation: {{scale: 0.002, seed: 4}}\nreplications: 2\n{extra}")


@pytest.mark.parametrize("text,field", [
    ("name: x\nhorizon: {months: 3\n", "YAML syntax error"),
    ("name: x\nhorizn: {months: 3}\n", "horizn: unknown key"),
    ("name: x\nhorizon: {months: three}\n", "horizon.months"),
    ("name: x\npopulation: {scale: -0.1}\n", "population.scale"),
    ("name: x\noutputs: {boroughs: [Narnia]}\n", "unknown borough 'Narnia'"),
    ("name: x\nassumptions: {no_such: 1}\n", "unknown assumption"),
    ("horizon: {months: 3}\n", "name: required field is missing"),
    ("name: x\nhorizon: {start: June}\n", "YYYY-MM"),
    ("name: x\nlabour_demand: {vacancy_level: -1}\n", "labour_demand.vacancy_level"),
    ("name: x\nlabour_demand: {shocks: [{month: 2026-13, change: -0.1}]}\n", "labour_demand.shocks.0.month"),
    ("name: x\nlabour_demand: {matching_elasticity: 1.5}\n", "labour_demand.matching_elasticity"),
    ("name: x\ninterventions: [{type: restart}, {type: restart}]\n", "interventions: two programmes are labelled"),
])
def test_scenario_errors_are_one_line(tmp_path, capsys, text, field):
    p = write(tmp_path, text)
    code, out, err = run_cli(["validate", p], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(p) in lines[0] and field in lines[0]
    assert "Traceback" not in err


def test_run_with_matching_switched_off(tmp_path, capsys):
    # no seekers or matches to chart: the run still writes its briefing, and the chart says matching is off;
    # (issue 16) hubs where no programme runs: one warning line, and the run goes on (exit code 0)
    s = small(tmp_path, "labour_demand: {enabled: false}\nintegration_hubs: [{areas: {boroughs: [Newham]}}]\n")
    code, out, err = run_cli(["run", s, "--results", tmp_path / "res", "--quiet"], capsys)
    assert code == 0, err
    assert err.strip().splitlines() == [f"glw-sim: warning: {s}: integration_hubs.0 (integration_hubs): no programme "
                                        "runs in Newham (the scenario has no programmes); hubs there change nothing "
                                        "(their cost is still counted)"]
    folder = next((tmp_path / "res" / "tiny").iterdir())
    assert (folder / "charts" / "labour_market.png").exists() and (folder / "report.html").exists()
    df = pd.read_parquet(folder / "timeseries.parquet")
    assert df.loc[df["metric"] == "seekers", "value"].isna().all()


def test_missing_file(tmp_path, capsys):
    code, _, err = run_cli(["run", tmp_path / "nope.yaml"], capsys)
    assert code == 2 and "file not found" in err and len(err.strip().splitlines()) == 1


def test_validate_ok(capsys):
    code, out, _ = run_cli(["validate", SCENARIOS / "baseline.yaml"], capsys)
    assert code == 0 and "ok" in out


def test_run_end_to_end_and_reproducible(tmp_path, capsys):
    s = small(tmp_path)
    code, out, err = run_cli(["run", s, "--results", tmp_path / "res", "--quiet"], capsys)
    assert code == 0, err
    assert "Employment rate 16-64" in out and "Gap to 80%" in out
    runs = sorted((tmp_path / "res" / "tiny").iterdir())
    assert len(runs) == 1
    folder = runs[0]
    for f in ("manifest.json", "timeseries.parquet", "summary.csv", "charts/employment_rate_trajectory.png",
              "charts/borough_employment_rates.png", "charts/labour_market.png"):
        assert (folder / f).exists(), f
    man = json.loads((folder / "manifest.json").read_text())
    assert man["scenario"]["population"]["seed"] == 4 and len(man["seeds"]) == 2
    assert any(k.endswith("borough_rates.csv") for k in man["data"])
    ts = pd.read_parquet(folder / "timeseries.parquet")
    assert set(ts["replication"]) == {0, 1} and ts["month"].max() == 3
    fem = ts[(ts.group == "sex=female") & (ts.month == 0) & (ts.replication == 0)].set_index("metric")["value"]
    assert set(fem.index) == {"employment_rate", "unemployment_rate", "inactivity_rate"}
    assert 0.6 < fem["employment_rate"] < 0.8
    boroughs = ts[(ts.area != "London") & (ts.metric == "employment_rate")]["area"].unique()
    assert len(boroughs) == 33
    summ = pd.read_csv(folder / "summary.csv")
    row = summ[(summ.area == "London") & (summ.metric == "employment_rate") & (summ.group == "all")].iloc[0]
    assert row.low_95 <= row["mean"] <= row.high_95
    assert not list((tmp_path / "res" / "tiny").glob(".partial-*"))

    # same scenario and seed: byte-identical summary.csv
    code, _, _ = run_cli(["run", s, "--results", tmp_path / "res2", "--quiet"], capsys)
    again = next((tmp_path / "res2" / "tiny").iterdir())
    assert (again / "summary.csv").read_bytes() == (folder / "summary.csv").read_bytes()

    # a different seed: different numbers, within sampling error
    code, _, _ = run_cli(["run", s, "--results", tmp_path / "res3", "--quiet", "--seed", "99"], capsys)
    other = pd.read_csv(next((tmp_path / "res3" / "tiny").iterdir()) / "summary.csv")
    o = other[(other.area == "London") & (other.metric == "employment_rate") & (other.group == "all")].iloc[0]
    assert o["mean"] != row["mean"] and abs(o["mean"] - row["mean"]) < 0.01


def test_compare_out_that_is_a_file_is_one_line(runs, tmp_path, capsys):
    package, base, _ = runs
    f = tmp_path / "a-file"
    f.write_text("x")
    code, _, err = run_cli(["compare", package.folder, base.folder, "--out", f], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(f) in err and "is a file" in err


def test_report_rewrites_charts_atomically_and_clears_stale_temporaries(runs, capsys):
    import subprocess
    import sys

    _, base, _ = runs
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    stale = base.folder / f".charts-{p.pid}-0-abc"  # left by a `glw-sim report` killed while drawing
    (stale / "x").mkdir(parents=True)
    before = {c.name: c.stat().st_ino for c in (base.folder / "charts").glob("*.png")}
    code, out, err = run_cli(["report", base.folder], capsys)
    assert code == 0, err
    assert not stale.exists() and not list(base.folder.glob(".charts-*"))
    after = {c.name: c.stat().st_ino for c in (base.folder / "charts").glob("*.png")}
    assert set(after) == set(before)
    assert all(after[n] != before[n] for n in after)  # each chart replaced by a new file (rename), not rewritten
    assert not list(base.folder.rglob("*.tmp"))


@pytest.mark.parametrize("hubs,programmes,fragment", [
    ("[{areas: {boroughs: [Hackney, Newham]}}]", "[{type: restart, areas: {boroughs: [Hackney]}}]",
     "integration_hubs.0 (integration_hubs): no programme runs in Newham; hubs there change nothing"),
    ("[{name: nwd, areas: {boroughs: [Hackney, Newham]}}]", "[]",
     "integration_hubs.0 (nwd): no programme runs in Hackney, Newham (the scenario has no programmes); hubs there "
     "change nothing"),
    ("[{areas: {all: true}}]", "[]", "no programme runs in any of its 33 boroughs"),
    ("[{areas: {boroughs: [Hackney]}, end: 2026-12}]", "[{type: restart, start: 2027-01}]",
     "no programme runs in Hackney while the hubs run (2025-06 to 2026-12)"),
])
def test_hubs_where_no_programme_runs_warn_once(tmp_path, capsys, hubs, programmes, fragment):
    p = write(tmp_path, f"extends: {SCENARIOS / 'baseline.yaml'}\nname: hubs\nhorizon: {{months: 24}}\n"
              f"interventions: {programmes}\nintegration_hubs: {hubs}\n")
    code, out, err = run_cli(["validate", p], capsys)
    assert code == 0 and "ok" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"glw-sim: warning: {p}: ") and fragment in lines[0], err


def test_hubs_with_programmes_everywhere_do_not_warn(tmp_path, capsys):
    from glw_sim.scenario import hub_warnings, load_scenario

    p = write(tmp_path, f"extends: {SCENARIOS / 'baseline.yaml'}\nname: hubs\n"
              "interventions: [{type: restart}]\nintegration_hubs: [{areas: {boroughs: [Hackney, Newham]}}]\n")
    code, _, err = run_cli(["validate", p], capsys)
    assert code == 0 and err == ""
    for shipped in sorted(SCENARIOS.glob("*.yaml")):
        assert hub_warnings(load_scenario(shipped), shipped) == [], shipped


@pytest.mark.parametrize("name,fragment", [
    ("cycle_share", "assumptions.cycle_share: not read by a run (fitted in calibration/fitted; it cannot be set or "
                    "swept)"),
    ("prior_carer_employed", "assumptions.prior_carer_employed: acts only when the baseline is fitted (glw-sim "
                             "calibrate), not in a run"),
])
def test_run_refuses_an_assumption_it_does_not_read(tmp_path, capsys, name, fragment):
    s = small(tmp_path, f"assumptions: {{{name}: 0.1}}\n")
    for cmd in (["run", s, "--results", tmp_path / "res", "--quiet"], ["validate", s]):
        code, _, err = run_cli(cmd, capsys)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith(f"glw-sim: error: {s}: {fragment}"), err
    assert not (tmp_path / "res").exists()


def test_a_first_run_says_it_compiles_once_and_help_describes_every_run_option(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    sc = tmp_path / "s.yaml"
    sc.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: s\nhorizon: {{months: 1}}\n"
                  "population: {scale: 0.002}\nreplications: 1\n")
    args = ["run", str(sc), "--results", str(tmp_path / "r")]
    assert main(args) == 0
    err = capsys.readouterr().err
    # the notice, then the compile on a tiny copy, and only then the progress bar (its estimate is the run's)
    assert "compiling the model (the first run" in err and "compiled in" in err
    assert err.index("compiled in") < err.index("s: ")
    assert main(args) == 0
    assert "compiling the model" not in capsys.readouterr().err  # only the first time
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for opt in ("--scale", "--seed", "--months", "--replications", "--precision", "--workers", "--results"):
        line = next(x for x in out.splitlines() if x.strip().startswith(opt))
        assert len(line.split(opt, 1)[1].strip()) > 5 or opt == "--replications", opt  # (a help text follows)


def test_a_misspelt_borough_gets_a_did_you_mean(tmp_path, capsys):
    sc = tmp_path / "s.yaml"
    sc.write_text("name: s\noutputs: {boroughs: [Hackny]}\n")
    assert main(["validate", str(sc)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'Hackney'?" in err and len(err.strip().splitlines()) == 1
