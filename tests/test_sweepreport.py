"""The sweep report: what was varied and over which ranges, the range of outcomes (percentiles agree with the raw
parts, noise from the replications), indices in words, and inputs ranked only where their intervals separate."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from glw_sim.cli import main
from glw_sim.sensitivity import read_parts, run_sweep
from glw_sim.sweepreport import reading, title_of

ROOT = Path(__file__).resolve().parent.parent


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<img[^>]*>", "", html))).replace("&#39;", "'")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A Morris sweep of the baseline: two inputs, 4 trajectories (12 points), 2 replications a point, 3 months."""
    d = tmp_path_factory.mktemp("sweeprep")
    p = d / "tiny.yaml"
    p.write_text(f"""name: tiny
scenario: {ROOT / 'scenarios' / 'baseline.yaml'}
method: morris
samples: 4
replications: 2
seed: 3
scale: 0.002
months: 3
inputs:
  - {{path: labour_demand.matching_elasticity, bounds: [0.4, 0.7]}}
  - {{path: assumptions.exit_mult_long_term_sick, bounds: [0.2, 0.6]}}
outputs:
  - {{metric: employment_rate}}
  - {{metric: unemployment_rate, change: true}}
  - {{metric: employment_rate, at: 2025-08}}
""")
    run_sweep(p, out_dir=d / "out", workers=1)
    return d / "out" / "tiny"


def test_report_lists_the_varied_inputs_with_their_ranges(tiny):
    text = text_of((tiny / "report.html").read_text())
    parts = read_parts(tiny / "parts")
    for label, path, lo, hi in (("Matching elasticity (response of hires to job seekers)",
                                 "labour_demand.matching_elasticity", 0.4, 0.7),
                                ("Exit from inactivity, long-term sick (relative)",
                                 "assumptions.exit_mult_long_term_sick", 0.2, 0.6)):
        col = parts[f"x:{path}"]
        row = f"{label} {path} uniform from {lo:g} to {hi:g} {col.min():g} {col.max():g}"
        assert row in text, row
    assert "gap_to_80" not in text and "change_unemployment_rate" not in text  # no code-style names


def test_percentiles_agree_with_the_raw_sweep_table(tiny):
    parts = read_parts(tiny / "parts").sort_values("run")
    assert len(parts) == 12 and {"r0:employment_rate", "r1:employment_rate"} <= set(parts.columns)
    # the stored point value is the mean of its replications
    assert np.allclose(parts["y:employment_rate"], (parts["r0:employment_rate"] + parts["r1:employment_rate"]) / 2)
    out = pd.read_csv(tiny / "outcomes.csv").set_index("output")
    for label in ("employment_rate", "change_unemployment_rate"):
        y = parts[f"y:{label}"].to_numpy()
        for name, q in (("least", 0), ("p5", 5), ("p50", 50), ("p95", 95), ("greatest", 100)):
            assert out.loc[label, name] == pytest.approx(np.percentile(y, q), rel=1e-5), (label, name)
        # simulation noise of the median: t with 1 degree of freedom over the two replications' own medians
        per = [np.median(parts[f"r{k}:{label}"]) for k in (0, 1)]
        half = stats.t.ppf(0.975, 1) * np.std(per, ddof=1) / np.sqrt(2)
        assert out.loc[label, "p50_noise"] == pytest.approx(half, rel=1e-5)
    text = text_of((tiny / "report.html").read_text())
    emp = out.loc["employment_rate"]
    assert (f"Employment rate 16-64 at 2025-09 {100 * emp['least']:.1f}% {100 * emp['p5']:.1f}% noise "
            f"±{100 * emp['p5_noise']:.1f}%") in text
    assert "Change in unemployment rate from 2025-06 to 2025-09" in text


def test_report_gives_the_indices_with_intervals_and_human_chart_titles(tiny, monkeypatch):
    html = (tiny / "report.html").read_text()
    text = text_of(html)
    idx = pd.read_csv(tiny / "indices.csv")
    mu = idx[(idx["output"] == "employment_rate") & (idx["index"] == "mu_star")].set_index("parameter")
    v, c = mu.loc["labour_demand.matching_elasticity", ["value", "conf"]]
    assert f"{100 * v:.2f} pp {100 * (v - c):.2f} pp to {100 * (v + c):.2f} pp" in text
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 3
    for alt in re.findall(r'<img src="data:[^"]+" alt="([^"]+)"', html):
        assert "_" not in alt and alt[0].isupper(), alt
    # the report is rebuilt by glw-sim report from the sweep's folder alone
    (tiny / "report.html").unlink()
    assert main(["report", str(tiny)]) == 0
    assert (tiny / "report.html").read_text().count("<h3>") == 3


