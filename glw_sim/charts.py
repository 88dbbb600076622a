"""Briefing charts (matplotlib), drawn from a run's :class:`~glw_sim.results.Results`. Presentation only.

One style for every chart: a readable sans-serif at 10 pt and up, the Okabe-Ito colour-blind-safe palette
(cividis for the map), a title that states the finding (written from the numbers), axis labels with units,
and a footnote with the data source and the run id. Each function draws one chart to a PNG and returns
nothing; :func:`write_charts` draws all that apply to a run and returns their paths.
"""

from __future__ import annotations

import textwrap
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from glw_sim.labels import GROUP_LABELS, fmt_level, programme_label  # noqa: E402
from glw_sim.months import PLAN_MILESTONE  # noqa: E402
from glw_sim.results import OUTCOMES, Results  # noqa: E402

SOURCE = "Source: glw-sim, calibrated to ONS Annual Population Survey (calibration/SOURCES.md)"
#: Okabe-Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GREY = "#666666"
TARGET = "#D55E00"
SRP_COLOURS = {
    "Central London Forward": "#0072B2",
    "Local London": "#E69F00",
    "South London Partnership": "#009E73",
    "West London Alliance": "#CC79A7",
}
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 11.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "savefig.dpi": 130,
}


@contextmanager
def style():
    """The briefing style, for any figure drawn inside the block (also usable from notebooks)."""
    with plt.rc_context(STYLE):
        yield


def _wrap_titles(fig) -> None:
    """Wrap every title (and the figure's suptitle) to the width of its figure or axes."""
    w_in = fig.get_figwidth()
    for ax in fig.axes:
        for t in (ax.title, ax._left_title, ax._right_title):
            if t.get_text():
                frac = ax.get_position().width  # before tight_layout; tick labels take some of it
                width = max(30, int(w_in * frac * 115 / t.get_fontsize()))
                t.set_text("\n".join(textwrap.fill(line, width) for line in t.get_text().split("\n")))
    if fig._suptitle is not None:
        fig._suptitle.set_text(textwrap.fill(fig._suptitle.get_text(), int(w_in * 115 / fig._suptitle.get_fontsize())))


def _finish(fig, path: Path, run_id: str, note: str | None = None, source: str = SOURCE) -> None:
    """Wrap titles, lay out, add the note and the source/run footnote below the axes, write the PNG."""
    width = int(fig.get_figwidth() * 15.5)
    lines = textwrap.wrap(note, width) if note else []
    lines += textwrap.wrap(f"{source}. Run {run_id}.", width)
    step = 0.15 / fig.get_figheight()  # one 8 pt line, as a fraction of the figure height
    _wrap_titles(fig)
    fig.tight_layout(rect=(0, step * len(lines) + 0.01, 1, 1))
    for i, line in enumerate(reversed(lines)):
        fig.text(0.01, 0.006 + i * step, line, fontsize=8, color="#333333")
    save(fig, path)
    plt.close(fig)


def save(fig, path: Path) -> None:
    """Write a figure atomically: to a temporary file in the same folder, then renamed over ``path``."""
    import io

    from glw_sim.io import atomic_write_bytes

    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png")
    atomic_write_bytes(path, buf.getvalue())


def _dates(res: Results, months) -> pd.DatetimeIndex:
    d = res.timeseries.drop_duplicates("month").set_index("month")["date"]
    return pd.to_datetime(d.reindex(months))


def _band(ax, x, wide: pd.DataFrame, colour: str, label: str, scale: float = 1.0) -> pd.Series:
    mean = wide.mean(axis=1) * scale
    if wide.shape[1] > 1:
        ax.fill_between(x, wide.quantile(0.025, axis=1) * scale, wide.quantile(0.975, axis=1) * scale,
                        color=colour, alpha=0.22, lw=0)
    ax.plot(x, mean, color=colour, lw=2, label=label)
    return mean


def _month_name(ym: str) -> str:
    return pd.Timestamp(ym + "-01").strftime("%B %Y")


def needed_path(res: Results, months) -> pd.Series | None:
    """The employment rate by month on a straight line from the run's month-0 rate (mean over replications) to
    80% at the plan's date (:data:`glw_sim.months.PLAN_MILESTONE`), and 80% after it: the path the ambition
    asks for, drawn for comparison (not a forecast). None when the run starts at or after that date."""
    start = pd.Timestamp(res.dates[0] + "-01")
    goal = pd.Timestamp(PLAN_MILESTONE + "-01")
    span = (goal.year - start.year) * 12 + goal.month - start.month
    if span <= 0:
        return None
    r0 = float(res.london("employment_rate").loc[0].mean())
    m = np.asarray(list(months), dtype=float)
    return pd.Series(r0 + (0.80 - r0) * np.clip(m / span, 0.0, 1.0), index=list(months))


