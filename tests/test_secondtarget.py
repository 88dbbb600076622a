"""The plan's second target in the briefing, the workbook and the comparison (glw_sim.secondtarget; issue 21,
item 5): every figure with its 95% interval, derived here from the raw time series; the decomposition's parts
adding to the change; no run ranked above another within noise; nothing for a run without outputs.income.
Two tiny two-year runs with outputs.income (every resident two and four times as likely to move into work, the
same seed, evidence off so the intervals are simulation noise alone: Student's t over the replications), and
one without. About a minute."""

import html
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy import stats

from glw_sim import secondtarget as S
from glw_sim.compare import comparison_table, write_comparison
from glw_sim.pipeline import run_scenario
from glw_sim.report import render_report, signed_fmt
from glw_sim.results import load_results
from glw_sim.scenario import load_scenario
from glw_sim.workbook import workbook_bytes

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def income_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("secondtarget")
    out = {}
    for name, mult, income in (("low", 2.0, True), ("high", 4.0, True), ("plain", 2.0, False),
                               ("solo", None, True)):
        sc = load_scenario(SCENARIOS / "baseline.yaml", {
            "name": name, "horizon": {"months": 24 if income and mult else 12}, "replications": 3,
            "population": {"scale": 0.003, "seed": 5}, "uncertainty": {"evidence": "off"},
            "employability": [{"who": {}, "multiplier": mult}] if mult else [], "outputs": {"income": income}})
        out[name] = load_results(run_scenario(sc, d / "results", charts=False).folder)
    return out, d


def raw(res, metric, month):
    ts = pd.read_parquet(res.folder / "timeseries.parquet")
    d = ts[(ts["area"] == "London") & (ts["group"] == "all") & (ts["metric"] == metric) & (ts["month"] == month)]
    return d.set_index("replication")["value"].sort_index()


def t_interval(values):
    """Mean and 95% interval of replications' values: Student's t with n - 1 degrees of freedom."""
    v = np.asarray(values, float)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return v.mean(), v.mean() - half, v.mean() + half


def test_figures_are_the_replications_mean_with_students_interval_and_the_parts_add_up(income_runs):
    runs, _ = income_runs
    res = runs["high"]
    t = S.figures(res)
    assert sorted(t["month"].unique()) == [0, 12, 24]
    for code, month, values in ((S.MEAN, 24, raw(res, S.MEAN, 24)),
                                (f"{S.MEAN}_change", 12, raw(res, f"{S.MEAN}_change", 12)),
                                (f"{S.MEAN}_counterfactual", 24,
                                 raw(res, S.MEAN, 24) - raw(res, f"{S.MEAN}_change", 24)),
                                (f"{S.MEAN}_change_share", 24, raw(res, f"{S.MEAN}_change", 24)
                                 / (raw(res, S.MEAN, 24) - raw(res, f"{S.MEAN}_change", 24))),
                                (f"{S.MEAN}_change_entry", 24, raw(res, f"{S.MEAN}_change_entry", 24))):
        r = t[(t["code"] == code) & (t["month"] == month)].iloc[0]
        np.testing.assert_allclose([r["mean"], r["low_95"], r["high_95"]], t_interval(values), rtol=1e-6, atol=1e-6)
    # the parts' estimates add to the change's (the same linear fit of values that add up)
    for fig in (S.MEAN, S.MEDIAN):
        for month in (12, 24):
            at = t[t["month"] == month].set_index("code")["mean"]
            assert sum(at[f"{fig}_change_{p}"] for p in S.PARTS) == pytest.approx(at[f"{fig}_change"], abs=1e-9)
    # four times the chance of a job for two years: the lowest fifth's mean rises, mostly by entry into work
    at = t[t["month"] == 24].set_index("code")
    assert at.loc[f"{S.MEAN}_change", "mean"] > 0 and at.loc[f"{S.MEAN}_change", "excludes_zero"]
    assert at.loc[f"{S.MEAN}_change_entry", "mean"] > 0.5 * at.loc[f"{S.MEAN}_change", "mean"]


