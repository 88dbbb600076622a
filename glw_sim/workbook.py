"""``summary.xlsx``: the run's tables ready to paste into a briefing.

Plain-English headers, borough names beside ONS codes, numbers rounded and formatted as a briefing shows them
(shares as percentages to 0.1%, residents as whole numbers with thousands separators, money in whole pounds),
the headline figures at the plan's dates (2030-06 and the scenario's ``milestones``) beside the horizon, a
yearly sheet, one sheet with the numbers behind each chart the results folder draws (:mod:`glw_sim.charts`),
a note on any sheet that would be empty, and a "Read me" sheet saying what each sheet holds and which
uncertainty the intervals cover. Every figure comes from :class:`glw_sim.results.Results` (the same fits as
``summary.csv`` and the report).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from glw_sim.chartdata import chart_tables
from glw_sim.labels import GROUP_LABELS, fmt_level, programme_label
from glw_sim.results import NO_GAIN, NOT_BOUNDED, OUTCOMES, Results, uncertainty_note

#: Excel number formats: shares as percentages (gaps and spreads too: a difference of shares), their small
#: half-widths to 0.01%, residents as whole numbers with thousands separators, money in pounds
PCT, PCT_FINE, COUNT, GBP, SHARE, INT = "0.0%", "0.00%", "#,##0", "£#,##0", "0%", "0"
#: GBP a week to the penny (the second target's incomes)
GBP_WEEK = "£#,##0.00"
#: the rounding each format stands for (decimal places of the stored value)
ROUND = {PCT: 4, PCT_FINE: 5, COUNT: 0, GBP: 0, SHARE: 3, INT: 0, GBP_WEEK: 2}
#: a row's kind (glw_sim.results.OUTCOMES; the second target's gbpw and share) as its format
KIND_FORMAT = {"rate": PCT, "gap": PCT, "count": COUNT, "gbp": GBP, "gbpw": GBP_WEEK, "share": PCT}

EST, LOW, HIGH = "Estimate", "95% interval, low", "95% interval, high"
NOISE, EVID, TOTAL = "Simulation noise (±, 95%)", "Evidence (±, 95%)", "Total (±, 95%)"

#: the headline figures in words, with their kinds
HEADLINE = {
    "employment_rate": ("Employment rate 16-64", "rate"),
    "gap_to_80": ("Gap to 80% (residents)", "count"),
    "net_extra_employed": ("Net extra residents in work (vs no new policy)", "count"),
    "gross_extra_employed_helped": ("Gross extra in work among the residents helped", "count"),
    "gross_extra_employed": ("Gross extra in work before displacement", "count"),
    "share_of_gap": ("Share of the gap to 80% at the start", "rate"),
    "net_extra_employment_years": ("Net extra employment-years to date", "count"),
    "spending": ("Programme spending to date", "gbp"),
    "cost_per_net_extra_job": ("Cost per net extra job", "gbp"),
    "cost_per_net_extra_employment_year": ("Cost per net extra employment-year", "gbp"),
}


def kind_of(metric: str) -> str:
    """How a metric's values read: ``rate`` (a share or a difference of shares), ``gbp`` or ``count``."""
    m = str(metric)
    last = m.split(".")[-1]
    if "spending" in last or "cost" in last:
        return "gbp"
    if m.endswith(("_rate", "_gap", "_spread", "_sd")) or "rate" in last or m == "share_of_gap":
        return "rate"
    return "count"


def _ci_widths(d: dict) -> tuple[float, float]:
    """The simulation noise and evidence half-widths (95%) of a figure's row (nan for a ratio's)."""
    noise = d.get("noise_high_95", np.nan) - d["mean"] if "noise_high_95" in d else np.nan
    evid = 1.96 * d["evidence_sd"] if "evidence_sd" in d else np.nan
    return noise, evid


# ---------------------------------------------------------------------------- the tables
def headline_table(res: Results) -> pd.DataFrame:
    """The headline figures at month 0, at each milestone before the horizon and at the horizon."""
    start, end = res.dates
    rows = []
    h0 = res.headline()
    for key in ("employment_rate", "gap_to_80"):
        d = h0[f"{key}_start"]
        rows.append((HEADLINE[key][0], start, 0, d, key))
    dates = [(m, x) for m, x in res.milestones() if m < res.horizon] + [(res.horizon, end)]
    for month, date in dates:
        h = h0 if month == res.horizon else res.headline(month)
        for key, (label, _) in HEADLINE.items():
            if key in h:
                rows.append((label, date, month, h[key], key))
    out = []
    for label, date, month, d, key in rows:
        noise, evid = _ci_widths(d)
        est, note = d["mean"], ""
        if key.startswith("cost") and not est > 0:  # no net gain to divide the spending by
            est, note = np.nan, NO_GAIN
        elif key.startswith("cost") and not np.isfinite(d["low_95"]):
            note = "interval " + NOT_BOUNDED
        out.append({"Figure": label, "Date": date, "Month": month, EST: est, LOW: d["low_95"],
                    HIGH: d["high_95"], NOISE: noise, EVID: evid, "Replications": d.get("replications", np.nan),
                    "Note": note, "Code": key, "_kind": HEADLINE[key][1]})
    return pd.DataFrame(out)


