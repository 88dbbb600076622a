"""summary.xlsx as an analyst pastes it: formats, plain headers, borough names, the yearly and chart-data sheets,
notes on empty sheets; result files readable by others (0644 files, 0755 folders under a normal umask)."""

import os
import stat
from pathlib import Path

import openpyxl
import pytest

from glw_sim.pipeline import run_scenario
from glw_sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def rows(ws):
    header = [c.value for c in ws[1]]
    return header, [dict(zip(header, r)) for r in ws.iter_rows(min_row=2)]


def find(ws, key_col, key, **match):
    header, body = rows(ws)
    for r in body:
        if r[key_col].value == key and all(r[k].value == v for k, v in match.items()):
            return r
    raise KeyError(key)


def test_summary_xlsx_is_paste_ready(runs):
    res, base, _ = runs
    wb = openpyxl.load_workbook(res.folder / "summary.xlsx")
    assert wb.sheetnames[0] == "Read me"
    for name in ("Headline", "Yearly", "Outcomes", "Interventions", "Boroughs", "Who gains", "Uncertainty",
                 "All metrics", "Run details", "Chart - employment rate", "Chart - route to 80"):
        assert name in wb.sheetnames, name
    # a rate and a count, formatted and rounded as a briefing shows them, under plain headers
    h = res.headline()
    head = wb["Headline"]
    header, _ = rows(head)
    assert {"Figure", "Date", "Estimate", "95% interval, low", "95% interval, high",
            "Simulation noise (±, 95%)"} <= set(header)
    assert not {"mean", "low_95", "high_95", "noise_half_width_95"} & set(header)
    rate = find(head, "Code", "employment_rate", Date=res.dates[1])
    assert rate["Estimate"].number_format == "0.0%"
    assert rate["Estimate"].value == pytest.approx(round(h["employment_rate"]["mean"], 4))
    count = find(head, "Code", "net_extra_employed", Date=res.dates[1])
    assert count["95% interval, low"].number_format == "#,##0"
    assert count["Estimate"].value == round(h["net_extra_employed"]["mean"])
    assert find(head, "Code", "cost_per_net_extra_job", Date=res.dates[1])["Estimate"].number_format == "£#,##0"
    assert find(wb["Outcomes"], "Code", "disability_employment_gap")[f"{res.dates[1]} (horizon)"].number_format == "0.0%"
    assert find(wb["Interventions"], "Part", "WorkWell")["Spending"].number_format == "£#,##0"
    assert find(wb["Interventions"], "Part", "WorkWell")["Starts"].number_format == "#,##0"
    # borough names beside ONS codes in every borough table
    for sheet in ("Boroughs", "Chart - borough map", "Chart - borough rates"):
        newham = find(wb[sheet], "Borough", "Newham")
        assert newham["ONS code"].value == "E09000025", sheet
        assert [c for k, c in newham.items() if "rate" in k.lower()][0].number_format == "0.0%"
    assert find(wb["All metrics"], "Area", "E09000025")["Borough"].value == "Newham"
    # the yearly sheet: London's figures at each June and the horizon, with intervals
    header, body = rows(wb["Yearly"])
    emp = [r for r in body if r["Code"].value == "employment_rate"]
    assert [r["Date"].value for r in emp] == [res.dates[0], res.dates[1]]
    assert all(r["95% interval, low"].value <= r["Estimate"].value <= r["95% interval, high"].value for r in emp)
    # the numbers behind a chart: the employment-rate path, one row a month
    header, body = rows(wb["Chart - employment rate"])
    assert len(body) == res.horizon + 1 and "80% ambition" in header
    assert body[-1]["Employment rate: Mean of replications"].value == pytest.approx(
        res.london("employment_rate").iloc[-1].mean(), abs=1e-4)
    # a sheet with nothing to show says so; the Read me names every sheet and the intervals' uncertainty
    bwb = openpyxl.load_workbook(base.folder / "summary.xlsx")
    assert bwb["Interventions"]["A2"].value == "No programmes in this scenario."
    assert "Chart - route to 80" not in bwb.sheetnames  # (a baseline draws no route chart)
    readme = "\n".join(str(c.value) for row in wb["Read me"].iter_rows() for c in row)
    assert "simulation noise" in readme.lower() and "Sheet: Chart - employment rate" in readme


def test_result_files_are_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        sc = load_scenario(SCENARIOS / "baseline.yaml", {"name": "modes", "horizon": {"months": 2},
                                                         "population": {"scale": 0.002, "seed": 3},
                                                         "replications": 1})
        run = run_scenario(sc, tmp_path / "results")
    finally:
        os.umask(old)
    seen = 0
    for root, dirs, files in os.walk(tmp_path / "results"):
        assert stat.S_IMODE(os.stat(root).st_mode) == 0o755, root
        for f in files:
            assert stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode) == 0o644, f
            seen += 1
    assert (run.folder / "summary.xlsx").is_file() and (run.folder / "charts").is_dir() and seen >= 10