# ---------------------------------------------------------------------------- charts
def employment_trajectory(res: Results, path: Path) -> None:
    """London's employment rate by month against the 80% ambition and the path needed to reach it by the plan's
    date (:func:`needed_path`), with the no-new-policy path if any."""
    wide = res.london("employment_rate")
    x = _dates(res, wide.index)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    end = _band(ax, x, wide, PALETTE[0], f"{res.name} (mean; band: spread of {wide.shape[1]} replications)",
                100).iloc[-1]
    if res.has_counterfactual:
        base = (res.london("employed") - res.london("net_extra_employed")) / res.london("population")
        _band(ax, x, base, GREY, "no new policy (same random numbers)", 100)
    ax.axhline(80, color=TARGET, ls="--", lw=1.5, label="80% ambition")
    needed = needed_path(res, wide.index)
    if needed is not None:
        ax.plot(x, 100 * needed, color=TARGET, ls=":", lw=1.5,
                label=f"path needed: a straight line to 80% by {_month_name(PLAN_MILESTONE)}")
    h = res.headline()
    g, e = h["gap_to_80"], h["employment_rate"]
    gap, end = g["mean"], 100 * e["mean"]
    verdict = "reaches" if end >= 80 else (f"{80 - end:.1f} points ({gap / 1000:,.0f}k residents, "
                                           f"{g['low_95'] / 1000:,.0f}k to {g['high_95'] / 1000:,.0f}k) short of")
    ax.set_title(f"London's employment rate ends at {end:.1f}% ({100 * e['low_95']:.1f} to {100 * e['high_95']:.1f}), "
                 f"{verdict} 80%")
    ax.set_ylabel("Employment rate, residents 16-64 (%)")
    ax.set_xlabel("Month")
    lo = min(70.0, float(np.floor(wide.min().min() * 100)) - 1)
    ax.set_ylim(lo, 82)
    ax.legend(loc="lower right")
    _finish(fig, path, res.run_id)


def _still_needed(gap: float, nh: dict) -> str:
    """What is still needed for 80% at the horizon, with its interval, and no verdict within noise."""
    net, lo, hi = nh["mean"], nh["low_95"], nh["high_95"]
    if lo > gap:
        return f"The net extra is more than the {gap / 1000:,.0f}k needed, by {(lo - gap) / 1000:,.0f}k to " \
               f"{(hi - gap) / 1000:,.0f}k"
    if hi < gap:
        return f"{(gap - net) / 1000:,.0f}k still needed at the horizon ({(gap - hi) / 1000:,.0f}k to " \
               f"{(gap - lo) / 1000:,.0f}k)"
    return f"The net extra's interval spans the {gap / 1000:,.0f}k needed: from {(gap - lo) / 1000:,.0f}k short " \
           f"to {(hi - gap) / 1000:,.0f}k more than needed"