def yearly_months(res: Results) -> list[tuple[int, str]]:
    """Month 0, each June of the run and the horizon, as (month, date)."""
    d = res.timeseries.drop_duplicates("month").set_index("month")["date"].sort_index()
    keep = [(int(m), str(x)) for m, x in d.items() if m == 0 or m == res.horizon or str(x).endswith("-06")]
    return keep


def yearly_table(res: Results) -> pd.DataFrame:
    """London's headline figures (with intervals) and the plan's outcome metrics at each June of the run."""
    rows = []
    for month, date in yearly_months(res):
        h = res.headline(month) if month > 0 else {}
        figs = [(HEADLINE[k][0], k, HEADLINE[k][1], h[k]) for k in
                ("net_extra_employed", "spending", "cost_per_net_extra_job") if k in h]
        for metric, label, kind in OUTCOMES:
            if res.has(metric):
                figs.insert(0 if metric == "employment_rate" else len(figs), (label, metric, kind,
                            res.figure(metric, month).as_row()))
        for label, key, kind, d in figs:
            rows.append({"Date": date, "Month": month, "Figure": label, EST: d["mean"], LOW: d["low_95"],
                         HIGH: d["high_95"], "Code": key, "_kind": kind})
    out = pd.DataFrame(rows)
    order = list(dict.fromkeys(out["Code"])) if len(out) else []
    return out.sort_values(["Code", "Month"], key=lambda s: s.map(order.index) if s.name == "Code" else s,
                           kind="stable").reset_index(drop=True) if len(out) else out


def outcomes_table(res: Results) -> pd.DataFrame:
    start, end = res.dates
    o = res.outcomes()
    rows = []
    for _, r in o.iterrows():
        row = {"Metric (London, 16-64)": r["label"], f"{start} (start)": r["month_0"]}
        for month, date in res.milestones():
            if month < res.horizon:
                row.update({date: r[f"at_{date}"], f"{date}, {LOW}": r[f"low_95_{date}"],
                            f"{date}, {HIGH}": r[f"high_95_{date}"]})
        row.update({f"{end} (horizon)": r["horizon"], f"{end}, {LOW}": r["low_95"], f"{end}, {HIGH}": r["high_95"],
                    NOISE: r["noise_half_width"], EVID: r["evidence_half_width"], "Code": r["metric"],
                    "_kind": r["kind"]})
        rows.append(row)
    return pd.DataFrame(rows)


def interventions_table(res: Results) -> pd.DataFrame:
    iv = res.interventions()
    names = {"net_extra_jobs": "Net extra residents in work", "net_extra_jobs_low_95": f"Net extra, {LOW}",
             "net_extra_jobs_high_95": f"Net extra, {HIGH}", "distinct_from_zero": "Distinct from zero",
             "net_extra_employment_years": "Net extra employment-years", "starts": "Starts",
             "left_list": "Left the waiting list", "spending": "Spending", "cost_per_net_job": "Cost per net extra job",
             "cost_per_net_job_low_95": f"Cost per net extra job, {LOW}",
             "cost_per_net_job_high_95": f"Cost per net extra job, {HIGH}",
             "cost_per_employment_year": "Cost per employment-year",
             "cost_per_employment_year_low_95": f"Cost per employment-year, {LOW}",
             "cost_per_employment_year_high_95": f"Cost per employment-year, {HIGH}",
             "waiting_at_horizon": "Waiting at the horizon"}
    out = pd.DataFrame({"Part": [programme_label(str(p)) for p in iv["programme"]]})
    for col, label in names.items():
        out[label] = iv[col].to_numpy()
    out[NOISE] = iv["net_extra_jobs_noise_half_width"].to_numpy()  # (t, as the interval: not 1.96 x se)
    out[EVID] = iv["net_extra_jobs_evidence_half_width"].to_numpy()
    out["Distinct from zero"] = out["Distinct from zero"].map({True: "yes", False: "no"})
    # a costed part: a contribution and spending (Results.cost_ratio leaves the cost nan with no net gain)
    costly = (iv["net_extra_jobs"].notna() & iv["spending"].notna()).to_numpy()
    gain = (iv["net_extra_jobs"] > 0).to_numpy()
    bounded = iv["cost_per_net_job_low_95"].notna().to_numpy()
    out["Cost note"] = np.where(costly & ~gain, NO_GAIN,
                                np.where(costly & ~bounded, "interval not bounded: the contribution is within its "
                                         "uncertainty of zero", ""))
    unpriced = np.array([bool(x) if pd.notna(x) else False for x in iv["unpriced"]], dtype=bool)  # no cost given
    out.loc[unpriced, "Cost note"] = "unpriced: a change the system must make, not priced"
    for col in ("Cost per net extra job", "Cost per employment-year"):  # no gain to divide by: no cost, no bounds
        for c in (col, f"{col}, {LOW}", f"{col}, {HIGH}"):
            out.loc[~gain, c] = np.nan
    out["Code"] = iv["programme"].to_numpy()
    return out


