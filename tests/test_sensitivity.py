"""Sensitivity sweeps: SALib plumbing on a known answer, resuming after a kill, and Dask = local pool."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glw_sim.cli import main
from glw_sim.sensitivity import SweepError, run_sweep

ROOT = Path(__file__).resolve().parent.parent
PI = np.pi


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def ishigami_sweep(tmp_path, method="sobol", samples=1024, name="ish"):
    return write(tmp_path, f"{name}.yaml", f"""
name: {name}
scenario: ishigami
method: {method}
samples: {samples}
seed: 3
inputs:
  - {{path: x1, bounds: [{-PI}, {PI}]}}
  - {{path: x2, bounds: [{-PI}, {PI}]}}
  - {{path: x3, bounds: [{-PI}, {PI}]}}
outputs:
  - {{metric: y}}
""")


def test_ishigami_first_order_indices_within_salib_confidence(tmp_path):
    idx = run_sweep(ishigami_sweep(tmp_path), out_dir=tmp_path / "out", workers=2)
    s1 = idx[idx["index"] == "S1"].set_index("parameter")
    analytic = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    for p, v in analytic.items():
        assert abs(s1.loc[p, "value"] - v) <= s1.loc[p, "conf"], (p, s1.loc[p, "value"], s1.loc[p, "conf"])
    assert (tmp_path / "out" / "ish" / "indices.csv").exists()
    assert list((tmp_path / "out" / "ish" / "charts").glob("*.png"))


@pytest.mark.parametrize("method,samples", [("morris", 40), ("fast", 600), ("rbd_fast", 600)])
def test_other_methods_rank_ishigami_inputs(tmp_path, method, samples):
    idx = run_sweep(ishigami_sweep(tmp_path, method, samples, name=method), out_dir=tmp_path / "out", workers=1)
    key = "mu_star" if method == "morris" else "S1"
    v = idx[idx["index"] == key].set_index("parameter")["value"]
    if method == "morris":
        # every input matters (x3 only through its interaction with x1), none more than x1 and x2
        assert (v > 0.5).all() and v["x3"] < max(v["x1"], v["x2"])
        sigma = idx[idx["index"] == "sigma"].set_index("parameter")["value"]
        assert sigma["x3"] > 0.5 * v["x3"]  # its effect varies with x1: interaction
        assert (tmp_path / "out" / method / "charts" / "y.png").exists()
    else:
        assert abs(v["x1"] - 0.314) < 0.08 and abs(v["x2"] - 0.442) < 0.08 and abs(v["x3"]) < 0.08


def model_sweep(tmp_path, samples=64, name="six", months=12):
    scen = ROOT / "scenarios" / "baseline.yaml"
    return write(tmp_path, f"{name}.yaml", f"""
name: {name}
scenario: {scen}
method: sobol
samples: {samples}
seed: 11
scale: 0.002
months: {months}
inputs:
  - {{path: labour_demand.growth_per_year, bounds: [-0.02, 0.03]}}
  - {{path: labour_demand.matching_elasticity, bounds: [0.4, 0.7]}}
  - {{path: labour_demand.vacancy_response, bounds: [0.0, 1.0]}}
  - {{path: assumptions.exit_mult_long_term_sick, bounds: [0.2, 0.6]}}
  - {{path: assumptions.duration_ratio_24m, bounds: [0.2, 0.5]}}
  - {{path: assumptions.reason_switch_rate, bounds: [0.0, 0.03]}}
outputs:
  - {{metric: employment_rate, change: true}}
  - {{metric: unemployment_rate}}
