"""The validation report: every calibration target, and checks the model was not fitted to.

``glw-sim validation`` runs the no-change baseline (``replications`` populations, ``months`` months) and writes
``validation.csv`` and ``validation.html`` into ``results/validation/<run-id>/``. One row per check: what is
checked, the published value and its interval or band, the model's value (mean over replications, with the 95%
interval of that mean from simulation noise), whether the model is within, the source, and whether the model
was fitted to it. Checks the model was fitted to show that the fit holds at run time; the others (the borough
backtest, the plan's figures it was not fitted to, group rates, the drift of the no-change baseline, borough
unemployment against the claimant count) are evidence that it describes London.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim.states import AGE_BAND_LABELS

#: limits of the no-change baseline over ``months`` months (issue 15, item 6): metric -> (limit, unit scale, unit)
DRIFT_LIMITS = {
    "employment_rate": (0.001, 100.0, "pp"),
    "gap_to_80": (5000.0, 1.0, "residents"),
    "neet_rate_16_24": (0.005, 100.0, "pp"),
    "health_related_inactivity_rate": (0.001, 100.0, "pp"),
}


@dataclass
class Check:
    check: str
    kind: str  # what the row is: target, backtest, plan, group, drift, claimant
    published: float
    low: float
    high: float
    model: float
    model_low: float
    model_high: float
    unit: str
    source: str
    fitted: bool

    @property
    def within(self) -> bool:
        return bool(self.low <= self.model <= self.high)


def _mean_ci(values) -> tuple[float, float, float]:
    """Mean and 95% interval of the mean over replications (t, simulation noise only)."""
    from scipy.stats import t

    v = np.asarray(values, float)
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    h = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - h, m + h


def simulate_baseline(scale: float, replications: int, months: int, seed: int, progress=None) -> list:
    """``replications`` no-change baselines (seed, seed+1, ...), run for ``months`` months."""
    from glw_sim.model import GLWModel

    models = []
    for r in range(replications):
        m = GLWModel(scale=scale, seed=seed + r)
        m.run(months, progress=progress)
        models.append(m)
    return models


def checks(models: list, months: int) -> list[Check]:
    """Every check of the report, from baselines run for ``months`` months."""
    from glw_sim.fitted import load_fitted
    from glw_sim.paths import fitted_dir, targets_dir
    from glw_sim.targets import REASONS, load_targets

    t = load_targets()
    fitted = load_fitted()
    geo = t.geography
    out: list[Check] = []

    def rec(key: str, month: int = 0):
        return _mean_ci([m.records[month][key] for m in models])

    def add(check, kind, published, low, high, model, unit, source, fitted_to):
        mean, lo, hi = model
        out.append(Check(check, kind, float(published), float(low), float(high), mean, lo, hi, unit, source,
                         fitted_to))

    plan = "Get London Working plan (2025), ch.1"
    pop = t.london_population
    # ---- the plan's headline figures (targets)
    add("London employment rate 16-64, month 0", "target", 75.0, 74.95, 75.05,
        tuple(100 * x for x in rec("employment_rate")), "%", plan + " (75%, June 2025)", True)
    add("Gap to 80% (residents), month 0", "target", 327_000, 326_500, 327_500, rec("gap_to_80"), "residents",
        plan + " (327,000)", True)
    add("London inactivity rate 16-64, month 0", "target", 20.1, 20.05, 20.15,
        tuple(100 * x for x in rec("inactivity_rate")), "%", plan + " (20.1%)", True)
    add("Inactive through long-term sickness, month 0", "target", 280_000, 275_000, 285_000,
        tuple(x * pop for x in rec("health_related_inactivity_rate")), "residents", plan + " (280,000)", True)
    add("Inactive who want a job, month 0", "target", 250_000, 245_000, 255_000, rec("inactive_want_job"),
        "residents", plan + " (250,000)", True)
    # ---- NEET (official definition)
    c, lo, hi = t.neet_target
    add("NEET 16-24 (not in work, education or training), month 0", "target", 100 * c, 100 * lo, 100 * hi,
        tuple(100 * x for x in rec("neet_rate_16_24")), "%",
        "band: England 13.6% (DfE, NEET age 16 to 24, 2024) as the upper bound, London mostly at or below "
        "England (GLA Economic Fairness); UK 13.2% Jul-Sep 2024 (ONS)", True)
    students = fitted.report.get("students_inactive")
    published_students = 429_700
    if students is not None:
        add("Inactive students (calibrated to the NEET band) against the 2018/19 count", "plan", published_students,
            0.9 * published_students, 1.1 * published_students, (students, np.nan, np.nan), "residents",
            "Trust for London, Reasons for not working (ONS APS 2018/19): 429,700; band +-10% (growth since)", False)
    # ---- boroughs: month 0 inside each borough's estimated interval (fitted), spread, plan's figures
    b0 = np.array([m.borough_records[0][1][:, 0] for m in models])  # (reps, 33)
    iv = t.borough_rate_interval
    for i, code in enumerate(geo.codes):
        est = t.borough_rates[i, 0]
        add(f"Employment rate, {geo.names[i]}, month 0", "target", 100 * est, 100 * iv[i, 0, 0], 100 * iv[i, 0, 1],
            tuple(100 * x for x in _mean_ci(b0[:, i])), "%",
            "small-area estimate (Rao-Yu space-time Fay-Herriot on ONS APS 2004-2023, LI01) brought to 2025 and "
            "to London's totals; band: its 95% interval", True)
    boroughs = [i for i, code in enumerate(geo.codes) if code != "E09000001"]
    spread = b0[:, boroughs].max(axis=1) - b0[:, boroughs].min(axis=1)
    add("Borough employment spread (32 boroughs), month 0", "plan", 17.0, 14.0, 21.0,
        tuple(100 * x for x in _mean_ci(spread)), "pp",
        "the plan's Figure 1 (APS Apr 2024-Mar 2025): 'from 66% to 83%'; band 14-21 pp (issue 15)", False)
    add("Lowest borough employment rate, month 0", "plan", 66.0, 63.0, 69.0,
        tuple(100 * x for x in _mean_ci(b0[:, boroughs].min(axis=1))), "%",
        "the plan's Figure 1: 66%; band +-3 pp (a borough's single-year APS sampling error)", False)
    add("Highest borough employment rate, month 0", "plan", 83.0, 80.0, 86.0,
        tuple(100 * x for x in _mean_ci(b0[:, boroughs].max(axis=1))), "%",
        "the plan's Figure 1: 83%; band +-3 pp", False)
    add("Boroughs at or above 80%, month 0", "plan", 6, 4, 8,
        _mean_ci((b0[:, boroughs] >= 0.80).sum(axis=1)), "boroughs",
        "the plan's Figure 1 (one APS year): six; band 4-8. The small-area estimates shrink one year's "
        "extremes towards London, so fewer boroughs reach 80%", False)
    # ---- borough unemployment against the claimant count (not fitted)
    cc = pd.read_csv(targets_dir() / "claimant_count_borough_2001_2025.csv")
    last = cc[cc["year"] == cc["year"].max()].set_index("area_code").reindex(list(geo.codes))
    u0 = np.array([m.borough_records[0][1][:, 1] for m in models]).mean(axis=0)
    from scipy.stats import spearmanr

    rho = spearmanr(u0[boroughs], last["claimant_count_pct_of_16_64"].to_numpy(float)[boroughs]).statistic
    add(f"Borough unemployment rank vs claimant count {int(cc['year'].max())} (Spearman)", "claimant", 1.0, 0.5, 1.0,
        (float(rho), np.nan, np.nan), "correlation",
        "ONS claimant count, % of residents 16-64 (regional labour market release, Jan 2026); band: rank "
        "correlation at least 0.5", False)
    # ---- group rates (fitted to harmonised values; checked against the published ones)
    g = pd.read_csv(targets_dir() / "group_rates.csv")
    rates0 = [dict(m.group_records[0][1]) for m in models]
    for _, row in g.iterrows():
        key = (row["dimension"], row["group"], "employment_rate")
        if key not in rates0[0]:
            continue
        sd = row.get("employment_rate_sd")
        half = 2.0 * float(sd) if pd.notna(sd) else 3.0
        src = str(row["source"])
        assumed = ("assumption" in str(row["period"]).lower() or "ASSUMPTION: rate" in src
                   or "rate ASSUMPTION" in src)
        sweep = re.search(r"sweep (\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)", src)
        if assumed and sweep:  # an assumed rate is checked against the range its sweep explores
            low, high, band = float(sweep.group(1)), float(sweep.group(2)), "band: the assumption's sweep range"
        else:
            low, high = row["employment_rate"] - half, row["employment_rate"] + half
            band = f"band +-{half:g} pp" + (" (rate is an assumption)" if assumed else "")
        add(f"Employment rate, {row['dimension']} {row['group']}, month 0", "group", row["employment_rate"],
            low, high, tuple(100 * x for x in _mean_ci([r[key] for r in rates0])), "%", f"{src[:160]}; {band}",
            True)
    # 16-24: unemployed and inactive (APS counts)
    y = pd.read_csv(targets_dir() / "youth.csv").set_index("metric")["value"]
    base = float(y["employed"] + y["unemployed"] + y["inactive"])
    add("Unemployment rate 16-24 (of the active), month 0", "group", 100 * y["unemployed"] / (y["employed"] + y["unemployed"]),
        100 * y["unemployed"] / (y["employed"] + y["unemployed"]) - 3, 100 * y["unemployed"] / (y["employed"] + y["unemployed"]) + 3,
        tuple(100 * x for x in _mean_ci([r[("age_band", "16-24", "unemployment_rate")] for r in rates0])), "%",
        "ONS APS (12 months to Sep 2025, via Evening Standard): 88,000 of 471,000 active; band +-3 pp", True)
    add("Inactivity rate 16-24, month 0", "group", 100 * y["inactive"] / base, 100 * y["inactive"] / base - 3,
        100 * y["inactive"] / base + 3,
        tuple(100 * x for x in _mean_ci([r[("age_band", "16-24", "inactivity_rate")] for r in rates0])), "%",
        "ONS APS (12 months to Sep 2025): 465,000 of 936,000; band +-3 pp", False)
    # ---- inactivity by reason (share of the inactive; fitted)
    rs = pd.read_csv(targets_dir() / "inactivity_reasons.csv").set_index("reason")
    for r in REASONS:
        name = r.name.lower()
        if name == "student":
            continue  # calibrated to the NEET band (row above)
        shares = [m.records[0][f"inactivity_rate_{name}"] / m.records[0]["inactivity_rate"] for m in models]
        pub = 100 * float(rs.loc[name, "share_of_inactive"])
        add(f"Share of the inactive: {name.replace('_', ' ')}, month 0", "target", pub, pub * 0.85, pub * 1.15,
            tuple(100 * x for x in _mean_ci(shares)), "% of inactive",
            str(rs.loc[name, "source"])[:160] + "; band +-15% (students calibrated to NEET shift the rest)", True)
    # ---- flows (fitted to the London rule)
    fr = pd.read_csv(fitted_dir() / "fit_report.csv")
    for _, row in fr.iterrows():
        add(f"Flow {row['target']} (London rule; UK X02 {row['uk_published']:.4f})", "target", row["london_rule"],
            0.9 * row["london_rule"], 1.1 * row["london_rule"], (row["model"], np.nan, np.nan), "per quarter",
            "London flow rule (calibration/SOURCES.md: UK LFS X02 into-work rates, Curnock, Popham and Leyland "
            "2014; other flows the closest to the UK's that hold London's stocks); band +-10%", True)
    # ---- long-term unemployment (UK, not fitted)
    add("Unemployed 12 months or more (share of unemployed), month 0", "group", 22.0, 16.0, 28.0,
        tuple(100 * x for x in rec("long_term_unemployed_share")), "%",
        "UK LFS Oct-Dec 2024 (unweighted respondent counts, UK Data Service catalogue of SN 9323 DURUN; no "
        "weighted London figure found): 22%; band +-6 pp", False)
    # ---- the borough backtest (not fitted)
    bt = pd.read_csv(fitted_dir() / "borough_backtest.csv")
    for (ind, scale), sub in bt.groupby(["indicator", "scale"]):
        mse = sub.groupby("method")["mse_minus_sampling_var"].mean()
        add(f"Backtest {ind} ({scale}): estimator MSE / last single year's", "backtest", 1.0, 0.0, 1.0,
            (float(mse["rao_yu"] / mse["last_year"]), np.nan, np.nan), "ratio",
            f"one year ahead, Y = {sub['Y'].min()}-{sub['Y'].max()}, 32 boroughs; MSE less sampling variance: "
            f"estimator {mse['rao_yu']:.2f}, last year {mse['last_year']:.2f}, three-year mean "
            f"{mse['three_year_mean']:.2f} (pp squared); within: below 1", False)
    # ---- the no-change baseline holds still (not fitted directly; the hazards' age leads are)
    for key, (limit, k, unit) in DRIFT_LIMITS.items():
        change = [m.records[months][key] - m.records[0][key] for m in models]
        add(f"No-change baseline: change in {key.replace('_', ' ')} over {months} months", "drift", 0.0,
            -limit * k, limit * k, tuple(k * x for x in _mean_ci(change)), unit,
            "issue 15 item 6 limits (employment +-0.1 pp, gap +-5,000, NEET +-0.5 pp, health-related "
            "inactivity +-0.1 pp)", False)
    # each age band (one lead for every band is fitted to hold London; the bands settle on their own)
    for b in AGE_BAND_LABELS:
        key = ("age_band", b, "employment_rate")
        change = [dict(m.group_records[-1][1])[key] - dict(m.group_records[0][1])[key] for m in models]
        add(f"No-change baseline: change in employment rate {b} over {months} months", "drift", 0.0, -1.0, 1.0,
            tuple(100 * x for x in _mean_ci(change)), "pp",
            "band +-1 pp (ASSUMPTION: one lead for all bands holds London; each band settles within a point)", False)
    # ---- the second target's month 0 against HBAI (glw_sim.hbai: the residents rebuilt with income on)
    from glw_sim import hbai

    for row in hbai.checks(models, _mean_ci):
        add(*row)
    return out


def frame(rows: list[Check]) -> pd.DataFrame:
    return pd.DataFrame([{**r.__dict__, "within": r.within} for r in rows])


_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>glw-sim validation</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;font-size:.85em}
td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}td.n{text-align:right;
white-space:nowrap}tr.out td{background:#fde8e0}.src{color:#555;font-size:.9em}</style></head><body>
<h1>Validation of the no-change baseline</h1>
<p><b>{{ n_within }} of {{ n }} checks within ({{ share }}%)</b>; {{ n_fitted }} are targets the model was fitted
to (they show the fit holds in a run), {{ n - n_fitted }} are checks it was not fitted to. Model values are the mean
of {{ reps }} replications at scale {{ scale }} over {{ months }} months, with the 95% interval of that mean from
simulation noise only (the evidence's own uncertainty is the published band). Run {{ run_id }}.</p>
{% for kind, title in kinds %}<h2>{{ title }}</h2><table><tr><th>check</th><th>published</th><th>band</th>
<th>model</th><th>model 95% (noise)</th><th>within</th><th>fitted</th><th>source</th></tr>
{% for r in rows if r.kind == kind %}<tr class="{{ '' if r.within else 'out' }}"><td>{{ r.check }}</td>
<td class="n">{{ fmt(r.published) }}</td><td class="n">{{ fmt(r.low) }} to {{ fmt(r.high) }}</td>
<td class="n">{{ fmt(r.model) }}</td><td class="n">{% if r.model_low == r.model_low %}{{ fmt(r.model_low) }} to
{{ fmt(r.model_high) }}{% else %}-{% endif %}</td><td>{{ 'yes' if r.within else 'NO' }}</td>
<td>{{ 'fitted' if r.fitted else 'not fitted' }}</td><td class="src">{{ r.unit }}; {{ r.source }}</td></tr>{% endfor %}
</table>{% endfor %}</body></html>"""