def route_waterfall(res: Results, path: Path, gap: float) -> None:
    """Net extra residents in work at the horizon by intervention, stacked towards the gap, and what is left."""
    iv = res.interventions().dropna(subset=["net_extra_jobs"])
    nh = res.headline()["net_extra_employed"]
    net = nh["mean"]
    names = [programme_label(p) for p in iv["programme"]]
    vals = iv["net_extra_jobs"].to_numpy(float) / 1000
    if not len(iv):  # one programme or none attributed: the whole net effect
        names, vals = ["package"], np.array([net / 1000])
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6.2), gridspec_kw={"height_ratios": [1.25, 1]})
    # top: zoomed waterfall of the contributions, with intervals
    left = 0.0
    y = np.arange(len(vals) + 1)[::-1]
    for i, (name, v) in enumerate(zip(names, vals)):
        ax.barh(y[i], v, left=left, color=PALETTE[i % len(PALETTE)], height=0.6)
        if len(iv):
            lo, hi = iv["net_extra_jobs_low_95"].iloc[i] / 1000, iv["net_extra_jobs_high_95"].iloc[i] / 1000
            ax.errorbar(left + v, y[i], xerr=[[v - lo], [hi - v]], color="#222222", capsize=3, lw=1)
        left += v
    ax.barh(y[-1], net / 1000, color=GREY, height=0.6)
    ax.set_yticks(y, names + ["net total"])
    ax.set_xlabel("Net extra residents in work vs no new policy (thousands)")
    ax.axvline(0, color="#222222", lw=0.8)
    share = 100 * net / gap
    ax.errorbar(net / 1000, y[-1], xerr=[[(net - nh["low_95"]) / 1000], [(nh["high_95"] - net) / 1000]],
                color="#222222", capsize=3, lw=1)
    ax.set_title(f"The package adds {net / 1000:,.1f}k residents in work ({nh['low_95'] / 1000:,.1f}k to "
                 f"{nh['high_95'] / 1000:,.1f}k), {share:.1f}% of the {gap / 1000:,.0f}k needed for 80%")
    # bottom: the same at the scale of the gap
    ax2.barh([1], [max(net, 0) / 1000], color=PALETTE[0], height=0.5, label="net extra in work (package)")
    if gap > net:
        ax2.barh([1], [(gap - max(net, 0)) / 1000], left=[max(net, 0) / 1000], color="#DDDDDD", height=0.5,
                 label="still needed")
    ax2.axvline(gap / 1000, color=TARGET, ls="--", lw=1.5, label=f"needed for 80%: {gap / 1000:,.0f}k")
    ax2.set_yticks([1], ["London"])
    ax2.set_ylim(0.4, 1.9)
    ax2.set_xlim(0, max(gap, net, nh["high_95"]) / 1000 * 1.05)
    ax2.set_xlabel("Residents in work (thousands), on the scale of the gap to 80%")
    ax2.set_title(_still_needed(gap, nh), fontsize=10)
    ax2.legend(loc="upper center", ncol=3)
    _finish(fig, path, res.run_id, "Contribution: the package minus the package without that part (same random "
            "numbers); 'interactions' is the rest of the net total. Bars: 95% interval (simulation noise and, where "
            "drawn, the evidence on effects and key assumptions).")


def borough_rates(res: Results, path: Path, targets) -> None:
    """Borough employment rates at the horizon, ranked, coloured by sub-region, against the APS estimates."""
    geo = targets.geography
    b = res.boroughs(targets).set_index("code").reindex(list(geo.codes))
    pub = targets.borough_rates_published.set_index("code").reindex(list(geo.codes))
    model = b["employment_rate"].to_numpy() * 100
    order = np.argsort(model)
    fig, ax = plt.subplots(figsize=(8, 9))
    y = np.arange(geo.n)
    ax.errorbar(pub["employment_rate"].to_numpy()[order], y, xerr=pub["employment_ci"].fillna(0).to_numpy()[order],
                fmt="o", color="#999999", ms=4, label="APS small-area estimate, 95% interval")
    colours = [SRP_COLOURS.get(s, GREY) for s in np.array(geo.srp)[order]]
    low, high = (b[c].to_numpy() * 100 if c in b else np.full(geo.n, np.nan) for c in ("low_95", "high_95"))
    ax.errorbar(model[order], y, xerr=[np.maximum(model - low, 0)[order], np.maximum(high - model, 0)[order]],
                fmt="none", ecolor=colours, elinewidth=2.2, alpha=0.7, zorder=2)
    ax.scatter(model[order], y, c=colours, s=40, zorder=3)
    for srp, col in SRP_COLOURS.items():
        ax.scatter([], [], c=col, s=40, label=f"month {res.horizon}: {srp}")
    ax.axvline(80, color=TARGET, ls="--", lw=1, label="80% ambition")
    ax.set_yticks(y, np.array(geo.names)[order], fontsize=8)
    ax.set_xlabel("Employment rate, residents 16-64 (%)")
    ax.set_ylabel("Local authority (ranked by modelled rate)")
    clear = int((low >= 80).sum())  # at or above 80% beyond noise: the whole 95% interval
    spread = res.figure("borough_employment_spread") if res.has("borough_employment_spread") else None
    span = (f"span {100 * spread.estimate:.0f} points ({100 * spread.low:.0f} to {100 * spread.high:.0f})"
            if spread is not None and np.isfinite(spread.low) else "are ranked by their modelled rate")
    ax.set_title(f"Borough employment rates {span}; {clear} of 33 clearly at or above 80% (the whole 95% "
                 "interval)")
    ax.legend(loc="lower right", fontsize=8, frameon=True, framealpha=0.9)  # the top rows reach 80%+
    _finish(fig, path, res.run_id, "Modelled rates (coloured by sub-regional partnership; their lines: 95% "
            "intervals) are calibrated to "
            f"small-area estimates from twenty APS years ({pub['period'].iloc[0]}), shifted by a common amount to "
            "London's 2025 level (75%).")


