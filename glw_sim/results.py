"""Load a results folder and derive the briefing's numbers from it: the public API for reports and notebooks.

>>> from glw_sim.results import load_results
>>> res = load_results("results/route-to-80/20261125-212122-88ca359b")
>>> res.headline()["net_extra_employed"]          # mean, low_95, high_95 at the horizon
>>> res.interventions()                             # contribution, spending, cost per net job
>>> print(res.paragraph())                          # the headline paragraph, written from the numbers

Every figure comes from ``timeseries.parquet`` (all replications, every month), ``draws.csv`` (each
replication's draw of the uncertain inputs, when the run drew them) and ``manifest.json``; nothing is
recomputed from the model. Each figure is an estimate with a 95% interval that holds simulation noise and,
when drawn, the evidence on programme effects, unit costs and key assumptions, with the two parts and the
drivers reported separately (:mod:`glw_sim.uncertainty`). Ratios (cost per net extra job, per net extra
employment-year) have one definition, :meth:`Results.cost_ratio`, used by every output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim import uncertainty as U
from glw_sim.draws import cost_relative_sd
from glw_sim.labels import programme_label
from glw_sim.metrics import GROUPINGS
from glw_sim.months import milestone_dates

#: what every output says of a cost per net extra job (or employment-year) :meth:`Results.cost_ratio` leaves
#: nan: the net gain is zero or below, so there is nothing to divide the spending by
NO_GAIN = "no net gain to cost"
#: ... and of one whose interval Fieller's method cannot bound (the net gain's interval holds zero)
NOT_BOUNDED = "not bounded: the net gain is within its uncertainty of zero"

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


class ResultsError(ValueError):
    """A folder that is not a complete glw-sim results folder (one line, for the CLI)."""


#: metrics that can be negative (differences); every other metric is a count, a rate or a sum of money
SIGNED_PREFIXES = ("net_extra", "contribution.", "displaced", "gross_extra", "moved_in_work", "gap_to_80",
                   "ethnicity_employment_gap", "disability_employment_gap")


def nonnegative(metric: str) -> bool:
    """Whether a metric cannot go below zero (its intervals stop there): not a difference (the prefixes above, or
    a change against the counterfactual, ``*_change*``: the second target's)."""
    return not metric.startswith(SIGNED_PREFIXES) and "_change" not in metric


@dataclass
class Results:
    """One run's results folder: its time series, summary and manifest, and the numbers a briefing needs."""

    folder: Path
    timeseries: pd.DataFrame
    summary: pd.DataFrame | None
    manifest: dict
    draws: pd.DataFrame | None = None  # replication, input, label, value, z (draws.csv)

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

    # ------------------------------------------------------------------ uncertainty
    @property
    def drawn_inputs(self) -> tuple[str, ...]:
        """The inputs the replications drew (empty: simulation noise only)."""
        if self.draws is None or not len(self.draws):
            return ()
        return tuple(dict.fromkeys(self.draws["input"]))

    def input_label(self, name: str) -> str:
        if self.draws is not None and len(self.draws) and name in set(self.draws["input"]):
            return str(self.draws.loc[self.draws["input"] == name, "label"].iloc[0])
        return name

    def _z(self, replications) -> np.ndarray | None:
        names = self.drawn_inputs
        if not names:
            return None
        if getattr(self, "_z_cache", None) is None:  # (the same table for every figure: pivoted once)
            self._z_cache = self.draws.pivot_table(index="replication", columns="input", values="z")
        wide = self._z_cache
        return wide.reindex(index=list(replications), columns=list(names)).to_numpy(dtype=np.float64)

    def fit(self, per_replication: pd.Series | pd.DataFrame, metrics: list[str] | None = None) -> list[U.Figure]:
        """Figures from values per replication (a Series, or a DataFrame with one column per figure); with the
        ``metrics`` named, the intervals of those that cannot be negative stop at zero."""
        frame = per_replication.to_frame() if isinstance(per_replication, pd.Series) else per_replication
        Y = frame.to_numpy(dtype=np.float64)
        floors = None
        if metrics is not None:
            floors = np.array([0.0 if nonnegative(m) and np.nanmin(Y[:, j], initial=0.0) >= 0 else -np.inf
                               for j, m in enumerate(metrics)])
        figs, _ = U.fit_many(Y, self._z(frame.index), self.drawn_inputs, floors)
        return figs

    def figure(self, metric: str, month: int | None = None, area: str = "London", group: str = "all") -> U.Figure:
        """One metric's estimate and uncertainty at a month (default: the horizon)."""
        return self.fit(self.at(metric, month, area, group), [metric])[0]

    def _cost_loadings(self, spending_by_programme: dict[str, float]) -> dict[str, float]:
        """Spending's evidence from unit costs: each programme's spending times its cost's relative standard
        deviation (:func:`glw_sim.draws.cost_relative_sd`), as known loadings."""
        if not self.drawn_inputs:
            return {}
        specs = {p.label: p for p in self._scenario_model().interventions} if self._scenario_model() else {}
        out = {}
        for p, spend in spending_by_programme.items():
            spec = specs.get(p)
            rel = cost_relative_sd(spec) if spec is not None else 0.0
            if rel > 0 and spend > 0:
                out[f"cost.{p}"] = spend * rel
        return out

    def _scenario_model(self):
        if not hasattr(self, "_sc_cache"):
            from glw_sim.scenario import Scenario

            try:
                self._sc_cache = Scenario.model_validate(self.scenario)
            except Exception:  # a folder written by an older version: no cost evidence
                self._sc_cache = None
        return self._sc_cache

    def programme_spending(self, month: int | None = None) -> pd.DataFrame:
        """Spending to ``month`` (default: the horizon) by programme, replications x programmes."""
        ts = self.timeseries
        m = self.horizon if month is None else month
        lon = ts[(ts["area"] == "London") & (ts["group"] == "all") & (ts["month"] <= m)]
        cols = {p: lon[lon["metric"] == f"programme.{p}.spending"].groupby("replication")["value"].sum()
                for p in self.programmes()}
        cols |= {p: lon[lon["metric"] == f"lever.{p}.spending"].groupby("replication")["value"].sum()
                 for p in self.levers()}
        return pd.DataFrame(cols)

    def employment_years(self, metric: str = "net_extra_employed", month: int | None = None) -> pd.Series:
        """Net extra residents in work summed over the months to ``month`` (months 1 to m), divided by 12:
        employment-years, per replication."""
        ts = self.timeseries
        m = self.horizon if month is None else month
        d = ts[(ts["area"] == "London") & (ts["group"] == "all") & (ts["metric"] == metric) & (ts["month"] >= 1)
               & (ts["month"] <= m)]
        return d.groupby("replication")["value"].sum() / 12.0

    def cost_ratio(self, spending: pd.Series, outcome: pd.Series, loadings: dict[str, float] | None = None) -> U.Ratio:
        """THE cost per unit of outcome (per net extra job, per net extra employment-year): the estimate of
        spending over the estimate of the outcome, with Fieller's 95% interval from both figures' noise and
        evidence (unbounded when the outcome cannot be told apart from zero). With no net gain (the outcome's
        estimate zero or below) there is no cost to give: estimate and bounds are nan (:data:`NO_GAIN`), not a
        negative number. Every output shows this."""
        frame = pd.DataFrame({"s": spending.astype(float), "o": outcome.astype(float)}).dropna()
        z = self._z(frame.index)
        figs, resid = U.fit_many(frame.to_numpy(), z, self.drawn_inputs)
        if not figs[1].estimate > 0:  # no net gain to divide the spending by
            return U.Ratio(float("nan"), float("nan"), float("nan"), False)
        spend = U.add_known(figs[0], loadings or {})
        return U.ratio(spend, figs[1], U.noise_cov(resid, 0, 1))

    # ------------------------------------------------------------------ the briefing's numbers
    def headline(self, month: int | None = None) -> dict[str, dict[str, float]]:
        """The headline figures at ``month`` (default: the horizon; a milestone's month gives them there), each
        {mean, low_95, high_95, noise_se, noise_low_95, noise_high_95, evidence_sd, replications} (month 0 as
        ``*_start``); ratios {mean, low_95, high_95} (nan bounds: not bounded)."""
        m = self.horizon if month is None else month
        out = {
            "employment_rate_start": self.figure("employment_rate", 0).as_row(),
            "employment_rate": self.figure("employment_rate", m).as_row(),
            "gap_to_80_start": self.figure("gap_to_80", 0).as_row(),
            "gap_to_80": self.figure("gap_to_80", m).as_row(),
        }
        if self.has_counterfactual:
            net = self.at("net_extra_employed", m)
            out["net_extra_employed"] = self.fit(net)[0].as_row()
            out["gross_extra_employed_helped"] = self.figure("gross_extra_employed_helped", m).as_row()
            if self.has("gross_extra_employed"):  # before displacement (the package's twin)
                out["gross_extra_employed"] = self.figure("gross_extra_employed", m).as_row()
            gap0 = self.at("gap_to_80", 0)
            out["share_of_gap"] = self.fit(net / gap0)[0].as_row()
            out["net_extra_employment_years"] = self.fit(self.employment_years(month=m))[0].as_row()
        if self.has("spending_cumulative"):
            spend = self.at("spending_cumulative", m)
            by_prog = self.programme_spending(m).mean().to_dict()
            loadings = self._cost_loadings(by_prog)
            out["spending"] = U.add_known(self.fit(spend)[0], loadings).as_row()
            if self.has_counterfactual:
                out["cost_per_net_extra_job"] = self.cost_ratio(spend, self.at("net_extra_employed", m),
                                                                loadings).as_row()
                out["cost_per_net_extra_employment_year"] = self.cost_ratio(spend, self.employment_years(month=m),
                                                                            loadings).as_row()
        return out

    def milestones(self) -> list[tuple[int, str]]:
        """The plan's dates this run reports besides its horizon, as (month, date): 2030-06 when the run reaches
        it and the scenario's ``milestones`` (:func:`glw_sim.months.milestone_dates`); the horizon's own date
        is among them when it is one."""
        d = self.timeseries.drop_duplicates("month").set_index("date")["month"]
        return [(int(d.loc[x]), x) for x in milestone_dates(self.scenario) if x in d.index]

    def figures(self) -> dict[str, U.Figure]:
        """The headline figures as :class:`glw_sim.uncertainty.Figure` (for drivers and comparisons): London's
        net extra residents in work and each part's contribution at the horizon."""
        out = {}
        if self.has_counterfactual:
            out["net_extra_employed"] = self.fit(self.at("net_extra_employed"))[0]
        for p in self.parts():
            out[f"contribution.{p}"] = self.figure(f"contribution.{p}")
        return out

    def parts(self) -> list[str]:
        """Labels of the parts with a contribution of their own (programmes, integration hubs)."""
        ms = self.timeseries["metric"].unique()
        return sorted(m.split(".", 1)[1] for m in ms if m.startswith("contribution.") and m != "contribution.interactions")

    def programmes(self) -> list[str]:
        ms = self.timeseries["metric"].unique()
        return sorted({m.split(".")[1] for m in ms if m.startswith("programme.") and m.endswith(".starts")})

    def levers(self) -> list[str]:
        """The system levers (scenario key ``levers:``), by label."""
        ms = self.timeseries["metric"].unique()
        return sorted({m.split(".")[1] for m in ms if m.startswith("lever.") and m.endswith(".reached")})

    def unpriced(self, lever: str) -> bool:
        """A lever with no cost given: a change the system must make, not priced."""
        return self.has(f"lever.{lever}.unpriced") and bool(self.at(f"lever.{lever}.unpriced").mean() > 0.5)

    def interventions(self) -> pd.DataFrame:
        """Per part (programmes, integration hubs): net extra residents in work it contributes at the horizon
        (the package minus the package without it), net extra employment-years, starts, residents who left a
        waiting list before starting (no longer eligible: never started or costed), spending, cost per net
        extra job and per net extra employment-year (:meth:`cost_ratio`: nan with no net gain), waiting list at
        the horizon; the contribution's 95% half-widths of noise (t) and evidence as every interval uses them;
        ``distinct_from_zero`` says whether the contribution's 95% interval leaves out zero."""
        ts = self.timeseries
        lon = ts[(ts["area"] == "London") & (ts["group"] == "all")]
        rows = []
        progs = self.programmes()
        spend_all = self.programme_spending()
        hubs_label = "integration_hubs"
        levers = self.levers()
        parts = list(progs) + ([hubs_label] if self.has(f"contribution.{hubs_label}") else []) + levers
        for p in parts:
            if p in levers:  # a system lever: residents it first reached instead of starts; unpriced or costed
                per_rep = spend_all[p]
                reached = lon[lon["metric"] == f"lever.{p}.reached"].groupby("replication")["value"].sum()
                row = {"programme": p, "starts": reached.mean(), "unpriced": self.unpriced(p)}
                loadings = {}
                if row["unpriced"]:
                    per_rep = per_rep * np.nan
            elif p == hubs_label:
                total = self.at("spending_cumulative")
                per_rep = total - (spend_all.sum(axis=1).reindex(total.index).fillna(0.0) if len(spend_all.columns)
                                   else 0.0)
                row = {"programme": p}
                loadings = {}
            else:
                per_rep = spend_all[p]
                starts = lon[lon["metric"] == f"programme.{p}.starts"].groupby("replication")["value"].sum()
                left = lon[lon["metric"] == f"programme.{p}.left_list"].groupby("replication")["value"].sum()
                row = {"programme": p, "starts": starts.mean(), "left_list": left.mean() if len(left) else np.nan,
                       "waiting_at_horizon": self.at(f"programme.{p}.waiting").mean()}
                loadings = self._cost_loadings({p: float(per_rep.mean())})
            row["spending"] = float(per_rep.mean())
            key = f"contribution.{p}"
            if p in levers and not self.has(key) and len(parts) == 1:  # the only part: the whole net effect
                key = "net_extra_employed"
            if self.has(key):
                contrib = self.at(key)
                f = self.fit(contrib)[0]
                years = self.employment_years(key)
                fy = self.fit(years)[0]
                row.update({"net_extra_jobs": f.estimate, "net_extra_jobs_low_95": f.low,
                            "net_extra_jobs_high_95": f.high, "net_extra_jobs_noise_se": f.noise_se,
                            "net_extra_jobs_evidence_sd": f.evidence_sd,
                            "net_extra_jobs_noise_half_width": f.noise_half_width,
                            "net_extra_jobs_evidence_half_width": f.evidence_half_width,
                            "distinct_from_zero": f.excludes_zero(),
                            "net_extra_employment_years": fy.estimate})
                if row.get("unpriced"):  # a required change, not priced: no cost to divide
                    rows.append(row)
                    continue
                cost = self.cost_ratio(per_rep.reindex(contrib.index), contrib, loadings)
                row.update({"cost_per_net_job": cost.estimate, "cost_per_net_job_low_95": cost.low,
                            "cost_per_net_job_high_95": cost.high})
                cy = self.cost_ratio(per_rep.reindex(years.index), years, loadings)
                row.update({"cost_per_employment_year": cy.estimate, "cost_per_employment_year_low_95": cy.low,
                            "cost_per_employment_year_high_95": cy.high})
            rows.append(row)
        if self.has("contribution.interactions"):
            f = self.figure("contribution.interactions")
            rows.append({"programme": "interactions", "net_extra_jobs": f.estimate, "net_extra_jobs_low_95": f.low,
                         "net_extra_jobs_high_95": f.high, "net_extra_jobs_noise_se": f.noise_se,
                         "net_extra_jobs_evidence_sd": f.evidence_sd,
                         "net_extra_jobs_noise_half_width": f.noise_half_width,
                         "net_extra_jobs_evidence_half_width": f.evidence_half_width,
                         "distinct_from_zero": f.excludes_zero()})
        elif self.has("spending_cumulative") and progs and not self.has(f"contribution.{hubs_label}"):
            other = self.at("spending_cumulative").mean() - float(np.nansum([r.get("spending", 0.0) for r in rows]))
            if other > 0.5:
                rows.append({"programme": "integration hubs", "spending": other})
        return pd.DataFrame(rows, columns=[
            "programme", "net_extra_jobs", "net_extra_jobs_low_95", "net_extra_jobs_high_95", "net_extra_jobs_noise_se",
            "net_extra_jobs_evidence_sd", "net_extra_jobs_noise_half_width", "net_extra_jobs_evidence_half_width",
            "distinct_from_zero", "net_extra_employment_years", "starts", "left_list",
            "spending",
            "cost_per_net_job", "cost_per_net_job_low_95", "cost_per_net_job_high_95", "cost_per_employment_year",
            "cost_per_employment_year_low_95", "cost_per_employment_year_high_95", "waiting_at_horizon", "unpriced"])

    def outcomes(self) -> pd.DataFrame:
        """Box E outcome metrics for London: month 0 and the horizon (mean, 95% interval), and each milestone
        before the horizon (``at_<date>``, ``low_95_<date>``, ``high_95_<date>``)."""
        rows = []
        for metric, label, kind in OUTCOMES:
            if not self.has(metric):
                continue
            h = self.figure(metric)
            row = {"metric": metric, "label": label, "kind": kind, "month_0": self.at(metric, 0).mean(),
                   "horizon": h.estimate, "low_95": h.low, "high_95": h.high,
                   "noise_half_width": h.noise_half_width, "evidence_half_width": h.evidence_half_width}
            for month, date in self.milestones():
                if month < self.horizon:
                    f = self.figure(metric, month)
                    row.update({f"at_{date}": f.estimate, f"low_95_{date}": f.low, f"high_95_{date}": f.high})
            rows.append(row)
        return pd.DataFrame(rows)

    def boroughs(self, targets=None) -> pd.DataFrame:
        """Each authority at the horizon: employment rate (mean, interval), month 0, net extra in work."""
        from glw_sim.targets import load_targets

        geo = (targets or load_targets()).geography
        cache = self.__dict__.setdefault("_boroughs_cache", {})  # (charts, workbook and report each ask: fit once)
        key = (tuple(geo.codes), tuple(geo.names), tuple(geo.srp))
        if key not in cache:
            cache[key] = self._boroughs(geo)
        return cache[key].copy()

    def _boroughs(self, geo) -> pd.DataFrame:
        ts = self.timeseries
        b = ts[(ts["area"] != "London") & (ts["month"].isin([0, self.horizon]))]
        rows = []
        for i, code in enumerate(geo.codes):
            d = b[b["area"] == code]
            emp = d[(d["metric"] == "employment_rate") & (d["month"] == self.horizon)].set_index("replication")["value"]
            e = self.fit(emp)[0]
            row = {"code": code, "name": geo.names[i], "srp": geo.srp[i],
                   "employment_rate_month_0": d[(d["metric"] == "employment_rate") & (d["month"] == 0)]["value"].mean(),
                   "employment_rate": e.estimate, "low_95": e.low, "high_95": e.high}
            extra = d[(d["metric"] == "net_extra_employed") & (d["month"] == self.horizon)].set_index("replication")["value"]
            if len(extra):
                x = self.fit(extra)[0]
                row.update({"net_extra_employed": x.estimate, "net_extra_low_95": x.low, "net_extra_high_95": x.high,
                            "net_extra_distinct_from_zero": x.excludes_zero()})
            rows.append(row)
        return pd.DataFrame(rows)

    def who_gains(self) -> pd.DataFrame:
        """Net extra residents in work at the horizon by group (grouping, level, mean, interval)."""
        rows = []
        for g, levels in GROUPINGS.items():
            for lev in levels:
                s = self.at("net_extra_employed", group=f"{g}={lev}")
                if len(s):
                    f = self.fit(s)[0]
                    rows.append({"grouping": g, "level": lev, "mean": f.estimate, "low_95": f.low,
                                 "high_95": f.high, "replications": f.replications,
                                 "distinct_from_zero": f.excludes_zero()})
        return pd.DataFrame(rows, columns=["grouping", "level", "mean", "low_95", "high_95", "replications",
                                           "distinct_from_zero"])

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
                f"in {end} (95% interval {100 * e1['low_95']:.1f}% to {100 * e1['high_95']:.1f}%, from {n} "
                f"replications), {years:g} years on. ")
        g = h["gap_to_80"]
        text += (f"Reaching 80% would then need {g['mean']:,.0f} more residents in work "
                 f"({h['gap_to_80_start']['mean']:,.0f} at the start). ")
        if "net_extra_employed" in h:
            net, share = h["net_extra_employed"], h["share_of_gap"]
            text += (f"Against the same population with no new policy, the scenario adds {net['mean']:,.0f} residents "
                     f"in work (95% interval {net['low_95']:,.0f} to {net['high_95']:,.0f}, holding "
                     f"{'simulation noise and the evidence' if self.drawn_inputs else 'simulation noise only'}), "
                     f"{100 * share['mean']:.1f}% of the 327,000 needed. ")
            rank = ranking_sentence(self)
            if rank:
                text += rank + " "
        if "spending" in h:
            sp = h["spending"]["mean"]
            text += f"Programme spending over the period is £{sp / 1e6:,.0f}m"
            c = h.get("cost_per_net_extra_job")
            y = h.get("cost_per_net_extra_employment_year")
            if c and np.isfinite(c["mean"]) and c["mean"] > 0:
                bound = (f"95% interval £{c['low_95']:,.0f} to £{c['high_95']:,.0f}" if np.isfinite(c["low_95"])
                         else NOT_BOUNDED)
                text += f", £{c['mean']:,.0f} per net extra job ({bound})"
                if y and np.isfinite(y["mean"]):
                    text += f" and £{y['mean']:,.0f} per net extra employment-year."
                else:
                    text += "."
            else:
                text += "; the net gain is too small to give a cost per job."
        return text.strip()


