"""Comparing runs side by side, with each run's difference from a reference run.

``glw-sim compare RUN_A RUN_B ... [--against RUN]`` (:func:`write_comparison`) sets runs side by side at each
date every run reaches (2030-06 and the scenarios' ``milestones``, and the shortest run's horizon when the runs
end on different dates), then each at its own horizon, and gives each run's difference from the reference run
(the first, or ``--against``) with its 95% interval: London's headline and outcome figures at every date, and
each borough's employment rate and net extra residents in work and each part's contribution (where both runs
have it) at the latest date every run reaches.

**Paired or not.** A replication's random numbers come from its seed, so two runs whose replications share
seeds (the same ``population.seed``, hence the same seed list in ``manifest.json``) at the same scale and start
simulate the same residents with the same luck: common random numbers. Their difference is then taken
replication by replication, and the paired differences are summarised like any figure
(:func:`glw_sim.uncertainty.fit_many`): their mean (with the evidence draws as control variates when there are
enough replications), and a 95% interval whose simulation-noise part is **Student's t** with the residual degrees
of freedom (n - 1 for n pairs without control variates): runs have 2 to a few dozen replications, where the
normal's 1.96 would be too narrow (t is 4% wider at 30 pairs, 2.2 times wider at 3, 6.5 times at 2). The
evidence part, where a run drew it, is added in quadrature as everywhere else. Runs that do not pair (other
seeds, another scale or start, or a manifest without seeds) are independent: the difference of the two estimates,
with **Welch's t** (Satterthwaite's degrees of freedom) for the noise and the evidence on inputs they share
counted once (:func:`glw_sim.uncertainty.independent_difference`). The report says which, run by run.

A difference is stated in words only when its 95% interval leaves out zero, and no title or sentence names a
highest run within noise. Cost ratios get no difference (their intervals are Fieller's, each run's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from glw_sim import __version__
from glw_sim import uncertainty as U
from glw_sim.io import atomic_write_bytes, atomic_write_text
from glw_sim.labels import programme_label
from glw_sim.report import TEMPLATE, _img, fmt, signed_fmt
from glw_sim.results import OUTCOMES, Results, load_results
from glw_sim.workbook import EST, HIGH, LOW, sheets_bytes

#: the comparison's rows: the headline figures, then the Box E outcome metrics
COMPARE_ROWS = OUTCOMES[:2] + [("net_extra_employed", "Net extra residents in work", "count"),
                               ("spending_cumulative", "Programme spending", "gbp"),
                               ("cost_per_net_extra_job", "Cost per net additional job", "gbp"),
                               ("cost_per_net_extra_employment_year", "Cost per net extra employment-year", "gbp")
                               ] + OUTCOMES[2:8] + [
    # the plan's second target (runs with outputs.income, in their reported years: month 0 and every twelfth)
    ("income.bottom_fifth_mean_ahc_real", "Lowest fifth's mean income AHC (GBP/wk, 2024 prices)", "gbpw"),
    ("income.bottom_fifth_median_ahc_real", "Lowest fifth's median income AHC (GBP/wk, 2024 prices)", "gbpw"),
    ("income.bottom_fifth_in_work", "Share of the lowest fifth in work", "rate"),
    ("income.bottom_fifth_mean_ahc_real_change", "Lowest fifth's mean AHC against the counterfactual (GBP/wk)",
     "gbpw"),
    ("income.bottom_fifth_median_ahc_real_change", "Lowest fifth's median AHC against the counterfactual (GBP/wk)",
     "gbpw")]
#: rows that are ratios: no difference (each run's Fieller interval is shown)
RATIOS = ("cost_per_net_extra_job", "cost_per_net_extra_employment_year")

DIFF, DLOW, DHIGH = "Difference", "Difference, 95% interval, low", "Difference, 95% interval, high"


# ---------------------------------------------------------------------------- pairing and differences
@dataclass(frozen=True)
class Pairing:
    """Whether two runs' replications pair up (share seeds, scale and start), which replications, and why."""

    paired: bool
    pairs: tuple[tuple[int, int], ...]  # (replication of the first run, replication of the second)
    why: str


def _seeds(res: Results) -> dict[int, int] | None:
    """Replication -> its seed, from the manifest (None when the manifest does not say)."""
    seeds = res.manifest.get("seeds")
    reps = sorted(int(r) for r in res.timeseries["replication"].unique())
    if not seeds or not reps or reps[-1] >= len(seeds):
        return None
    return {r: int(seeds[r]) for r in reps}