#: short names for the authorities too small for their full name at the map's size
MAP_SHORT = {"City of London": "City", "Kensington and Chelsea": "K & C", "Hammersmith and Fulham": "H & F",
             "Tower Hamlets": "Tower\nHamlets", "Barking and Dagenham": "Barking &\nDagenham",
             "Kingston upon Thames": "Kingston", "Richmond upon Thames": "Richmond",
             "Waltham Forest": "Waltham\nForest"}
#: label points (lon, lat) moved from the shipped ones, where neighbours' labels would collide
MAP_LABEL_AT = {"Kensington and Chelsea": (-0.196, 51.508), "Islington": (-0.108, 51.557),
                "Hackney": (-0.037, 51.556), "Westminster": (-0.143, 51.516), "Wandsworth": (-0.196, 51.447),
                "Lambeth": (-0.113, 51.447)}
#: labels set beside their authority, with a leader line: authority -> (lon, lat) of the label
MAP_CALLOUT = {"City of London": (-0.101, 51.531)}


def _map_rates(res: Results, targets):
    geo = targets.geography
    b = res.boroughs(targets).set_index("code").reindex(list(geo.codes))
    rate = b["employment_rate"].to_numpy() * 100
    low, high = (b[c].to_numpy() * 100 if c in b else np.full(geo.n, np.nan) for c in ("low_95", "high_95"))
    extra = b["net_extra_employed"].to_numpy() if "net_extra_employed" in b else None
    norm = matplotlib.colors.Normalize(vmin=np.floor(np.nanmin(rate)), vmax=np.ceil(np.nanmax(rate)))
    return geo, (rate, low, high), extra, norm


def borough_map(res: Results, path: Path, targets, style: str = "map") -> None:
    """The 33 authorities shaded by employment rate at the horizon: ONS boundaries (``style="map"``, the default)
    or the tile grid of After The Flood (``style="grid"``); net extra residents in work in each when compared."""
    if style == "grid":
        return _borough_grid(res, path, targets)
    if style != "map":
        raise ValueError(f"unknown map style {style!r}; expected 'map' or 'grid'")
    import matplotlib.patheffects as pe

    from glw_sim.maps import BOUNDARY_SOURCE, draw_choropleth, extremes_title, load_boundaries

    geo, (rate, low, high), extra, norm = _map_rates(res, targets)
    cmap = plt.get_cmap("cividis")
    fig, ax = plt.subplots(figsize=(9, 7.4))
    draw_choropleth(ax, geo.codes, [cmap(norm(r)) for r in rate])
    bounds = load_boundaries()
    for i, code in enumerate(geo.codes):
        b, name = bounds[code], geo.names[i]
        small = b.area_km2 < 25
        label = MAP_SHORT.get(name, name) if b.area_km2 < 60 else name
        value = f"{rate[i]:.0f}%"
        if extra is not None:
            value += (" " if small else "\n") + f"{extra[i] / 1000:+.1f}k"
        text = f"{label}\n{value}"
        x, y = MAP_LABEL_AT.get(name, b.label)
        if name in MAP_CALLOUT:  # too small to hold its label: set beside it, with a leader line
            ax.annotate(text, (x, y), xytext=MAP_CALLOUT[name], fontsize=6.2, ha="center", va="bottom",
                        color="#111111", linespacing=1.05,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                        arrowprops={"arrowstyle": "-", "color": "#111111", "lw": 0.7, "shrinkA": 0, "shrinkB": 0})
            continue
        ink = "white" if norm(rate[i]) < 0.55 else "black"
        halo = [pe.withStroke(linewidth=1.5, foreground=cmap(norm(rate[i])), alpha=0.9)]
        ax.text(x, y, text, ha="center", va="center", fontsize=6.2 if small else 7.5, color=ink,
                linespacing=1.05, path_effects=halo)
    cax = ax.inset_axes((0.74, 0.93, 0.24, 0.025))
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    bar = fig.colorbar(sm, cax=cax, orientation="horizontal")
    bar.set_label(f"Employment rate 16-64 at month {res.horizon} (%)", fontsize=8.5)
    bar.ax.tick_params(labelsize=8)
    bar.outline.set_visible(False)
    fig.suptitle(extremes_title(geo.names, rate, low, high), x=0.01, ha="left", fontweight="bold", fontsize=11.5)
    note = ("Each area is one local authority, shaded by its modelled employment rate (K & C: Kensington and "
            "Chelsea; H & F: Hammersmith and Fulham; the river is the tidal Thames).")
    if extra is not None:
        note += " After the rate: net extra residents in work vs no new policy (thousands)."
    note += " Each authority's 95% interval: the report's borough table; the title ranks only beyond them."
    _finish(fig, path, res.run_id, note, source=f"{SOURCE}. {BOUNDARY_SOURCE}")


