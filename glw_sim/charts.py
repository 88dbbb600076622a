"""Briefing charts (matplotlib), drawn from a results time series. Presentation only."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SOURCE = "Source: glw-sim baseline calibrated to ONS Annual Population Survey (see calibration/SOURCES.md)"
SRP_COLOURS = {  # Okabe-Ito, colour-blind safe
    "Central London Forward": "#0072B2",
    "Local London": "#E69F00",
    "South London Partnership": "#009E73",
    "West London Alliance": "#CC79A7",
}


def _footer(fig, run_label: str) -> None:
    fig.text(0.01, 0.01, f"{SOURCE}. Run {run_label}.", fontsize=7, color="#444444")


def _save(fig, path: Path, run_label: str, note: str | None = None, note_y: float = 0.035,
          bottom: float = 0.05) -> None:
    """Lay out, add an explanatory note and the source/run footer, write the PNG and close the figure."""
    if note:
        fig.text(0.01, note_y, note, fontsize=7, color="#444444")
    fig.tight_layout(rect=(0, bottom, 1, 1))
    _footer(fig, run_label)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def employment_trajectory(ts: pd.DataFrame, path: Path, run_label: str) -> None:
    d = ts[(ts["area"] == "London") & (ts["group"] == "all") & (ts["metric"] == "employment_rate")]
    wide = d.pivot_table(index="month", columns="replication", values="value") * 100
    dates = pd.to_datetime(d.drop_duplicates("month").set_index("month")["date"].reindex(wide.index))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    lo, hi = wide.quantile(0.025, axis=1), wide.quantile(0.975, axis=1)
    ax.fill_between(dates, lo, hi, color="#0072B2", alpha=0.25, label="95% range across replications")
    ax.plot(dates, wide.mean(axis=1), color="#0072B2", lw=2, label="modelled employment rate (mean)")
    ax.axhline(80, color="#D55E00", ls="--", lw=1.5, label="80% ambition")
    end = wide.mean(axis=1).iloc[-1]
    ax.set_title(f"With no new policy London stays near {end:.1f}% employment, short of 80%", fontsize=11, loc="left")
    ax.set_ylabel("Employment rate, residents 16-64 (%)")
    ax.set_xlabel("Month")
    ax.set_ylim(70, 82)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _footer(fig, run_label)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def borough_rates(ts: pd.DataFrame, path: Path, run_label: str, targets) -> None:
    geo = targets.geography
    d = ts[(ts["area"] != "London") & (ts["metric"] == "employment_rate") & (ts["month"] == ts["month"].max())]
    model = d.groupby("area")["value"].mean().reindex(list(geo.codes)) * 100
    pub = targets.borough_rates_published.set_index("code").reindex(list(geo.codes))
    aps = pub["employment_rate"]
    ci = pub["employment_ci"].fillna(0)
    order = np.argsort(model.to_numpy())
    fig, ax = plt.subplots(figsize=(8, 9))
    y = np.arange(33)
    names = np.array(geo.names)[order]
    colours = [SRP_COLOURS.get(s, "#777777") for s in np.array(geo.srp)[order]]
    ax.errorbar(aps.to_numpy()[order], y, xerr=ci.to_numpy()[order], fmt="o", color="#999999", ms=4,
                label=f"APS published, with 95% CI ({pub['period'].iloc[0]})")
    ax.scatter(model.to_numpy()[order], y, c=colours, s=36, zorder=3)
    for srp, col in SRP_COLOURS.items():
        ax.scatter([], [], c=col, s=36, label=f"modelled, month {int(d['month'].max())}: {srp}")
    ax.axvline(80, color="#D55E00", ls="--", lw=1)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("Employment rate, residents 16-64 (%)")
    spread = float(model.max() - model.min())
    ax.set_title(f"Borough employment rates span {spread:.0f} points; modelled vs APS", fontsize=11, loc="left")
    fig.text(0.01, 0.025, "Modelled rates are calibrated to APS shifted by a common amount to London's 2025 level (75%).",
             fontsize=7, color="#444444")
    ax.legend(loc="upper left", fontsize=8, frameon=True, framealpha=0.9)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout(rect=(0, 0.045, 1, 1))
    _footer(fig, run_label)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def labour_market(ts: pd.DataFrame, path: Path, run_label: str) -> None:
    """Vacancies, seekers (expected moves into work at calibrated hazards) and matches, per month."""
    d = ts[(ts["area"] == "London") & (ts["group"] == "all") & ts["metric"].isin(["vacancies", "seekers", "matches"])]
    wide = d.groupby(["month", "metric"])["value"].mean().unstack() / 1000
    dates = pd.to_datetime(d.drop_duplicates("month").set_index("month")["date"].reindex(wide.index))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    style = {"vacancies": ("#0072B2", "-"), "seekers": ("#E69F00", "--"), "matches": ("#009E73", "-")}
    for m in ("vacancies", "seekers", "matches"):
        if m in wide:
            ax.plot(dates, wide[m], color=style[m][0], ls=style[m][1], lw=2, label=m)
    tight = (wide["matches"] / wide["seekers"]).dropna()
    binding = "binds" if (tight < 0.995).mean() > 0.5 else "rarely binds"
    ax.set_title(f"Vacancies, job seekers and matches: matching {binding} in most months", fontsize=11, loc="left")
    ax.set_ylabel("Thousands")
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    _save(fig, path, run_label, "Vacancies: stock. Seekers: expected moves into work a month at calibrated hazards. "
          "Matches: Cobb-Douglas, by workplace borough.")


def gross_net(ts: pd.DataFrame, path: Path, run_label: str) -> None:
    """Gross extra jobs among the helped vs net extra residents in work, against the counterfactual."""
    d = ts[(ts["area"] == "London") & (ts["group"] == "all")
           & ts["metric"].isin(["gross_extra_employed_helped", "net_extra_employed"])]
    g = d.groupby(["month", "metric"])["value"]
    mean = g.mean().unstack() / 1000
    lo, hi = g.quantile(0.025).unstack() / 1000, g.quantile(0.975).unstack() / 1000
    dates = pd.to_datetime(d.drop_duplicates("month").set_index("month")["date"].reindex(mean.index))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for m, col, lab in (("gross_extra_employed_helped", "#E69F00", "gross: extra in work among the helped"),
                        ("net_extra_employed", "#0072B2", "net: extra Londoners in work")):
        ax.fill_between(dates, lo[m], hi[m], color=col, alpha=0.2)
        ax.plot(dates, mean[m], color=col, lw=2, label=lab)
    end_g, end_n = mean.iloc[-1]["gross_extra_employed_helped"], mean.iloc[-1]["net_extra_employed"]
    share = 100 * (1 - end_n / end_g) if end_g > 0 else float("nan")
    ax.set_title(f"{end_n:.0f}k net extra jobs from {end_g:.0f}k gross: {share:.0f}% displaced or deadweight",
                 fontsize=11, loc="left")
    ax.set_ylabel("Residents in work vs counterfactual (thousands)")
    ax.set_xlabel("Month")
    ax.axhline(0, color="#444444", lw=0.8)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _footer(fig, run_label)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def route_chart(ts: pd.DataFrame, path: Path, run_label: str, gap: float) -> None:
    """The route to 80%: net extra residents in work by programme at the horizon, against the gap."""
    last = ts[(ts["area"] == "London") & (ts["group"] == "all") & (ts["month"] == ts["month"].max())]
    contrib = last[last["metric"].str.startswith("contribution.")].groupby("metric")["value"].mean() / 1000
    contrib.index = [m.split(".", 1)[1].replace("_", " ") for m in contrib.index]
    net = last[last["metric"] == "net_extra_employed"]["value"].mean() / 1000
    fig, ax = plt.subplots(figsize=(8, 3.6))
    left = 0.0
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]
    for i, (name, v) in enumerate(contrib.items()):
        ax.barh([0], [v], left=[left], height=0.5, color=palette[i % len(palette)], label=f"{name}: {v:,.1f}k")
        left += v
    ax.axvline(gap / 1000, color="#D55E00", ls="--", lw=1.5, label=f"needed for 80%: {gap / 1000:,.0f}k")
    share = 100 * net * 1000 / gap
    ax.set_title(f"The package adds {net:,.1f}k residents in work: {share:.0f}% of the way to 80%", fontsize=11,
                 loc="left")
    ax.set_xlabel("Net extra residents in work at the horizon vs no new policy (thousands)")
    ax.set_yticks([])
    ax.set_ylim(-0.6, 1.2)
    ax.set_xlim(min(0, left) * 1.1, gap / 1000 * 1.05)
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=3)
    _save(fig, path, run_label, "Contributions: package minus package without that programme (same random "
          "numbers); 'interactions' is the rest of the net total.", note_y=0.05, bottom=0.08)


def write_charts(ts: pd.DataFrame, folder: Path, *, run_label: str, targets) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / "employment_rate_trajectory.png", folder / "borough_employment_rates.png",
           folder / "labour_market.png"]
    employment_trajectory(ts, out[0], run_label)
    borough_rates(ts, out[1], run_label, targets)
    labour_market(ts, out[2], run_label)
    if (ts["metric"] == "net_extra_employed").any():
        out.append(folder / "gross_vs_net_extra_jobs.png")
        gross_net(ts, out[-1], run_label)
    if ts["metric"].str.startswith("contribution.").any():
        out.append(folder / "route_to_80.png")
        route_chart(ts, out[-1], run_label, targets.gap_to_80)
    return out


def sensitivity_charts(indices: pd.DataFrame, method: str, folder: Path, sweep_name: str) -> list[Path]:
    """A bar chart of indices per output (with SALib's confidence intervals); for Morris, mu*-sigma."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for output, d in indices.groupby("output", sort=False):
        fig, ax = plt.subplots(figsize=(8, 4.5))
        if method == "morris":
            mu = d[d["index"] == "mu_star"].set_index("parameter")
            sg = d[d["index"] == "sigma"].set_index("parameter")
            ax.scatter(mu["value"], sg.loc[mu.index, "value"], color="#0072B2", s=40)
            for name in mu.index:
                ax.annotate(name, (mu.loc[name, "value"], sg.loc[name, "value"]), fontsize=8,
                            xytext=(4, 4), textcoords="offset points")
            lim = max(mu["value"].max(), sg["value"].max()) * 1.1 or 1
            ax.plot([0, lim], [0, lim], color="#999999", ls="--", lw=1, label="sigma = mu*")
            ax.set_xlabel("mu* (mean absolute elementary effect)")
            ax.set_ylabel("sigma (spread: interactions, non-linearity)")
            top = mu["value"].idxmax().split(".")[-1]
            ax.set_title(f"{output}: {top} has the largest effect\n(Morris screening)", fontsize=10, loc="left")
            ax.legend(fontsize=8, frameon=False)
        else:
            kinds = [k for k in ("S1", "ST") if k in set(d["index"])]
            params = list(dict.fromkeys(d["parameter"][d["index"] == kinds[0]]))
            x = np.arange(len(params))
            width = 0.8 / len(kinds)
            colours = {"S1": "#0072B2", "ST": "#E69F00"}
            for k_i, k in enumerate(kinds):
                dk = d[d["index"] == k].set_index("parameter").loc[params]
                ax.bar(x + k_i * width, dk["value"], width, yerr=dk["conf"], capsize=3, color=colours[k],
                       label={"S1": "first-order S1", "ST": "total ST"}[k])
            ax.set_xticks(x + width * (len(kinds) - 1) / 2, params, rotation=20, ha="right", fontsize=8)
            ax.set_ylabel("Sobol index (share of output variance)")
            s1 = d[d["index"] == kinds[-1]].set_index("parameter")["value"]
            ax.set_title(f"{output}: {s1.idxmax().split('.')[-1]} explains most of the variance",
                         fontsize=10, loc="left")
            ax.axhline(0, color="#444444", lw=0.8)
            ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        fig.text(0.01, 0.01, f"glw-sim sensitivity sweep {sweep_name} ({method}; SALib). Error bars: 95% bootstrap "
                 "confidence intervals.", fontsize=7, color="#444444")
        path = folder / f"{''.join(c if c.isalnum() or c in '-_' else '_' for c in output)}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        out.append(path)
    return out
