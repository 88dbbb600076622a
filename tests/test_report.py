"""Briefings: results API numbers, charts (title, units, source, run id), report.html, summary.xlsx, compare."""

import base64
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from glw_sim import charts as C
from glw_sim.cli import main
from glw_sim.compare import write_comparison
from glw_sim.report import write_outputs

def test_headline_numbers_come_from_the_results(runs):
    res, _, _ = runs
    h = res.headline()
    s = res.summary.set_index(["area", "group", "metric"])
    for key in ("employment_rate", "gap_to_80", "net_extra_employed"):
        assert h[key]["mean"] == pytest.approx(s.loc[("London", "all", key), "mean"], rel=1e-5)
        assert h[key]["low_95"] <= h[key]["mean"] <= h[key]["high_95"]
    assert h["gap_to_80_start"]["mean"] == pytest.approx(327_000, abs=15_000)
    # spending: programme books add up to the cumulative total (no hubs here)
    iv = res.interventions().set_index("programme")
    assert iv.loc[["restart", "workwell"], "spending"].sum() == pytest.approx(h["spending"]["mean"], rel=1e-9)
    assert (iv.loc[["restart", "workwell"], "starts"] > 0).all()
    # contributions plus interactions add up to the net total in every replication
    parts = sum(res.at(f"contribution.{p}") for p in ("restart", "workwell", "interactions"))
    assert np.allclose(parts, res.at("net_extra_employed"))


def test_net_extra_by_group_and_borough_add_up_to_london(runs):
    res, _, _ = runs
    net = res.at("net_extra_employed")
    g = res.timeseries
    last = g[(g["month"] == res.horizon) & (g["metric"] == "net_extra_employed")]
    for grouping in ("sex", "age_band", "health", "ethnicity", "qualification"):
        by = last[last["group"].str.startswith(grouping + "=")].groupby("replication")["value"].sum()
        assert np.allclose(by, net, atol=1e-6), grouping
    by_borough = last[last["area"] != "London"].groupby("replication")["value"].sum()
    assert np.allclose(by_borough, net, atol=1e-6)
    assert res.who_gains()["mean"].sum() == pytest.approx(5 * net.mean())


def test_paragraph_is_written_from_the_numbers(runs):
    res, base, _ = runs
    h = res.headline()
    text = res.paragraph()
    assert f"{100 * h['employment_rate']['mean']:.1f}%" in text
    assert f"{h['net_extra_employed']['mean']:,.0f} residents in work" in text
    assert "Two programmes from July 2025" in text
    assert "no new policy" not in base.paragraph()  # a baseline has nothing to compare with


def test_every_chart_has_title_axis_labels_source_and_run_id(runs, monkeypatch, tmp_path):
    from glw_sim.targets import load_targets

    res, _, _ = runs
    seen = {}
    real = C._finish

    def spy(fig, path, run_id, note=None, source=C.SOURCE):
        texts = [t.get_text() for t in fig.texts]
        titles = [t.get_text() for ax in fig.axes for t in (ax.title, ax._left_title)] + texts
        plotted = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
        seen[Path(path).stem] = {
            "title": any(len(t) > 15 for t in titles),
            "labels": all(ax.get_xlabel() and (ax.get_ylabel() or ax.get_yticklabels()) for ax in plotted),
            "units": all(re.search(r"\((%|thousands|GBP|.*\))|percentage points|% of", ax.get_xlabel() + ax.get_ylabel())
                         or ax.get_xlabel() == "Month" and re.search(r"%|points|thousands", ax.get_ylabel())
                         for ax in plotted),
            "source": any("Source: glw-sim" in t for t in texts) or "Source: glw-sim" in source,
            "run_id": run_id == res.run_id,
        }
        real(fig, path, run_id, note, source)

    monkeypatch.setattr(C, "_finish", spy)
    paths = C.write_charts(res, tmp_path, targets=load_targets())
    assert {p.stem for p in paths} >= {"employment_rate_trajectory", "route_to_80", "outcomes_dashboard",
                                       "borough_employment_rates", "borough_map", "cost_per_job", "who_gains"}
    for name, checks in seen.items():
        assert all(checks.values()), (name, checks)
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 20_000