def _borough_grid(res: Results, path: Path, targets) -> None:
    """A map-like grid of the 33 authorities (After The Flood layout), shaded by employment rate."""
    from glw_sim.maps import extremes_title
    from glw_sim.paths import targets_dir

    geo, (rate, low, high), extra, norm = _map_rates(res, targets)
    grid = pd.read_csv(targets_dir() / "borough_workplace.csv").set_index("code").reindex(list(geo.codes))
    fig, ax = plt.subplots(figsize=(8, 6.4))
    cmap = plt.get_cmap("cividis")
    for i in range(geo.n):
        c, r = grid["grid_col"].iloc[i], grid["grid_row"].iloc[i]
        colour = cmap(norm(rate[i]))
        ax.add_patch(matplotlib.patches.Rectangle((c - 0.46, -r - 0.46), 0.92, 0.92, color=colour))
        ink = "white" if norm(rate[i]) < 0.55 else "black"
        text = f"{grid['short'].iloc[i]}\n{rate[i]:.0f}%"
        if extra is not None:
            text += f"\n{extra[i] / 1000:+.1f}k"
        ax.text(c, -r, text, ha="center", va="center", fontsize=8, color=ink)
    ax.set_xlim(grid["grid_col"].min() - 0.6, grid["grid_col"].max() + 0.6)
    ax.set_ylim(-grid["grid_row"].max() - 0.6, -grid["grid_row"].min() + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.7, label=f"Employment rate 16-64 at month {res.horizon} (%)")
    fig.suptitle(extremes_title(geo.names, rate, low, high), x=0.01, ha="left", fontweight="bold", fontsize=11.5)
    note = "Each square is one local authority, placed roughly where it lies (grid layout: After The Flood)."
    if extra is not None:
        note += " Bottom line: net extra residents in work vs no new policy."
    _finish(fig, path, res.run_id, note)


UNITS = {"health_related_inactivity_rate": "% of residents 16-64", "neet_rate_16_24": "% of residents 16-24",
         "female_employment_rate": "% of women 16-64"}


def outcomes_dashboard(res: Results, path: Path) -> None:
    """The plan's outcome metrics (Box E) by month, with 95% bands across replications."""
    panels = [(m, lab, k) for m, lab, k in OUTCOMES
              if m in ("health_related_inactivity_rate", "disability_employment_gap", "neet_rate_16_24",
                       "ethnicity_employment_gap", "female_employment_rate", "borough_employment_spread")]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.6))
    moves = []
    for ax, (metric, label, kind) in zip(axes.flat, panels):
        wide = res.london(metric)
        x = _dates(res, wide.index)
        mean = _band(ax, x, wide, PALETTE[0], label, 100)
        unit = "%" if kind == "rate" else "pp"
        ax.set_title(f"{label}\n{mean.iloc[0]:.1f}{unit} -> {mean.iloc[-1]:.1f}{unit}", fontsize=9.5)
        ax.set_ylabel(UNITS.get(metric, "percentage points"))
        ax.tick_params(axis="x", labelrotation=30)
        # a move counts only if the 95% interval of its change (noise and evidence) leaves out zero
        change = (wide.iloc[-1] - wide.iloc[0]) * 100
        f = res.fit(change)[0] if len(change) > 1 else None
        lo, hi = (f.low, f.high) if f is not None else (np.nan, np.nan)
        if f is not None and f.excludes_zero():
            moves.append((abs(mean.iloc[-1] - mean.iloc[0]), label, mean.iloc[-1] - mean.iloc[0], unit, lo, hi))
    for ax in axes.flat:
        ax.set_xlabel("Month", fontsize=9)
    if moves:
        big = max(moves)
        pts = big[3].replace('%', 'points')
        title = (f"Outcome metrics: the largest move beyond its uncertainty is in the {big[1]} ({big[2]:+.2f} {pts}; "
                 f"95% interval {big[4]:+.2f} to {big[5]:+.2f})")
    else:
        title = "Outcome metrics: none moves beyond the 95% interval of its change"
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=11.5)
    _finish(fig, path, res.run_id, "Rates: health-related inactivity and NEET per resident of the age group; "
            "gaps in percentage points. Bands: spread of single replications.")


