"""The numbers behind each chart a results folder draws (:func:`glw_sim.charts.write_charts`), as tables for
``summary.xlsx``: the same selections of the run's results the charts plot (means and 2.5-97.5th percentile
bands of single replications for the monthly lines; estimates and 95% intervals for the bars), in residents and
shares rather than the charts' thousands and percentage points."""

from __future__ import annotations

import numpy as np
import pandas as pd

from glw_sim.labels import GROUP_LABELS, fmt_level, programme_label
from glw_sim.results import OUTCOMES, Results

MEAN, BLO, BHI = "Mean of replications", "Band, 2.5th percentile", "Band, 97.5th percentile"
LOW, HIGH = "95% interval, low", "95% interval, high"
#: the outcome metrics the dashboard draws
DASHBOARD = ("health_related_inactivity_rate", "disability_employment_gap", "neet_rate_16_24",
             "ethnicity_employment_gap", "female_employment_rate", "borough_employment_spread")


def _band(res: Results, wide: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    many = wide.shape[1] > 1
    x = res.timeseries.drop_duplicates("month").set_index("month")["date"].reindex(wide.index)
    out = pd.DataFrame({"Date": x.to_numpy(), "Month": wide.index.to_numpy()})
    out[prefix + MEAN] = wide.mean(axis=1).to_numpy()
    out[prefix + BLO] = wide.quantile(0.025, axis=1).to_numpy() if many else np.nan
    out[prefix + BHI] = wide.quantile(0.975, axis=1).to_numpy() if many else np.nan
    return out


def trajectory(res: Results) -> pd.DataFrame:
    out = _band(res, res.london("employment_rate"), "Employment rate: ")
    if res.has_counterfactual:
        base = (res.london("employed") - res.london("net_extra_employed")) / res.london("population")
        b = _band(res, base, "No new policy: ")
        out = out.merge(b, on=["Date", "Month"])
    out["80% ambition"] = 0.80
    return out


def dashboard(res: Results) -> pd.DataFrame:
    parts = []
    for metric, label, _ in OUTCOMES:
        if metric in DASHBOARD and res.has(metric):
            d = _band(res, res.london(metric))
            d.insert(0, "Metric", label)
            parts.append(d)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def borough_rates(res: Results, targets) -> pd.DataFrame:
    geo = targets.geography
    b = res.boroughs(targets).set_index("code").reindex(list(geo.codes))
    pub = targets.borough_rates_published.set_index("code").reindex(list(geo.codes))
    out = pd.DataFrame({"ONS code": list(geo.codes), "Borough": list(geo.names), "Sub-region": list(geo.srp),
                        f"Modelled employment rate, {res.dates[1]}": b["employment_rate"].to_numpy(),
                        f"Modelled, {LOW}": b["low_95"].to_numpy(), f"Modelled, {HIGH}": b["high_95"].to_numpy(),
                        "Published rate (APS small-area estimate)": pub["employment_rate"].to_numpy() / 100,
                        "Published rate, 95% ± (rate)": pub["employment_ci"].to_numpy() / 100})
    return out.sort_values(out.columns[3], kind="stable").reset_index(drop=True)


def borough_map(res: Results, targets) -> pd.DataFrame:
    geo = targets.geography
    b = res.boroughs(targets).set_index("code").reindex(list(geo.codes))
    out = pd.DataFrame({"ONS code": list(geo.codes), "Borough": list(geo.names),
                        f"Employment rate, {res.dates[1]}": b["employment_rate"].to_numpy(),
                        f"Employment rate, {LOW}": b["low_95"].to_numpy(),
                        f"Employment rate, {HIGH}": b["high_95"].to_numpy()})
    if "net_extra_employed" in b:
        out["Net extra residents in work"] = b["net_extra_employed"].to_numpy()
        out[f"Net extra: {LOW}"] = b["net_extra_low_95"].to_numpy()
        out[f"Net extra: {HIGH}"] = b["net_extra_high_95"].to_numpy()
    return out


def labour_market(res: Results) -> pd.DataFrame:
    out = None
    for m, label in (("vacancies", "Vacancies (stock)"), ("seekers", "Job seekers a month"),
                     ("matches", "Matches a month")):
        w = res.london(m)
        if not len(w):
            continue
        x = res.timeseries.drop_duplicates("month").set_index("month")["date"].reindex(w.index)
        d = pd.DataFrame({"Date": x.to_numpy(), "Month": w.index.to_numpy(), label: w.mean(axis=1).to_numpy()})
        out = d if out is None else out.merge(d, on=["Date", "Month"], how="outer")
    return out if out is not None else pd.DataFrame()


def route(res: Results, gap: float) -> pd.DataFrame:
    iv = res.interventions().dropna(subset=["net_extra_jobs"])
    nh = res.headline()["net_extra_employed"]
    rows = [{"Part": programme_label(str(r["programme"])), "Net extra residents in work": r["net_extra_jobs"],
             LOW: r["net_extra_jobs_low_95"], HIGH: r["net_extra_jobs_high_95"]} for _, r in iv.iterrows()]
    rows.append({"Part": "Net total", "Net extra residents in work": nh["mean"], LOW: nh["low_95"],
                 HIGH: nh["high_95"]})
    rows.append({"Part": "Needed for 80% (published gap at the start)", "Net extra residents in work": gap})
    rows.append({"Part": "Still needed at the horizon", "Net extra residents in work": gap - nh["mean"]})
    return pd.DataFrame(rows)


def gross_net(res: Results) -> pd.DataFrame:
    g = _band(res, res.london("gross_extra_employed_helped") if res.has("gross_extra_employed_helped")
              else res.london("net_extra_employed") * np.nan, "Gross extra in work among the helped: ")
    n = _band(res, res.london("net_extra_employed"), "Net extra residents in work: ")
    return g.merge(n, on=["Date", "Month"])


def who_gains(res: Results) -> pd.DataFrame:
    g = res.who_gains()
    return pd.DataFrame({"Grouping": [GROUP_LABELS.get(x, x) for x in g["grouping"]],
                         "Group": [fmt_level(x) for x in g["level"]], "Net extra residents in work": g["mean"],
                         LOW: g["low_95"], HIGH: g["high_95"]})


def cost_per_job(res: Results) -> pd.DataFrame:
    iv = res.interventions().dropna(subset=["cost_per_net_job"])
    iv = iv[np.isfinite(iv["cost_per_net_job"]) & (iv["net_extra_jobs"] > 0)]
    return pd.DataFrame({"Part": [programme_label(str(p)) for p in iv["programme"]],
                         "Cost per net extra job": iv["cost_per_net_job"].to_numpy(),
                         f"Cost, {LOW}": iv["cost_per_net_job_low_95"].to_numpy(),
                         f"Cost, {HIGH}": iv["cost_per_net_job_high_95"].to_numpy()})


def _rates(df: pd.DataFrame, *words: str) -> tuple[str, ...]:
    return tuple(c for c in df.columns if any(w in c for w in words))


def chart_tables(res: Results, targets) -> list[tuple[str, str, pd.DataFrame, str | None, tuple[str, ...]]]:
    """(sheet name, what it holds, table, note if empty, columns holding shares) for each chart the run draws,
    in the order the report shows them."""
    out = []
    if res.has_counterfactual:
        r = route(res, targets.gap_to_80)
        out.append(("Chart - route to 80", "Data behind the route-to-80% chart: each part's net extra residents "
                    "in work at the horizon, the net total and what is still needed.", r, None, ()))
    t = trajectory(res)
    out.append(("Chart - employment rate", "Data behind the employment-rate chart: London's rate each month "
                "(mean and band of single replications), the no-new-policy path and 80%.", t, None,
                _rates(t, "rate", "policy", "ambition")))
    d = dashboard(res)
    if len(d):
        d = d.assign(_kind="rate")
    out.append(("Chart - outcomes", "Data behind the outcome-metrics chart: each metric each month (mean and "
                "band of single replications).", d, "No outcome metrics in this run.", ()))
    if res.has_counterfactual and res.programmes():
        c = cost_per_job(res)
        out.append(("Chart - cost per job", "Data behind the cost-per-job chart: each programme's cost per net "
                    "extra job at the horizon with its Fieller 95% interval.", c,
                    "No programme adds net jobs at the horizon, so no cost per job can be given.", ()))
    if res.has_counterfactual:
        out.append(("Chart - who gains", "Data behind the who-gains chart: net extra residents in work by group.",
                    who_gains(res), "No groups in this run.", ()))
        out.append(("Chart - gross vs net", "Data behind the gross-vs-net chart: gross extra in work among the "
                    "helped and net extra residents in work each month.", gross_net(res), None, ()))
    m = borough_map(res, targets)
    out.append(("Chart - borough map", "Data behind the borough map: each authority's employment rate at the "
                "horizon (and net extra residents in work).", m, None, _rates(m, "rate")))
    b = borough_rates(res, targets)
    out.append(("Chart - borough rates", "Data behind the borough-rates chart: modelled rates at the horizon "
                "against the published APS small-area estimates.", b, None, _rates(b, "rate", "Modelled")))
    lm = labour_market(res)
    out.append(("Chart - labour market", "Data behind the labour-market chart: vacancies, job seekers and "
                "matches each month (means of replications).", lm, "No labour-market figures in this run.", ()))
    return out
