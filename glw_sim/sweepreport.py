"""A sensitivity sweep's report: ``report.html`` in the sweep's folder, in plain words.

Written by :func:`glw_sim.sensitivity.run_sweep` when a sweep finishes (and by ``glw-sim report SWEEP_FOLDER``):
what was varied and over which ranges; the range of each outcome across the sweep's points (least, 5th, 50th
and 95th percentiles, greatest), with the simulation noise of the percentiles when the sweep ran two or more
replications per point; the sensitivity indices with SALib's 95% confidence intervals under plain-English
labels (:mod:`glw_sim.labels`); and which inputs matter most, said only where the indices' intervals separate.
The table of outcomes is also ``outcomes.csv``.

Every row of a Sobol (Saltelli), FAST or Latin-hypercube design is a draw of the inputs from their
distributions, and Morris's trajectories cover each input's levels evenly, so the percentiles across the
points describe the outcome over the inputs' ranges (the design's points, not a weighted forecast). Replication
``r`` has the same seed at every point (common random numbers), so the sweep's replications are whole copies of
the sweep: a percentile's simulation noise is Student's t (replications - 1 degrees of freedom) on the same
percentile taken in each replication alone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from scipy import stats

from glw_sim import __version__
from glw_sim.io import atomic_write_text
from glw_sim.labels import GROUP_LABELS, fmt_level, input_label, metric_label
from glw_sim.months import add_months, parse_month
from glw_sim.report import TEMPLATE, _img, fmt, pp
from glw_sim.sweep import Sweep, SweepInput, SweepOutput
from glw_sim.workbook import kind_of

#: each method in words, and the index the report reads "which inputs matter most" from
METHODS = {
    "sobol": ("Sobol variance-based analysis (Saltelli's design)", "ST",
              "S1 is the share of the outcome's variance an input explains alone; ST its share counting every "
              "interaction with the others (0: the input does nothing; the S1s add up to 1 at most)."),
    "fast": ("Fourier amplitude sensitivity test (FAST)", "ST",
             "S1 is the share of the outcome's variance an input explains alone; ST its share with its interactions."),
    "rbd_fast": ("random-balance-design FAST (on a Latin hypercube)", "S1",
                 "S1 is the share of the outcome's variance an input explains alone."),
    "morris": ("Morris elementary-effects screening", "mu_star",
               "mu* is the mean absolute change in the outcome when the input moves one step of its range (a third "
               "of it, on four levels), in the outcome's units; sigma is how much that change varies with the other "
               "inputs (sigma near mu* or above: interactions or a non-linear response)."),
}
INDEX_WORDS = {"S1": "S1 (alone)", "ST": "ST (with interactions)", "mu_star": "mu*", "sigma": "sigma", "mu": "mu",
               "S2": "S2 (pair)"}
QUANTILES = (("least", 0), ("p5", 5), ("p50", 50), ("p95", 95), ("greatest", 100))


# ---------------------------------------------------------------------------- words
def dates(scenario: dict) -> tuple[str, str] | None:
    """The sweep's runs' start and horizon (None for a test function such as Ishigami)."""
    h = scenario.get("horizon") if scenario else None
    if h is None and not scenario:
        return None
    h = h or {}
    start = str(h.get("start", "2025-06"))
    return start, add_months(parse_month(start), int(h.get("months", 120))).isoformat()[:7]


def distribution_words(inp: SweepInput) -> str:
    b = list(inp.bounds)
    if inp.dist == "unif":
        return f"uniform from {b[0]:g} to {b[1]:g}"
    if inp.dist == "norm":
        return f"normal, mean {b[0]:g}, standard deviation {b[1]:g}"
    if inp.dist == "lognorm":
        return f"log-normal (its log: mean {b[0]:g}, standard deviation {b[1]:g})"
    return f"triangular from {b[0]:g} to {b[1]:g}, peaking at {b[0] + b[2] * (b[1] - b[0]):g}"


def output_words(out: SweepOutput, when: tuple[str, str] | None) -> str:
    """An output in words, with its date ('Change in employment rate 16-64 from 2025-06 to 2027-06')."""
    label = metric_label(out.metric)
    if out.area != "London":
        label += f", {out.area}"
    if out.group != "all":
        g, _, lev = out.group.partition("=")
        label += f", {GROUP_LABELS.get(g, g).lower()} {fmt_level(lev).lower()}"
    end = out.at or (when[1] if when else None)
    if out.change:
        low = label[0].lower() + label[1:] if label[1:2].islower() else label
        return f"Change in {low}" + (f" from {when[0]} to {end}" if when else "")
    return label + (f" at {end}" if end else "")


def output_kind(out: SweepOutput) -> str:
    """How the output's values read (glw_sim.report.fmt): a change of a rate, or a gap, in percentage points."""
    kind = kind_of(out.metric) if out.metric != "y" else "plain"
    if kind == "rate" and (out.change or out.metric.endswith(("_gap", "_spread"))):
        return "gap"
    return kind