def test_the_console_gives_each_change_its_students_interval_even_below_zero(income_runs):
    """The console's second-target lines: each change at the horizon with Student's interval over the
    replications, not stopped at zero: a change can be negative even when every replication's is positive (here
    the run's own, then its mean change set to 0.1, 0.2 and 2.0 in the three replications, whose interval reaches
    below zero)."""
    import dataclasses

    from glw_sim.results import console_summary

    runs, _ = income_runs
    res = runs["high"]
    ts = res.timeseries.copy()
    metric = "income.bottom_fifth_mean_ahc_real_change"
    at = (ts["metric"] == metric) & (ts["area"] == "London") & (ts["group"] == "all") & (ts["month"] == 24)
    ts.loc[at, "value"] = ts.loc[at, "replication"].map({0: 0.1, 1: 0.2, 2: 2.0}).to_numpy()
    skewed = dataclasses.replace(res, timeseries=ts)
    for r, label, values in ((res, "lowest fifth's median AHC", raw(res, metric.replace("mean", "median"), 24)),
                             (res, "lowest fifth's mean AHC", raw(res, metric, 24)),
                             (skewed, "lowest fifth's mean AHC", [0.1, 0.2, 2.0])):
        mean, lo, hi = t_interval(values)
        line = next(x for x in console_summary(r).splitlines() if label in x)
        got = [float(v) for v in re.findall(r"[-+]?\d+\.\d\d", line)]
        np.testing.assert_allclose(got[-3:], [mean, lo, hi], atol=0.006)
    assert t_interval([0.1, 0.2, 2.0])[1] < 0


def test_the_report_has_the_second_target_with_intervals_and_what_it_cannot_claim(income_runs):
    runs, _ = income_runs
    res = runs["high"]
    page = render_report(res)
    assert 'id="second-target"' in page and page.index('id="second-target"') < page.index("<h2>Outcome metrics")
    # (whitespace normalised after unescaping: the dagger follows a non-breaking space)
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    section = text[text.index("The second target"):text.index("Outcome metrics")]
    t = S.figures(res)
    for code in (f"{S.MEAN}_change", f"{S.MEAN}_change_entry", f"{S.MEAN}_change_hours", f"{S.MEAN}_change_pay",
                 f"{S.IN_WORK}_change"):
        r = t[(t["code"] == code) & (t["month"] == 24)].iloc[0]
        shown = (f"{signed_fmt(r['kind'], r['mean'])} {signed_fmt(r['kind'], r['low_95'])} to "
                 f"{signed_fmt(r['kind'], r['high_95'])}")
        assert shown.replace("†", "") in section.replace(" † ", " "), code
    mean24 = t[(t["code"] == S.MEAN) & (t["month"] == 24)].iloc[0]
    assert f"£{mean24['mean']:,.2f} £{mean24['low_95']:,.2f} to £{mean24['high_95']:,.2f}" in section
    assert "Change in the mean, share of the counterfactual's" in section and "the plan's second target is +20%" in section
    assert "hold simulation noise only" in section and "The income assumptions are held at their values" in section
    for claim in ("Children and pensioners", "'other' household", "wage progression", "council tax", "childcare",
                  "Rents are"):
        assert claim in section, claim
    assert "sequential substitution" in section
    # a run without outputs.income has no such section
    assert 'id="second-target"' not in render_report(runs["plain"])
    # a baseline with it (no counterfactual): the lowest fifth's levels with their intervals, no change claimed
    solo = render_report(runs["solo"])
    assert 'id="second-target-levels"' in solo and 'id="second-target-change"' not in solo
    t = S.figures(runs["solo"])
    assert set(t["code"]) == {S.MEAN, S.MEDIAN, S.IN_WORK} and sorted(t["month"].unique()) == [0, 12]
    r = t[(t["code"] == S.MEAN) & (t["month"] == 12)].iloc[0]
    np.testing.assert_allclose([r["mean"], r["low_95"], r["high_95"]], t_interval(raw(runs["solo"], S.MEAN, 12)),
                               rtol=1e-6)
    assert f"£{r['mean']:,.2f}" in solo and "Children and pensioners" in solo