def pairing(a: Results, b: Results) -> Pairing:
    """Pair ``a``'s and ``b``'s replications by seed when both runs have the same scale and start (their
    manifests' scenario and seeds); otherwise say why they are compared as independent runs."""
    sa, sb = _seeds(a), _seeds(b)
    if sa is None or sb is None:
        return Pairing(False, (), "unpaired: a manifest does not record its replications' seeds")
    scale_a, scale_b = a.scenario["population"]["scale"], b.scenario["population"]["scale"]
    if scale_a != scale_b:
        return Pairing(False, (), f"unpaired: their scales differ ({scale_a:g} and {scale_b:g}), so their "
                                  "residents differ")
    if a.dates[0] != b.dates[0]:
        return Pairing(False, (), f"unpaired: they start in different months ({a.dates[0]} and {b.dates[0]})")
    by_seed = {s: r for r, s in sb.items()}
    pairs = tuple((ra, by_seed[s]) for ra, s in sa.items() if s in by_seed)
    if len(pairs) < 2:
        return Pairing(False, (), "unpaired: fewer than two of their replications share a seed (other "
                                  "population.seed)")
    extra = "" if len(sa) == len(sb) == len(pairs) else f" (of their {len(sa)} and {len(sb)})"
    return Pairing(True, pairs, f"paired: {len(pairs)} replications share their seeds{extra}, scale "
                                f"{scale_a:g} and start")


def _draws_of_pairs(a: Results, b: Results, pairs) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """Both runs' standardised draws for the paired replications, side by side; a draw both runs made alike
    (same input, same seed) counted once."""
    cols, names = [], []
    for res, reps in ((a, [p[0] for p in pairs]), (b, [p[1] for p in pairs])):
        z = res._z(reps)
        if z is None:
            continue
        for j, name in enumerate(res.drawn_inputs):
            col = z[:, j]
            if np.isnan(col).any() or any(np.array_equal(col, c) for c in cols):
                continue
            cols.append(col)
            names.append(name if name not in names else f"{name} ({res.name})")
    return (np.column_stack(cols) if cols else None), tuple(names)


def difference(a: Results, b: Results, metric: str, months: tuple[int, int], pair: Pairing, area: str = "London",
               group: str = "all") -> U.Figure | None:
    """``a`` minus ``b`` for one metric at ``months`` (a's month, b's month): paired replication by replication
    when ``pair`` says so, else as independent runs (see the module's description); None when a run lacks it."""
    ya, yb = a.at(metric, months[0], area, group), b.at(metric, months[1], area, group)
    if not len(ya) or not len(yb):
        return None
    pairs = [(ra, rb) for ra, rb in pair.pairs if ra in ya.index and rb in yb.index] if pair.paired else []
    if len(pairs) >= 2:
        d = np.array([ya.loc[ra] - yb.loc[rb] for ra, rb in pairs], dtype=np.float64)
        Z, names = _draws_of_pairs(a, b, pairs)
        fig = U.fit_many(d[:, None], Z, names)[0][0]
    else:
        fig = U.independent_difference(a.fit(ya)[0], b.fit(yb)[0])
    if metric == "spending_cumulative":  # unit costs' evidence, known exactly (as in Results.headline)
        la = a._cost_loadings(a.programme_spending(months[0]).mean().to_dict())
        lb = b._cost_loadings(b.programme_spending(months[1]).mean().to_dict())
        fig = U.add_known(fig, {k: la.get(k, 0.0) - lb.get(k, 0.0) for k in dict.fromkeys([*la, *lb])})
    return fig


def _month_of(res: Results, date: str) -> int | None:
    d = res.timeseries.drop_duplicates("month").set_index("date")["month"]
    return int(d.loc[date]) if date in d.index else None


def common_dates(runs: list[Results]) -> list[str]:
    """The dates every run reaches where runs of different lengths are compared like for like: the milestones
    (2030-06 and the scenarios' ``milestones``) and, when the runs end on different dates, the shortest run's
    horizon."""
    sets = [{d for _, d in r.milestones()} for r in runs]
    out = set.intersection(*sets) if sets else set()
    ends = {r.dates[1] for r in runs}
    if len(ends) > 1:
        first = min(runs, key=lambda r: r.horizon).dates[1]
        if all(_month_of(r, first) is not None for r in runs):
            out.add(first)
    return sorted(out)