def _k_range(iv: pd.DataFrame) -> str:
    lo, hi = iv["cost_per_net_job_low_95"].iloc[0], iv["cost_per_net_job_high_95"].iloc[0]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "95% interval not bounded"
    return f"95% interval £{lo / 1000:,.0f}k to £{hi / 1000:,.0f}k"


def cost_per_job(res: Results, path: Path) -> None:
    """Cost per net additional job by intervention, with intervals across replications."""
    parts = res.interventions()
    iv = parts.dropna(subset=["cost_per_net_job"])
    iv = iv[np.isfinite(iv["cost_per_net_job"]) & (iv["net_extra_jobs"] > 0)]
    # no part's contribution (the run had no attribution runs): the whole package's cost per net job instead
    whole = len(parts) > 1 and parts["net_extra_jobs"].isna().all()
    if whole:
        c = res.headline().get("cost_per_net_extra_job", {})
        iv = pd.DataFrame([{"programme": "whole package", "cost_per_net_job": c.get("mean", np.nan),
                            "cost_per_net_job_low_95": c.get("low_95", np.nan),
                            "cost_per_net_job_high_95": c.get("high_95", np.nan)}])
        iv = iv[np.isfinite(iv["cost_per_net_job"])]
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.6 * max(len(iv), 1) + 1.2))
    y = np.arange(len(iv))[::-1]
    v = iv["cost_per_net_job"].to_numpy() / 1000
    lo = np.maximum(v - iv["cost_per_net_job_low_95"].to_numpy() / 1000, 0)
    hi = np.maximum(iv["cost_per_net_job_high_95"].to_numpy() / 1000 - v, 0)
    ax.barh(y, v, color=[PALETTE[i % len(PALETTE)] for i in range(len(iv))], height=0.6)
    ax.errorbar(v, y, xerr=[lo, hi], fmt="none", color="#222222", capsize=3, lw=1)
    ax.set_yticks(y, [programme_label(p) for p in iv["programme"]])
    ax.set_xlabel("Programme spending per net additional resident in work (GBP thousands)")
    if len(iv) and v.max() > 20 * max(v.min(), 1e-9):  # costs an order of magnitude apart: a log axis
        ax.set_xscale("log")
        ax.set_xlabel("Programme spending per net additional resident in work (GBP thousands, log scale)")
    bounded = iv["cost_per_net_job_low_95"].notna().to_numpy()
    for yi, vi, b in zip(y, v, bounded):
        if not b:
            ax.annotate("interval not bounded", (vi, yi), xytext=(6, -3), textcoords="offset points", fontsize=8)
    if whole:
        ax.set_title("Costs by part need the runs without each part (outputs: attribution is off in this run)"
                     + (f"; the whole package: £{v[0]:,.0f}k per net additional job ({_k_range(iv)})" if len(iv)
                        else "; the package adds no net jobs to cost"))
    elif len(iv):
        i = int(np.argmin(v))
        best = iv.iloc[i]
        others = [j for j in range(len(iv)) if j != i]
        clear = bool(bounded[i]) and all(bounded[j] and iv["cost_per_net_job_high_95"].iloc[i] <
                                         iv["cost_per_net_job_low_95"].iloc[j] for j in others)
        if clear and others:
            ax.set_title(f"{programme_label(best['programme'])} costs least per net additional job: "
                         f"£{best['cost_per_net_job'] / 1000:,.0f}k, its interval clear of the others'")
        elif others:
            ax.set_title("No programme costs clearly less per net additional job: the intervals overlap")
        else:
            ax.set_title(f"{programme_label(best['programme'])}: £{best['cost_per_net_job'] / 1000:,.0f}k per net "
                         "additional job")
    else:
        ax.set_title("No intervention adds net jobs at the horizon, so no cost per job can be given")
    _finish(fig, path, res.run_id, "Spending to the horizon / net extra residents in work at the horizon (the part's "
            "leave-one-out contribution). Bars: Fieller 95% intervals from noise and evidence; 'not bounded': the "
            "contribution cannot be told apart from zero.")