KINDS = [("target", "Calibration targets"), ("plan", "The plan's figures the model was not fitted to"),
         ("group", "Group rates"), ("claimant", "Borough unemployment and the claimant count"),
         ("backtest", "Borough estimator backtest"), ("drift", "The no-change baseline holds still"),
         ("income", "The second target's month 0 against HBAI (not fitted)"),
         ("hindcast", "Hindcast from 2020: the rise in long-term sickness (glw_sim/hindcast.py; the rise, not "
                      "the level: the population is drawn for 2025)")]


def _fmt(v: float) -> str:
    if v != v:
        return "-"
    a = abs(v)
    return f"{v:,.0f}" if a >= 1000 else (f"{v:.2f}" if a >= 1 else f"{v:.4f}")


def write_report(rows: list[Check], folder: Path, meta: dict) -> Path:
    """``validation.csv``, ``validation.html`` and ``manifest.json`` into ``folder`` (each written atomically)."""
    from jinja2 import Environment

    from glw_sim.io import atomic_write_text

    df = frame(rows)
    atomic_write_text(folder / "validation.csv", df.to_csv(index=False, float_format="%.6g"))
    n, n_within = len(df), int(df["within"].sum())
    html = Environment(autoescape=True).from_string(_HTML).render(
        rows=rows, kinds=KINDS, fmt=_fmt, n=n, n_within=n_within, share=f"{100 * n_within / n:.0f}",
        n_fitted=int(df["fitted"].sum()), reps=meta["replications"], scale=meta["scale"], months=meta["months"],
        run_id=meta["run_id"])
    atomic_write_text(folder / "validation.html", html)
    atomic_write_text(folder / "manifest.json", json.dumps(meta, indent=1))
    return folder / "validation.html"