def show(kind: str, v: float) -> str:
    if kind == "plain":
        return "n/a" if not np.isfinite(v) else f"{v:,.3g}"
    return fmt(kind, v)


# ---------------------------------------------------------------------------- the numbers
def replication_columns(done: pd.DataFrame, out: SweepOutput) -> list[str]:
    """The columns holding each replication's value of ``out`` (empty when the sweep stored none)."""
    return sorted((c for c in done.columns if c.startswith("r") and c.split(":", 1)[0][1:].isdigit()
                   and c.split(":", 1)[1] == out.label), key=lambda c: int(c.split(":", 1)[0][1:]))


def outcome_range(sweep: Sweep, done: pd.DataFrame, when: tuple[str, str] | None = None) -> pd.DataFrame:
    """Each output across the sweep's points: least, 5th, 50th and 95th percentiles (numpy's linear
    interpolation) and greatest, with the 95% simulation-noise half-width of each percentile when the points
    have two or more replications (see the module's description)."""
    rows = []
    for out in sweep.outputs:
        y = done[f"y:{out.label}"].to_numpy(float)
        row = {"output": out.label, "label": output_words(out, when), "kind": output_kind(out), "points": len(y),
               "replications": sweep.replications}
        row.update({name: float(np.percentile(y, q)) for name, q in QUANTILES})
        cols = replication_columns(done, out)
        each = done[cols].to_numpy(float) if cols else np.zeros((len(y), 0))
        ok = each.shape[1] >= 2 and np.isfinite(each).all()
        for name, q in QUANTILES[1:4]:
            if ok:
                per = np.percentile(each, q, axis=0)  # the percentile in each replication's own copy of the sweep
                r = len(per)
                row[f"{name}_noise"] = float(stats.t.ppf(0.975, r - 1) * per.std(ddof=1) / np.sqrt(r))
            else:
                row[f"{name}_noise"] = np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def reading(d: pd.DataFrame, index: str, names: dict[str, str]) -> dict:
    """What one output's indices allow saying: the input that matters most only when its index's 95% interval
    lies above every other input's; else which inputs it cannot be told apart from; inputs whose interval holds
    zero; and whether the intervals are as wide as the indices (the caveat)."""
    m = d[d["index"] == index].set_index("parameter")
    if m.empty:
        return {"sentence": "", "zero": [], "caveat": False}
    v, c = m["value"], m["conf"].abs()
    lo, hi = v - c, v + c
    top = v.idxmax()
    others = [p for p in m.index if p != top]
    word = INDEX_WORDS.get(index, index)
    if c.isna().any():
        sentence = "SALib gave no confidence interval for some indices, so no input is ranked."
    elif not others:
        sentence = ""
    elif all(lo[top] > hi[p] for p in others):
        sentence = (f"{names[top]} matters most: its {word} index's 95% interval lies above every other input's.")
    else:
        tied = [p for p in others if hi[p] >= lo[top]]
        below = [p for p in others if hi[p] < lo[top]]
        if len(tied) == len(others):
            sentence = ("No input can be said to matter more than the others: the 95% intervals of their "
                        f"{word} indices overlap.")
        else:
            sentence = (f"The largest {word} index, {names[top]}'s, cannot be told apart from "
                        f"{', '.join(names[p] for p in tied)} (their 95% intervals overlap); it lies above "
                        f"{', '.join(names[p] for p in below)}.")
    zero = [names[p] for p in m.index if np.isfinite(lo[p]) and lo[p] <= 0]
    caveat = bool(len(m) and (c >= v.abs()).mean() >= 0.5)
    return {"sentence": sentence, "zero": zero, "caveat": caveat}


def title_of(out_words: str, read: dict) -> str:
    """A chart title that states what the indices allow, never a ranking within noise."""
    if read["sentence"].endswith("lies above every other input's."):
        return f"{out_words}: {read['sentence'].split(' matters most')[0]} matters most, beyond the others' intervals"
    if read["caveat"]:
        return f"{out_words}: the indices are as uncertain as they are large, so no input is ranked"
    return f"{out_words}: no single input stands out beyond the indices' 95% intervals"