def _fmt_value(kind: str, v: float) -> str:
    if v is None or not np.isfinite(v):
        return "n/a"
    if kind == "rate":
        return f"{100 * v:.1f}%"
    if kind == "gap":
        return f"{100 * v:.1f}pp"
    if kind == "gbp":
        return f"£{v / 1e6:,.1f}m" if abs(v) >= 1e7 else f"£{v:,.0f}"
    return f"{v:,.0f}"


def _fmt_width(kind: str, v: float) -> str:
    if v is None or not np.isfinite(v):
        return "-"
    if kind in ("rate", "gap"):
        return f"±{100 * v:.2f}"
    return f"±{v:,.0f}"


def uncertainty_note(res: Results) -> str:
    """What the intervals hold, in one sentence."""
    names = res.drawn_inputs
    n = int(res.timeseries["replication"].nunique())
    if not names:
        return (f"95% intervals over {n} replications hold simulation noise only (no evidence drawn: "
                "uncertainty.evidence is off or the run has no programme)")
    if not U.usable_inputs(n, len(names)):
        return (f"95% intervals over {n} replications hold simulation noise and the evidence on {len(names)} drawn "
                f"inputs (programme effects and key assumptions) together, and the evidence on unit costs: "
                f"{n} replications cannot tell the evidence's part from the noise's (it takes at least "
                f"{len(names) + 4}), so the noise column holds both and the evidence column says 'in noise'")
    return (f"95% intervals over {n} replications hold simulation noise and the evidence on "
            f"{len(names)} drawn inputs (programme effects and key assumptions) and on unit costs")