def run_validation(results: Path, *, scale: float = 0.2, replications: int = 5, months: int = 120,
                   seed: int = 20250601, progress=None, hindcast_scale: float = 0.02,
                   hindcast_replications: int = 3) -> tuple[Path, pd.DataFrame]:
    """Run the baselines, write the report into ``results/validation/<run-id>/``; returns (folder, table).

    The location is created and probed before anything is simulated (:func:`glw_sim.runner.results_folder`, which
    also removes partial folders of dead runs); the report is built in a hidden partial folder owned by this
    process (:func:`glw_sim.io.make_owned_dir`, so no other run takes it for a dead one's) and renamed into place
    when complete, so an interrupted run never leaves a folder that looks done."""
    import secrets
    import shutil

    import glw_sim
    from glw_sim.io import make_owned_dir
    from glw_sim.runner import results_folder

    parent = results_folder(Path(results), "validation")
    run_id = datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{secrets.token_hex(3)}"
    models = simulate_baseline(scale, replications, months, seed, progress)
    rows = checks(models, months)
    from glw_sim import hindcast

    for r in hindcast.checks(hindcast.simulate(hindcast_scale, hindcast_replications, seed)):  # (its own scale)
        mean, lo, hi = _mean_ci(r.pop("values"))
        rows.append(Check(model=mean, model_low=lo, model_high=hi, **r))
    meta = {"run_id": run_id, "scale": scale, "replications": replications, "months": months, "seed": seed,
            "hindcast": {"scale": hindcast_scale, "replications": hindcast_replications},
            "version": getattr(glw_sim, "__version__", "")}
    partial = make_owned_dir(parent, "partial")
    try:
        write_report(rows, partial, meta)
        folder = parent / run_id
        os.rename(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder, frame(rows)