def _points(runs: list[Results]) -> list[tuple[str, dict[str, int], bool]]:
    """(at, month of each run, whether the runs are on the same date there) for each comparison point."""
    pts = [(d, {r.run_id: _month_of(r, d) for r in runs}, True) for d in common_dates(runs)]
    same_end = len({r.dates[1] for r in runs}) == 1
    pts.append(("horizon", {r.run_id: r.horizon for r in runs}, same_end))
    return pts


def detail_point(runs: list[Results]) -> tuple[str, dict[str, int]] | None:
    """The latest date every run reaches (the common horizon, or the last common date): where boroughs and
    contributions are compared; None when the runs share no date."""
    for at, months, same in reversed(_points(runs)):
        if same:
            return at, months
    return None


def _value(r: Results, metric: str, month: int, heads: dict) -> dict | None:
    key = "spending" if metric == "spending_cumulative" else metric
    if key in heads:  # the headline's figures (cost per net job: its one definition)
        return heads[key]
    if r.has(metric) and (not metric.startswith("income.") or len(r.at(metric, month))):
        return r.figure(metric, month).as_row()  # (the second target's: only in its reported years)
    return None


def comparison_table(runs: list[Results], against: int = 0) -> pd.DataFrame:
    """London's briefing figures at each date every run reaches (``at`` the date, e.g. 2030-06) and at each run's
    own horizon (``at`` "horizon"), one row per run and figure: mean and 95% interval, and, for every run but the
    reference (``runs[against]``), its difference from the reference with a 95% interval, whether that leaves out
    zero and whether it is paired (where the runs are on the same date and the figure is not a ratio)."""
    ref = runs[against]
    pairings = {r.run_id: pairing(r, ref) for r in runs}
    rows = []
    for at, months, same in _points(runs):
        heads = {r.run_id: r.headline(months[r.run_id]) for r in runs}
        for metric, label, kind in COMPARE_ROWS:
            for r in runs:
                month = months[r.run_id]
                d = _value(r, metric, month, heads[r.run_id])
                if d is None:
                    continue
                date = r.timeseries.loc[r.timeseries["month"] == month, "date"].iloc[0]
                row = {"metric": metric, "label": label, "kind": kind, "run": f"{r.name} ({r.run_id})",
                       "mean": d["mean"], "low_95": d["low_95"], "high_95": d["high_95"], "month": month,
                       "date": str(date), "at": at, "against": f"{ref.name} ({ref.run_id})",
                       "difference": np.nan, "difference_low_95": np.nan, "difference_high_95": np.nan,
                       "difference_excludes_zero": None, "paired": None}
                if r is not ref and same and metric not in RATIOS:
                    f = difference(r, ref, metric, (month, months[ref.run_id]), pairings[r.run_id])
                    if f is not None:
                        row.update({"difference": f.estimate, "difference_low_95": f.low,
                                    "difference_high_95": f.high, "difference_excludes_zero": f.excludes_zero(),
                                    "paired": pairings[r.run_id].paired})
                rows.append(row)
    return pd.DataFrame(rows)


def _detail_rows(runs: list[Results], against: int, items, targets=None) -> pd.DataFrame:
    """Rows as :func:`comparison_table`'s for each (area, metric, label, kind, key) in ``items``, at the latest
    date every run reaches."""
    point = detail_point(runs)
    if point is None:
        return pd.DataFrame()
    at, months = point
    ref = runs[against]
    pairings = {r.run_id: pairing(r, ref) for r in runs}
    rows = []
    for area, metric, label, kind, key in items:
        if not all(len(r.at(metric, months[r.run_id], area)) for r in runs):
            continue  # (a figure only some runs have is not compared)
        for r in runs:
            month = months[r.run_id]
            f = r.figure(metric, month, area)
            row = {"area": area, "metric": metric, "label": label, "kind": kind, "key": key,
                   "run": f"{r.name} ({r.run_id})", "mean": f.estimate, "low_95": f.low, "high_95": f.high,
                   "month": month, "date": r.timeseries.loc[r.timeseries["month"] == month, "date"].iloc[0],
                   "at": at, "against": f"{ref.name} ({ref.run_id})", "difference": np.nan,
                   "difference_low_95": np.nan, "difference_high_95": np.nan, "difference_excludes_zero": None,
                   "paired": None}
            if r is not ref:
                d = difference(r, ref, metric, (month, months[ref.run_id]), pairings[r.run_id], area)
                row.update({"difference": d.estimate, "difference_low_95": d.low, "difference_high_95": d.high,
                            "difference_excludes_zero": d.excludes_zero(), "paired": pairings[r.run_id].paired})
            rows.append(row)
    return pd.DataFrame(rows)