def evidence_in_noise(res: Results) -> bool:
    """The run drew evidence but has too few replications to separate its part from the noise's
    (:func:`glw_sim.uncertainty.usable_inputs`): its figures' noise part holds both."""
    names = res.drawn_inputs
    return bool(names) and not U.usable_inputs(int(res.timeseries["replication"].nunique()), len(names))


def precision_note(res: Results) -> str:
    """What the stated precision chose and whether it was met (empty without one)."""
    p = res.manifest.get("precision")
    if not p:
        return ""
    met = {True: "met", False: "not met (see achieved in manifest.json)", None: "not checked"}[p.get("met")]
    return (f"Precision asked: each contribution to +/-{100 * p['relative']:.0f}% or +/-{p['absolute']:,.0f} residents "
            f"(95%, simulation noise); chose scale {p['chosen_scale']:g} and {p['chosen_replications']} replications "
            f"from a pilot of {p['pilot']['replications']} at scale {p['pilot']['scale']:g}; {met}; "
            f"{p['seconds']:,.0f} s in all")


def console_summary(res: Results, boroughs: list[str] = ()) -> str:
    """The run's summary for the terminal: the same numbers as summary.csv and the report."""
    start, end = res.dates
    sc = res.scenario
    prec = precision_note(res)
    early = [(m, d) for m, d in res.milestones() if m < res.horizon]  # (the plan's dates, as columns)
    pad = " " * (11 * len(early))
    lines = [f"{res.name}: {sc['replications']} replications, scale {sc['population']['scale']}, {start} -> {end}",
             "  " + uncertainty_note(res) + ".",
             *(["  " + prec + "."] if prec else []),
             f"  {'metric':<44} {start:>9} " + "".join(f"{d:>10} " for _, d in early)
             + f"{end:>10}  {'95% interval':<24} {'noise':>9} {'evidence':>9}"]

    in_noise, drawn = evidence_in_noise(res), bool(res.drawn_inputs)

    def evidence_cell(f: U.Figure, kind: str) -> str:
        """The evidence column: none drawn ('-'), drawn but not separable from the noise ('in noise'), or its part."""
        if not drawn:
            return "-"
        return "in noise" if in_noise and not f.inputs else _fmt_width(kind, f.evidence_half_width)

    def line(label: str, f: U.Figure, kind: str, month0: float | None, metric: str | None = None,
             area: str = "London") -> str:
        first = _fmt_value(kind, month0) if month0 is not None else ""
        at = "".join(f"{_fmt_value(kind, res.figure(metric, m, area).estimate) if metric else '':>10} "
                     for m, _ in early)
        return (f"  {label:<44} {first:>9} {at}{_fmt_value(kind, f.estimate):>10}  "
                f"{_fmt_value(kind, f.low) + ' to ' + _fmt_value(kind, f.high):<24} "
                f"{_fmt_width(kind, f.noise_half_width):>9} "
                f"{evidence_cell(f, kind):>9}")

    for metric, label, kind in OUTCOMES:
        if res.has(metric):
            lines.append(line(label, res.figure(metric), kind, res.at(metric, 0).mean(), metric))
    h = res.headline()
    if res.has_counterfactual:
        for metric, label in (("net_extra_employed", "Net extra residents in work"),
                              ("gross_extra_employed_helped", "Gross extra in work among the helped"),
                              ("gross_extra_employed", "Gross extra in work before displacement"),
                              ("displaced", "Displaced (gross before displacement - net)")):
            if res.has(metric):
                lines.append(line(label, res.figure(metric), "count", None, metric))
        y = h["net_extra_employment_years"]
        lines.append(f"  {'Net extra employment-years to date':<44} {'':>9} {pad}{_fmt_value('count', y['mean']):>10}  "
                     f"{_fmt_value('count', y['low_95'])} to {_fmt_value('count', y['high_95'])}")
    for metric, label in SECOND_TARGET:  # (with outputs.income, in the reported years: every twelfth month)
        if res.has_counterfactual and res.has(metric) and res.horizon % 12 == 0:
            f = res.figure(metric)

            def gbp2(v: float) -> str:  # (no sign on what rounds to zero: "-0.00" reads as a loss)
                return f"{v:+.2f}" if round(v, 2) != 0 else "0.00"

            lines.append(f"  {label:<44} {'':>9} {pad}{gbp2(f.estimate):>10}  {gbp2(f.low)} to {gbp2(f.high)}")
    if "spending" in h:
        sp = h["spending"]
        lines.append(f"  {'Spending to date (GBP)':<44} {'':>9} {pad}{_fmt_value('gbp', sp['mean']):>10}  "
                     f"{_fmt_value('gbp', sp['low_95'])} to {_fmt_value('gbp', sp['high_95'])}")
    for key, label in (("cost_per_net_extra_job", "Cost per net extra job (GBP)"),
                       ("cost_per_net_extra_employment_year", "Cost per net extra employment-year (GBP)")):
        if key in h:
            c = h[key]
            rng = (f"{_fmt_value('gbp', c['low_95'])} to {_fmt_value('gbp', c['high_95'])}"
                   if np.isfinite(c["low_95"]) else NOT_BOUNDED if c["mean"] > 0 else NO_GAIN)
            lines.append(f"  {label:<44} {'':>9} {pad}{_fmt_value('gbp', c['mean']):>10}  {rng}")
    iv = res.interventions()
    if len(iv) and iv["net_extra_jobs"].notna().any():
        lines.append("  Contributions at the horizon (the package minus the package without the part):")
        for _, r in iv.dropna(subset=["net_extra_jobs"]).iterrows():
            mark = "" if bool(r["distinct_from_zero"]) else "  (within uncertainty of zero)"
            lines.append(f"    {programme_label(str(r['programme'])):<42} {r['net_extra_jobs']:>+10,.0f}  "
                         f"{r['net_extra_jobs_low_95']:,.0f} to {r['net_extra_jobs_high_95']:,.0f}{mark}")
        rank = ranking_sentence(res)
        if rank:
            lines.append("  " + rank)
    figs = res.figures()
    if "net_extra_employed" in figs and figs["net_extra_employed"].drivers():
        d = ", ".join(f"{res.input_label(k)} {100 * v:.0f}%" for k, v in figs["net_extra_employed"].drivers())
        lines.append(f"  Evidence behind the net's interval (share of its variance): {d}")
    if boroughs:
        from glw_sim.geography import load_geography

        geo = load_geography()
        for b in boroughs:
            code = geo.codes[geo.index(b)]
            lines.append(line(f"{geo.names[geo.index(b)]} employment rate", res.figure("employment_rate", area=code),
                              "rate", res.at("employment_rate", 0, area=code).mean(), "employment_rate", code))
    return "\n".join(lines)