def boroughs_table(res: Results, targets) -> pd.DataFrame:
    start, end = res.dates
    b = res.boroughs(targets)
    out = pd.DataFrame({"ONS code": b["code"], "Borough": b["name"], "Sub-region": b["srp"],
                        f"Employment rate {start} (start)": b["employment_rate_month_0"]})
    for month, date in res.milestones():
        if month < res.horizon:
            figs = [res.figure("employment_rate", month, area=c) for c in b["code"]]
            out[f"Employment rate {date}"] = [f.estimate for f in figs]
            out[f"{date}, {LOW}"] = [f.low for f in figs]
            out[f"{date}, {HIGH}"] = [f.high for f in figs]
    out[f"Employment rate {end} (horizon)"] = b["employment_rate"]
    out[f"{end}, {LOW}"] = b["low_95"]
    out[f"{end}, {HIGH}"] = b["high_95"]
    if "net_extra_employed" in b:
        out["Net extra residents in work"] = b["net_extra_employed"]
        out[f"Net extra, {LOW}"] = b["net_extra_low_95"]
        out[f"Net extra, {HIGH}"] = b["net_extra_high_95"]
    return out


def who_gains_table(res: Results) -> pd.DataFrame:
    g = res.who_gains()
    return pd.DataFrame({"Grouping": [GROUP_LABELS.get(x, x) for x in g["grouping"]],
                         "Group": [fmt_level(x) for x in g["level"]],
                         "Net extra residents in work": g["mean"], LOW: g["low_95"], HIGH: g["high_95"],
                         "Distinct from zero": g["distinct_from_zero"].map({True: "yes", False: "no"}),
                         "Replications": g["replications"]})


def uncertainty_table(res: Results) -> pd.DataFrame:
    rows = []
    for name, f in res.figures().items():
        label = ("Net extra residents in work" if name == "net_extra_employed"
                 else f"Contribution: {programme_label(name.split('.', 1)[1])}")
        row = {"Figure": label, EST: f.estimate, NOISE: f.noise_half_width, EVID: f.evidence_half_width,
               TOTAL: f.half_width, "Replications": f.replications}
        for k, (inp, share) in enumerate(f.drivers(), start=1):
            row[f"Driver {k}"] = res.input_label(inp)
            row[f"Driver {k}, share of evidence variance"] = share
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["Figure", EST, NOISE, EVID, TOTAL, "Replications"])


def all_metrics_table(res: Results, targets) -> pd.DataFrame:
    s = res.summary.copy()
    names = dict(zip(targets.geography.codes, targets.geography.names))
    plain = {"area": "Area", "group": "Group", "metric": "Metric", "mean": EST, "low_95": LOW, "high_95": HIGH,
             "noise_se": "Simulation noise, standard error", "noise_low_95": "Simulation noise only, low",
             "noise_high_95": "Simulation noise only, high", "evidence_sd": "Evidence, standard deviation",
             "replications": "Replications", "sd": "Spread of single replications (sd)", "month_0": "Start (month 0)",
             "date": "Date"}
    for col in s.columns:
        for stem, word in (("mean_", "Estimate at "), ("low_95_", "95% low at "), ("high_95_", "95% high at ")):
            if col.startswith(stem) and col[len(stem):len(stem) + 1].isdigit():
                plain[col] = word + col[len(stem):]
    s.insert(1, "Borough", s["area"].map(lambda a: names.get(a, "London" if a == "London" else "")))
    return s.rename(columns=plain)