def borough_table(runs: list[Results], against: int = 0, targets=None) -> pd.DataFrame:
    """Each borough's employment rate and (where every run has a counterfactual) net extra residents in work at
    the latest date every run reaches, per run, with each run's difference from the reference."""
    from glw_sim.targets import load_targets

    geo = (targets or load_targets()).geography
    items = [(c, "employment_rate", "Employment rate 16-64", "rate", n) for c, n in zip(geo.codes, geo.names)]
    items += [(c, "net_extra_employed", "Net extra residents in work", "count", n)
              for c, n in zip(geo.codes, geo.names)]
    return _detail_rows(runs, against, items)


def programme_table(runs: list[Results], against: int = 0) -> pd.DataFrame:
    """Each part's contribution (programmes, integration hubs) that every run has, at the latest date every run
    reaches, per run, with each run's difference from the reference."""
    common = set.intersection(*(set(r.parts()) for r in runs)) if runs else set()
    return _detail_rows(runs, against, [("London", f"contribution.{p}", programme_label(p), "count", p)
                                        for p in sorted(common)])


# ---------------------------------------------------------------------------- words
def lower_first(label: str) -> str:
    """'Employment rate' -> 'employment rate'; 'NEET rate' stays."""
    return label[0].lower() + label[1:] if label[1:2].islower() else label


def signed(kind: str, v: float) -> str:
    """A difference as a briefing writes it: rates in percentage points, with its sign."""
    if v is None or not np.isfinite(v):
        return "n/a"
    if kind == "gbpw":  # (the second target's pounds a week: no sign on what rounds to zero)
        return signed_fmt(kind, v)
    sign = "+" if v > 0 else "−" if v < 0 else "±"
    return sign + fmt("gap" if kind in ("rate", "gap") else kind, abs(v))


def diff_range(kind: str, lo: float, hi: float) -> str:
    return f"{signed(kind, lo)} to {signed(kind, hi)}"


def finding(run: str, ref: str, label: str, kind: str, row) -> str | None:
    """One sentence for a difference whose interval leaves out zero (None otherwise)."""
    if not row["difference_excludes_zero"]:
        return None
    word = "higher" if row["difference"] > 0 else "lower"
    size = fmt("gap" if kind in ("rate", "gap") else kind, abs(row["difference"]))
    how = "paired replications" if row["paired"] else "independent runs"
    return (f"{run}: {lower_first(label)} {size} {word} than {ref} (95% interval "
            f"{diff_range(kind, row['difference_low_95'], row['difference_high_95'])}; {how}).")


def tied_sentence(run: str, ref: str, labels: list[str], every: bool = False) -> str | None:
    """The figures on which two runs cannot be told apart (``every``: all of them)."""
    if not labels:
        return None
    if every:
        return (f"{run} and {ref} cannot be told apart on any figure here: every difference's 95% interval holds "
                "zero.")
    return (f"{run} and {ref} cannot be told apart on {', '.join(labels)}: each difference's 95% interval holds "
            "zero.")


# ---------------------------------------------------------------------------- charts
def _separated_from_all(runs: list[Results], metric: str, best: Results) -> bool:
    """Whether ``best``'s horizon value is above every other run's beyond the 95% interval of their difference
    (paired where the runs pair and end on the same date)."""
    for r in runs:
        if r is best:
            continue
        pair = pairing(best, r) if best.dates[1] == r.dates[1] else Pairing(False, (), "")
        d = difference(best, r, metric, (best.horizon, r.horizon), pair)
        if d is None or not (d.excludes_zero() and d.estimate > 0):
            return False
    return True


def difference_title(at: str, ref: str, rows: pd.DataFrame) -> str:
    """The difference chart's title: which runs differ from the reference beyond their interval, if any."""
    when = "at the horizon" if at == "horizon" else f"at {at}"
    apart = [str(r).rsplit(" (", 1)[0] for r, x in zip(rows["run"], rows["difference_excludes_zero"]) if x]
    if not apart:
        return (f"Employment rate {when}: no run differs from {ref} beyond the 95% interval of its difference")
    return f"Employment rate {when}: {', '.join(apart)} {'differs' if len(apart) == 1 else 'differ'} from {ref} " \
           "beyond the 95% interval of the difference"


