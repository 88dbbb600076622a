"""compare: paired differences where runs share seeds (checked against the raw time series), unpaired otherwise,
by borough and contribution; no highest run named within noise; comparison.xlsx formatted like summary.xlsx."""

import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy import stats

from glw_sim import charts as C
from glw_sim.cli import main
from glw_sim.compare import borough_table, comparison_table, pairing, programme_table, write_comparison
from glw_sim.pipeline import run_scenario
from glw_sim.results import load_results
from glw_sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """Four tiny 6-month baselines, 3 replications: one, the same relabelled (same seed), the same with another
    seed, and one with every resident three times as likely to move into work (same seed). Written without their
    own charts (compare reads only the tables and manifest; the comparison's charts are checked below)."""
    d = tmp_path_factory.mktemp("compare")
    out = {}
    for name, seed, extra in (("base", 5, {}), ("relabelled", 5, {}), ("other-seed", 6, {}),
                              ("boost", 5, {"employability": [{"who": {}, "multiplier": 3.0}]})):
        sc = load_scenario(SCENARIOS / "baseline.yaml", {"name": name, "horizon": {"months": 6}, "replications": 3,
                                                         "population": {"scale": 0.002, "seed": seed}, **extra})
        out[name] = load_results(run_scenario(sc, d / "results", charts=False).folder)
    return out, d


def raw(res, metric="employment_rate", month=6, area="London"):
    """One value per replication straight from timeseries.parquet."""
    ts = pd.read_parquet(res.folder / "timeseries.parquet")
    d = ts[(ts["area"] == area) & (ts["group"] == "all") & (ts["metric"] == metric) & (ts["month"] == month)]
    return d.set_index("replication")["value"].sort_index()


def row(table, res, metric="employment_rate", at="horizon"):
    t = table[(table["metric"] == metric) & (table["at"] == at)].set_index("run")
    return t.loc[f"{res.name} ({res.run_id})"]


def test_runs_of_one_seed_pair_and_others_do_not(four):
    runs, _ = four
    p = pairing(runs["boost"], runs["base"])
    assert p.paired and p.pairs == ((0, 0), (1, 1), (2, 2)) and "3 replications share their seeds" in p.why
    q = pairing(runs["other-seed"], runs["base"])
    assert not q.paired and "share a seed" in q.why


def test_paired_difference_is_the_mean_of_the_replications_differences(four):
    runs, _ = four
    base, boost = runs["base"], runs["boost"]
    table = comparison_table([base, boost])
    r = row(table, boost)
    d = raw(boost) - raw(base)  # replication by replication (same seeds, same replication numbers)
    n = len(d)
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)  # Student's t, n - 1 degrees of freedom
    assert r["paired"] == True  # noqa: E712
    assert r["difference"] == pytest.approx(d.mean(), rel=1e-9)
    assert r["difference_low_95"] == pytest.approx(d.mean() - half, rel=1e-9)
    assert r["difference_high_95"] == pytest.approx(d.mean() + half, rel=1e-9)
    # clearly different runs: the interval leaves out zero (about +3 points of employment)
    assert r["difference_excludes_zero"] and r["difference_low_95"] > 0.005
    assert r["against"] == f"base ({base.run_id})"


def test_the_same_scenario_relabelled_differs_by_nothing(four):
    runs, _ = four
    base, same = runs["base"], runs["relabelled"]
    r = row(comparison_table([base, same]), same)
    assert r["paired"] and r["difference"] == 0 and r["difference_low_95"] == 0 and r["difference_high_95"] == 0
    assert not r["difference_excludes_zero"]