def test_the_workbook_has_a_second_target_sheet_with_the_same_figures(income_runs):
    import io

    runs, _ = income_runs
    res = runs["high"]
    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(res)))
    assert "Second target" in wb.sheetnames
    ws = wb["Second target"]
    header = [c.value for c in ws[1]]
    rows = {(r[header.index("Code")].value, r[header.index("Month")].value): r for r in ws.iter_rows(min_row=2)}
    t = S.figures(res)
    assert len(rows) == len(t)
    for _, f in t.iterrows():
        r = rows[(f["code"], f["month"])]
        for col, key in (("Estimate", "mean"), ("95% interval, low", "low_95"), ("95% interval, high", "high_95")):
            cell = r[header.index(col)]
            if f["kind"] == "gbpw":
                assert cell.number_format == "£#,##0.00" and cell.value == pytest.approx(round(f[key], 2), abs=1e-9)
            else:
                assert cell.number_format == "0.0%" and cell.value == pytest.approx(round(f[key], 4), abs=1e-9)
    change = rows[(f"{S.MEAN}_change", 24)]
    assert change[header.index("Interval leaves out zero")].value in ("yes", "no")
    readme = [(r[0].value, r[1].value) for r in wb["Read me"].iter_rows(min_row=2)]
    assert sum(1 for k, _ in readme if k == "Second target: cannot claim") == len(S.CANNOT_CLAIM)
    assert "Second target" not in openpyxl.load_workbook(io.BytesIO(workbook_bytes(runs["plain"]))).sheetnames


def test_compare_gives_the_second_target_paired_with_its_interval_and_ranks_nothing_within_noise(income_runs):
    runs, d = income_runs
    low, high = runs["low"], runs["high"]
    table = comparison_table([low, high])
    r = table[(table["metric"] == S.MEAN) & (table["at"] == "horizon")].set_index("run").loc[
        f"high ({high.run_id})"]
    assert bool(r["paired"])
    diff = raw(high, S.MEAN, 24) - raw(low, S.MEAN, 24)
    np.testing.assert_allclose([r["difference"], r["difference_low_95"], r["difference_high_95"]], t_interval(diff),
                               rtol=1e-6, atol=1e-6)
    assert {S.MEAN, S.MEDIAN, S.IN_WORK, f"{S.MEAN}_change"} <= set(table["metric"])
    out = write_comparison([low.folder, high.folder], d / "cmp")
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", out.read_text())))
    label = "lowest fifth's mean income AHC (GBP/wk, 2024 prices)"
    if r["difference_excludes_zero"]:
        word = "higher" if r["difference"] > 0 else "lower"
        assert f"high: {label} £{abs(r['difference']):,.2f} {word} than low" in text
    else:  # within noise: no ranking, said to be tied
        assert f"high: {label}" not in text and label in text[text.index("cannot be told apart"):]
    wb = openpyxl.load_workbook(d / "cmp" / "comparison.xlsx")
    ws = wb["Comparison"]
    header = [c.value for c in ws[1]]
    cell = [row for row in ws.iter_rows(min_row=2) if row[header.index("Code")].value == S.MEAN][0]
    assert cell[header.index("Estimate")].number_format == "£#,##0.00"


def test_the_section_fits_the_page_in_a_browser(browser, income_runs, tmp_path):
    """Headless Chromium at a laptop's width: the section is there, its tables (a row a year) fit within the page,
    and the headline sentence reads as computed."""
    runs, _ = income_runs
    res = runs["high"]
    path = tmp_path / "report.html"
    path.write_text(render_report(res))
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth")
    for ident in ("second-target-change", "second-target-decomposition", "second-target-levels"):
        box = page.locator(f"#{ident}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1100, ident
        assert page.locator(f"#{ident} tr").count() == 1 + (3 if ident.endswith("levels") else 2)  # header + years
    assert page.inner_text("#second-target-headline") == S.target_sentence(res, S.figures(res))
    page.close()