def compare_charts(runs: list[Results], folder: Path, table: pd.DataFrame | None = None,
                   against: int = 0) -> list[Path]:
    import matplotlib.pyplot as plt

    from glw_sim import charts as C

    folder.mkdir(parents=True, exist_ok=True)
    run_ids = ", ".join(r.run_id for r in runs)
    out = []
    with C.style():
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, r in enumerate(runs):
            wide = r.london("employment_rate")
            C._band(ax, C._dates(r, wide.index), wide, C.PALETTE[i % len(C.PALETTE)], r.name, 100)
        ax.axhline(80, color=C.TARGET, ls="--", lw=1.5, label="80% ambition")
        est = {r.run_id: r.figure("employment_rate").estimate for r in runs}
        best = max(runs, key=lambda r: est[r.run_id])
        if len(runs) > 1 and _separated_from_all(runs, "employment_rate", best):
            ax.set_title(f"{best.name} ends highest, at {100 * est[best.run_id]:.1f}% employment, beyond the 95% "
                         "interval of each difference")
        elif len(runs) > 1:
            ax.set_title("No run is clearly highest at the end: the differences are within their 95% intervals")
        else:
            ax.set_title(f"{best.name} ends at {100 * est[best.run_id]:.1f}% employment")
        ax.set_ylabel("Employment rate, residents 16-64 (%)")
        ax.set_xlabel("Month")
        ax.legend(loc="lower right")
        out.append(folder / "employment_rate_by_run.png")
        C._finish(fig, out[-1], run_ids, "Bands: spread of each run's single replications; the title compares the "
                  "runs' differences (paired where they share seeds).")

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
            i = int(np.argmax(v))
            if len(with_net) > 1 and _separated_from_all(with_net, "net_extra_employed", with_net[i]):
                ax.set_title(f"{with_net[i].name} adds the most: {v.max():,.1f}k of the 327k needed")
            elif len(with_net) > 1:
                ax.set_title("No run adds clearly more than the others: the differences are within their 95% "
                             "intervals")
            else:
                ax.set_title(f"{with_net[i].name} adds {v.max():,.1f}k of the 327k needed")
            out.append(folder / "net_extra_by_run.png")
            C._finish(fig, out[-1], run_ids, "Bars: 95% interval (simulation noise and, where drawn, the evidence).")

        point = detail_point(runs) if table is not None and len(runs) > 1 else None
        rows = (table[(table["at"] == point[0]) & (table["metric"] == "employment_rate")
                      & table["difference"].notna()] if point else pd.DataFrame())
        if len(rows):
            ref = runs[against]
            fig, ax = plt.subplots(figsize=(8, 1.6 + 0.6 * len(rows)))
            y = np.arange(len(rows))[::-1]
            v = 100 * rows["difference"].to_numpy()
            lo, hi = 100 * rows["difference_low_95"].to_numpy(), 100 * rows["difference_high_95"].to_numpy()
            colours = [C.PALETTE[[f"{r.name} ({r.run_id})" for r in runs].index(x) % len(C.PALETTE)]
                       for x in rows["run"]]
            ax.errorbar(v, y, xerr=[v - lo, hi - v], fmt="none", ecolor="#222222", capsize=4, lw=1.2)
            ax.scatter(v, y, color=colours, s=60, zorder=3)
            ax.axvline(0, color=C.GREY, lw=1)
            ax.set_yticks(y, [f"{str(x).rsplit(' (', 1)[0]}\n({'paired' if p else 'unpaired'})"
                              for x, p in zip(rows["run"], rows["paired"])])
            ax.set_ylim(-0.7, len(rows) - 0.3)
            ax.set_xlabel(f"Employment rate minus {ref.name}'s (percentage points)")
            ax.set_title(difference_title(point[0], ref.name, rows))
            out.append(folder / "difference_from_reference.png")
            C._finish(fig, out[-1], run_ids, "Bars: 95% interval of each difference (paired replication by "
                      "replication where the runs share seeds).")
    return out