def frame(rows):
    return pd.DataFrame([{"output": "y", "parameter": p, "index": "ST", "value": v, "conf": c} for p, v, c in rows])


NAMES = {"a": "Input A", "b": "Input B", "c": "Input C"}


def test_inputs_are_ranked_only_where_their_intervals_separate():
    clear = reading(frame([("a", 0.6, 0.05), ("b", 0.3, 0.05), ("c", 0.1, 0.05)]), "ST", NAMES)
    assert clear["sentence"].startswith("Input A matters most") and not clear["caveat"]
    assert "matters most" in title_of("Employment rate at 2030-06", clear)
    tied = reading(frame([("a", 0.6, 0.2), ("b", 0.5, 0.2), ("c", 0.1, 0.05)]), "ST", NAMES)
    assert tied["sentence"] == ("The largest ST (with interactions) index, Input A's, cannot be told apart from "
                                "Input B (their 95% intervals overlap); it lies above Input C.")
    assert "matters most" not in title_of("Employment rate at 2030-06", tied)
    noisy = reading(frame([("a", 0.3, 0.4), ("b", 0.2, 0.3), ("c", 0.1, 0.2)]), "ST", NAMES)
    assert noisy["sentence"].startswith("No input can be said to matter more than the others")
    assert noisy["caveat"] and noisy["zero"] == ["Input A", "Input B", "Input C"]
    assert "as uncertain as they are large" in title_of("Employment rate at 2030-06", noisy)


def test_ishigami_sweep_report_names_the_function_inputs(tmp_path):
    p = tmp_path / "ish.yaml"
    p.write_text("name: ish\nscenario: ishigami\nmethod: sobol\nsamples: 256\nseed: 3\ninputs:\n"
                 + "".join(f"  - {{path: x{i}, bounds: [-3.14159, 3.14159]}}\n" for i in (1, 2, 3))
                 + "outputs:\n  - {metric: y}\n")
    run_sweep(p, out_dir=tmp_path / "out", workers=1)
    text = text_of((tmp_path / "out" / "ish" / "report.html").read_text())
    assert "x1 x1 uniform from -3.14159 to 3.14159" in text and "ST (with interactions)" in text
    assert "One replication per run" in text


def test_an_output_at_a_month_before_the_horizon(tiny, tmp_path, capsys):
    """outputs: [{metric: employment_rate, at: 2025-08}] is the value two months in, not at the horizon: checked
    against a run of the first design point made here, replication by replication."""
    from glw_sim.dotted import set_path
    from glw_sim.runner import replication_seeds, series, simulate
    from glw_sim.scenario import Scenario
    from glw_sim.sensitivity import load_sweep

    sweep, scenario = load_sweep(tiny.parent.parent / "tiny.yaml")
    first = read_parts(tiny / "parts").sort_values("run").iloc[0]
    data = dict(scenario)
    for inp in sweep.inputs:
        set_path(data, inp.path, float(first[f"x:{inp.label}"]))
    sc = Scenario.model_validate(data)
    for k, seed in enumerate(replication_seeds(sweep.seed, sweep.replications)):
        months, ys = series(simulate(sc, seed, collect_groups=False), "London", "all", "employment_rate")
        assert first[f"r{k}:employment_rate@2025-08"] == ys[months.index(2)]
        assert first[f"r{k}:employment_rate"] == ys[-1] != ys[months.index(2)]
    assert "Employment rate 16-64 at 2025-08" in text_of((tiny / "report.html").read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text((tiny.parent.parent / "tiny.yaml").read_text().replace("at: 2025-08", "at: 2026-01"))
    code = main(["sweep", str(bad), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "outputs.2.at: 2026-01 is outside the run (the horizon runs 2025-06 to " \
        "2025-09)" in err[0], err


def test_sweeps_without_a_month_keep_their_identity():
    """Outputs' ``at`` counts in a sweep's hash only when set: a sweep stored before keeps resuming (this hash is
    the one the code before outputs could name a month gave sweeps/ishigami.yaml)."""
    from glw_sim.sensitivity import load_sweep, sweep_hash

    sweep, scenario = load_sweep(ROOT / "sweeps" / "ishigami.yaml")
    assert sweep_hash(sweep, scenario) == "15237d3d6caf1dfa684cfd8f989a620d3458e2d304fa73643a2940ede6608dbb"