def second_target_table(res: Results) -> pd.DataFrame:
    """The plan's second target by reported year (:func:`glw_sim.secondtarget.figures`): the lowest fifth's
    income after housing costs and share in work, and with a counterfactual the changes and their decomposition,
    each with its 95% interval and the interval's two parts; empty without ``outputs.income``."""
    from glw_sim import secondtarget as S

    if not S.has_second_target(res):
        return pd.DataFrame()
    t = S.figures(res)
    change = t["code"].str.contains("_change")
    return pd.DataFrame({
        "Date": t["date"], "Month": t["month"], "Figure": t["label"], EST: t["mean"], LOW: t["low_95"],
        HIGH: t["high_95"], NOISE: t["noise"], EVID: t["evidence"], "Replications": t["replications"],
        "Interval leaves out zero": t["excludes_zero"].where(change, None).map({True: "yes", False: "no"}),
        "Code": t["code"], "_kind": t["kind"]})


def manifest_table(res: Results) -> pd.DataFrame:
    return pd.DataFrame([
        ("Scenario", res.name), ("Run id", res.run_id), ("Description", res.scenario.get("description")),
        ("Start", res.dates[0]), ("Horizon", res.dates[1]), ("Months", res.horizon),
        ("Milestones", ", ".join(d for _, d in res.milestones()) or "none in the run"),
        ("Scale (share of residents simulated)", res.scenario["population"]["scale"]),
        ("Seed", res.scenario["population"]["seed"]), ("Replications", res.scenario["replications"]),
        ("glw-sim version", res.manifest.get("glw_sim_version")), ("Created (UTC)", res.manifest.get("created_utc")),
    ], columns=["Field", "Value"])


# ---------------------------------------------------------------------------- writing
def _format_for(col: str, kind: str | None) -> str | None:
    """The number format of a column (``kind``: the row's, for tables of mixed figures)."""
    c = col.lower()
    if c in ("month", "replications", "seed", "months"):
        return INT
    if "share of evidence variance" in c:
        return SHARE
    if kind is not None and col not in ("Code",):
        fmt = KIND_FORMAT[kind]
        return PCT_FINE if fmt == PCT and ("±" in col or col.startswith("Difference")) else fmt
    if "cost" in c or "spending" in c:
        return GBP
    if "rate" in c:
        return PCT
    return COUNT


def _write(ws, df: pd.DataFrame, note: str | None, rate_columns: tuple[str, ...] = ()) -> None:
    """Headers, values rounded to their format, widths; ``note`` in the first row when the table is empty.
    ``rate_columns``: columns that hold shares (without a row kind or 'rate' in their name)."""
    from openpyxl.styles import Font

    kinds = df["_kind"].tolist() if "_kind" in df else None
    cols = [c for c in df.columns if c != "_kind"]
    for j, col in enumerate(cols, start=1):
        ws.cell(row=1, column=j, value=col).font = Font(bold=True)
    if not len(df):
        ws.cell(row=2, column=1, value=note or "Nothing to show for this run.").font = Font(italic=True)
    values = {col: df[col].tolist() for col in cols}
    for i in range(len(df)):
        for j, col in enumerate(cols, start=1):
            v = values[col][i]
            cell = ws.cell(row=i + 2, column=j)
            if isinstance(v, (bool, np.bool_)):
                cell.value = "yes" if v else "no"
            elif isinstance(v, (int, float, np.integer, np.floating)):
                if not np.isfinite(v):
                    continue
                fmt = PCT if col in rate_columns else _format_for(col, kinds[i] if kinds else None)
                cell.value = round(float(v), ROUND[fmt]) if fmt != INT else int(v)
                cell.number_format = fmt
            elif v is not None and not (isinstance(v, float) and np.isnan(v)):
                cell.value = str(v) if not isinstance(v, str) else v
    for j, col in enumerate(cols, start=1):
        width = max([len(str(col))] + [len(v) for v in df[col].head(200).tolist() if isinstance(v, str)])
        ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(max(10, width + 2), 48)
    ws.freeze_panes = "A2"


def read_me(res: Results, sheets: list[tuple[str, str]]) -> pd.DataFrame:
    start, end = res.dates
    lines = [
        ("Run", f"{res.name}, run {res.run_id}: {start} to {end} ({res.horizon} months)."),
        ("Intervals", uncertainty_note(res) + ". Simulation noise: the Monte Carlo error, which more replications "
         "or a larger scale shrink. Evidence: how much the figure moves across the plausible programme effects, "
         "unit costs and key assumptions (when the run drew them). Cost ratios: Fieller's intervals from both."),
        ("Dates", "Figures are at the horizon unless a date says otherwise; the plan's date (2030-06) and the "
         "scenario's milestones are shown beside it when the run reaches them."),
        ("Rounding", "Rates are stored to 0.01 percentage points and shown to 0.1%; residents as whole numbers; "
         "money in whole pounds. Gaps and spreads are differences of rates, shown as percentages."),
        ("", ""),
    ]
    lines += [(f"Sheet: {name}", what) for name, what in sheets]
    return pd.DataFrame(lines, columns=["Item", "What it says"])