# ---------------------------------------------------------------------------- the page and the workbook
COMPARE_BODY = jinja2.Environment(autoescape=True).from_string("""
<h1>Comparing {{ runs|length }} runs</h1>
<p class="meta">{% for r in runs %}<code>{{ r.name }}</code> run {{ r.run_id }} ({{ r.dates[0] }} to {{ r.dates[1] }},
{{ r.horizon }} months, scale {{ r.scenario.population.scale }}, {{ r.scenario.replications }} replications, seed
{{ r.scenario.population.seed }}){% if not loop.last %}; {% endif %}{% endfor %}</p>
<p id="against">Differences are each run minus <strong>{{ ref.name }}</strong>{% if runs|length > 1 %}:
{% for p in pairings %}{{ p }}{% if not loop.last %}; {% endif %}{% endfor %}{% endif %}.</p>
{% for sec in sections %}<h2>{{ sec.title }}</h2>
{% if sec.note %}<p class="small">{{ sec.note }}</p>{% endif %}
{% if sec.findings %}<ul class="findings">{% for f in sec.findings %}<li>{{ f }}</li>{% endfor %}</ul>{% endif %}
{% if sec.fold %}<details><summary>{{ sec.fold }}</summary>{% endif %}
<div style="overflow-x:auto"><table id="{{ sec.id }}" class="comparison"><tr><th>{{ sec.heading }}</th>{% for c in sec.columns %}<th class="n">{{ c.head }}{% if c.sub %}<br><span class="small">{{ c.sub }}</span>{% endif %}</th>{% endfor %}</tr>
{% for row in sec.rows %}<tr><td>{{ row.label }}</td>{% for cell in row.cells %}<td class="n"{% if cell.diff %} style="background:#f7f9fb"{% endif %}>{{ cell.value }}{% if cell.tied %}&nbsp;&dagger;{% endif %}<br><span class="small">{{ cell.ci }}</span></td>{% endfor %}</tr>{% endfor %}
</table></div>{% if sec.fold %}</details>{% endif %}{% endfor %}
<p class="small">Second line: 95% interval (simulation noise and, where the run drew it, the evidence). Shaded
columns: the run's difference from {{ ref.name }}; &dagger; its 95% interval holds zero, so the two runs cannot be told
apart on that figure. {{ method }}</p>
{% for ch in charts %}<figure><img src="{{ ch.src }}" alt="{{ ch.caption }}"><figcaption>{{ ch.caption }}</figcaption></figure>{% endfor %}
{% for r in runs %}<h2>{{ r.name }}</h2><p>{{ r.paragraph() }}</p>{% endfor %}
""")

METHOD = ("Runs are compared on the same date at each milestone every run reaches (2030-06 and the scenarios' "
          "milestones) and, when they end on different dates, at the shortest run's horizon; then each at its own "
          "horizon (differences only where the runs end on the same date). Paired: the runs' replications share "
          "their seeds (same scale and start), so each replication's difference is taken with common random "
          "numbers; the interval's simulation-noise part is Student's t on the paired differences (n − 1 degrees "
          "of freedom for n pairs: with so few replications the normal's ±1.96 standard errors would be too "
          "narrow). Unpaired: the difference of the two estimates, Welch's t for the noise. The evidence part, "
          "where drawn, is added to either. Cost ratios are not differenced.")


def _cells(d: pd.DataFrame, runs: list[Results], ref: Results, kind: str, metric: str, with_diff: bool) -> list[dict]:
    cells = []
    for r in runs:
        key = f"{r.name} ({r.run_id})"
        if key not in d.index:
            cells.append({"value": "", "ci": ""})
            if with_diff and r is not ref:
                cells.append({"value": "", "ci": "", "diff": True})
            continue
        x = d.loc[key]
        if metric in RATIOS and not x["mean"] > 0:  # no net gain to divide the spending by
            cells.append({"value": "n/a", "ci": "no net gain to cost"})
        else:
            bounded = np.isfinite(x["low_95"]) and np.isfinite(x["high_95"])
            cells.append({"value": fmt(kind, x["mean"]),
                          "ci": f"{fmt(kind, x['low_95'])} to {fmt(kind, x['high_95'])}" if bounded else "not bounded"})
        if with_diff and r is not ref:
            if np.isfinite(x["difference"]):
                cells.append({"value": signed(kind, x["difference"]), "diff": True,
                              "ci": diff_range(kind, x["difference_low_95"], x["difference_high_95"]),
                              "tied": not x["difference_excludes_zero"]})
            else:
                cells.append({"value": "", "ci": "ratio: see each run" if metric in RATIOS else "", "diff": True})
    return cells