#: the plan's second target in the summary (GBP a week per resident of the lowest fifth, April 2024 prices)
SECOND_TARGET = (("income.bottom_fifth_median_ahc_real_change", "Second target: lowest fifth's median AHC, GBP/wk"),
                 ("income.bottom_fifth_mean_ahc_real_change", "Second target: lowest fifth's mean AHC, GBP/wk"),
                 ("income.bottom_fifth_mean_ahc_real_change_entry", "  of which entry into work"),
                 ("income.bottom_fifth_mean_ahc_real_change_hours", "  of which hours"),
                 ("income.bottom_fifth_mean_ahc_real_change_pay", "  of which pay"))


def ranking_sentence(res: Results) -> str:
    """Which parts' contributions can be ranked: the largest only if it is separated from every other part by
    its joint uncertainty (the paired difference across replications); otherwise says which cannot be told
    apart."""
    parts = res.parts()
    if len(parts) < 2:
        return ""
    values = {p: res.at(f"contribution.{p}") for p in parts}
    top = max(parts, key=lambda p: values[p].mean())
    tied = []
    for p in parts:
        if p == top:
            continue
        if not res.fit(values[top] - values[p])[0].excludes_zero():
            tied.append(p)
    if not tied:
        return (f"{programme_label(top)} contributes the most, beyond the uncertainty of its difference from each "
                "other part.")
    names = ", ".join(programme_label(p) for p in tied)
    return (f"No ranking: {programme_label(top)}'s contribution cannot be told apart from {names} (their "
            "difference's 95% interval holds zero).")


def load_results(folder: str | Path) -> Results:
    """Read a results folder written by ``glw-sim run`` (or :func:`glw_sim.pipeline.run_scenario`)."""
    folder = Path(folder)
    for f in ("timeseries.parquet", "summary.csv", "manifest.json"):
        if not (folder / f).is_file():
            raise ResultsError(f"{folder}: not a glw-sim results folder (missing {f}); expected "
                               "results/<scenario>/<run-id>")
    try:
        ts = pd.read_parquet(folder / "timeseries.parquet")
        summary = pd.read_csv(folder / "summary.csv")
        manifest = json.loads((folder / "manifest.json").read_text())
        draws = pd.read_csv(folder / "draws.csv") if (folder / "draws.csv").is_file() else None
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{folder}: unreadable results ({str(exc).splitlines()[0]})") from None
    return Results(folder, ts, summary, manifest, draws)


def latest_run(scenario_dir: str | Path) -> Path:
    """The newest run folder under ``results/<scenario>/`` (run ids start with a sortable timestamp)."""
    runs = sorted(p for p in Path(scenario_dir).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not runs:
        raise ResultsError(f"{scenario_dir}: no runs; expected results/<scenario>/<run-id> folders")
    return runs[-1]