def test_unpaired_runs_get_welchs_interval_which_holds_zero_for_the_same_scenario(four):
    runs, _ = four
    base, other = runs["base"], runs["other-seed"]
    r = row(comparison_table([base, other]), other)
    a, b = raw(other), raw(base)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = np.floor((va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)))
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert r["paired"] == False  # noqa: E712
    assert r["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-9)
    assert r["difference_high_95"] - r["difference"] == pytest.approx(half, rel=1e-9)
    assert r["difference_low_95"] < 0 < r["difference_high_95"] and not r["difference_excludes_zero"]


def test_boroughs_are_differenced_replication_by_replication(four):
    runs, _ = four
    base, boost = runs["base"], runs["boost"]
    b = borough_table([base, boost])
    assert set(b["metric"]) == {"employment_rate"}  # (no counterfactual in the base: no net extra by borough)
    hackney = b[(b["key"] == "Hackney") & (b["run"] == f"boost ({boost.run_id})")].iloc[0]
    d = raw(boost, area=hackney["area"]) - raw(base, area=hackney["area"])
    assert hackney["difference"] == pytest.approx(d.mean(), rel=1e-9) and hackney["paired"]
    assert len(b) == 2 * 33
    assert programme_table([base, boost]).empty  # no part that both runs have


def test_contributions_both_runs_have_are_compared(runs, tmp_path):
    """The two-programme package of conftest against itself with a larger WorkWell, same seed: each part's
    contribution per run and its paired difference."""
    from conftest import PACKAGE

    res, _, d = runs
    (tmp_path / "bigger.yaml").write_text(PACKAGE.format(base=SCENARIOS / "baseline.yaml").replace(
        "name: tiny-package", "name: bigger-workwell").replace("places_per_year: 40000", "places_per_year: 80000"))
    bigger = load_results(run_scenario(load_scenario(tmp_path / "bigger.yaml"), tmp_path / "results",
                                       charts=False).folder)
    parts = programme_table([res, bigger])
    assert set(parts["key"]) == {"restart", "workwell"}
    w = parts[(parts["key"] == "workwell") & (parts["run"] == f"bigger-workwell ({bigger.run_id})")].iloc[0]
    diff = raw(bigger, "contribution.workwell") - raw(res, "contribution.workwell")
    assert w["paired"] and w["difference"] == pytest.approx(diff.mean(), rel=1e-9)
    out = write_comparison([res.folder, bigger.folder], tmp_path / "cmp")
    html = out.read_text()
    assert 'id="contributions"' in html and "bigger-workwell − tiny-package" in html
    assert (tmp_path / "cmp" / "comparison_contributions.csv").exists()


@pytest.fixture(scope="module")
def written(four):
    """The two comparisons the report and workbook tests read, each written once: base, relabelled and other-seed
    (tied), and base against boost (clear); with each chart's titles as drawn."""
    runs, d = four
    titles = {}
    real = C._finish

    def spy(fig, path, run_id, note=None, source=C.SOURCE):
        titles[Path(path).stem] = " ".join(ax.get_title(loc).replace("\n", " ") for ax in fig.axes
                                           for loc in ("left", "center")).strip()
        real(fig, path, run_id, note, source)

    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(C, "_finish", spy)
        for name, keys in (("tied", ("base", "relabelled", "other-seed")), ("clear", ("base", "boost"))):
            titles.clear()
            html = write_comparison([runs[k].folder for k in keys], d / name)
            out[name] = (html, dict(titles))
    return out


def test_no_highest_run_is_named_within_noise(four, written):
    runs, _ = four
    out, titles = written["tied"]
    assert "No run is clearly highest at the end: the differences are within their 95% intervals" in \
        titles["employment_rate_by_run"]
    assert "ends highest" not in titles["employment_rate_by_run"]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text()))
    assert "relabelled and base cannot be told apart on any figure here" in text
    assert titles["difference_from_reference"] == ("Employment rate at the horizon: no run differs from base beyond "
                                                   "the 95% interval of its difference")
    assert "higher than" not in text and "lower than" not in text
    # a clear difference is stated, with its size and interval, and the boosted run is named highest
    out, titles = written["clear"]
    assert titles["employment_rate_by_run"].startswith("boost ends highest")
    assert titles["difference_from_reference"].startswith("Employment rate at the horizon: boost differs from base")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text()))
    r = row(comparison_table([runs["base"], runs["boost"]]), runs["boost"])
    assert f"boost: employment rate 16-64 {100 * r['difference']:.1f} pp higher than base" in text


def test_comparison_workbook_is_formatted_like_the_summary(four, written):
    runs, _ = four
    wb = openpyxl.load_workbook(written["clear"][0].parent / "comparison.xlsx")
    assert wb.sheetnames == ["Read me", "Comparison", "Boroughs", "Contributions", "Runs"]
    ws = wb["Comparison"]
    header = [c.value for c in ws[1]]
    assert {"Figure", "Date", "Run", "Estimate", "95% interval, low", "Difference",
            "Difference, 95% interval, low", "Difference told apart from zero", "Paired (shared seeds)"} <= set(header)
    assert not {"mean", "low_95", "difference_low_95", "kind", "_kind"} & set(header)
    cells = {(r[header.index("Code")].value, r[header.index("Run")].value): r for r in ws.iter_rows(min_row=2)}
    boost = cells[("employment_rate", f"boost ({runs['boost'].run_id})")]
    assert boost[header.index("Estimate")].number_format == "0.0%"
    assert boost[header.index("Difference")].number_format == "0.00%"
    assert boost[header.index("Paired (shared seeds)")].value == "yes"
    gap = cells[("gap_to_80", f"boost ({runs['boost'].run_id})")]
    assert gap[header.index("Estimate")].number_format == "#,##0" and isinstance(gap[header.index("Estimate")].value,
                                                                                  int | float)
    assert gap[header.index("Difference")].value == round(gap[header.index("Difference")].value)
    assert wb["Contributions"]["A2"].value.startswith("No part")  # the note on an empty sheet
    runs_sheet = {r[0].value: r for r in wb["Runs"].iter_rows(min_row=2)}
    assert runs_sheet[f"boost ({runs['boost'].run_id})"][4].value == "0.002"  # the scale as given, not rounded
    boroughs = [c.value for c in wb["Boroughs"][1]]
    assert "ONS code" in boroughs and "Borough or part" in boroughs


def test_against_chooses_the_reference(four, tmp_path, capsys):
    runs, _ = four
    base, boost = runs["base"], runs["boost"]
    code = main(["compare", str(base.folder), str(boost.folder), "--against", str(boost.folder),
                 "--out", str(tmp_path / "ag")])
    assert code == 0
    t = pd.read_csv(tmp_path / "ag" / "comparison.csv")
    r = t[(t["metric"] == "employment_rate") & (t["run"] == f"base ({base.run_id})")].iloc[0]
    assert r["against"] == f"boost ({boost.run_id})" and r["difference"] < 0
    assert "Differences are each run minus <strong>boost</strong>" in (tmp_path / "ag" / "report.html").read_text()


def test_runs_ending_on_different_dates_are_differenced_where_both_are(runs, tmp_path):
    """conftest's 6-month package and 4-month baseline (same seed): compared at month 4, the shorter's horizon;
    not at their different horizons."""
    res, base, _ = runs
    table = comparison_table([base, res])
    at = table[(table["at"] == base.dates[1]) & (table["metric"] == "employment_rate")].set_index("run")
    assert sorted(at["month"]) == [4, 4]
    d = raw(res, month=4) - raw(base, month=4)
    assert at.loc[f"tiny-package ({res.run_id})", "difference"] == pytest.approx(d.mean(), rel=1e-9)
    hz = table[(table["at"] == "horizon") & (table["metric"] == "employment_rate")]
    assert hz["difference"].isna().all()