""")


def test_six_input_sobol_sweep_resumes_after_kill_and_matches_dask(tmp_path):
    # 32 samples x (6 + 2) = 256 runs of 6 months: enough chunks to kill it half way, three times over
    sweep = model_sweep(tmp_path, samples=32, months=6)
    full = run_sweep(sweep, out_dir=tmp_path / "a", workers=2)
    assert len(full) == 2 * 6 * 2  # outputs x inputs x (S1, ST)
    assert full["value"].notna().all()

    # start the same sweep from the command line, kill it once some runs are stored, then finish it
    parts = tmp_path / "b" / "six" / "parts"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "glw_sim.cli", "sweep", str(sweep), "--out", str(tmp_path / "b"),
                             "--workers", "2", "--quiet"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(parts.glob("part-*.parquet"))) < 2 and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = len(list(parts.glob("part-*.parquet")))
    assert stored >= 2
    done_before = sum(len(pd.read_parquet(p)) for p in parts.glob("part-*.parquet"))
    assert done_before < 32 * 8, "the sweep finished before it was killed; the test needs it half way"
    resumed = run_sweep(sweep, out_dir=tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(resumed, full, check_exact=True)

    on_dask = run_sweep(sweep, out_dir=tmp_path / "c", scheduler="local", workers=2)
    pd.testing.assert_frame_equal(on_dask, full, check_exact=True)


def test_changed_sweep_is_refused(tmp_path):
    sweep = ishigami_sweep(tmp_path, samples=64, name="chg")
    run_sweep(sweep, out_dir=tmp_path / "o", workers=1, max_chunks=1)
    sweep.write_text(sweep.read_text().replace("samples: 64", "samples: 128"))
    with pytest.raises(SweepError, match="different definition"):
        run_sweep(sweep, out_dir=tmp_path / "o", workers=1)


@pytest.mark.parametrize("edit,field", [
    ("labour_demand.growth_per_year", "inputs.0.path"),
    ("no_such.key", "inputs.0.path"),
])
def test_bad_sweep_input_is_one_line(tmp_path, capsys, edit, field):
    p = model_sweep(tmp_path, name="bad")
    text = p.read_text().replace("path: labour_demand.growth_per_year, bounds: [-0.02, 0.03]",
                                 f"path: {edit}, bounds: [0.9, 0.1]" if edit != "no_such.key" else
                                 "path: no_such.key, bounds: [0, 1]")
    p.write_text(text)
    code = main(["sweep", str(p), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(p) in err[0]
    assert ("bounds" in err[0]) or (field in err[0])


def test_sweep_runs_collect_only_what_their_outputs_need(monkeypatch):
    # headline outputs: the runs skip the counts by group, and give the same values as runs that collect them
    from glw_sim import runner
    from glw_sim.sensitivity import evaluate_scenario, load_sweep

    sweep, scenario = load_sweep(ROOT / "sweeps" / "baseline-uncertainty.yaml")
    scenario["horizon"]["months"] = 3
    assert not sweep.needs_groups()
    grouped = sweep.model_copy(update={"outputs": [*sweep.outputs, sweep.outputs[0].model_copy(
        update={"metric": "disability_employment_gap", "change": False})]})
    assert grouped.needs_groups()
    assert sweep.model_copy(update={"outputs": [sweep.outputs[1].model_copy(update={"group": "sex=female"})]}) \
        .needs_groups()
    x = np.array([0.01, 0.5, 0.5, 0.4, 0.3, 0.01])
    seen = []
    simulate = runner.simulate

    def spy(*args, **kwargs):
        seen.append(kwargs.get("collect_groups", True))
        return simulate(*args, **kwargs)

    monkeypatch.setattr(runner, "simulate", spy)
    lean, full = evaluate_scenario(scenario, sweep, x), evaluate_scenario(scenario, grouped, x)
    assert seen == [False, True]
    assert lean == full[:3]
    assert np.isfinite(full[3])


# --------------------------------------------------------------------------- checks before the first run (issue 16)

def programme_sweep(tmp_path, inputs, outputs="[{metric: employment_rate}]", extra=""):
    """A sweep of a one-programme scenario whose programme names its age range (so both ends can be swept)."""
    scen = write(tmp_path, "prog.yaml", f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\nname: prog\n"
                 "horizon: {months: 12}\npopulation: {scale: 0.002, seed: 4}\nreplications: 1\n"
                 f"interventions: [{{type: restart, start: 2025-07, eligibility: {{age: [18, 64]}}}}]\n{extra}")
    return write(tmp_path, "checks.yaml", f"name: checks\nscenario: {scen.name}\nmethod: morris\nsamples: 4\n"
                 f"inputs: {inputs}\noutputs: {outputs}\n")


@pytest.fixture
def no_runs(monkeypatch):
    from glw_sim import runner

    def refuse(*a, **k):
        raise AssertionError("a run started before the sweep's checks refused it")

    monkeypatch.setattr(runner, "simulate", refuse)


def refused(tmp_path, capsys, sweep):
    code = main(["sweep", str(sweep), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(sweep) in err[0] and "Traceback" not in err[0], err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("sweep.json"))
    return err[0]


@pytest.mark.parametrize("inputs,fragment", [
    # Morris at 4 levels: [6, 12] gives 6, 8, 10, 12 (whole: valid); [6, 12.5] gives fractions; [0, 12] reaches 0
    ("[{path: interventions.0.support_months, bounds: [6, 12.5]}]",
     "inputs.0.path: interventions.0.support_months takes whole numbers, but the design gives it fractions"),
    ("[{path: interventions.0.support_months, bounds: [0, 12]}]",
     "inputs.0.bounds: the design gives interventions.0.support_months values from 0 to 12, which that field "
     "refuses at 0"),
    ("[{path: interventions.0.support_months, bounds: [12, 48]}]", "refuses at 48"),
    # each end alone is valid, together they are not: low age 40 above high age 31 (levels 16, 24, 32, 40 and
    # 31, 42, 53, 64)
    ("[{path: interventions.0.eligibility.age.0, bounds: [16, 40]}, "
     "{path: interventions.0.eligibility.age.1, bounds: [31, 64]}]",
     "inputs: the design point interventions.0.eligibility.age.0=32, interventions.0.eligibility.age.1=31 gives "
     "an invalid scenario (interventions.0.eligibility.age: [32, 31] would select nobody"),
])
def test_design_refused_before_the_first_run(tmp_path, capsys, no_runs, inputs, fragment):
    assert fragment in refused(tmp_path, capsys, programme_sweep(tmp_path, inputs))


def test_whole_levels_of_an_integer_field_are_accepted(tmp_path):
    from glw_sim.sensitivity import load_sweep, sample

    sweep, _ = load_sweep(programme_sweep(tmp_path, "[{path: interventions.0.support_months, bounds: [6, 12]}]"))
    assert sorted(set(sample(sweep)[:, 0])) == [6, 8, 10, 12]


def test_combinations_beyond_the_limit_are_checked_at_the_corners(tmp_path, capsys, no_runs, monkeypatch):
    from glw_sim import sweep

    monkeypatch.setattr(sweep, "MAX_CHECKED_POINTS", 1)
    msg = refused(tmp_path, capsys, programme_sweep(
        tmp_path, "[{path: interventions.0.eligibility.age.0, bounds: [16, 40]}, "
                  "{path: interventions.0.eligibility.age.1, bounds: [31, 64]}]"))
    assert ("inputs: the ends of their sampled ranges interventions.0.eligibility.age.0=40, "
            "interventions.0.eligibility.age.1=31 gives an invalid scenario") in msg


@pytest.mark.parametrize("inputs,outputs,extra,fragment", [
    # an output a run at one end of an input's range does not record (no quarterly flows in under 3 months)
    ("[{path: horizon.months, bounds: [1, 4]}]", "[{metric: quarterly_employed_to_unemployed}]", "",
     "outputs.0.metric: no metric 'quarterly_employed_to_unemployed' for London"),
    # a change from month 0 of a metric with no value at month 0 is NaN in every run
    ("[{path: labour_demand.vacancy_level, bounds: [0.5, 1.5]}]", "[{metric: cost_per_net_extra_job, change: true}]",
     "", "outputs.0.change: cost_per_net_extra_job has no value at month 0 (no net extra jobs yet)"),
    # matching switched off: no seekers or matches are computed
    ("[{path: labour_demand.vacancy_level, bounds: [0.5, 1.5]}]", "[{metric: matches}]",
     "labour_demand: {enabled: false}\n", "outputs.0.metric: no metric 'matches' for London"),
])
def test_outputs_refused_before_the_first_run(tmp_path, capsys, no_runs, inputs, outputs, extra, fragment):
    msg = refused(tmp_path, capsys, programme_sweep(tmp_path, inputs, outputs, extra))
    assert fragment in msg
    if "horizon.months" in inputs:
        assert "(at inputs.0: horizon.months = 1, which the design reaches)" in msg


@pytest.mark.parametrize("path", sorted((ROOT / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweeps_pass_their_checks(path):
    from glw_sim.sensitivity import load_sweep

    load_sweep(path)
