"""A solve's outputs, written atomically into its results folder (``results/solve/<name>/``):

- ``frontier.csv``: every package evaluated (in a staged search, at its most precise evaluation: ``stage``,
  ``scale`` and ``replications`` say whose figures a row has), its cost to the date and net extra residents in work at the date
  with their 95% intervals (simulation noise and evidence), the margin over the target, the chance of reaching
  it, cost per net extra job and per employment-year, its settings (``set:<variable>``) and whether it is on
  the frontier (no other package costs less and buys more); with the second target, the lowest fifth's income
  change with its interval;
- ``frontier.png``: the frontier chart;
- ``best.yaml``: the chosen package as a scenario ``glw-sim validate`` and ``glw-sim run`` take (run to the
  target date at the solve's scale, replications and seeds, so a run reproduces the solver's numbers);
- ``solution.json``: the chosen package's numbers (the chance of reaching the target among them);
- ``gap_flows.csv`` (when a gap remains): the change in each main flow's monthly rate that alone would close it
  by the date, from the chosen package's own run (:mod:`glw_sim.gapflows`);
- ``report.md``: the answer in plain words.

:func:`run_solve` is the whole command: check, search (or resume), write.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from glw_sim.io import atomic_write_text
from glw_sim.scenario import Scenario
from glw_sim.solve import (Evaluator, Study, best_so_far, candidate, deciding, evaluations, feasible, goal_of,
                           stage_settings, values_of)
from glw_sim.solvestages import within_noise_of


def frontier_table(st: Study) -> pd.DataFrame:
    """One row per evaluated package (see the module docstring)."""
    rows = []
    best = chosen(st)
    peers = {t.number for t in deciding(st)} if best is not None else set()
    for t in evaluations(st):
        o = t.user_attrs["outcome"]
        ss = stage_settings(st.settings, "coarse" if t.stage == "coarse" else "fine")
        # the row's figures: from its stage's evaluation (a re-evaluated package's are the default precision's);
        # within_noise_of_chosen: paired against the chosen package, only within the same stage (else empty)
        near = "" if best is None or t.number not in peers else (
            False if t.number == best.number else within_noise_of(t, best))
        row = {"trial": t.number, "stage": t.stage, "scale": ss["scale"], "replications": ss["replications"],
               "feasible": feasible(t), "within_noise_of_chosen": near, "cost": o["cost"]["mean"],
               "cost_low_95": o["cost"]["low_95"], "cost_high_95": o["cost"]["high_95"],
               "net_extra_employed": o["net"]["mean"], "net_low_95": o["net"]["low_95"],
               "net_high_95": o["net"]["high_95"], "margin": o["margin"]["mean"], "margin_low_95":
               o["margin"]["low_95"], "margin_high_95": o["margin"]["high_95"], "robust_margin": o["robust_margin"],
               "chance_of_target": o["chance"], "peak_year_cost": o["peak_year_cost"],
               "cost_per_net_extra_job": o["per_job"].get("mean", math.nan),
               "cost_per_net_extra_employment_year": o["per_year"].get("mean", math.nan)}
        if o.get("income"):  # the plan's second target (GBP a week, the lowest fifth's mean income AHC, real)
            row.update({"income_change": o["income"]["mean"], "income_low_95": o["income"]["low_95"],
                        "income_high_95": o["income"]["high_95"], "income_robust": o.get("income_robust")})
        for k, v in values_of(t.params, st.solve).items():
            row[f"set:{k}"] = json.dumps(v) if isinstance(v, (dict, list)) else v
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(df):
        df["on_frontier"] = pareto(df["cost"].to_numpy(), df["net_extra_employed"].to_numpy())
    return df


def pareto(cost: np.ndarray, net: np.ndarray) -> np.ndarray:
    """Whether each package is on the frontier: no other costs no more and buys more, or costs less and buys as
    much (estimates). Sorted by cost, the frontier's net extra only rises."""
    out = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        better = ((cost <= cost[i]) & (net > net[i])) | ((cost < cost[i]) & (net >= net[i]))
        out[i] = not better.any()
    return out