# ---------------------------------------------------------------------------- the page
BODY = jinja2.Environment(autoescape=True).from_string("""
<h1>Sensitivity sweep: {{ title }}</h1>
<p class="meta">Sweep <code>{{ sweep.name }}</code> of {{ scenario_words }} · {{ method }} · {{ points }} runs ·
{{ sweep.replications }} replication{{ '' if sweep.replications == 1 else 's' }} per run · seed {{ sweep.seed }}</p>
<p class="lead" id="summary">{{ lead }}</p>
<h2>What was varied</h2>
<table id="inputs"><tr><th>Input</th><th>Scenario field</th><th>Distribution or range</th><th class="n">Least in the sweep</th><th class="n">Greatest in the sweep</th></tr>
{% for r in inputs %}<tr><td>{{ r.label }}</td><td><code>{{ r.path }}</code></td><td>{{ r.dist }}</td><td class="n">{{ r.low }}</td><td class="n">{{ r.high }}</td></tr>{% endfor %}
</table>
<p class="small">Everything else is as the scenario sets it{% if when %}; each run goes from {{ when[0] }} to {{ when[1] }}{% endif %}.</p>
<h2>The range of outcomes</h2>
<table id="outcomes"><tr><th>Outcome</th><th class="n">Least</th><th class="n">5th percentile</th><th class="n">Median</th><th class="n">95th percentile</th><th class="n">Greatest</th></tr>
{% for r in outcomes %}<tr><td>{{ r.label }}</td>{% for c in r.cells %}<td class="n">{{ c.value }}{% if c.noise %}<br><span class="small">{{ c.noise }}</span>{% endif %}</td>{% endfor %}</tr>{% endfor %}
</table>
<p class="small">Across the sweep's {{ points }} runs, each a combination of the inputs from their ranges (the
design's points, not a forecast). {{ noise_note }}</p>
<h2>Which inputs move each outcome</h2>
<p>{{ method_words }} Intervals are SALib's 95% bootstrap confidence intervals. An input is said to matter most
only when its index's interval lies above every other input's; inputs are listed in the sweep file's order, not
ranked.</p>
{% for o in readings %}<h3>{{ o.label }}</h3>
<p id="reading-{{ loop.index }}">{{ o.sentence }}{% if o.zero %} Indistinguishable from no effect (interval holds
zero): {{ o.zero|join(', ') }}.{% endif %}</p>
{% if o.caveat %}<p class="lead">Caveat: for this outcome the indices' uncertainty is as large as the indices
themselves (for at least half of the inputs the 95% interval is wider than the index), so they say little yet;
more samples would narrow them.</p>{% endif %}
<table class="indices"><tr><th>Input</th>{% for k, ci in o.kinds %}<th class="n">{{ k }}</th>{% if ci %}<th class="n">95% interval</th>{% endif %}{% endfor %}</tr>
{% for r in o.rows %}<tr><td>{{ r.label }}</td>{% for c in r.cells %}<td class="n">{{ c.value }}</td>{% if c.ci is not none %}<td class="n">{{ c.ci }}</td>{% endif %}{% endfor %}</tr>{% endfor %}
</table>
{% if o.chart %}<figure><img src="{{ o.chart }}" alt="{{ o.title }}"><figcaption>{{ o.title }}</figcaption></figure>{% endif %}
{% endfor %}
<h2>Reproduce</h2>
<p class="small">The sweep's folder holds <code>sweep.json</code> (the sweep and its resolved scenario),
<code>parts/</code> (every run's inputs and outputs{% if sweep.replications > 1 %}, each replication's too{% endif %}),
<code>indices.csv</code> and <code>outcomes.csv</code> (the table of outcomes above). The same sweep file and seed
give the same numbers.</p>
""")


def _index_cell(kind: str, index: str, value: float, conf: float) -> dict:
    """An index and its interval: Morris's in the outcome's units (a rate's as percentage points to 0.01),
    variance shares to two decimals."""
    if index not in ("mu_star", "sigma", "mu"):
        def shown(v):
            return f"{v:.2f}"
    elif kind in ("rate", "gap"):
        def shown(v):
            return pp(v, 2)
    else:
        def shown(v):
            return show(kind, v)
    ci = f"{shown(value - abs(conf))} to {shown(value + abs(conf))}" if np.isfinite(conf) else None
    return {"value": shown(value), "ci": ci}