def who_gains(res: Results, path: Path) -> None:
    """Net extra residents in work at the horizon, by group, with intervals."""
    g = res.who_gains()
    fig, axes = plt.subplots(1, len(GROUP_LABELS), figsize=(12, 4.6), sharex=False)
    for i, (ax, (grouping, title)) in enumerate(zip(axes, GROUP_LABELS.items())):
        d = g[g["grouping"] == grouping]
        y = np.arange(len(d))[::-1]
        v = d["mean"].to_numpy() / 1000
        ax.barh(y, v, color=PALETTE[i], height=0.6)
        ax.errorbar(v, y, xerr=[np.maximum(v - d["low_95"] / 1000, 0), np.maximum(d["high_95"] / 1000 - v, 0)],
                    fmt="none", color="#222222", capsize=2, lw=1)
        ax.set_yticks(y, [fmt_level(x) for x in d["level"]], fontsize=8)
        ax.axvline(0, color="#222222", lw=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("Net extra in work\n(thousands)")
    ts = res.timeseries
    last = ts[(ts["month"] == res.horizon) & (ts["area"] == "London")]

    def group_sum(grouping: str, levels) -> object:
        d = last[(last["metric"] == "net_extra_employed") & last["group"].isin([f"{grouping}={x}" for x in levels])]
        return res.fit(d.groupby("replication")["value"].sum())[0]

    health = group_sum("health", ["long_term_condition", "disabled"])
    young = group_sum("age_band", ["16-24"])

    def said(f) -> str:
        return f"{f.estimate / 1000:+,.1f}k ({f.low / 1000:,.1f}k to {f.high / 1000:,.1f}k)"

    head = (f"Who gains: disabled residents or those with a long-term condition {said(health)}, 16-24s "
            f"{said(young)}")
    fig.suptitle(head, x=0.01, ha="left", fontweight="bold", fontsize=11.5)
    note = ("Residents in work in the scenario minus the same residents with no new policy (common random numbers), "
            "at the horizon, by the group each would be in without the package. Bars: 95% interval.")
    if res.has("moved_in_work"):
        moved = last[(last["metric"] == "moved_in_work") & (last["group"].str.startswith("qualification="))]
        up = moved[moved["value"] > 0].groupby("replication")["value"].sum().mean() if len(moved) else 0.0
        note += f" Courses moved about {up:,.0f} residents in work up a qualification group (not counted as gains)."
    _finish(fig, path, res.run_id, note)


def labour_market(res: Results, path: Path) -> None:
    """Vacancies, seekers (expected moves into work at calibrated hazards) and matches, per month."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    style_ = {"vacancies": (PALETTE[0], "-"), "seekers": (PALETTE[1], "--"), "matches": (PALETTE[2], "-")}
    wide = {}
    for m in ("vacancies", "seekers", "matches"):
        w = res.london(m)
        if len(w):
            wide[m] = w.mean(axis=1) / 1000
            ax.plot(_dates(res, w.index), wide[m], color=style_[m][0], ls=style_[m][1], lw=2, label=m)
    tight = (wide["matches"] / wide["seekers"]).dropna() if "matches" in wide and "seekers" in wide else []
    if len(tight):
        binding = "binds" if (tight < 0.995).mean() > 0.5 else "rarely binds"
        ax.set_title(f"Vacancies, job seekers and matches: matching {binding} in most months")
    else:  # labour_demand.enabled: false (seekers and matches not computed)
        ax.set_title("Vacancies: matching switched off, every chance into work as calibrated")
    ax.set_ylabel("Thousands a month (vacancies: stock)")
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    ax.legend()
    _finish(fig, path, res.run_id, "Seekers: expected moves into work a month at calibrated hazards. "
            "Matches: Cobb-Douglas, by workplace borough." if len(tight) else
            "Matching switched off (labour_demand.enabled: false): seekers and matches are not computed.")


def gross_net(res: Results, path: Path) -> None:
    """Gross extra jobs among the helped vs net extra residents in work, against the counterfactual."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ends = {}
    gross = "gross_extra_employed" if res.has("gross_extra_employed") else "gross_extra_employed_helped"
    for m, col, lab in ((gross, PALETTE[1], "gross: extra in work before displacement"
                         if gross == "gross_extra_employed" else "gross: extra in work among the helped"),
                        ("net_extra_employed", PALETTE[0], "net: extra Londoners in work")):
        wide = res.london(m)
        ends[m] = _band(ax, _dates(res, wide.index), wide, col, lab, 1 / 1000).iloc[-1]
    h = res.headline()
    g, n = h[gross]["mean"] / 1000, h["net_extra_employed"]["mean"] / 1000
    disp = res.figure("displaced")
    share = (f": {disp.estimate / 1000:,.1f}k ({disp.low / 1000:,.1f}k to {disp.high / 1000:,.1f}k) displaced"
             if g > 0 else "")
    ax.set_title(f"{n:,.1f}k net extra jobs from {g:,.1f}k gross{share}")
    ax.set_ylabel("Residents in work vs no new policy (thousands)")
    ax.set_xlabel("Month")
    ax.axhline(0, color="#222222", lw=0.8)
    ax.legend(loc="upper left")
    _finish(fig, path, res.run_id, "Bands: spread of single replications (2.5th-97.5th percentiles); the title's "
            "intervals are those of the estimates (noise and evidence).")


def write_charts(res: Results, folder: Path, *, targets) -> list[Path]:
    """Every chart that applies to the run, as PNGs in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [("employment_rate_trajectory", employment_trajectory, ()),
            ("outcomes_dashboard", outcomes_dashboard, ()),
            ("borough_employment_rates", borough_rates, (targets,)),
            ("borough_map", borough_map, (targets,)),
            ("labour_market", labour_market, ())]
    if res.has_counterfactual:
        jobs += [("route_to_80", route_waterfall, (targets.gap_to_80,)),
                 ("gross_vs_net_extra_jobs", gross_net, ()),
                 ("who_gains", who_gains, ())]
        if res.programmes():
            jobs.append(("cost_per_job", cost_per_job, ()))
    out = []
    with style():
        for name, fn, args in jobs:
            path = folder / f"{name}.png"
            fn(res, path, *args)
            out.append(path)
    return out


def sensitivity_charts(indices: pd.DataFrame, method: str, folder: Path, sweep_name: str, *,
                       labels: dict[str, str] | None = None, output_labels: dict[str, str] | None = None,
                       titles: dict[str, str] | None = None) -> list[Path]:
    """A bar chart of indices per output (with SALib's confidence intervals); for Morris, mu*-sigma. ``labels``:
    each input in words; ``output_labels``: each output in words; ``titles``: each output's title (the sweep
    report's, which rank inputs only where their intervals separate); without one the title ranks nothing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    source = f"Source: glw-sim sensitivity sweep {sweep_name} ({method}; SALib)"
    labels, output_labels, titles = labels or {}, output_labels or {}, titles or {}
    with style():
        for output, d in indices.groupby("output", sort=False):
            words = output_labels.get(output, str(output).replace("_", " "))
            fig, ax = plt.subplots(figsize=(8, 4.5))
            if method == "morris":
                mu = d[d["index"] == "mu_star"].set_index("parameter")
                sg = d[d["index"] == "sigma"].set_index("parameter")
                ax.scatter(mu["value"], sg.loc[mu.index, "value"], color=PALETTE[0], s=40)
                for name in mu.index:
                    ax.annotate(textwrap.fill(labels.get(name, name), 28), (mu.loc[name, "value"],
                                sg.loc[name, "value"]), fontsize=7, xytext=(4, 4), textcoords="offset points")
                lim = max(mu["value"].max(), sg["value"].max()) * 1.1 or 1
                ax.plot([0, lim], [0, lim], color="#999999", ls="--", lw=1, label="sigma = mu*")
                ax.set_xlabel("mu*: mean absolute effect of one step of the input (the outcome's units)")
                ax.set_ylabel("sigma: spread of those effects (same units)")
                ax.set_title(titles.get(output, f"{words}: Morris screening of the inputs"), fontsize=10)
                ax.legend()
                note = "Points above the dashed line: effects that depend on other inputs or are non-linear."
            else:
                kinds = [k for k in ("S1", "ST") if k in set(d["index"])]
                params = list(dict.fromkeys(d["parameter"][d["index"] == kinds[0]]))
                x = np.arange(len(params))
                width = 0.8 / len(kinds)
                colours = {"S1": PALETTE[0], "ST": PALETTE[1]}
                for k_i, k in enumerate(kinds):
                    dk = d[d["index"] == k].set_index("parameter").loc[params]
                    ax.bar(x + k_i * width, dk["value"], width, yerr=dk["conf"], capsize=3, color=colours[k],
                           label={"S1": "first-order S1 (alone)", "ST": "total ST (with interactions)"}[k])
                ax.set_xticks(x + width * (len(kinds) - 1) / 2,
                              [textwrap.fill(labels.get(p, p), 22) for p in params], rotation=0, fontsize=7)
                ax.set_ylabel("Sobol index (share of the outcome's variance)")
                ax.set_xlabel("Uncertain input")
                ax.set_title(titles.get(output, f"{words}: sensitivity indices with their 95% intervals"),
                             fontsize=10)
                ax.axhline(0, color="#222222", lw=0.8)
                ax.legend()
                note = "Error bars: 95% bootstrap confidence intervals (SALib)."
            path = folder / f"{''.join(c if c.isalnum() or c in '-_' else '_' for c in output)}.png"
            _finish(fig, path, sweep_name, note, source=source)
            out.append(path)
    return out