def within_noise(st: Study, best) -> list[int]:
    """Trials that meet the constraints whose cost and net extra cannot be told apart from the best's (paired,
    at the best's own stage): not ranked against it."""
    return [t.number for t in deciding(st) if t.number != best.number and feasible(t) and within_noise_of(t, best)]


def _money(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1e9:
        return f"£{x / 1e9:,.2f}bn"
    return f"£{x / 1e6:,.1f}m" if abs(x) >= 1e6 else f"£{x:,.0f}"


def _setting(v) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _interval(row: dict, money: bool = False) -> str:
    f = _money if money else (lambda v: f"{v:,.0f}" if np.isfinite(v) else "n/a")
    return f"{f(row['mean'])} (95% interval {f(row['low_95'])} to {f(row['high_95'])})"


def chart(df: pd.DataFrame, st: Study, path: Path, best: int | None) -> None:
    """Cost against net extra residents in work at the date: every package, the frontier, the chosen one."""
    import matplotlib.pyplot as plt

    from glw_sim.charts import GREY, PALETTE, TARGET, save, style

    with style():
        fig, ax = plt.subplots(figsize=(8, 5))
        staged = "stage" in df and df["stage"].nunique() > 1
        for stage, part in (df.groupby("stage", sort=False) if staged else [(None, df)]):
            x, y = part["cost"] / 1e6, part["net_extra_employed"]
            err = np.vstack([y - part["net_low_95"], part["net_high_95"] - y]).clip(min=0)
            coarse = stage == "coarse"
            label = "packages evaluated" if stage is None else (
                f"{'coarse' if coarse else 'default'} precision (scale {part['scale'].iloc[0]:g} x "
                f"{int(part['replications'].iloc[0])} replications)")
            ax.errorbar(x, y, yerr=err, fmt="o", color=GREY if stage is None or coarse else PALETTE[2],
                        alpha=0.3 if coarse else 0.6, ms=4, lw=0.8, label=label)
        fr = df[df["on_frontier"]].sort_values("cost")
        ax.plot(fr["cost"] / 1e6, fr["net_extra_employed"], "-o", color=PALETTE[0], ms=5, label="frontier")
        if best is not None:
            b = df[df["trial"] == best].iloc[0]
            ax.plot([b["cost"] / 1e6], [b["net_extra_employed"]], "*", color=TARGET, ms=14, label="chosen")
            need = b["net_extra_employed"] - b["margin"]  # net extra the target needs (at central values)
            ax.axhline(need, color=TARGET, ls="--", lw=1, label="net extra the target needs")
        ax.set_xlabel(f"cost to {st.solve.target.by} (GBP million)")
        ax.set_ylabel(f"net extra residents in work, {st.solve.target.by}")
        ax.set_title(f"{st.solve.name}: what each package buys\n(bars: 95% intervals, simulation noise and "
                     "evidence)")
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.legend(loc="best")
        fig.tight_layout()
        save(fig, path)
        plt.close(fig)


def chosen(st: Study):
    """The chosen trial (:func:`glw_sim.solve.best_so_far`), or None before any evaluation."""
    b = best_so_far(st)
    return next((t for t in deciding(st) if t.number == b["number"]), None) if b else None


def attribution(st: Study, best, evaluator) -> dict:
    """Each part's contribution in the chosen package (its evaluation with attribution runs), stored by trial
    so a rerun does not repeat it; {} from an evaluator that gives none (one without ``attribution = True``)."""
    path = st.folder / "attribution.json"
    if path.exists():
        rec = json.loads(path.read_text())
        if rec.get("trial") == best.number:
            return rec["contributions"]
    data = candidate(st.solve, st.scenario, values_of(best.params, st.solve), st.settings, attribution=True)
    sc = Scenario.model_validate(data)
    if not getattr(evaluator, "attribution", False) or \
            len(sc.interventions) + len(sc.levers) + bool(sc.integration_hubs) < 2:
        out = {}
    else:
        o = evaluator(sc, goal_of(st.solve, st.scenario))
        out = {p: {**row, "spending": o.spending.get(p, math.nan)} for p, row in o.contributions.items()}
    atomic_write_text(path, json.dumps({"trial": best.number, "contributions": out}, indent=2, default=float))
    return out


def _window(st: Study, data: dict) -> tuple[str, int]:
    """The first month any part of the package acts (else the run's start), and the months from it to the date."""
    from glw_sim.gapflows import window

    return window(data, st.solve.target.by)


def gap_flows(rec: dict, o: dict) -> pd.DataFrame | None:
    """The remaining gap as the change in each main flow that alone would close it by the date
    (:func:`glw_sim.gapflows.decompose`, from the chosen package's own run); None when no gap remains or the
    evaluation recorded no flows. ``change_needed`` closes the gap in the target's share of the draws (the
    report's headline); ``change_low_95`` to ``change_high_95`` close the gap at central values' 95% interval."""
    from glw_sim.gapflows import decompose

    if rec["remaining_gap"] <= 0 or not o.get("flows"):
        return None
    m = o["margin"]
    lo, hi = max(0.0, -m["high_95"]), max(0.0, -m["low_95"])
    return decompose(o["flows"], rec["remaining_gap"], lo, hi)


def write_outputs(st: Study, evaluator) -> dict:
    """Write every output (see the module docstring); returns the solution's record."""
    df = frontier_table(st)
    folder = st.folder
    atomic_write_text(folder / "frontier.csv", df.to_csv(index=False, float_format="%.6g"))
    best = chosen(st)
    if best is None:
        return {}
    chart(df, st, folder / "frontier.png", best.number)
    values = values_of(best.params, st.solve)
    data = candidate(st.solve, st.scenario, values, st.settings, attribution=True, name=f"{st.solve.name}-best")
    data["description"] = (f"The package glw-sim solve {st.solve.name} chose (trial {best.number}), run to "
                           f"{st.solve.target.by} at the solve's scale, replications and seeds.")
    atomic_write_text(folder / "best.yaml", f"# written by glw-sim solve {st.solve.name}\n"
                      + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    o = best.user_attrs["outcome"]
    record = {"trial": best.number, "reached": feasible(best) and st.solve.objective == "least_cost",
              "feasible": feasible(best), "values": values, "target": st.solve.target.model_dump(mode="json"),
              "chance_of_target": o["chance"], "robust_margin": o["robust_margin"],
              "remaining_gap": max(0.0, -o["robust_margin"]), "outcome": {k: o[k] for k in o if k != "reps"},
              "within_noise": within_noise(st, best), "trials": len(df), "settings": st.settings,
              "stage": best.stage, "refined": int((df["stage"] == "fine").sum()),
              "contributions": attribution(st, best, evaluator)}
    record["from"], record["months_to_close"] = _window(st, data)
    flows = gap_flows(record, o)
    if flows is not None:
        atomic_write_text(folder / "gap_flows.csv", flows.to_csv(index=False, float_format="%.6g"))
    elif (folder / "gap_flows.csv").exists():  # (a gap an earlier, shorter search left)
        (folder / "gap_flows.csv").unlink()
    atomic_write_text(folder / "solution.json", json.dumps(record, indent=2, default=float))
    atomic_write_text(folder / "report.md", report(st, df, record, flows))
    return record


def report(st: Study, df: pd.DataFrame, rec: dict, flows: pd.DataFrame | None = None) -> str:
    """The answer in plain words (markdown); ``flows``: :func:`gap_flows`, the gap as flows."""
    s, o = st.solve, rec["outcome"]
    by = s.target.by
    lines = [f"# What would it take: {s.name}", ""]
    if s.description:
        lines += [s.description, ""]
    objective = {"least_cost": "the least cost that reaches it.",
                 "most_net_extra": "the most net extra residents in work within "
                                   f"{_money(s.constraints.budget_per_year or 0)} a year.",
                 "most_income": "the largest rise in the lowest fifth's mean income after housing costs (the "
                                f"plan's second target) within {_money(s.constraints.budget_per_year or 0)} a year."}
    lines += [f"Target: {s.target.words()}. Objective: " + objective[s.objective]]
    if s.constraints.min_income_change is not None:
        lines += ["", f"Second target as a constraint: the lowest fifth's mean income after housing costs (real) "
                  f"must rise by at least £{s.constraints.min_income_change:,.2f} a week, package less "
                  f"counterfactual, in {100 * s.target.share_of_draws:.0f}% of the draws."]
    crn = ("(the same seeds and evidence draws for every package of a stage: common random numbers)")
    if st.settings.get("coarse"):
        c = st.settings["coarse"]
        how = ("a bisection along the coarse frontier of cost against the margin for the cheapest package that "
               "reaches the target, then cheaper ones within noise of it" if s.objective == "least_cost" else
               "the coarse best, those within noise of it, then the next best")
        lines += ["", f"Searched {rec['trials']} packages with Optuna ({s.search.sampler.upper()}, seed "
                  f"{s.search.seed}) in two stages {crn}: every package at a coarse precision (scale {c['scale']:g}, "
                  f"{c['replications']} replications), then the {rec['refined']} most promising again at the default "
                  f"precision ({how}) (scale {st.settings['scale']:g}, {st.settings['replications']} replications). The "
                  "chosen package is picked among the re-evaluated ones only, and its figures, intervals and chance "
                  "of the target are the default precision's (frontier.csv's stage column says which each row's "
                  "are). Every interval is a 95% interval of simulation noise and the evidence on effects, costs "
                  "and key assumptions.", ""]
    else:
        lines += ["", f"Searched {rec['trials']} packages with Optuna ({s.search.sampler.upper()}, seed "
                  f"{s.search.seed}), each at scale {st.settings['scale']:g} with {st.settings['replications']} "
                  f"replications {crn}. Every interval is a 95% interval of simulation noise and the evidence on "
                  "effects, costs and key assumptions.", ""]
    if rec["reached"]:
        lines += ["## The cheapest package found", ""]
    elif s.objective == "least_cost":
        lines += ["## The target is not reached within the bounds", "",
                  f"No package evaluated reaches the target in {100 * s.target.share_of_draws:.0f}% of the "
                  f"evidence's draws. The most reached is below (trial {rec['trial']}): it is "
                  f"**{rec['remaining_gap']:,.0f} residents** short in that share of the draws "
                  f"({max(0.0, -o['margin']['mean']):,.0f} short at central values, 95% interval "
                  f"{max(0.0, -o['margin']['high_95']):,.0f} to {max(0.0, -o['margin']['low_95']):,.0f}).",
                  "", _closing(rec, o), ""]
    elif s.objective == "most_income":
        lines += ["## The package that raises the lowest fifth's income most within the budget", ""]
    else:
        lines += ["## The package that buys the most within the budget", ""]
    lines += ["| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {_setting(v)} |" for k, v in rec["values"].items()]
    lines += ["", f"- net extra residents in work, {by}: {_interval(o['net'])}",
              f"- cost to {by}: {_interval(o['cost'], money=True)}; the most in any 12 months "
              f"{_money(o['peak_year_cost'])}",
              f"- chance of reaching the target (over the evidence's draws): {100 * rec['chance_of_target']:.0f}%",
              f"- margin over the target: {_interval(o['margin'])} residents",
              f"- cost per net extra job: {_interval(o['per_job'], money=True)}",
              f"- cost per net extra employment-year: {_interval(o['per_year'], money=True)}"]
    if o.get("income"):
        when = _income_date(st, o.get("income_month"))
        inc = o["income"]
        lines.append(f"- the lowest fifth's mean income after housing costs (real, GBP a week, package less "
                     f"counterfactual), {when}: £{inc['mean']:+,.2f} (95% interval £{inc['low_95']:+,.2f} to "
                     f"£{inc['high_95']:+,.2f}); in {100 * s.target.share_of_draws:.0f}% of the draws at least "
                     f"£{o['income_robust']:+,.2f}")
    if o.get("employment_rate"):
        er = o["employment_rate"]
        lines.append(f"- employment rate, {by}: {100 * er['mean']:.1f}% (95% interval {100 * er['low_95']:.1f}% "
                     f"to {100 * er['high_95']:.1f}%)")
    if rec["within_noise"]:
        lines += ["", f"{len(rec['within_noise'])} other package(s) that also meet the constraints cannot be told "
                  f"apart from it in cost and net extra (paired differences within noise): trials "
                  f"{', '.join(map(str, rec['within_noise'][:20]))}. They are not ranked against it."]
    lines += _contributions(rec["contributions"], o)
    lines += _flow_lines(rec, flows, s.target.share_of_draws)
    fr = df[df["on_frontier"]].sort_values("cost")
    lines += ["", "## The frontier", "", "Packages no other package beats on both cost and net extra "
              "(frontier.csv has every package; frontier.png draws them).", "",
              "| trial | stage | cost | net extra in work | chance of target |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {int(r.trial)} | {r.stage} | {_money(r.cost)} | {r.net_extra_employed:,.0f} ({r.net_low_95:,.0f} "
              f"to {r.net_high_95:,.0f}) | {100 * r.chance_of_target:.0f}% |" for r in fr.itertuples()]
    if st.settings.get("coarse"):
        lines += ["", "A coarse row's figures are the coarse stage's: a wider interval, and read against a default "
                  "precision row only through their intervals."]
    lines += ["", "## Caveats", "",
              (f"- The search is at scale {st.settings['coarse']['scale']:g} (its coarse stage) and "
               f"{st.settings['scale']:g} (the re-evaluations and the chosen package's figures)"
               if st.settings.get("coarse") else f"- The search is at scale {st.settings['scale']:g}")
              + ": a small sample of residents, so its noise is larger than a full run's; run best.yaml at a larger "
              "scale (or with --precision) before relying on the numbers.",
              "- Optuna's search finds good packages, not a proven optimum: a package outside the trials may do "
              "better. Unpriced levers count no cost."]
    return "\n".join(lines) + "\n"


def _flows(rec: dict) -> str:
    """The gap as a change in the flows: net moves into work a month, from the package's start to the date."""
    months = rec.get("months_to_close")
    if not months or rec["remaining_gap"] <= 0:
        return ""
    return (f"Closing it means about {rec['remaining_gap'] / months:,.0f} more net moves into work each month "
            f"(moves into work less moves out of it) over the {months} months from {rec['from']} to "
            f"{rec['target']['by']}, beyond what this package achieves. ")


def _closing(rec: dict, o: dict) -> str:
    """What closing the gap would take, in plain words, at the chosen package's own cost per net extra job."""
    per_job = o["per_job"].get("mean", math.nan)
    if not np.isfinite(per_job):
        return (f"{_flows(rec)}The package buys no net gain that can be costed, so the gap cannot be priced from it: the bounds "
                "(or the programmes) would have to change.")
    flows = _flows(rec)
    return (f"{flows}If more of the same bought jobs at this package's cost per net extra job ({_money(per_job)}), the "
            f"gap would cost about {_money(rec['remaining_gap'] * per_job)} more to the date; it may not (places "
            "beyond the bounds, displacement, fewer eligible residents), so widen the bounds and solve again to "
            "know.")


def _income_date(st: Study, month: int | None) -> str:
    """The date of the run month the second target was read at (its last reported year by the target date)."""
    from glw_sim.months import add_months, parse_month

    if month is None:
        return st.solve.target.by
    start = Scenario.model_validate(st.scenario).horizon.start
    return add_months(parse_month(start), int(month)).isoformat()[:7]


def _pp(x: float) -> str:
    """A monthly rate's change in percentage points (2 decimals), signed."""
    return f"{100 * x:+.2f} pp" if np.isfinite(x) else "n/a"


def _chain_check(rec: dict) -> str:
    """How well the chain stands for the run: its own employment rate at the date beside the run's."""
    from glw_sim.gapflows import projected_rate

    o = rec["outcome"]
    er = o.get("employment_rate") or {}
    if not o.get("flows") or "mean" not in er:
        return ""
    turnover = ("the chain carries the difference as a constant monthly turnover, fitted so it reaches the run's "
                "stocks at the date" if o["flows"].get("stocks_end") is not None else "the chain leaves it out")
    return (f" The flows alone, without residents ageing into and out of 16-64 and migrating, would give an "
            f"employment rate of {100 * projected_rate(o['flows']):.1f}% at the date; the run gives "
            f"{100 * er['mean']:.1f}% ({100 * er['low_95']:.1f}% to {100 * er['high_95']:.1f}%): {turnover}.")


def _flow_lines(rec: dict, flows: pd.DataFrame | None, share: float) -> list[str]:
    """The section "The gap as flows": each main flow's change that alone would close the gap."""
    if flows is None:
        if rec["remaining_gap"] > 0:
            return ["", "## The gap as flows", "", "The evaluation recorded no flows (an evaluator without the "
                    "model's quarterly flows), so the gap is not split into them."]
        return []
    months, first, by = rec["months_to_close"], rec["from"], rec["target"]["by"]
    lines = ["", "## The gap as flows", "",
             f"Each row is one flow's monthly rate, and the change in it that **alone**, kept from {first} to {by} "
             f"({months} months), would close the gap of {rec['remaining_gap']:,.0f} residents (the gap in "
             f"{100 * share:.0f}% of the draws; in brackets, the change for the gap at central values' 95% "
             "interval). Arithmetic: the chosen package's own run, as a monthly Markov chain over employed, "
             "unemployed and each reason of inactivity (the cube root of its quarterly flows over those months; "
             "the reasons split by the model's exit multipliers, not measured), run from the stocks of "
             f"{first}; the change is solved exactly in that chain. It leaves out competition for vacancies, "
             "how residents ageing in and out and migrating would respond, and residents' differences: read the "
             "sizes, not a forecast (gap_flows.csv "
             "has every flow, the linearised and the long-run changes)." + _chain_check(rec), "",
             "| flow | rate a month now (95% interval) | change that alone closes the gap | as a share of the rate "
             "| extra moves a month |", "| --- | --- | --- | --- | --- |"]
    for r in flows.itertuples():
        now = f"{100 * r.rate_now:.2f}%" + (f" ({100 * r.rate_now_low_95:.2f}% to {100 * r.rate_now_high_95:.2f}%)"
                                            if np.isfinite(r.rate_now_low_95) else "")
        if not r.closes_alone:
            most = r.most_it_closes
            change = ("cannot alone" + (f" (at most {most:,.0f} residents)" if np.isfinite(most) else ""))
            lines.append(f"| {r.flow} | {now} | {change} | | |")
            continue
        band = f"{_pp(r.change_low_95)} to {_pp(r.change_high_95)}"
        lines.append(f"| {r.flow} | {now} | {_pp(r.change_needed)} ({band}) | {100 * r.relative_change:+.0f}% | "
                     f"{r.extra_moves_per_month:+,.0f} |")
    return lines


def _spent(x: float) -> str:
    if not np.isfinite(x):
        return "in the total, not split out"
    return _money(x) if x > 0 else "none (unpriced or no cost)"


def _contributions(parts: dict, o: dict) -> list[str]:
    if not parts:
        return ["", "Each part's contribution was not computed (a single part, or an evaluator without "
                "attribution runs)."]
    lines = ["", "## What each part contributes", "", "Each part's contribution is the package's net extra "
             "residents in work less the package's without it (same seeds); the rest is their interaction.", "",
             "| part | net extra in work | its spending to the date |", "| --- | --- | --- |"]
    lines += [f"| {p} | {_interval(r)} | {_spent(r.get('spending', math.nan))} |"
              for p, r in sorted(parts.items(), key=lambda kv: -kv[1]["mean"])]
    rest = o["net"]["mean"] - sum(r["mean"] for r in parts.values())
    lines.append(f"| interactions | {rest:,.0f} | |")
    lines += ["", "Parts are listed by their estimate; where two parts' intervals overlap they are not ranked."]
    return lines


def run_solve(path: str | Path, results: str | Path = "results", *, trials: int | None = None,
              evaluator: Evaluator | None = None, workers: int | None = None,
              progress: Callable[[int, dict], None] | None = None, report=None) -> Study:
    """Check the solve file, open (or resume) its study, evaluate packages up to ``trials`` (default the solve
    file's), re-evaluate the most promising at the default precision in a staged search
    (:func:`glw_sim.solvestages.run_refine`), then write the outputs (:func:`write_outputs`)."""
    from glw_sim.solve import ModelEvaluator, open_study, run_trials
    from glw_sim.solvestages import run_refine

    st = open_study(path, Path(results), workers=workers, report=report)
    own = evaluator is None
    evaluator = evaluator or ModelEvaluator(workers)
    try:
        run_trials(st, trials or st.solve.search.trials, evaluator, progress)
        run_refine(st, evaluator, progress)
        write_outputs(st, evaluator)
    finally:
        if own:
            evaluator.close()
        st.close()
    return st