def test_report_html_is_self_contained_with_every_chart(runs):
    res, _, _ = runs
    html = (res.folder / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html), "the report must not need the network"
    assert "<script" not in html and "<link" not in html
    imgs = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    charts = sorted((res.folder / "charts").glob("*.png"))
    assert len(imgs) == len(charts) >= 7
    assert sorted(base64.b64decode(i) for i in imgs) == sorted(p.read_bytes() for p in charts)
    assert (res.folder / "charts" / "borough_map.png").read_bytes() in {base64.b64decode(i) for i in imgs}
    h = res.headline()
    for text in (f"{100 * h['employment_rate']['mean']:.1f}%", f"{h['gap_to_80']['mean']:,.0f}",
                 f"{h['net_extra_employed']['mean']:,.0f}", "WorkWell", "Restart", res.run_id,
                 "Assumptions and their sources", "Uncertainty", "exit_mult_long_term_sick"):
        assert text in html, text


def test_workbook_has_one_sheet_per_table(runs):
    res, _, _ = runs
    wb = openpyxl.load_workbook(res.folder / "summary.xlsx", read_only=True)
    assert wb.sheetnames[:8] == ["Read me", "Headline", "Yearly", "Outcomes", "Interventions", "Boroughs", "Who gains",
                                 "Uncertainty"]
    assert wb.sheetnames[-2:] == ["All metrics", "Run details"]
    head = pd.read_excel(res.folder / "summary.xlsx", sheet_name="Headline")
    head = head[head["Date"] == res.dates[1]].set_index("Code")
    assert head.loc["net_extra_employed", "Estimate"] == pytest.approx(res.headline()["net_extra_employed"]["mean"],
                                                                       abs=0.5)
    boroughs = pd.read_excel(res.folder / "summary.xlsx", sheet_name="Boroughs")
    assert len(boroughs) == 33 and boroughs[f"Employment rate {res.dates[1]} (horizon)"].between(0.5, 0.95).all()
    allm = pd.read_excel(res.folder / "summary.xlsx", sheet_name="All metrics")
    assert len(allm) == len(res.summary)


def test_report_rebuilds_from_a_results_folder(runs):
    res, _, _ = runs
    before = (res.folder / "summary.xlsx").read_bytes()
    (res.folder / "report.html").unlink()
    write_outputs(res.folder, charts=False)
    assert (res.folder / "report.html").exists()
    assert pd.read_excel(res.folder / "summary.xlsx", sheet_name="Headline").equals(
        pd.read_excel(__import__("io").BytesIO(before), sheet_name="Headline"))


def test_compare_puts_runs_side_by_side(runs, tmp_path, capsys):
    res, base, _ = runs
    out = write_comparison([base.folder, res.folder], tmp_path / "cmp")
    html = out.read_text()
    assert "tiny-package" in html and "tiny-baseline" in html
    # each run's employment rate and net extra, and the package's difference from the baseline at 2025-10
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 3
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    emp = table[(table["metric"] == "employment_rate") & (table["at"] == "horizon")].set_index("run")["mean"]
    assert emp[f"tiny-package ({res.run_id})"] == pytest.approx(res.at("employment_rate").mean())
    assert emp[f"tiny-baseline ({base.run_id})"] == pytest.approx(base.at("employment_rate").mean())
    # CLI: a scenario folder means its newest run
    code = main(["compare", str(base.folder.parent), str(res.folder), "--out", str(tmp_path / "cmp2")])
    assert code == 0 and (tmp_path / "cmp2" / "report.html").exists()


@pytest.mark.parametrize("args,expect", [
    (["report", "/no/such/run"], "no such results folder"),
    (["compare", "/no/such/run", "/no/such/other"], "no such results folder"),
])
def test_report_errors_are_one_line(args, expect, capsys):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and expect in err and len(err.strip().splitlines()) == 1