def write_sweep_report(folder: Path, sweep: Sweep, scenario: dict, done: pd.DataFrame,
                       indices: pd.DataFrame) -> Path:
    """Write ``report.html``, ``outcomes.csv`` and the charts (``charts/``) of a finished sweep."""
    from glw_sim import charts as C

    folder = Path(folder)
    when = dates(scenario) if sweep.scenario != "ishigami" else None
    names = {i.label: input_label(i.path, scenario, i.name) for i in sweep.inputs}
    out_words = {o.label: output_words(o, when) for o in sweep.outputs}
    kinds = {o.label: output_kind(o) for o in sweep.outputs}
    method, index, method_words = METHODS[sweep.method]
    rng = outcome_range(sweep, done, when)
    atomic_write_text(folder / "outcomes.csv", rng.to_csv(index=False, float_format="%.6g"))
    reads = {o: reading(indices[indices["output"] == o], index, names) for o in out_words}
    titles = {o: title_of(out_words[o], reads[o]) for o in out_words}
    charts = C.sensitivity_charts(indices, sweep.method, folder / "charts", sweep.name, labels=names,
                                  output_labels=out_words, titles=titles)
    chart_of = dict(zip(dict.fromkeys(indices["output"]), charts))
    inputs = []
    for i, inp in enumerate(sweep.inputs):
        col = done[f"x:{inp.label}"]
        inputs.append({"label": names[inp.label], "path": inp.path, "dist": distribution_words(inp),
                       "low": f"{col.min():g}", "high": f"{col.max():g}"})
    outcomes = []
    for _, r in rng.iterrows():
        cells = []
        for name, _ in QUANTILES:
            noise = r.get(f"{name}_noise", np.nan)
            cells.append({"value": show(r["kind"], r[name]),
                          "noise": f"noise ±{show(r['kind'], noise).lstrip('+')}" if np.isfinite(noise) else ""})
        outcomes.append({"label": r["label"], "cells": cells})
    readings = []
    for o in out_words:
        d = indices[indices["output"] == o]
        ks = [k for k in dict.fromkeys(d["index"]) if k != "S2"]
        with_ci = {k: bool(d.loc[d["index"] == k, "conf"].notna().any()) for k in ks}
        rows = []
        for p in dict.fromkeys(d.loc[d["index"] != "S2", "parameter"]):
            cells = []
            for k in ks:
                x = d[(d["index"] == k) & (d["parameter"] == p)].iloc[0]
                cells.append(_index_cell(kinds[o], k, x["value"], x["conf"] if with_ci[k] else np.nan))
            rows.append({"label": names.get(p, p), "cells": cells})
        readings.append({"label": out_words[o], **reads[o], "kinds": [(INDEX_WORDS.get(k, k), with_ci[k]) for k in ks],
                         "rows": rows, "title": titles[o],
                         "chart": _img(chart_of[o]) if o in chart_of else None})
    varied = ", ".join(names[i.label] for i in sweep.inputs)
    lead = (f"This sweep varied {len(sweep.inputs)} input{'s' if len(sweep.inputs) > 1 else ''} ({varied}) over "
            f"{len(done)} runs. " + " ".join(
                f"{r['label']} ranged from {show(r['kind'], r['least'])} to {show(r['kind'], r['greatest'])} "
                f"(5th to 95th percentile {show(r['kind'], r['p5'])} to {show(r['kind'], r['p95'])})."
                for _, r in rng.iterrows()))
    reps = sweep.replications
    noise_note = (f"Second line: the simulation noise of each percentile (95%, Student's t over the {reps} "
                  "replications, each a whole copy of the sweep with its own seed)." if rng["p50_noise"].notna().any()
                  else "One replication per run: the simulation noise of these figures cannot be estimated from "
                  "the sweep itself (set replications: 2 or more in the sweep file for it).")
    scenario_name = scenario.get("name", sweep.scenario) if scenario else sweep.scenario
    scale = (scenario.get("population") or {}).get("scale") if scenario else None
    body = BODY.render(
        title=sweep.name.replace("-", " ").replace("_", " "), sweep=sweep, method=method, points=len(done),
        scenario_words=f"scenario {scenario_name}" + (f" at scale {scale:g}" if scale else ""), lead=lead,
        inputs=inputs, when=when, outcomes=outcomes, noise_note=noise_note, method_words=method_words,
        readings=readings)
    atomic_write_text(folder / "report.html", TEMPLATE.render(
        title=f"glw-sim: sensitivity sweep {sweep.name}", body=body, version=__version__,
        footer="Every figure here comes from the sweep's parts/ and indices.csv; charts are also saved as PNG files "
               "in charts/.",
        written=datetime.now().strftime("%Y-%m-%d %H:%M")))
    return folder / "report.html"
