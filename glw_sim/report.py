"""Briefings: one self-contained ``report.html`` per run (charts embedded, no network) and the Excel workbook
``summary.xlsx`` (written by :mod:`glw_sim.workbook`); the page's template and number formats, which the
comparison of runs (:mod:`glw_sim.compare`) and the sweep report (:mod:`glw_sim.sweepreport`) share.

``glw-sim run`` writes both and the charts into its results folder; ``glw-sim report RUN`` rebuilds them from a
results folder. The HTML is rendered with Jinja2
(autoescaped); images are PNGs inlined as ``data:`` URIs so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from datetime import datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from glw_sim import __version__
from glw_sim.io import atomic_write_bytes, atomic_write_text, make_owned_dir, remove_stale
from glw_sim.paths import calibration_dir
from glw_sim.labels import programme_label
from glw_sim.results import (NO_GAIN, NOT_BOUNDED, Results, load_results, precision_note, ranking_sentence,
                             uncertainty_note)
from glw_sim.workbook import workbook_bytes

CHART_CAPTIONS = {
    "route_to_80": "The route to 80%: net extra residents in work by intervention, and what is still needed.",
    "employment_rate_trajectory": "London's employment rate month by month against the 80% ambition.",
    "outcomes_dashboard": "The plan's outcome metrics (Box E) month by month.",
    "cost_per_job": "Cost per net additional job, by intervention.",
    "who_gains": "Who gains: net extra residents in work by group.",
    "gross_vs_net_extra_jobs": "Gross outcomes among the people helped against net extra jobs for London.",
    "borough_map": "Employment rate by local authority at the horizon.",
    "borough_employment_rates": "Borough employment rates, modelled and published.",
    "labour_market": "Vacancies, job seekers and matches.",
}
CHART_ORDER = list(CHART_CAPTIONS)


# ---------------------------------------------------------------------------- formatting
def pct(v: float, d: int = 1) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.{d}f}%"


def pp(v: float, d: int = 1) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.{d}f} pp"


def num(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.0f}" if round(v) != 0 else "0"  # never "-0"


def gbp(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"£{v / 1e6:,.1f}m" if abs(v) >= 1e6 else f"£{v:,.0f}"


def gbpw(v: float) -> str:
    """GBP a week, to the penny (the second target's figures; "−£1.25" below zero, "£0.00" for what rounds to it)."""
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"−£{-v:,.2f}" if round(v, 2) < 0 else f"£{abs(v) if round(v, 2) == 0 else v:,.2f}"


def fmt(kind: str, v: float) -> str:
    """``kind``: rate (a share), gap (a difference of shares), count, gbp, gbpw (GBP a week), share (a relative
    change, as a percentage)."""
    return {"rate": pct, "gap": pp, "count": num, "gbp": gbp, "gbpw": gbpw, "share": pct}[kind](v)


def signed_fmt(kind: str, v: float) -> str:
    """A change with its sign (rates' changes in percentage points); none when it rounds to zero as shown."""
    if v is None or not np.isfinite(v):
        return "n/a"
    shown = fmt("gap" if kind == "rate" else kind, abs(v))
    if not re.search(r"[1-9]", shown):
        return shown
    return ("+" if v > 0 else "−") + shown


def ci(kind: str, d: dict) -> str:
    return f"{fmt(kind, d['low_95'])} to {fmt(kind, d['high_95'])}"


def _img(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def markdown_lite(text: str) -> str:
    """The subset of Markdown that calibration/SOURCES.md uses (headings, bullets, numbered items, bold,
    italics, code) as escaped HTML."""

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)\*(?!\w)", r"<em>\1</em>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    out, in_list = [], None
    for line in text.splitlines():
        m = re.match(r"^(#+)\s+(.*)", line)
        item = re.match(r"^\s*(?:[-*]|\d+\.)\s+(.*)", line)
        kind = "ol" if re.match(r"^\s*\d+\.", line) else "ul"
        if in_list and not item:
            out.append(f"</{in_list}>")
            in_list = None
        if m:
            level = min(len(m.group(1)) + 2, 6)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif item:
            if in_list != kind:
                if in_list:
                    out.append(f"</{in_list}>")
                out.append(f"<{kind}>")
                in_list = kind
            out.append(f"<li>{inline(item.group(1))}</li>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    if in_list:
        out.append(f"</{in_list}>")
    return "\n".join(out)


# ---------------------------------------------------------------------------- content
def headline_cards(res: Results) -> list[dict]:
    h = res.headline()
    cards = [
        {"label": f"Employment rate, month {res.horizon}", "value": pct(h["employment_rate"]["mean"]),
         "detail": f"95% interval {ci('rate', h['employment_rate'])}; month 0 {pct(h['employment_rate_start']['mean'])}",
         "id": "employment-rate"},
        {"label": "Gap to 80% (residents)", "value": num(h["gap_to_80"]["mean"]),
         "detail": f"95% interval {ci('count', h['gap_to_80'])}; month 0 {num(h['gap_to_80_start']['mean'])}",
         "id": "gap-to-80"},
    ]
    if "net_extra_employed" in h:
        n = h["net_extra_employed"]
        cards.append({"label": "Net extra residents in work", "value": num(n["mean"]),
                      "detail": f"95% interval {ci('count', n)} (simulation noise ±{num(n['noise_high_95'] - n['mean'])}"
                                f", with the evidence ±{num(n['high_95'] - n['mean'])}); "
                                f"{pct(h['share_of_gap']['mean'])} of the gap at month 0",
                      "id": "net-extra"})
    if "spending" in h:
        cards.append({"label": "Programme spending", "value": gbp(h["spending"]["mean"]),
                      "detail": f"over {res.horizon} months; 95% interval {ci('gbp', h['spending'])}",
                      "id": "spending"})
    for key, label, ident in (("cost_per_net_extra_job", "Cost per net extra job", "cost-per-job"),
                              ("cost_per_net_extra_employment_year", "Cost per net extra employment-year",
                               "cost-per-employment-year")):
        if key in h:
            c = h[key]
            cards.append({"label": label, "value": gbp(c["mean"]),
                          "detail": (f"95% interval {ci('gbp', c)}" if np.isfinite(c["low_95"])
                                     else NOT_BOUNDED if c["mean"] > 0 else NO_GAIN),
                          "id": ident})
    return cards


def intervention_rows(res: Results) -> list[dict]:
    rows = []

    def money(r, key):
        if pd.isna(r[key]):
            # a costed part with no net gain (Results.cost_ratio leaves its cost nan): say so, no number
            costed = (pd.notna(r["net_extra_jobs"]) and pd.notna(r["spending"])
                      and not (pd.notna(r.get("unpriced")) and bool(r.get("unpriced"))))
            return ("n/a", NO_GAIN) if costed else ("", "")
        bounded = pd.notna(r[f"{key}_low_95"])
        return gbp(r[key]), (f"{gbp(r[f'{key}_low_95'])} to {gbp(r[f'{key}_high_95'])}" if bounded
                             else "not bounded")

    for _, r in res.interventions().iterrows():
        has = pd.notna(r["net_extra_jobs"])
        cost, cost_ci = money(r, "cost_per_net_job")
        year, year_ci = money(r, "cost_per_employment_year")
        rows.append({
            "programme": programme_label(str(r["programme"])),
            "net": num(r["net_extra_jobs"]) if has else "",
            "net_ci": f"{num(r['net_extra_jobs_low_95'])} to {num(r['net_extra_jobs_high_95'])}" if has else "",
            "noise": (f"±{num(r['net_extra_jobs_noise_half_width'])} / ±{num(r['net_extra_jobs_evidence_half_width'])}"
                      if has and pd.notna(r["net_extra_jobs_noise_half_width"]) else ""),
            "within_noise": has and not bool(r["distinct_from_zero"]),
            "years": num(r["net_extra_employment_years"]) if pd.notna(r["net_extra_employment_years"]) else "",
            "starts": num(r["starts"]) if pd.notna(r["starts"]) else "",
            "left": num(r["left_list"]) if pd.notna(r["left_list"]) else "",
            "spending": ("unpriced" if pd.notna(r.get("unpriced")) and bool(r.get("unpriced")) else gbp(r["spending"]) if pd.notna(r["spending"])
                         else ""),
            "cost": cost, "cost_ci": cost_ci, "year_cost": year, "year_cost_ci": year_ci,
            "waiting": num(r["waiting_at_horizon"]) if pd.notna(r["waiting_at_horizon"]) else "",
        })
    return rows


def early_milestones(res: Results) -> list[tuple[int, str]]:
    """The milestones before the horizon (2030-06 and the scenario's), as (month, date): the report's extra
    columns."""
    return [(m, d) for m, d in res.milestones() if m < res.horizon]


def outcome_rows(res: Results) -> list[dict]:
    dates = [d for _, d in early_milestones(res)]
    return [{"label": r["label"], "start": fmt(r["kind"], r["month_0"]), "end": fmt(r["kind"], r["horizon"]),
             "ci": f"{fmt(r['kind'], r['low_95'])} to {fmt(r['kind'], r['high_95'])}",
             "milestones": [{"value": fmt(r["kind"], r[f"at_{d}"]),
                             "ci": f"{fmt(r['kind'], r[f'low_95_{d}'])} to {fmt(r['kind'], r[f'high_95_{d}'])}"}
                            for d in dates]}
            for _, r in res.outcomes().iterrows()]


#: the headline figures the report sets out at each date: (key in Results.headline, label, kind)
HEADLINE_AT_DATES = [("employment_rate", "Employment rate 16-64", "rate"), ("gap_to_80", "Gap to 80% (residents)", "count"),
                     ("net_extra_employed", "Net extra residents in work", "count"),
                     ("spending", "Programme spending to date", "gbp"),
                     ("cost_per_net_extra_job", "Cost per net extra job", "gbp"),
                     ("cost_per_net_extra_employment_year", "Cost per net extra employment-year", "gbp")]


def headline_at_dates(res: Results) -> list[dict]:
    """The headline figures at each milestone before the horizon and at the horizon (value and 95% interval);
    empty when the run has no milestone before its horizon."""
    dates = early_milestones(res)
    if not dates:
        return []
    heads = [res.headline(m) for m, _ in dates] + [res.headline()]
    rows = []
    for key, label, kind in HEADLINE_AT_DATES:
        if key not in heads[-1]:
            continue
        cells = []
        for h in heads:
            d = h[key]
            if key.startswith("cost") and not d["mean"] > 0:  # no net gain (yet) to divide the spending by
                cells.append({"value": "n/a", "ci": NO_GAIN})
                continue
            bounded = np.isfinite(d["low_95"])
            cells.append({"value": fmt(kind, d["mean"]), "ci": ci(kind, d) if bounded else "not bounded"})
        rows.append({"label": label, "cells": cells})
    return rows


def borough_rows(res: Results) -> list[dict]:
    b = res.boroughs().sort_values("employment_rate")
    return [{"name": r["name"], "srp": r["srp"], "start": pct(r["employment_rate_month_0"]),
             "end": pct(r["employment_rate"]), "ci": f"{pct(r['low_95'])} to {pct(r['high_95'])}",
             "extra": num(r["net_extra_employed"]) if "net_extra_employed" in r and pd.notna(r.get("net_extra_employed")) else "",
             "extra_ci": (f"{num(r['net_extra_low_95'])} to {num(r['net_extra_high_95'])}"
                          + ("" if r["net_extra_distinct_from_zero"] else " (within uncertainty of zero)"))
                         if "net_extra_low_95" in r and pd.notna(r.get("net_extra_low_95")) else ""}
            for _, r in b.iterrows()]


def assumption_rows(res: Results) -> list[dict]:
    """The labelled assumptions a run reads (scenario overrides marked), with their sweep ranges. The others
    (``Assumption.acts`` other than ``"run"``: the calibration's priors, the fitted cycle share, the fixed floor
    of agents per borough) are not rows: a run does not read them, and scenarios and sweeps cannot set them. A
    results folder written before that rule may hold an override of one; it is shown, marked as not read."""
    from glw_sim.parameters import ASSUMPTIONS

    over = res.scenario.get("assumptions") or {}
    rows = []
    for name, a in ASSUMPTIONS.items():
        if a.acts != "run" and name not in over:
            continue
        v = over.get(name, a.value)
        note = a.note if a.acts == "run" else f"set by this scenario but not read by the run ({a.acts}); {a.note}"
        rows.append({"name": name, "value": f"{v:g}" if np.isfinite(v) else "fitted",
                     "range": f"{a.low:g} to {a.high:g}", "unit": a.unit, "note": note,
                     "overridden": name in over})
    return rows


def programme_rows(res: Results) -> list[dict]:
    """Each intervention as the run resolved it (from the manifest), with the evidence its effect is fitted to
    (``calibration/evidence/programmes.csv``, :func:`glw_sim.interventions.evidence.effect_targets`)."""
    from glw_sim.interventions.evidence import effect_targets

    targets = effect_targets()

    rows = []

    def show(v) -> str:
        return f"{v:,.6g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)

    for spec in res.scenario.get("interventions") or []:
        kind = spec.get("type", "")
        eff = dict(spec.get("effect") or {})
        src = eff.pop("source", None) or (targets[kind]["source"] if kind in targets else "defined in the scenario")
        keys = ("places_per_year", "support_months", "referral_rate", "take_up", "cost_per_start", "start", "end")
        rows.append({"label": programme_label(spec.get("label") or kind), "type": kind,
                     "settings": ", ".join(f"{k.replace('_', ' ')} {show(spec[k])}" for k in keys
                                           if spec.get(k) is not None),
                     "effect": ", ".join(f"{k.replace('_', ' ')} {show(v)}" for k, v in eff.items()
                                         if v is not None and not isinstance(v, (dict, list))),
                     "source": src})
    return rows


def second_target_section(res: Results) -> dict | None:
    """The section "The second target" (a run with ``outputs.income``): the lowest fifth's income after housing
    costs by reported year (a row each) with 95% intervals (levels; with a counterfactual, the change against it,
    its share in work and the decomposition into entry, hours and pay), what the intervals hold and what the model
    cannot claim (:mod:`glw_sim.secondtarget`); None without it."""
    from glw_sim import secondtarget as S

    if not S.has_second_target(res):
        return None
    t = S.figures(res)
    still = S.median_still(res)

    def grid(codes: list[str]) -> dict:
        """Rows by date, a column per figure in ``codes`` (those the run has): value and interval, a dagger on a
        change whose interval holds zero."""
        d = t[t["code"].isin(codes)]
        codes = [c for c in codes if c in set(d["code"])]
        heads = [d.loc[d["code"] == c, "label"].iloc[0] for c in codes]
        rows = []
        for date, g in d.groupby("date", sort=False):
            by = g.set_index("code")
            cells = []
            for c in codes:
                if c not in by.index:
                    cells.append({"value": "", "ci": ""})
                    continue
                r = by.loc[c]
                is_change = "_change" in c
                f = signed_fmt if is_change else fmt
                cells.append({"value": f(r["kind"], r["mean"]),
                              "ci": f"{f(r['kind'], r['low_95'])} to {f(r['kind'], r['high_95'])}",
                              "tied": is_change and not bool(r["excludes_zero"])})
            rows.append({"date": date, "cells": cells})
        return {"heads": heads, "rows": rows}

    M, D, W = S.MEAN, S.MEDIAN, S.IN_WORK
    parts = [f"{M}_change_{p}" for p in S.PARTS] + ([] if still else [f"{D}_change_{p}" for p in S.PARTS])
    change = grid([f"{M}_counterfactual", f"{M}_change", f"{M}_change_share", f"{D}_counterfactual", f"{D}_change",
                   f"{W}_change"])
    return {"levels": grid([M, D, W]), "change": change, "parts": grid(parts),
            "uncertainty": S.uncertainty_sentence(res), "decomposition": S.DECOMPOSITION_NOTE,
            "target": S.target_sentence(res, t), "cannot": list(S.CANNOT_CLAIM), "median_still": still,
            "counterfactual": bool(change["rows"])}


def chart_list(folder: Path) -> list[dict]:
    charts = Path(folder) / "charts"
    found = {p.stem: p for p in charts.glob("*.png")} if charts.is_dir() else {}
    order = [n for n in CHART_ORDER if n in found] + sorted(n for n in found if n not in CHART_ORDER)
    return [{"name": n, "src": _img(found[n]), "caption": CHART_CAPTIONS.get(n, n.replace("_", " "))} for n in order]


def uncertainty_text(res: Results) -> list[str]:
    sc = res.scenario
    scale = sc["population"]["scale"]
    agents = int(round(6_540_000 * scale))
    out = [
        *([precision_note(res) + "."] if precision_note(res) else []),
        f"{uncertainty_note(res)}. Each replication has its own seed (from {sc['population']['seed']}) and about "
        f"{agents:,} agents (scale {scale:g}); when the evidence is drawn, each replication also draws every "
        "programme effect and key assumption the scenario leaves at its default from its evidence "
        "(calibration/evidence), and its counterfactual and leave-one-out runs share the draw and the random numbers.",
        "Each figure is the expected value over the evidence, with the draws used as control variates; its 95% "
        "interval combines the simulation noise (the Monte Carlo error of that estimate, which more replications "
        "or a larger scale shrink) and the evidence (how much the figure moves across the plausible inputs, which "
        "no amount of computing shrinks). Unit costs add their evidence to spending exactly, without simulation.",
    ]
    figs = res.figures()
    f = figs.get("net_extra_employed")
    if f is not None:
        from glw_sim.results import evidence_in_noise

        if evidence_in_noise(res) and not f.inputs:
            text = (f"For London's net extra residents in work at {res.dates[1]}: {num(f.estimate)}, ±"
                    f"{num(f.half_width)} for simulation noise and the evidence together: this run's "
                    f"{res.timeseries['replication'].nunique()} replications are too few to tell them apart "
                    f"(it takes at least {len(res.drawn_inputs) + 4}).")
        else:
            text = (f"For London's net extra residents in work at {res.dates[1]}: {num(f.estimate)}, simulation "
                    f"noise ±{num(f.noise_half_width)}, evidence ±{num(f.evidence_half_width)}, together "
                    f"±{num(f.half_width)}.")
        if f.drivers():
            text += " The inputs that drive its interval most: " + "; ".join(
                f"{res.input_label(k)} ({100 * v:.0f}% of the evidence variance)" for k, v in f.drivers()) + "."
        out.append(text)
    out += [
        "Cost per net extra job is all programme spending to the date divided by the net extra residents in work "
        "on that date (the package against the same residents with no new policy). Cost per net extra "
        "employment-year divides the same spending by the net extra residents in work summed over every month to "
        "the date, over 12: the measure evaluations of employment programmes (DWP cost-benefit analyses) set beside "
        "each other. Both intervals are Fieller's, from the spending's and the outcome's joint uncertainty; "
        "'not bounded' means the outcome cannot be told apart from zero, and 'no net gain to cost' that its "
        "estimate is zero or below, so there is no cost per job to give.",
        "Known limits: the baseline is calibrated to UK flow rates adjusted to London's stocks (London flows are "
        "not published recently); programme effects are fitted to trial evidence which for WorkWell, Restart and "
        "the Youth Guarantee is a proxy or an assumption; the evidence part assumes the outcome responds about "
        "linearly to the drawn inputs across their ranges.",
    ]
    return out


TEMPLATE = jinja2.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
 body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1a1a1a;max-width:1100px;margin:0 auto;padding:24px;line-height:1.45}
 h1{font-size:1.7em;margin:0 0 4px} h2{font-size:1.3em;margin-top:2em;border-bottom:2px solid #0072B2;padding-bottom:3px}
 .meta{color:#555;font-size:.9em}
 .cards{display:flex;flex-wrap:wrap;gap:12px;margin:18px 0}
 .card{flex:1 1 190px;border:1px solid #ccc;border-left:6px solid #0072B2;border-radius:4px;padding:10px 12px;background:#f7f9fb}
 .card .label{font-size:.85em;color:#444} .card .value{font-size:1.7em;font-weight:bold}
 .card .detail{font-size:.8em;color:#555}
 p.lead{font-size:1.05em;background:#fffbe6;border-left:4px solid #E69F00;padding:10px 14px}
 table{border-collapse:collapse;width:100%;font-size:.9em;margin:10px 0}
 th,td{border-bottom:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
 td.n,th.n{text-align:right;white-space:nowrap} th{background:#eef3f8}
 figure{margin:18px 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
 figcaption{font-size:.9em;color:#444}
 details{margin:10px 0} summary{cursor:pointer;font-weight:bold}
 .small{font-size:.85em;color:#444} code{background:#f1f1f1;padding:0 3px}
 @media print{h2{break-before:auto} figure{break-inside:avoid}}
</style></head><body>
{{ body }}
<hr><p class="small">glw-sim {{ version }}; written {{ written }}. {{ footer or "Every figure here comes from the run's
timeseries.parquet; charts are also saved as PNG files beside this report." }}</p>
</body></html>
""", autoescape=False)

RUN_BODY = jinja2.Environment(autoescape=True).from_string("""
<h1>{{ res.name }}: the route to 80% employment in London</h1>
<p class="meta">{{ res.scenario.description }}<br>
Run <code>{{ res.run_id }}</code> · {{ start }} to {{ end }} ({{ res.horizon }} months) · scale {{ res.scenario.population.scale }}
· {{ res.scenario.replications }} replications · seed {{ res.scenario.population.seed }}</p>
<div class="cards">{% for c in cards %}
 <div class="card" id="{{ c.id }}"><div class="label">{{ c.label }}</div><div class="value">{{ c.value }}</div>
 <div class="detail">{{ c.detail }}</div></div>{% endfor %}
</div>
<p class="lead" id="headline">{{ paragraph }}</p>
{% if at_dates %}<table id="headline-dates"><tr><th>Headline figure (London)</th>{% for m, d in milestones %}<th class="n">{{ d }}</th>{% endfor %}<th class="n">{{ end }} (horizon)</th></tr>
{% for row in at_dates %}<tr><td>{{ row.label }}</td>{% for c in row.cells %}<td class="n">{{ c.value }}<br><span class="small">{{ c.ci }}</span></td>{% endfor %}</tr>{% endfor %}
</table><p class="small">Second line: 95% interval. The plan's date (2030-06) and the scenario's milestones beside the
horizon; spending and costs are to each date.</p>{% endif %}
{% for ch in charts[:1] %}<figure><img src="{{ ch.src }}" alt="{{ ch.caption }}"><figcaption>{{ ch.caption }}</figcaption></figure>{% endfor %}
{% if interventions %}
<h2>What each intervention contributes and costs</h2>
<div style="overflow-x:auto"><table id="interventions" style="font-size:.82em"><tr><th>Part</th><th class="n">Net extra in work</th><th class="n">95% interval</th>
<th class="n">noise / evidence</th><th class="n">Employment-years</th>
<th class="n">Starts</th><th class="n">Left the list</th><th class="n">Spending</th><th class="n">Cost per net job</th>
<th class="n">95% interval</th><th class="n">Cost per employment-year</th><th class="n">95% interval</th><th class="n">Waiting at end</th></tr>
{% for r in interventions %}<tr><td>{{ r.programme }}</td>
<td class="n">{{ r.net }}{% if r.within_noise %}&nbsp;&dagger;{% endif %}</td><td class="n">{{ r.net_ci }}</td><td class="n">{{ r.noise }}</td><td class="n">{{ r.years }}</td>
<td class="n">{{ r.starts }}</td><td class="n">{{ r.left }}</td><td class="n">{{ r.spending }}</td><td class="n">{{ r.cost }}</td>
<td class="n">{{ r.cost_ci }}</td><td class="n">{{ r.year_cost }}</td><td class="n">{{ r.year_cost_ci }}</td>
<td class="n">{{ r.waiting }}</td></tr>{% endfor %}</table></div>
<p class="small">&dagger; The 95% interval holds zero: this part's contribution cannot be told apart from none.
Contribution: the package minus the package without that part (a programme, or the integration hubs), same
random numbers and the same evidence draw; "interactions" is what the parts add together beyond their separate
contributions. Left the list: residents who stopped being eligible (found work, aged out, moved state) while
waiting, never started or costed. One employment programme at a time (scenario key <code>participation</code>). Spending: starts times cost per start (and, for place-based programmes, residents of the place times the
cost per resident-month) over the horizon; the hubs' spending is their cost per borough-year. Costs per net job and per
employment-year are defined under Uncertainty.</p>{% if ranking %}<p>{{ ranking }}</p>{% endif %}
{% endif %}
{% if st %}<h2 id="second-target">The second target</h2>
<p>The plan's second target: raise the real weekly income after housing costs of the lowest-income fifth of
Londoners by 20% by 2035. Here: the lowest fifth of working-age residents ranked by their household's equivalised
income after housing costs (HBAI's scale; an 'other' household's adults pooled), in April 2024 prices, at month 0
and every twelfth month.</p>
{% if st.target %}<p class="lead" id="second-target-headline">{{ st.target }}</p>{% endif %}
{% macro st_table(ident, first, g) %}<div style="overflow-x:auto"><table id="{{ ident }}"><tr><th>{{ first }}</th>{% for h in g.heads %}<th class="n" style="white-space:normal">{{ h }}</th>{% endfor %}</tr>
{% for r in g.rows %}<tr><td class="n" style="text-align:left">{{ r.date }}</td>{% for c in r.cells %}<td class="n">{{ c.value }}{% if c.tied %}&nbsp;&dagger;{% endif %}<br><span class="small">{{ c.ci }}</span></td>{% endfor %}</tr>{% endfor %}
</table></div>{% endmacro %}
{% if st.counterfactual %}<h3>Against the counterfactual (the same residents with no new policy)</h3>
{{ st_table("second-target-change", "Date", st.change) }}
<h3>Where the change comes from</h3>
{{ st_table("second-target-decomposition", "Date", st.parts) }}
<p class="small">{{ st.decomposition }} &dagger; The 95% interval holds zero: no change can be claimed.</p>
{% if st.median_still %}<p>The lowest fifth's median does not move in any replication: it sits on a mass of identical
out-of-work incomes (residents with the same benefit unit, tenure and no earnings have the same income), so extra jobs
change who is in the fifth, not its middle. The mean is the figure that shows the package's effect (the median's
parts, all zero, are not shown).</p>{% endif %}
{% endif %}
<h3>The lowest fifth in this run</h3>
{{ st_table("second-target-levels", "Date", st.levels) }}
<p class="small">Second line: 95% interval. {{ st.uncertainty }}</p>
<p><strong>What the model cannot claim.</strong></p>
<ul id="second-target-limits">{% for t in st.cannot %}<li>{{ t }}</li>{% endfor %}</ul>
{% endif %}
<h2>Outcome metrics</h2>
<table id="outcomes"><tr><th>Metric (London, 16-64)</th><th class="n">{{ start }}</th>{% for m, d in milestones %}<th class="n">{{ d }}</th>{% endfor %}<th class="n">{{ end }}</th><th class="n">95% interval</th></tr>
{% for r in outcomes %}<tr><td>{{ r.label }}</td><td class="n">{{ r.start }}</td>{% for c in r.milestones %}<td class="n">{{ c.value }}<br><span class="small">{{ c.ci }}</span></td>{% endfor %}<td class="n">{{ r.end }}</td><td class="n">{{ r.ci }}</td></tr>{% endfor %}
</table>
<h2>Charts</h2>
{% for ch in charts[1:] %}<figure><img src="{{ ch.src }}" alt="{{ ch.caption }}"><figcaption>{{ ch.caption }}</figcaption></figure>{% endfor %}
<details><summary>Employment rate by local authority</summary>
<table id="boroughs"><tr><th>Authority</th><th>Sub-region</th><th class="n">{{ start }}</th><th class="n">{{ end }}</th><th class="n">95% interval</th><th class="n">Net extra in work</th><th class="n">95% interval</th></tr>
{% for r in boroughs %}<tr><td>{{ r.name }}</td><td>{{ r.srp }}</td><td class="n">{{ r.start }}</td><td class="n">{{ r.end }}</td><td class="n">{{ r.ci }}</td><td class="n">{{ r.extra }}</td><td class="n">{{ r.extra_ci }}</td></tr>{% endfor %}
</table></details>
<h2>Uncertainty</h2>
{% for t in uncertainty %}<p>{{ t }}</p>{% endfor %}
<h2>Assumptions and their sources</h2>
{% if programmes %}<h3>Interventions as run</h3>
<table id="programmes"><tr><th>Programme</th><th>Settings</th><th>Effect</th><th>Evidence the effect is fitted to</th></tr>
{% for r in programmes %}<tr><td>{{ r.label }}</td><td>{{ r.settings }}</td><td>{{ r.effect }}</td><td>{{ r.source }}</td></tr>{% endfor %}
</table>{% endif %}
<h3>Labelled model assumptions</h3>
<p class="small">Values no published table pins down that a run reads; the range is what a sensitivity sweep should
explore. The priors the baseline's fit starts from, its fitted circulation and the floor of agents per borough are not
read by a run, so a scenario or sweep cannot set them (glw_sim/parameters.py lists all, with where each acts).
{% if any_override %}Rows in bold are set by this scenario.{% endif %}</p>
<table id="assumptions"><tr><th>Assumption</th><th class="n">Value</th><th class="n">Range</th><th>Unit</th><th>What it rests on</th></tr>
{% for r in assumptions %}<tr{% if r.overridden %} style="font-weight:bold"{% endif %}><td>{{ r.name }}</td><td class="n">{{ r.value }}</td>
<td class="n">{{ r.range }}</td><td>{{ r.unit }}</td><td>{{ r.note }}</td></tr>{% endfor %}</table>
<details><summary>Data sources (calibration/SOURCES.md)</summary>{{ sources | safe }}</details>
<h2>Reproduce</h2>
<p class="small">The results folder's <code>manifest.json</code> holds the resolved scenario, the seeds, library versions
and a SHA-256 hash of every calibration file. Re-running the same scenario with seed {{ res.scenario.population.seed }}
gives the same numbers.</p>
""")


def _sources_html() -> str:
    p = calibration_dir() / "SOURCES.md"
    return markdown_lite(p.read_text()) if p.is_file() else "<p>calibration/SOURCES.md not found.</p>"


def render_report(res: Results) -> str:
    """The run's briefing as one self-contained HTML page (charts from ``<folder>/charts``)."""
    start, end = res.dates
    assumptions = assumption_rows(res)
    body = RUN_BODY.render(
        res=res, start=start, end=end, cards=headline_cards(res), paragraph=res.paragraph(),
        charts=chart_list(res.folder), interventions=intervention_rows(res) if res.programmes() or res.levers() else [],
        outcomes=outcome_rows(res), milestones=early_milestones(res), at_dates=headline_at_dates(res), boroughs=borough_rows(res), uncertainty=uncertainty_text(res),
        programmes=programme_rows(res), assumptions=assumptions, ranking=ranking_sentence(res),
        st=second_target_section(res),
        any_override=any(a["overridden"] for a in assumptions), sources=_sources_html())
    return TEMPLATE.render(title=f"glw-sim: {res.name} ({res.run_id})", body=body, version=__version__,
                           written=datetime.now().strftime("%Y-%m-%d %H:%M"))


def write_outputs(folder: Path, *, targets=None, charts: bool = True) -> Path:
    """(Re)draw the charts, then write ``summary.xlsx`` and ``report.html`` in a results folder."""
    from glw_sim import charts as C
    from glw_sim.targets import load_targets

    res = load_results(folder)
    if charts:
        # drawn into a hidden folder named after this process, then each chart renamed into place (atomic);
        # such folders left by a killed process are removed first
        remove_stale(Path(folder), "charts")
        tmp = make_owned_dir(Path(folder), "charts")
        try:
            paths = C.write_charts(res, tmp, targets=targets or load_targets())
            (Path(folder) / "charts").mkdir(exist_ok=True)
            for p in paths:
                p.replace(Path(folder) / "charts" / p.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_bytes(Path(folder) / "summary.xlsx", workbook_bytes(res, targets))
    atomic_write_text(Path(folder) / "report.html", render_report(res))
    return Path(folder) / "report.html"