def test_report_on_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text("{}")
    code = main(["report", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "missing timeseries.parquet" in err and len(err.strip().splitlines()) == 1


def test_workbook_cells_are_formatted_as_what_they_hold(runs):
    res, _, _ = runs
    wb = openpyxl.load_workbook(res.folder / "summary.xlsx")
    end = res.dates[1]

    def cell(sheet, key_col, key, col, date=None):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            if row[header.index(key_col)].value == key and (date is None or row[header.index("Date")].value == date):
                return row[header.index(col)]
        raise KeyError(key)

    assert cell("Headline", "Code", "employment_rate", "Estimate", end).number_format == "0.0%"
    assert cell("Headline", "Code", "net_extra_employed", "95% interval, low", end).number_format == "#,##0"
    assert cell("Headline", "Code", "cost_per_net_extra_job", "Estimate", end).number_format == "£#,##0"
    assert cell("Boroughs", "Borough", "Newham", f"Employment rate {end} (horizon)").number_format == "0.0%"
    assert cell("Interventions", "Code", "workwell", "Spending").number_format == "£#,##0"
    assert cell("Interventions", "Code", "workwell", "Starts").number_format == "#,##0"
    assert cell("Outcomes", "Code", "disability_employment_gap", f"{end} (horizon)").number_format == "0.0%"


def _synthetic_results(net_london: float, contributions: dict[str, float], n: int = 4):
    """A results object built by hand: London's net extra in work and each programme's contribution at the
    horizon (month 2), spread +/-10 across ``n`` replications, each programme spending 1m."""
    from glw_sim.results import Results

    rng = np.random.default_rng(3)
    rows = []
    for rep in range(n):
        spread = lambda: float(10 * rng.standard_normal())  # noqa: E731
        for month in (0, 1, 2):
            date = f"2026-{month + 1:02d}"
            vals = {"employment_rate": 0.75, "gap_to_80": 300000.0,
                    "net_extra_employed": (net_london + spread()) * month / 2,
                    "spending_cumulative": 2e6 * month / 2 + 1e4 * rep}
            for p, c in contributions.items():
                vals |= {f"programme.{p}.starts": 100.0, f"programme.{p}.left_list": 0.0,
                         f"programme.{p}.waiting": 0.0, f"programme.{p}.spending": (1e6 + 1e4 * rep) / 2 * (month > 0),
                         f"contribution.{p}": (c + spread()) * month / 2}
            rows += [(rep, month, date, "London", "all", k, v) for k, v in vals.items()]
    ts = pd.DataFrame(rows, columns=["replication", "month", "date", "area", "group", "metric", "value"])
    return Results(Path("."), ts, None, {"scenario": {"name": "synthetic", "replications": n,
                                                       "population": {"scale": 0.01}}})


def test_a_negative_contribution_gets_no_cost_anywhere():
    """A part whose contribution is negative has no cost per net job: not a negative number, in the results
    table, the report's table and summary.xlsx's; a positive one keeps spending over contribution."""
    from glw_sim.report import intervention_rows
    from glw_sim.results import NO_GAIN
    from glw_sim.uncertainty import t95
    from glw_sim.workbook import interventions_table

    res = _synthetic_results(400.0, {"alpha": 800.0, "beta": -400.0})
    iv = res.interventions().set_index("programme")
    assert iv.loc["beta", "net_extra_jobs"] < 0 and iv.loc["beta", "distinct_from_zero"]
    for col in ("cost_per_net_job", "cost_per_net_job_low_95", "cost_per_net_job_high_95",
                "cost_per_employment_year", "cost_per_employment_year_low_95", "cost_per_employment_year_high_95"):
        assert np.isnan(iv.loc["beta", col])
    spend = res.programme_spending()["alpha"]
    assert iv.loc["alpha", "cost_per_net_job"] == pytest.approx(spend.mean() / res.at("contribution.alpha").mean())
    assert iv.loc["alpha", "cost_per_net_job_low_95"] > 0
    rows = {r["programme"]: r for r in intervention_rows(res)}
    beta = next(r for k, r in rows.items() if "beta" in k.lower())
    assert (beta["cost"], beta["cost_ci"], beta["year_cost"], beta["year_cost_ci"]) == ("n/a", NO_GAIN, "n/a", NO_GAIN)
    assert not any("-£" in str(v) or "£-" in str(v) for r in rows.values() for v in r.values())
    # the noise column is the t half-width the interval uses (4 replications: 3 df), not 1.96 standard errors
    alpha = next(r for k, r in rows.items() if "alpha" in k.lower())
    se = iv.loc["alpha", "net_extra_jobs_noise_se"]
    assert alpha["noise"].startswith(f"±{t95(3) * se:,.0f} /")
    wb = interventions_table(res).set_index("Code")
    assert wb.loc["beta", "Cost note"] == NO_GAIN
    assert wb.loc["beta"].filter(like="Cost per").isna().all()
    assert wb.loc["alpha", "Cost per net extra job"] == pytest.approx(iv.loc["alpha", "cost_per_net_job"])
    assert wb.loc["alpha", "Simulation noise (±, 95%)"] == pytest.approx(t95(3) * se)


def test_no_net_gain_gives_no_headline_cost_anywhere():
    """London's net extra below zero: the headline cost is 'no net gain to cost' in the results, the console,
    the report's cards and summary.xlsx's headline sheet, never a negative number."""
    from glw_sim.report import headline_cards
    from glw_sim.results import NO_GAIN, console_summary
    from glw_sim.workbook import headline_table

    res = _synthetic_results(-500.0, {"alpha": -500.0})
    h = res.headline()
    assert h["net_extra_employed"]["high_95"] < 0
    for key in ("cost_per_net_extra_job", "cost_per_net_extra_employment_year"):
        assert all(np.isnan(h[key][c]) for c in ("mean", "low_95", "high_95"))
    cards = {c["id"]: c for c in headline_cards(res)}
    assert cards["cost-per-job"]["value"] == "n/a" and cards["cost-per-job"]["detail"] == NO_GAIN
    text = console_summary(res)
    line = next(x for x in text.splitlines() if "Cost per net extra job" in x)
    assert NO_GAIN in line and "-£" not in line
    t = headline_table(res)
    costs = t[t["Code"].str.startswith("cost")]
    assert costs["Estimate"].isna().all() and (costs["Note"] == NO_GAIN).all()
    assert "the net gain is too small" in res.paragraph()


def test_cost_chart_without_attribution_runs_gives_the_whole_package(tmp_path, monkeypatch):
    """outputs: {attribution: false}: no part has a contribution, so the cost chart says why and shows the whole
    package's cost per net job with its interval (not 'no intervention adds net jobs')."""
    from glw_sim.pipeline import run_scenario
    from glw_sim.results import load_results
    from glw_sim.scenario import load_scenario

    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "health-package-2030.yaml", {
        "name": "no-attribution", "horizon": {"months": 12}, "population": {"scale": 0.002, "seed": 9},
        "replications": 2, "precision": None, "outputs": {"attribution": False}})
    res = load_results(run_scenario(sc, tmp_path / "results", charts=False).folder)
    assert len(res.programmes()) > 1 and res.interventions()["net_extra_jobs"].isna().all()
    titles = {}
    monkeypatch.setattr(C, "_finish", lambda fig, path, *a, **k: titles.__setitem__(
        Path(path).stem, [ax.get_title("left") or ax.get_title() for ax in fig.axes]))
    with C.style():
        C.cost_per_job(res, tmp_path / "cost_per_job.png")
    [title] = titles["cost_per_job"]
    assert title.startswith("Costs by part need the runs without each part (outputs: attribution is off")
    c = res.headline()["cost_per_net_extra_job"]
    if np.isfinite(c["mean"]):
        assert f"the whole package: £{c['mean'] / 1000:,.0f}k per net additional job (95% interval" in title
    else:
        assert title.endswith("the package adds no net jobs to cost")
    assert "No intervention adds net jobs" not in title


def test_borough_rates_chart_counts_only_authorities_clearly_at_80(runs, monkeypatch, tmp_path):
    """The title counts an authority at or above 80% only when its whole 95% interval is, and gives the spread
    with its interval; every modelled rate is drawn with its interval."""
    from glw_sim.targets import load_targets

    res, _, _ = runs
    seen = {}

    def spy(fig, path, *a, **k):
        ax = fig.axes[0]
        seen["title"] = ax.get_title("left") or ax.get_title()
        seen["bars"] = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]

    monkeypatch.setattr(C, "_finish", spy)
    with C.style():
        C.borough_rates(res, tmp_path / "rates.png", load_targets())
    b = res.boroughs()
    clear = int((b["low_95"] >= 0.80).sum())
    spread = res.figure("borough_employment_spread")
    assert seen["title"] == (f"Borough employment rates span {100 * spread.estimate:.0f} points "
                             f"({100 * spread.low:.0f} to {100 * spread.high:.0f}); {clear} of 33 clearly at or "
                             "above 80% (the whole 95% interval)")
    assert len(seen["bars"]) == 2  # the published estimates' intervals and the modelled rates'
