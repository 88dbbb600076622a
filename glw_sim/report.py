"""Briefings: one self-contained ``report.html`` per run (charts embedded, no network), a side-by-side
comparison of several runs, and the Excel workbook ``summary.xlsx``.

``glw-sim run`` writes all three into its results folder; ``glw-sim report RUN`` rebuilds them from a results
folder and ``glw-sim compare RUN_A RUN_B ...`` writes a comparison folder. The HTML is rendered with Jinja2
(autoescaped); images are PNGs inlined as ``data:`` URIs so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import io
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
from glw_sim.results import OUTCOMES, Results, load_results, programme_label

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
    return "n/a" if v is None or not np.isfinite(v) else f"{v:,.0f}"


def gbp(v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    return f"£{v / 1e6:,.1f}m" if abs(v) >= 1e6 else f"£{v:,.0f}"


def fmt(kind: str, v: float) -> str:
    return {"rate": pct, "gap": pp, "count": num, "gbp": gbp}[kind](v)


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
         "detail": f"95% range {ci('rate', h['employment_rate'])}; month 0 {pct(h['employment_rate_start']['mean'])}",
         "id": "employment-rate"},
        {"label": "Gap to 80% (residents)", "value": num(h["gap_to_80"]["mean"]),
         "detail": f"95% range {ci('count', h['gap_to_80'])}; month 0 {num(h['gap_to_80_start']['mean'])}",
         "id": "gap-to-80"},
    ]
    if "net_extra_employed" in h:
        cards.append({"label": "Net extra residents in work", "value": num(h["net_extra_employed"]["mean"]),
                      "detail": f"95% range {ci('count', h['net_extra_employed'])}; "
                                f"{pct(h['share_of_gap']['mean'])} of the gap at month 0",
                      "id": "net-extra"})
    if "spending" in h:
        cards.append({"label": "Programme spending", "value": gbp(h["spending"]["mean"]),
                      "detail": f"over {res.horizon} months", "id": "spending"})
    if "cost_per_net_extra_job" in h:
        c = h["cost_per_net_extra_job"]
        cards.append({"label": "Cost per net additional job", "value": gbp(c["mean"]),
                      "detail": f"95% range {ci('gbp', c)}" if np.isfinite(c["low_95"]) else "no net gain",
                      "id": "cost-per-job"})
    return cards


def intervention_rows(res: Results) -> list[dict]:
    rows = []
    for _, r in res.interventions().iterrows():
        has = pd.notna(r["net_extra_jobs"])
        rows.append({
            "programme": programme_label(str(r["programme"])),
            "net": num(r["net_extra_jobs"]) if has else "",
            "net_ci": f"{num(r['net_extra_jobs_low_95'])} to {num(r['net_extra_jobs_high_95'])}" if has else "",
            "starts": num(r["starts"]) if pd.notna(r["starts"]) else "",
            "spending": gbp(r["spending"]) if pd.notna(r["spending"]) else "",
            "cost": gbp(r["cost_per_net_job"]) if pd.notna(r["cost_per_net_job"]) else "",
            "cost_ci": (f"{gbp(r['cost_per_net_job_low_95'])} to {gbp(r['cost_per_net_job_high_95'])}"
                        if pd.notna(r["cost_per_net_job_low_95"]) else ""),
            "waiting": num(r["waiting_at_horizon"]) if pd.notna(r["waiting_at_horizon"]) else "",
        })
    return rows


def outcome_rows(res: Results) -> list[dict]:
    return [{"label": r["label"], "start": fmt(r["kind"], r["month_0"]), "end": fmt(r["kind"], r["horizon"]),
             "ci": f"{fmt(r['kind'], r['low_95'])} to {fmt(r['kind'], r['high_95'])}"}
            for _, r in res.outcomes().iterrows()]


def borough_rows(res: Results) -> list[dict]:
    b = res.boroughs().sort_values("employment_rate")
    return [{"name": r["name"], "srp": r["srp"], "start": pct(r["employment_rate_month_0"]),
             "end": pct(r["employment_rate"]), "ci": f"{pct(r['low_95'])} to {pct(r['high_95'])}",
             "extra": num(r["net_extra_employed"]) if "net_extra_employed" in r and pd.notna(r.get("net_extra_employed")) else ""}
            for _, r in b.iterrows()]


def assumption_rows(res: Results) -> list[dict]:
    """The labelled assumptions this run used (scenario overrides marked), with their sweep ranges."""
    from glw_sim.parameters import ASSUMPTIONS

    over = res.scenario.get("assumptions") or {}
    rows = []
    for name, a in ASSUMPTIONS.items():
        if name.startswith("prior_") and name not in over:
            continue
        v = over.get(name, a.value)
        rows.append({"name": name, "value": f"{v:g}" if np.isfinite(v) else "fitted",
                     "range": f"{a.low:g} to {a.high:g}", "unit": a.unit, "note": a.note,
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


def chart_list(folder: Path) -> list[dict]:
    charts = Path(folder) / "charts"
    found = {p.stem: p for p in charts.glob("*.png")} if charts.is_dir() else {}
    order = [n for n in CHART_ORDER if n in found] + sorted(n for n in found if n not in CHART_ORDER)
    return [{"name": n, "src": _img(found[n]), "caption": CHART_CAPTIONS.get(n, n.replace("_", " "))} for n in order]


def uncertainty_text(res: Results) -> list[str]:
    sc = res.scenario
    n = res.headline()["employment_rate"]["replications"]
    scale = sc["population"]["scale"]
    agents = int(round(6_540_000 * scale))
    return [
        f"Ranges are the 2.5th to 97.5th percentiles across {n} replications (independent seeds from "
        f"{sc['population']['seed']}), each with about {agents:,} agents (scale {scale:g}). They measure the model's "
        "own randomness and sampling at this scale, not uncertainty about its inputs.",
        "Input uncertainty (effect sizes, referral and take-up rates, labour demand) is explored with sensitivity "
        "sweeps (glw-sim sweep; see sweeps/route-package-morris.yaml); the assumptions below list the ranges.",
        "Net effects compare the scenario with the same residents and the same random numbers under no new policy, "
        "so differences are not blurred by sampling noise; with few replications the ranges themselves are rough.",
        "Known limits: the baseline is calibrated to UK flow rates adjusted to London's stocks (London flows are "
        "not published recently), and drifts slowly over ten years (see the README); programme effects are "
        "fitted to trial evidence which for WorkWell, Restart and the Youth Guarantee is a proxy or an assumption.",
    ]


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
<hr><p class="small">glw-sim {{ version }}; written {{ written }}. Every figure here comes from the run's
timeseries.parquet; charts are also saved as PNG files beside this report.</p>
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
{% for ch in charts[:1] %}<figure><img src="{{ ch.src }}" alt="{{ ch.caption }}"><figcaption>{{ ch.caption }}</figcaption></figure>{% endfor %}
{% if interventions %}
<h2>What each intervention contributes and costs</h2>
<table id="interventions"><tr><th>Programme</th><th class="n">Net extra in work</th><th class="n">95% range</th>
<th class="n">Starts</th><th class="n">Spending</th><th class="n">Cost per net job</th><th class="n">95% range</th>
<th class="n">Waiting at end</th></tr>
{% for r in interventions %}<tr><td>{{ r.programme }}</td><td class="n">{{ r.net }}</td><td class="n">{{ r.net_ci }}</td>
<td class="n">{{ r.starts }}</td><td class="n">{{ r.spending }}</td><td class="n">{{ r.cost }}</td><td class="n">{{ r.cost_ci }}</td>
<td class="n">{{ r.waiting }}</td></tr>{% endfor %}</table>
<p class="small">Contribution: the package minus the package without that programme, same random numbers; "interactions" is
what the programmes add together beyond their separate contributions. Spending: starts times cost per start over the horizon.</p>
{% endif %}
<h2>Outcome metrics</h2>
<table id="outcomes"><tr><th>Metric (London, 16-64)</th><th class="n">{{ start }}</th><th class="n">{{ end }}</th><th class="n">95% range</th></tr>
{% for r in outcomes %}<tr><td>{{ r.label }}</td><td class="n">{{ r.start }}</td><td class="n">{{ r.end }}</td><td class="n">{{ r.ci }}</td></tr>{% endfor %}
</table>
<h2>Charts</h2>
{% for ch in charts[1:] %}<figure><img src="{{ ch.src }}" alt="{{ ch.caption }}"><figcaption>{{ ch.caption }}</figcaption></figure>{% endfor %}
<details><summary>Employment rate by local authority</summary>
<table id="boroughs"><tr><th>Authority</th><th>Sub-region</th><th class="n">{{ start }}</th><th class="n">{{ end }}</th><th class="n">95% range</th><th class="n">Net extra in work</th></tr>
{% for r in boroughs %}<tr><td>{{ r.name }}</td><td>{{ r.srp }}</td><td class="n">{{ r.start }}</td><td class="n">{{ r.end }}</td><td class="n">{{ r.ci }}</td><td class="n">{{ r.extra }}</td></tr>{% endfor %}
</table></details>
<h2>Uncertainty</h2>
{% for t in uncertainty %}<p>{{ t }}</p>{% endfor %}
<h2>Assumptions and their sources</h2>
{% if programmes %}<h3>Interventions as run</h3>
<table id="programmes"><tr><th>Programme</th><th>Settings</th><th>Effect</th><th>Evidence the effect is fitted to</th></tr>
{% for r in programmes %}<tr><td>{{ r.label }}</td><td>{{ r.settings }}</td><td>{{ r.effect }}</td><td>{{ r.source }}</td></tr>{% endfor %}
</table>{% endif %}
<h3>Labelled model assumptions</h3>
<p class="small">Values no published table pins down; the range is what a sensitivity sweep should explore.
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
        charts=chart_list(res.folder), interventions=intervention_rows(res) if res.programmes() else [],
        outcomes=outcome_rows(res), boroughs=borough_rows(res), uncertainty=uncertainty_text(res),
        programmes=programme_rows(res), assumptions=assumptions,
        any_override=any(a["overridden"] for a in assumptions), sources=_sources_html())
    return TEMPLATE.render(title=f"glw-sim: {res.name} ({res.run_id})", body=body, version=__version__,
                           written=datetime.now().strftime("%Y-%m-%d %H:%M"))


# ---------------------------------------------------------------------------- Excel
def workbook_bytes(res: Results) -> bytes:
    """``summary.xlsx``: one sheet per table (headline, outcomes, interventions, boroughs, groups, all metrics,
    manifest)."""
    h = res.headline()
    headline = pd.DataFrame([{"figure": k, **v} for k, v in h.items()])
    manifest = pd.DataFrame([
        ("scenario", res.name), ("run_id", res.run_id), ("description", res.scenario.get("description")),
        ("start", res.dates[0]), ("horizon_months", res.horizon), ("scale", res.scenario["population"]["scale"]),
        ("seed", res.scenario["population"]["seed"]), ("replications", res.scenario["replications"]),
        ("glw_sim_version", res.manifest.get("glw_sim_version")), ("created_utc", res.manifest.get("created_utc")),
    ], columns=["field", "value"])
    sheets = {"headline": headline, "outcomes": res.outcomes(), "interventions": res.interventions(),
              "boroughs": res.boroughs(), "who_gains": res.who_gains(), "all_metrics": res.summary,
              "manifest": manifest}
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, df in sheets.items():
            df.to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col[:200])
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 60)
            ws.freeze_panes = "A2"
    return buf.getvalue()


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
    atomic_write_bytes(Path(folder) / "summary.xlsx", workbook_bytes(res))
    atomic_write_text(Path(folder) / "report.html", render_report(res))
    return Path(folder) / "report.html"


# ---------------------------------------------------------------------------- compare
#: the comparison's rows: the headline figures, then the Box E outcome metrics
COMPARE_ROWS = OUTCOMES[:2] + [("net_extra_employed", "Net extra residents in work", "count"),
                               ("spending_cumulative", "Programme spending", "gbp"),
                               ("cost_per_net_extra_job", "Cost per net additional job", "gbp")] + OUTCOMES[2:8]


def comparison_table(runs: list[Results]) -> pd.DataFrame:
    """Horizon values of the briefing metrics, one column block per run (mean and 95% interval)."""
    rows = []
    for metric, label, kind in COMPARE_ROWS:
        for r in runs:
            if metric == "cost_per_net_extra_job":
                d = r.headline().get("cost_per_net_extra_job")
            else:
                d = None
                if r.has(metric):
                    s = r.at(metric)
                    d = {"mean": s.mean(), "low_95": s.quantile(0.025), "high_95": s.quantile(0.975)}
            if d is not None:
                rows.append({"metric": metric, "label": label, "kind": kind, "run": f"{r.name} ({r.run_id})",
                             "mean": d["mean"], "low_95": d["low_95"], "high_95": d["high_95"],
                             "month": r.horizon})
    return pd.DataFrame(rows)


def compare_charts(runs: list[Results], folder: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from glw_sim import charts as C

    folder.mkdir(parents=True, exist_ok=True)
    run_ids = ", ".join(r.run_id for r in runs)
    out = []
    with C.style():
        fig, ax = plt.subplots(figsize=(8, 4.5))
        ends = []
        for i, r in enumerate(runs):
            wide = r.london("employment_rate")
            end = C._band(ax, C._dates(r, wide.index), wide, C.PALETTE[i % len(C.PALETTE)], r.name, 100).iloc[-1]
            ends.append((end, r.name))
        ax.axhline(80, color=C.TARGET, ls="--", lw=1.5, label="80% ambition")
        best = max(ends)
        ax.set_title(f"{best[1]} ends highest, at {best[0]:.1f}% employment")
        ax.set_ylabel("Employment rate, residents 16-64 (%)")
        ax.set_xlabel("Month")
        ax.legend(loc="lower right")
        out.append(folder / "employment_rate_by_run.png")
        C._finish(fig, out[-1], run_ids, "Bands: 95% range across each run's replications.")

        with_net = [r for r in runs if r.has_counterfactual]
        if with_net:
            fig, ax = plt.subplots(figsize=(8, 1.5 + 0.6 * len(with_net)))
            y = np.arange(len(with_net))[::-1]
            h = [r.headline()["net_extra_employed"] for r in with_net]
            v = np.array([x["mean"] for x in h]) / 1000
            ax.barh(y, v, color=[C.PALETTE[i % len(C.PALETTE)] for i in range(len(with_net))], height=0.6)
            ax.errorbar(v, y, xerr=[np.maximum(v - np.array([x["low_95"] for x in h]) / 1000, 0),
                                    np.maximum(np.array([x["high_95"] for x in h]) / 1000 - v, 0)],
                        fmt="none", color="#222222", capsize=3, lw=1)
            ax.set_yticks(y, [r.name for r in with_net])
            ax.set_xlabel("Net extra residents in work at the horizon vs no new policy (thousands)")
            top = with_net[int(np.argmax(v))]
            ax.set_title(f"{top.name} adds the most: {v.max():,.1f}k of the 327k needed")
            out.append(folder / "net_extra_by_run.png")
            C._finish(fig, out[-1], run_ids, "Bars: 95% range across replications.")
    return out


COMPARE_BODY = jinja2.Environment(autoescape=True).from_string("""
<h1>Comparing {{ runs|length }} runs</h1>
<p class="meta">{% for r in runs %}<code>{{ r.name }}</code> run {{ r.run_id }} ({{ r.horizon }} months, scale
{{ r.scenario.population.scale }}, {{ r.scenario.replications }} replications){% if not loop.last %}; {% endif %}{% endfor %}</p>
<table id="comparison"><tr><th>Metric at the horizon</th>{% for r in runs %}<th class="n">{{ r.name }}</th>{% endfor %}</tr>
{% for row in table %}<tr><td>{{ row.label }}</td>{% for cell in row.cells %}<td class="n">{{ cell.value }}<br><span class="small">{{ cell.ci }}</span></td>{% endfor %}</tr>{% endfor %}
</table>
<p class="small">Second line: 95% range across replications. Runs with different horizons are compared at their own horizon.</p>
{% for ch in charts %}<figure><img src="{{ ch.src }}" alt="{{ ch.caption }}"><figcaption>{{ ch.caption }}</figcaption></figure>{% endfor %}
{% for r in runs %}<h2>{{ r.name }}</h2><p>{{ r.paragraph() }}</p>{% endfor %}
""")


def write_comparison(folders: list[Path], out: Path) -> Path:
    """A folder with ``report.html`` (table and charts side by side), ``comparison.csv`` and ``.xlsx``."""
    runs = [load_results(f) for f in folders]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(runs)
    charts = compare_charts(runs, out / "charts")
    rows = []
    for metric, label, kind in COMPARE_ROWS:
        d = table[table["metric"] == metric].set_index("run")
        if d.empty:
            continue
        cells = []
        for r in runs:
            key = f"{r.name} ({r.run_id})"
            if key in d.index:
                x = d.loc[key]
                cells.append({"value": fmt(kind, x["mean"]), "ci": f"{fmt(kind, x['low_95'])} to {fmt(kind, x['high_95'])}"})
            else:
                cells.append({"value": "", "ci": ""})
        rows.append({"label": label, "cells": cells})
    captions = {"employment_rate_by_run": "Employment rate by run.", "net_extra_by_run": "Net extra jobs by run."}
    body = COMPARE_BODY.render(runs=runs, table=rows, charts=[
        {"src": _img(p), "caption": captions.get(p.stem, p.stem)} for p in charts])
    atomic_write_text(out / "comparison.csv", table.to_csv(index=False, float_format="%.6g"))
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        table.to_excel(xl, sheet_name="comparison", index=False)
    atomic_write_bytes(out / "comparison.xlsx", buf.getvalue())
    atomic_write_text(out / "report.html", TEMPLATE.render(
        title="glw-sim: comparison of " + ", ".join(r.name for r in runs), body=body, version=__version__,
        written=datetime.now().strftime("%Y-%m-%d %H:%M")))
    return out / "report.html"
