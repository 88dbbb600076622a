"""Load a results folder and derive the briefing's numbers from it: the public API for reports and notebooks.

>>> from glw_sim.results import load_results
>>> res = load_results("results/route-to-80/20261125-212122-88ca359b")
>>> res.headline()["net_extra_employed"]          # mean, low_95, high_95 at the horizon
>>> res.interventions()                             # contribution, spending, cost per net job
>>> print(res.paragraph())                          # the headline paragraph, written from the numbers

Every figure comes from ``timeseries.parquet`` (all replications, every month) and ``manifest.json``;
nothing is recomputed from the model. Intervals are the 2.5th-97.5th percentiles across replications
(simulation uncertainty at fixed inputs; parameter uncertainty is what sensitivity sweeps are for).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim.metrics import GROUPINGS

#: Box E outcome metrics, in the order the plan lists them: (metric, label, kind) where kind is
#: "rate" (a share, shown in %), "gap" (a difference of rates, shown in percentage points) or "count".
OUTCOMES: list[tuple[str, str, str]] = [
    ("employment_rate", "Employment rate 16-64", "rate"),
    ("gap_to_80", "Gap to 80% (residents)", "count"),
    ("borough_employment_spread", "Borough spread (highest - lowest)", "gap"),
    ("health_related_inactivity_rate", "Health-related inactivity rate", "rate"),
    ("disability_employment_gap", "Disability employment gap", "gap"),
    ("neet_rate_16_24", "NEET rate 16-24", "rate"),
    ("ethnicity_employment_gap", "Ethnicity employment gap (White - minority)", "gap"),
    ("female_employment_rate", "Female employment rate", "rate"),
    ("unemployment_rate", "Unemployment rate", "rate"),
    ("inactivity_rate", "Inactivity rate", "rate"),
]

GROUP_LABELS = {"sex": "Sex", "age_band": "Age band", "health": "Health", "ethnicity": "Ethnic group",
                "qualification": "Qualification"}


class ResultsError(ValueError):
    """A folder that is not a complete glw-sim results folder (one line, for the CLI)."""


def _interval(values: pd.Series) -> dict[str, float]:
    v = values.astype(float)
    return {"mean": float(v.mean()), "low_95": float(v.quantile(0.025)), "high_95": float(v.quantile(0.975)),
            "replications": int(v.count())}


LEVEL_LABELS = {"none": "None", "long_term_condition": "Long-term condition", "disabled": "Disabled",
                "pakistani_bangladeshi": "Pakistani/Bangladeshi", "rqf4_plus": "RQF4+ (degree)", "rqf1": "RQF1",
                "rqf2": "RQF2", "rqf3": "RQF3 (A level)"}


PROGRAMME_LABELS = {"workwell": "WorkWell", "connect_to_work": "Connect to Work", "restart": "Restart",
                    "youth_guarantee": "Youth Guarantee", "jobs_plus": "JobsPlus", "jobsplus": "JobsPlus",
                    "childcare": "Childcare support", "adult_skills": "Adult skills", "interactions": "interactions"}


def programme_label(name: str) -> str:
    """A programme's display name ('connect_to_work' -> 'Connect to Work'; custom labels kept, '_' -> ' ')."""
    return PROGRAMME_LABELS.get(name, name.replace("_", " "))


def fmt_level(level: str) -> str:
    """A group level as a reader would write it ('pakistani_bangladeshi' -> 'Pakistani/Bangladeshi')."""
    return LEVEL_LABELS.get(level, level.replace("_", " ").capitalize())