def _columns(runs: list[Results], ref: Results, with_diff: bool, sub=None) -> list[dict]:
    cols = []
    for r in runs:
        cols.append({"head": r.name + (" (reference)" if r is ref and with_diff else ""), "sub": sub(r) if sub else ""})
        if with_diff and r is not ref:
            cols.append({"head": f"{r.name} − {ref.name}", "sub": "difference"})
    return cols


def _findings(table: pd.DataFrame, runs: list[Results], ref: Results) -> list[str]:
    out = []
    for r in runs:
        if r is ref:
            continue
        mine = table[(table["run"] == f"{r.name} ({r.run_id})") & table["difference"].notna()]
        tied = []
        for _, row in mine.iterrows():
            s = finding(r.name, ref.name, row["label"], row["kind"], row)
            if s:
                out.append(s)
            else:
                tied.append(lower_first(row["label"]))
        t = tied_sentence(r.name, ref.name, tied, every=len(tied) == len(mine) > 1)
        if t:
            out.append(t)
    return out


def _sections(runs: list[Results], ref: Results, table: pd.DataFrame, boroughs: pd.DataFrame,
              parts: pd.DataFrame) -> list[dict]:
    sections = []
    for at in dict.fromkeys(table["at"]) if len(table) else []:
        t = table[table["at"] == at]
        with_diff = bool(t["difference"].notna().any())
        rows = []
        for metric, label, kind in COMPARE_ROWS:
            d = t[t["metric"] == metric].set_index("run")
            if len(d):
                rows.append({"label": label, "cells": _cells(d, runs, ref, kind, metric, with_diff)})
        horizon = at == "horizon"
        sections.append({
            "id": "comparison" if horizon else f"comparison-{at}", "rows": rows,
            "title": "At each run's horizon" if horizon else f"At {at}, every run",
            "heading": "Metric at the horizon" if horizon else f"Metric at {at}",
            "columns": _columns(runs, ref, with_diff, (lambda r: r.dates[1]) if horizon else None),
            "findings": _findings(t, runs, ref) if with_diff else [],
            "note": ("" if with_diff or len(runs) < 2 else
                     "The runs end on different dates: their differences are given at the dates every run reaches, "
                     "above.")})
    for df, key, title, ident, fold in ((boroughs, "employment_rate", "employment rate", "boroughs-rate",
                                         "Employment rate by local authority"),
                                        (boroughs, "net_extra_employed", "net extra residents in work",
                                         "boroughs-net", "Net extra residents in work by local authority"),
                                        (parts, None, "contributions", "contributions", None)):
        d = df[df["metric"] == key] if key and len(df) else df
        if not len(d):
            continue
        at = d["at"].iloc[0]
        rows = [{"label": name, "cells": _cells(g.set_index("run"), runs, ref, g["kind"].iloc[0],
                                                g["metric"].iloc[0], True)}
                for name, g in d.groupby("key", sort=False)]
        distinct = d[d["difference_excludes_zero"] == True]  # noqa: E712 (None for the reference's rows)
        n_items = d["key"].nunique()
        others = [r for r in runs if r is not ref]
        if key:
            findings = [f"{r.name}: the difference from {ref.name} leaves out zero in "
                        f"{int((distinct['run'] == f'{r.name} ({r.run_id})').sum())} of {n_items} local authorities"
                        + (" (with 33 authorities each at 95%, one or two would by chance alone)." if n_items > 20
                           else ".") for r in others]
        else:
            findings = _findings(d, runs, ref)
        what = "Each part's contribution" if not key else f"Boroughs: {title}"
        sections.append({"id": ident, "rows": rows, "title": f"{what} at {'the horizon' if at == 'horizon' else at}",
                         "heading": "Part" if not key else "Local authority",
                         "columns": _columns(runs, ref, True), "findings": findings, "fold": fold,
                         "note": ("The package minus the package without the part, in each run; parts every run "
                                  "has." if not key else "")})
    return sections


def _sheet(df: pd.DataFrame, kind_col: str = "kind") -> pd.DataFrame:
    """A comparison table under plain-English headers with each row's number format (``_kind``)."""
    if not len(df):
        return pd.DataFrame()
    out = pd.DataFrame()
    if "area" in df:
        out["ONS code"] = df["area"]
        out["Borough or part"] = df["key"]
    out["Figure"] = df["label"]
    out["Date"] = df["date"]
    out["Month"] = df["month"]
    out["Run"] = df["run"]
    out[EST], out[LOW], out[HIGH] = df["mean"], df["low_95"], df["high_95"]
    out["Compared with"] = df["against"].where(df["difference"].notna(), "")
    out[DIFF], out[DLOW], out[DHIGH] = df["difference"], df["difference_low_95"], df["difference_high_95"]
    out["Difference told apart from zero"] = df["difference_excludes_zero"].map({True: "yes", False: "no"})
    out["Paired (shared seeds)"] = df["paired"].map({True: "yes", False: "no"})
    out["Code"] = df["metric"]
    out["_kind"] = df[kind_col].to_numpy()
    return out