def workbook_bytes(res: Results, targets=None) -> bytes:
    """``summary.xlsx`` from a run's results (see the module's description)."""
    from glw_sim.targets import load_targets

    targets = targets or load_targets()
    bt = boroughs_table(res, targets)
    no_policy = "No programmes or levers in this scenario: nothing to compare with no new policy."
    sheets = [
        ("Headline", "London's headline figures at the start, at each milestone and at the horizon, with 95% "
         "intervals and the two parts of each interval.", headline_table(res), None, ()),
        ("Yearly", "London's headline figures and outcome metrics at each June of the run (and the horizon), "
         "with 95% intervals.", yearly_table(res), None, ()),
        ("Outcomes", "The plan's outcome metrics (Box E) at the start, each milestone and the horizon.",
         outcomes_table(res), None, ()),
        ("Interventions", "Each part's contribution (the package minus the package without it), starts, spending "
         "and cost per net extra job, at the horizon.", interventions_table(res),
         "No programmes in this scenario.", ()),
        ("Boroughs", "Each local authority (ONS code and name): employment rate at the start, milestones and "
         "horizon; net extra residents in work.", bt, None, tuple(c for c in bt.columns if "Net extra" not in c)),
        ("Who gains", "Net extra residents in work at the horizon by group.", who_gains_table(res), no_policy, ()),
        ("Uncertainty", "What makes up each interval: simulation noise, evidence, and the inputs that drive it.",
         uncertainty_table(res), "No programmes or levers in this scenario: no net extra or contributions to break "
         "down (every other sheet gives each figure's interval and its simulation-noise part).", ()),
    ]
    st = second_target_table(res)
    if len(st):
        sheets.append(("Second target", "The plan's second target by reported year (month 0 and every twelfth "
                       "month): the lowest fifth of working-age residents' real income after housing costs (GBP a "
                       "week, April 2024 prices, equivalised) and share in work; with a counterfactual, the change "
                       "against it and its parts (entry into work, hours, pay: they add to the change), each with "
                       "its 95% interval. What they hold and cannot claim: the rows 'Second target' below.", st,
                       None, ()))
    for name, what, df, note, rates in chart_tables(res, targets):
        sheets.append((name, what, df, note, rates))
    sheets += [
        ("All metrics", "Every metric in summary.csv (London, boroughs with names, groups) at the horizon and "
         "each milestone.", all_metrics_table(res, targets), None, ()),
        ("Run details", "The scenario, seed, scale and version the numbers come from (manifest.json has all).",
         manifest_table(res), None, ()),
    ]
    for i, (name, what, df, note, rates) in enumerate(sheets):
        if name == "All metrics":
            kinds = df["Metric"].map(kind_of)
            sheets[i] = (name, what, df.assign(_kind=kinds.where(df["Metric"].notna(), "count")), note, rates)
    readme = read_me(res, [(s[0], s[1]) for s in sheets])
    if len(st):
        from glw_sim import secondtarget as S

        readme = pd.concat([readme, pd.DataFrame(
            [("", ""), ("Second target: intervals", S.uncertainty_sentence(res)),
             ("Second target: decomposition", S.DECOMPOSITION_NOTE)]
            + [("Second target: cannot claim", t) for t in S.CANNOT_CLAIM], columns=readme.columns)],
            ignore_index=True)
    return sheets_bytes(readme, [(s[0], *s[2:]) for s in sheets])


def sheets_bytes(readme: pd.DataFrame, sheets: list[tuple[str, pd.DataFrame, str | None, tuple[str, ...]]]) -> bytes:
    """A workbook in this module's style: a "Read me" sheet (``readme``: item, what it says), then each sheet
    ``(name, table, note if empty, columns that hold shares)``; a table's ``_kind`` column (``rate``, ``gap``,
    ``count``, ``gbp``), when it has one, gives each row's number format. Used by ``summary.xlsx`` and by the
    comparison's ``comparison.xlsx`` (:mod:`glw_sim.compare`)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Read me"
    _write(ws, readme, None)
    ws.column_dimensions["B"].width = 110
    for name, df, note, rates in sheets:
        _write(wb.create_sheet(name), df, note, rates)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