@dataclass
class Results:
    """One run's results folder: its time series, summary and manifest, and the numbers a briefing needs."""

    folder: Path
    timeseries: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict

    # ------------------------------------------------------------------ identity
    @property
    def run_id(self) -> str:
        return self.manifest.get("run_id", self.folder.name)

    @property
    def scenario(self) -> dict:
        return self.manifest["scenario"]

    @property
    def name(self) -> str:
        return self.scenario["name"]

    @property
    def horizon(self) -> int:
        return int(self.timeseries["month"].max())

    @property
    def dates(self) -> tuple[str, str]:
        d = self.timeseries.drop_duplicates("month").set_index("month")["date"]
        return str(d.loc[0]), str(d.loc[self.horizon])

    @property
    def has_counterfactual(self) -> bool:
        return bool((self.timeseries["metric"] == "net_extra_employed").any())

    # ------------------------------------------------------------------ selections
    def london(self, metric: str, group: str = "all") -> pd.DataFrame:
        """Wide table month x replication of one London metric."""
        ts = self.timeseries
        d = ts[(ts["area"] == "London") & (ts["group"] == group) & (ts["metric"] == metric)]
        return d.pivot_table(index="month", columns="replication", values="value")

    def at(self, metric: str, month: int | None = None, area: str = "London", group: str = "all") -> pd.Series:
        """One value per replication of a metric at a month (default: the horizon)."""
        ts = self.timeseries
        m = self.horizon if month is None else month
        d = ts[(ts["area"] == area) & (ts["group"] == group) & (ts["metric"] == metric) & (ts["month"] == m)]
        return d.set_index("replication")["value"]

    def has(self, metric: str) -> bool:
        return bool((self.timeseries["metric"] == metric).any())

    # ------------------------------------------------------------------ the briefing's numbers
    def headline(self) -> dict[str, dict[str, float]]:
        """The headline figures, each {mean, low_95, high_95, replications} (month 0 as ``*_start``)."""
        out = {
            "employment_rate_start": _interval(self.at("employment_rate", 0)),
            "employment_rate": _interval(self.at("employment_rate")),
            "gap_to_80_start": _interval(self.at("gap_to_80", 0)),
            "gap_to_80": _interval(self.at("gap_to_80")),
        }
        if self.has_counterfactual:
            net = self.at("net_extra_employed")
            out["net_extra_employed"] = _interval(net)
            out["gross_extra_employed_helped"] = _interval(self.at("gross_extra_employed_helped"))
            gap0 = self.at("gap_to_80", 0)
            out["share_of_gap"] = _interval(net / gap0)
        if self.has("spending_cumulative"):
            spend = self.at("spending_cumulative")
            out["spending"] = _interval(spend)
            if self.has_counterfactual:
                out["cost_per_net_extra_job"] = self._cost(spend, self.at("net_extra_employed"))
        return out

    @staticmethod
    def _cost(spend: pd.Series, jobs: pd.Series) -> dict[str, float]:
        """Cost per net extra job: ratio of the means; the interval over replications with a net gain."""
        s, j = spend.astype(float), jobs.astype(float)
        ok = j > 0
        ratio = (s[ok] / j[ok]) if ok.any() else pd.Series([np.nan])
        mean = float(s.mean() / j.mean()) if j.mean() > 0 else float("nan")
        return {"mean": mean, "low_95": float(ratio.quantile(0.025)), "high_95": float(ratio.quantile(0.975)),
                "replications": int(ok.sum())}

    def programmes(self) -> list[str]:
        ms = self.timeseries["metric"].unique()
        return sorted({m.split(".")[1] for m in ms if m.startswith("programme.") and m.endswith(".starts")})

    def interventions(self) -> pd.DataFrame:
        """Per programme: net extra jobs it contributes at the horizon, starts, spending, cost per net job,
        waiting list at the horizon (means with 95% intervals across replications)."""
        ts = self.timeseries
        lon = ts[(ts["area"] == "London") & (ts["group"] == "all")]
        rows = []
        progs = self.programmes()
        for p in progs:
            per_rep = lon[lon["metric"] == f"programme.{p}.spending"].groupby("replication")["value"].sum()
            starts = lon[lon["metric"] == f"programme.{p}.starts"].groupby("replication")["value"].sum()
            key = f"contribution.{p}"
            contrib = self.at(key) if self.has(key) else pd.Series(dtype=float)
            row = {"programme": p, "starts": starts.mean(), "spending": per_rep.mean(),
                   "waiting_at_horizon": self.at(f"programme.{p}.waiting").mean()}
            if len(contrib):
                ci = _interval(contrib)
                row.update({"net_extra_jobs": ci["mean"], "net_extra_jobs_low_95": ci["low_95"],
                            "net_extra_jobs_high_95": ci["high_95"]})
                cost = self._cost(per_rep.reindex(contrib.index), contrib)
                row.update({"cost_per_net_job": cost["mean"], "cost_per_net_job_low_95": cost["low_95"],
                            "cost_per_net_job_high_95": cost["high_95"]})
            rows.append(row)
        if self.has("contribution.interactions"):
            ci = _interval(self.at("contribution.interactions"))
            rows.append({"programme": "interactions", "net_extra_jobs": ci["mean"],
                         "net_extra_jobs_low_95": ci["low_95"], "net_extra_jobs_high_95": ci["high_95"]})
        if self.has("spending_cumulative") and progs:
            other = self.at("spending_cumulative").mean() - sum(r.get("spending", 0.0) for r in rows)
            if other > 0.5:
                rows.append({"programme": "integration hubs", "spending": other})
        return pd.DataFrame(rows, columns=[
            "programme", "net_extra_jobs", "net_extra_jobs_low_95", "net_extra_jobs_high_95", "starts", "spending",
            "cost_per_net_job", "cost_per_net_job_low_95", "cost_per_net_job_high_95", "waiting_at_horizon"])

    def outcomes(self) -> pd.DataFrame:
        """Box E outcome metrics for London: month 0 and the horizon (mean, 95% interval)."""
        rows = []
        for metric, label, kind in OUTCOMES:
            if not self.has(metric):
                continue
            h = _interval(self.at(metric))
            rows.append({"metric": metric, "label": label, "kind": kind, "month_0": self.at(metric, 0).mean(),
                         "horizon": h["mean"], "low_95": h["low_95"], "high_95": h["high_95"]})
        return pd.DataFrame(rows)

    def boroughs(self, targets=None) -> pd.DataFrame:
        """Each authority at the horizon: employment rate (mean, interval), month 0, net extra in work."""
        from glw_sim.targets import load_targets

        geo = (targets or load_targets()).geography
        ts = self.timeseries
        b = ts[(ts["area"] != "London") & (ts["month"].isin([0, self.horizon]))]
        rows = []
        for i, code in enumerate(geo.codes):
            d = b[b["area"] == code]
            emp = d[(d["metric"] == "employment_rate") & (d["month"] == self.horizon)]["value"]
            row = {"code": code, "name": geo.names[i], "srp": geo.srp[i],
                   "employment_rate_month_0": d[(d["metric"] == "employment_rate") & (d["month"] == 0)]["value"].mean(),
                   "employment_rate": emp.mean(), "low_95": emp.quantile(0.025), "high_95": emp.quantile(0.975)}
            extra = d[(d["metric"] == "net_extra_employed") & (d["month"] == self.horizon)]["value"]
            if len(extra):
                row["net_extra_employed"] = extra.mean()
            rows.append(row)
        return pd.DataFrame(rows)

    def who_gains(self) -> pd.DataFrame:
        """Net extra residents in work at the horizon by group (grouping, level, mean, interval)."""
        rows = []
        for g, levels in GROUPINGS.items():
            for lev in levels:
                s = self.at("net_extra_employed", group=f"{g}={lev}")
                if len(s):
                    rows.append({"grouping": g, "level": lev, **_interval(s)})
        return pd.DataFrame(rows, columns=["grouping", "level", "mean", "low_95", "high_95", "replications"])

    def paragraph(self) -> str:
        """The headline paragraph for a briefing, written from the numbers."""
        h = self.headline()
        sc = self.scenario
        start, end = self.dates
        years = self.horizon / 12
        e0, e1 = h["employment_rate_start"]["mean"], h["employment_rate"]
        n = e1["replications"]
        about = (sc.get("description") or "no description").strip().rstrip(".")
        text = (f"In the '{self.name}' scenario ({about}), London's employment "
                f"rate for residents aged 16-64 moves from {100 * e0:.1f}% in {start} to {100 * e1['mean']:.1f}% "
                f"in {end} (95% range across {n} replications {100 * e1['low_95']:.1f}% to "
                f"{100 * e1['high_95']:.1f}%), {years:g} years on. ")
        g = h["gap_to_80"]
        text += (f"Reaching 80% would then need {g['mean']:,.0f} more residents in work "
                 f"({h['gap_to_80_start']['mean']:,.0f} at the start). ")
        if "net_extra_employed" in h:
            net, share = h["net_extra_employed"], h["share_of_gap"]
            text += (f"Against the same population with no new policy, the scenario adds {net['mean']:,.0f} residents "
                     f"in work ({net['low_95']:,.0f} to {net['high_95']:,.0f}), {100 * share['mean']:.1f}% of the "
                     f"327,000 needed. ")
            iv = self.interventions()
            iv = iv[iv["programme"] != "interactions"].dropna(subset=["net_extra_jobs"])
            if len(iv) > 1:
                top = iv.sort_values("net_extra_jobs", ascending=False).iloc[0]
                text += (f"The largest contribution comes from {programme_label(top['programme'])} "
                         f"({top['net_extra_jobs']:,.0f} net extra jobs). ")
        if "spending" in h:
            sp = h["spending"]["mean"]
            text += f"Programme spending over the period is £{sp / 1e6:,.0f}m"
            c = h.get("cost_per_net_extra_job")
            if c and np.isfinite(c["mean"]):
                text += f", about £{c['mean']:,.0f} per net additional job."
            else:
                text += "; the net gain is too small to give a cost per job."
        return text.strip()


def load_results(folder: str | Path) -> Results:
    """Read a results folder written by ``glw-sim run`` (or :func:`glw_sim.runner.run_scenario`)."""
    folder = Path(folder)
    for f in ("timeseries.parquet", "summary.csv", "manifest.json"):
        if not (folder / f).is_file():
            raise ResultsError(f"{folder}: not a glw-sim results folder (missing {f}); expected "
                               "results/<scenario>/<run-id>")
    try:
        ts = pd.read_parquet(folder / "timeseries.parquet")
        summary = pd.read_csv(folder / "summary.csv")
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder}: unreadable results ({str(exc).splitlines()[0]})") from None
    return Results(folder, ts, summary, manifest)


def latest_run(scenario_dir: str | Path) -> Path:
    """The newest run folder under ``results/<scenario>/`` (run ids start with a sortable timestamp)."""
    runs = sorted(p for p in Path(scenario_dir).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not runs:
        raise ResultsError(f"{scenario_dir}: no runs; expected results/<scenario>/<run-id> folders")
    return runs[-1]