def comparison_workbook(runs: list[Results], ref: Results, table, boroughs, parts) -> bytes:
    """``comparison.xlsx``: the tables under plain headers, formatted as ``summary.xlsx`` is."""
    details = pd.DataFrame([{"Run": f"{r.name} ({r.run_id})", "Start": r.dates[0], "Horizon": r.dates[1],
                             "Months": r.horizon, "Scale": f"{r.scenario['population']['scale']:g}",  # (a share: not a count)
                             "Seed": r.scenario["population"]["seed"], "Replications": r.scenario["replications"],
                             "Against the reference": "reference" if r is ref else pairing(r, ref).why}
                            for r in runs])
    sheets = [("Comparison", "London's figures at each date every run reaches and at each run's horizon, with each "
               "run's difference from the reference.", _sheet(table), None),
              ("Boroughs", "Each borough's employment rate and net extra residents in work at the latest date "
               "every run reaches, with differences.", _sheet(boroughs),
               "The runs share no date, so their boroughs are not compared."),
              ("Contributions", "Each part's contribution that every run has, with differences.", _sheet(parts),
               "No part (programme or integration hubs) that every run has."),
              ("Runs", "Each run's dates, scale, seed and replications, and whether it pairs with the reference.",
               details, None)]
    readme = pd.DataFrame([("Runs", ", ".join(f"{r.name} ({r.run_id})" for r in runs)),
                           ("Reference", f"Differences are each run minus {ref.name} ({ref.run_id})."),
                           ("Intervals", "95% intervals: simulation noise and, where drawn, the evidence. " + METHOD),
                           ("Rounding", "Rates shown to 0.1% (differences of rates to 0.01%), residents as whole "
                            "numbers, money in whole pounds (the second target's incomes, GBP a week, to the "
                            "penny)."), ("", "")]
                          + [(f"Sheet: {name}", what) for name, what, _, _ in sheets], columns=["Item", "What it says"])
    return sheets_bytes(readme, [(name, df, note, ()) for name, _, df, note in sheets])


def write_comparison(folders: list[Path], out: Path, against: int = 0) -> Path:
    """A folder with ``report.html`` (tables, differences from ``folders[against]`` and charts),
    ``comparison.csv`` (London), ``comparison_boroughs.csv``, ``comparison_contributions.csv`` and
    ``comparison.xlsx``."""
    runs = [load_results(f) for f in folders]
    ref = runs[against]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(runs, against)
    boroughs = borough_table(runs, against) if len(runs) > 1 else pd.DataFrame()
    parts = programme_table(runs, against) if len(runs) > 1 else pd.DataFrame()
    charts = compare_charts(runs, out / "charts", table, against)
    captions = {"employment_rate_by_run": "Employment rate by run.", "net_extra_by_run": "Net extra jobs by run.",
                "difference_from_reference": f"Each run's employment rate minus {ref.name}'s, with the 95% interval "
                                             "of the difference."}
    body = COMPARE_BODY.render(
        runs=runs, ref=ref, method=METHOD, sections=_sections(runs, ref, table, boroughs, parts),
        pairings=[f"{r.name} {pairing(r, ref).why}" for r in runs if r is not ref],
        charts=[{"src": _img(p), "caption": captions.get(p.stem, p.stem)} for p in charts])
    atomic_write_text(out / "comparison.csv", table.to_csv(index=False, float_format="%.6g"))
    for name, df in (("boroughs", boroughs), ("contributions", parts)):
        if len(df):
            atomic_write_text(out / f"comparison_{name}.csv", df.to_csv(index=False, float_format="%.6g"))
    atomic_write_bytes(out / "comparison.xlsx", comparison_workbook(runs, ref, table, boroughs, parts))
    atomic_write_text(out / "report.html", TEMPLATE.render(
        title="glw-sim: comparison of " + ", ".join(r.name for r in runs), body=body, version=__version__,
        written=datetime.now().strftime("%Y-%m-%d %H:%M")))
    return out / "report.html"

