"""Run a scenario's replications: each one's model, its counterfactual and leave-one-out runs (common random
numbers), their tidy rows, draws and summary at the horizon, on one process or a pool; and the checks of the
folder a run will be written to (created and probed before any replication runs, so a bad ``--results`` path
costs nothing). Writing the results folder is :func:`glw_sim.pipeline.run_scenario`'s.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from glw_sim.draws import draw
from glw_sim.fitted import load_fitted
from glw_sim.io import remove_stale
from glw_sim.metrics import BOROUGH_METRICS, GROUPINGS
from glw_sim.model import GLWModel
from glw_sim.results import Results, ResultsError
from glw_sim.scenario import Scenario
from glw_sim.targets import load_targets
from glw_sim.workers import worker_init


def replication_seeds(seed: int, n: int) -> list[int]:
    """Independent, reproducible seeds for ``n`` replications (numpy SeedSequence spawning)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def model_targets(scenario: Scenario, seed: int):
    """The calibration targets of a replication: the shipped ones, or (``population.borough_rates: draw``) with
    borough rates drawn from the small-area estimates' uncertainty by a generator keyed on the replication's
    seed, so a programme run and its counterfactual start from the same draw."""
    targets = load_targets()
    if scenario.population.borough_rates == "estimate":
        return targets
    from dataclasses import replace

    from glw_sim.smallarea import draw_borough_rates

    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x626F726F]))  # "boro": apart from the model's
    return replace(targets, borough_rates=draw_borough_rates(targets, rng))


#: the leave-one-out component that is the integration hubs (programmes are numbered from 0)
HUBS = "hubs"

#: label of the hubs' contribution in results (metric contribution.<label>)
HUBS_LABEL = "integration_hubs"


def _model(scenario: Scenario, seed: int, *, counterfactual: bool = False, cache_population: bool = False,
           leave_out: int | str | tuple | None = None, collect_groups: bool = True,
           follow: GLWModel | None = None, only_levers: list | None = None) -> GLWModel:
    """A replication's model: the scenario, its counterfactual (no levers), or the scenario without one
    component (``leave_out``: a programme's index, :data:`HUBS` or ``("lever", k)``); ``follow``: the scenario
    taking that model's job factors each month (its twin without competition for vacancies); ``only_levers``:
    these system levers instead of the scenario's (the counterfactual with its demand levers)."""
    return GLWModel(
        targets=model_targets(scenario, seed),
        scale=scenario.population.scale,
        seed=seed,
        start=scenario.horizon.start,
        migration=scenario.demography.migration,
        assumptions=dict(scenario.assumptions),
        fitted=load_fitted(),
        labour_demand=scenario.labour_demand,
        health_process=scenario.health.process,
        health_trend=scenario.health.trend,  # (the world's, not a policy's: the counterfactual has it too)
        employability=[] if counterfactual else scenario.employability,
        levers=(only_levers if only_levers is not None else [] if counterfactual
                else [x for k, x in enumerate(scenario.levers) if ("lever", k) != leave_out]),
        follow=follow,
        interventions=[] if counterfactual else [p for i, p in enumerate(scenario.interventions) if i != leave_out],
        programme_keys=None if counterfactual else [i for i in range(len(scenario.interventions)) if i != leave_out],
        integration_hubs=[] if counterfactual or leave_out == HUBS else scenario.integration_hubs,
        participation=scenario.participation,
        cache_population=cache_population,
        collect_groups=collect_groups,
        income=scenario.outputs.income,
    )


def components(scenario: Scenario) -> list[tuple[int | str, str]]:
    """The parts of a package that get their own contribution: each programme, and the integration hubs
    (as one part) when there are any: (leave-out key, label)."""
    parts: list[tuple[int | str | tuple, str]] = [(i, p.label) for i, p in enumerate(scenario.interventions)]
    if scenario.integration_hubs and scenario.interventions:  # (hubs act only through programmes)
        parts.append((HUBS, HUBS_LABEL))
    parts += [(("lever", k), x.label) for k, x in enumerate(scenario.levers)]
    return parts


def _employed(model: GLWModel) -> float:
    """Residents in work this month, from the month's tally (already counted by the monthly pass)."""
    return float(model.records[-1]["employed"])


def compare_step(model: GLWModel, base: GLWModel, twin: GLWModel | None = None) -> dict[str, float]:
    """Net and gross extra residents in work, scenario minus its common-random-numbers counterfactual.

    ``gross_extra_employed_helped``: the helped residents' extra in work (a package's participants, residents its
    places or levers reach). ``gross_extra_employed``: the package's gain before displacement, that of its
    ``twin`` (the scenario at the counterfactual's chances of a job each month: no competition for vacancies);
    ``displaced`` is that minus the net gain, so it counts every job competition takes, from non-participants and
    from other participants alike (without a twin, matching off: the helped's gain)."""
    from glw_sim.engine.programmes import helped_in_work, words

    # the helped: participants of any programme, residents of a place-based programme's place (spill-over) and
    # residents an employability lever reaches
    levers = model.helped() if model.employability or model.levers.acting else np.zeros(0, dtype=np.bool_)
    helped, in_work, in_work_base = helped_in_work(words(model._prog_started), words(model._places), levers,
                                                   model.population.state,
                                                   model.population.weight, base.population.state,
                                                   base.population.weight)
    net = _employed(model) - _employed(base)
    gross = in_work - in_work_base
    before = _employed(twin) - _employed(base) if twin is not None else gross
    out = {"net_extra_employed": net, "gross_extra_employed_helped": gross, "gross_extra_employed": before,
           "displaced": before - net, "helped_residents": helped}
    if model.programmes or any(x.priced for x in model.levers.specs):
        out["cost_per_net_extra_job"] = model.spending / net if net > 0 else float("nan")
    return out


def _employed_by(model: GLWModel) -> tuple[dict[tuple[str, str], float], np.ndarray]:
    """Weighted residents in work by each group level and by borough (for net extra by group/borough), from
    the month's tally (``model.counts``: borough, reasons, then sex, age band, health, ethnicity, qualification
    by state, in the order of ``GROUPINGS``)."""
    c = model.counts
    tables = dict(zip(GROUPINGS, (c[2], c[3], c[4], c[5], c[6])))
    out = {(name, lev): float(tables[name][i, 0]) for name, levels in GROUPINGS.items() for i, lev in enumerate(levels)}
    return out, c[0][:, 0].astype(np.float64)


def compare_groups(model: GLWModel, base: GLWModel) -> tuple[dict[tuple[str, str, str], float], np.ndarray]:
    """Net extra residents in work, scenario minus counterfactual, by group level (the group a resident is in
    without the package) and by borough; with courses that raise qualifications, also the residents in work
    counted in a higher qualification group than they would be (``moved_in_work``: they sum to zero)."""
    (gs, bs), (gb, bb) = _employed_by(model), _employed_by(base)
    if not model.collect_groups:  # (no counts by group)
        return {}, bs - bb
    out = {(g, lev, "net_extra_employed"): gs[(g, lev)] - gb[(g, lev)] for g, lev in gs}
    if any(p.spec.skills is not None for p in model.programmes):
        # courses move residents between qualification groups: count each resident in the group they hold
        # without the package (the counterfactual's, the same resident by common random numbers), and show the
        # movers apart: residents in work who hold a higher qualification than they would have
        from glw_sim.states import LabourState

        ps, pb = model.population, base.population
        diff = (np.where(ps.state == LabourState.EMPLOYED, ps.weight, 0.0)
                - np.where(pb.state == LabourState.EMPLOYED, pb.weight, 0.0))
        by_base = np.bincount(pb.qualification, weights=diff, minlength=len(GROUPINGS["qualification"]))
        for i, lev in enumerate(GROUPINGS["qualification"]):
            current = out[("qualification", lev, "net_extra_employed")]
            out[("qualification", lev, "net_extra_employed")] = float(by_base[i])
            out[("qualification", lev, "moved_in_work")] = current - float(by_base[i])
    return out, bs - bb


#: the second target's figures whose scenario-minus-counterfactual change is reported (``<name>_change``)
INCOME_CHANGES = ("income.bottom_fifth_median_ahc_real", "income.bottom_fifth_mean_ahc_real",
                  "income.bottom_fifth_in_work")


def income_change(model: GLWModel, base: GLWModel) -> dict[str, float]:
    """The scenario minus its counterfactual in the second target's figures, in the months they are reported, and
    the change in the lowest fifth's real median and mean split into entry into work, hours and pay
    (:func:`glw_sim.incomemetric.decomposition`: ``<figure>_change_<part>``, adding up to ``<figure>_change``)."""
    a, b = model.records[-1], base.records[-1]
    out = {f"{k}_change": a[k] - b[k] for k in INCOME_CHANGES if k in a and k in b}
    if out and model.pay.households is not None:
        from glw_sim.incomemetric import decomposition

        out.update(decomposition(model.pay, base.pay, model.current_month, model.pay.assumptions, ends=(b, a)))
    return out


def simulate(scenario: Scenario, seed: int, progress: Callable[[], None] | None = None,
             cache_population: bool = False, collect_groups: bool = True) -> GLWModel:
    """Run one replication; with levers, its counterfactual (same seed, no levers) runs alongside and the
    net and gross comparisons are merged into the scenario model's monthly records. ``collect_groups``: as
    :class:`GLWModel` (without, no metric by group, and no net extra jobs by group)."""
    levers = bool(scenario.employability or scenario.interventions or scenario.levers)
    # the counterfactual and leave-one-out runs start from the same synthesised population: build it once
    cache_population = cache_population or levers
    model = _model(scenario, seed, cache_population=cache_population, collect_groups=collect_groups)
    base = (_model(scenario, seed, counterfactual=True, cache_population=cache_population,
                   collect_groups=collect_groups) if levers else None)
    # attribution: each part's contribution is the package minus the package without it (same seed); the hubs
    # are a part of their own
    parts = components(scenario)
    leave_outs = ([_model(scenario, seed, cache_population=cache_population, leave_out=key,
                          collect_groups=collect_groups) for key, _ in parts]
                  if len(parts) > 1 and scenario.outputs.attribution else [])
    labels = [lab for _, lab in parts]
    # the package's twin at the counterfactual's chances of a job: its gain is the gross gain before displacement;
    # with demand levers, at the chances of the counterfactual with those levers (their jobs are not competed for)
    twin = leader = None
    if base is not None and scenario.labour_demand.enabled:
        demand = [x for x in scenario.levers if x.kind == "demand"]
        leader = (_model(scenario, seed, counterfactual=True, cache_population=cache_population, collect_groups=False,
                         only_levers=demand) if demand else base)
        twin = _model(scenario, seed, cache_population=cache_population, collect_groups=False, follow=leader)

    def compare() -> dict:
        out = compare_step(model, base, twin)
        out.update(income_change(model, base))
        if leave_outs:
            contributions = 0.0
            for lab, lo in zip(labels, leave_outs):
                c = _employed(model) - _employed(lo)
                out[f"contribution.{lab}"] = c
                contributions += c
            out["contribution.interactions"] = out["net_extra_employed"] - contributions
        elif len(parts) == 1:
            out[f"contribution.{labels[0]}"] = out["net_extra_employed"]
        return out

    comparisons = [compare()] if base is not None else []
    by_group = [compare_groups(model, base)] if base is not None else []
    for _ in range(scenario.horizon.months):
        model.step()
        if base is not None:
            base.step()
            if leader is not None and leader is not base:
                leader.step()
            if twin is not None:
                twin.step()  # (after the model whose job factors it takes)
            for lo in leave_outs:
                lo.step()
            comparisons.append(compare())
            by_group.append(compare_groups(model, base))
        if progress is not None:
            progress()
    model.finish()
    for rec, comp in zip(model.records, comparisons):
        rec.update(comp)
    for (_, groups), (extra, _) in zip(model.group_records, by_group):
        groups.update(extra)
    # net extra residents in work by borough, each month: (month, array over the 33 authorities)
    model.borough_extra = [(rec["month"], arr) for rec, (_, arr) in zip(model.records, by_group)]
    return model


def series(model: GLWModel, area: str = "London", group: str = "all", metric: str = "employment_rate"):
    """(months, values) of one metric of a finished model, without building the tidy table."""
    if area == "London" and group == "all":
        pairs = [(r["month"], r[metric]) for r in model.records if metric in r]
    elif area == "London":
        g, lev = group.split("=", 1)
        pairs = [(m, d[(g, lev, metric)]) for m, d in model.group_records if (g, lev, metric) in d]
    else:
        geo = model.targets.geography
        b = geo.index(area)
        if metric not in BOROUGH_METRICS:
            return [], []
        j = BOROUGH_METRICS.index(metric)
        pairs = [(m, arr[b, j]) for m, arr in model.borough_records]
    return [p[0] for p in pairs], [float(p[1]) for p in pairs]


def run_replication(scenario: Scenario, seed: int, replication: int,
                    progress: Callable[[], None] | None = None, cache_population: bool = False) -> pd.DataFrame:
    """One replication as tidy rows (see :func:`simulate`)."""
    model = simulate(scenario, seed, progress, cache_population)
    geo = model.targets.geography
    rows = []
    for rec in model.records:
        for k, v in rec.items():
            if k not in ("month", "date"):
                rows.append((rec["month"], rec["date"], "London", "all", k, float(v)))
    dates = {r["month"]: r["date"] for r in model.records}
    for month, groups in model.group_records:
        for (g, lev, metric), v in groups.items():
            rows.append((month, dates[month], "London", f"{g}={lev}", metric, float(v)))
    for month, arr in model.borough_records:
        for b, code in enumerate(geo.codes):
            for j, name in enumerate(BOROUGH_METRICS):
                rows.append((month, dates[month], code, "all", name, float(arr[b, j])))
    for month, arr in model.borough_extra:
        for b, code in enumerate(geo.codes):
            rows.append((month, dates[month], code, "all", "net_extra_employed", float(arr[b])))
    df = pd.DataFrame(rows, columns=["month", "date", "area", "group", "metric", "value"])
    df.insert(0, "replication", replication)
    return df


#: the headline figures that are ratios or sums over months, and their rows in summary.csv
_HEADLINE_ROWS = (("spending", "spending_cumulative"), ("cost_per_net_extra_job", "cost_per_net_extra_job"),
                  ("net_extra_employment_years", "net_extra_employment_years"),
                  ("cost_per_net_extra_employment_year", "cost_per_net_extra_employment_year"))


def _figures_at(res: Results, month: int, with_headline: bool) -> pd.DataFrame:
    """Every metric's figure at ``month`` (rows: area, group, metric), the headline's ratios and sums in place."""
    ts = res.timeseries
    wide = ts[ts["month"] == month].pivot_table(index="replication", columns=["area", "group", "metric"],
                                                 values="value")
    figs = res.fit(wide, [c[2] for c in wide.columns])
    out = pd.DataFrame([f.as_row() for f in figs], index=wide.columns).reset_index()
    out["sd"] = wide.std(ddof=1).to_numpy()
    out["replications"] = wide.count().to_numpy()
    h = res.headline(month) if with_headline else {}
    for key, metric in _HEADLINE_ROWS:
        if key not in h:
            continue
        sel = (out["area"] == "London") & (out["group"] == "all") & (out["metric"] == metric)
        if not sel.any():
            out.loc[len(out), ["area", "group", "metric"]] = ["London", "all", metric]
            sel = (out["area"] == "London") & (out["group"] == "all") & (out["metric"] == metric)
        for col in out.columns:
            if col in ("area", "group", "metric"):
                continue
            out.loc[sel, col] = h[key].get(col, np.nan)
    return out.sort_values(["area", "group", "metric"], kind="stable").reset_index(drop=True)


def summarise(ts: pd.DataFrame, draws: pd.DataFrame | None = None, manifest: dict | None = None) -> pd.DataFrame:
    """Each metric at the horizon: its estimate and 95% interval (simulation noise and, when the replications
    drew their inputs, the evidence: :mod:`glw_sim.uncertainty`), the two parts, the spread of single
    replications (``sd``) and month 0. The headline figures that are ratios or sums over months (cost per net
    extra job and per employment-year, spending with its cost evidence, net extra employment-years) are the
    ones :meth:`glw_sim.results.Results.headline` computes, so every output shows the same numbers. ``date`` is
    the horizon's; each milestone the run reaches (2030-06 and the scenario's ``milestones``:
    :meth:`glw_sim.results.Results.milestones`) adds ``mean_<date>``, ``low_95_<date>`` and ``high_95_<date>``,
    from the same fit at that month."""
    res = Results(Path("."), ts, None, {"scenario": (manifest or {}).get("scenario", {})}, draws)
    out = _figures_at(res, res.horizon, manifest is not None)
    key = ["area", "group", "metric"]
    first = ts[ts["month"] == 0].groupby(key)["value"].mean()
    out["month_0"] = out.set_index(key).index.map(first)
    out["date"] = res.dates[1]
    for month, date in (res.milestones() if manifest is not None else []):
        at = (out if month == res.horizon else _figures_at(res, month, True)).set_index(key)
        for col in ("mean", "low_95", "high_95"):
            out[f"{col}_{date}"] = out.set_index(key).index.map(at[col])
    return out


def _replication_job(args) -> tuple[int, pd.DataFrame]:
    import numba

    scenario, seed, r, threads = args
    numba.set_num_threads(threads)  # the workers share the cores: compiled kernels must not oversubscribe them
    return r, run_replication(scenario, seed, r)


def replicate(scenario: Scenario, seeds: list[int], *, first: int = 0, progress: Callable[[], None] | None = None,
              workers: int | None = None) -> tuple[list[pd.DataFrame], list]:
    """Run replications ``first, first + 1, ...`` with ``seeds``, each on its own draw of the evidence
    (:func:`glw_sim.draws.draw`); on ``workers`` processes when more than one (progress then moves a
    replication at a time). The tables come back in replication order whatever finishes first, so the
    results do not depend on the number of workers."""
    drawn = [draw(scenario, s) for s in seeds]
    jobs = [(d.scenario, s, first + i) for i, (s, d) in enumerate(zip(seeds, drawn))]
    if not workers or workers <= 1 or len(jobs) <= 1:
        return [run_replication(sc, s, r, progress) for sc, s, r in jobs], drawn
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out: dict[int, pd.DataFrame] = {}
    n = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n)
    jobs = [(*job, threads) for job in jobs]
    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"),
                             initializer=worker_init, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(_replication_job, job) for job in jobs]
        try:
            for fut in as_completed(futures):
                r, df = fut.result()
                out[r] = df
                if progress is not None:
                    for _ in range(scenario.horizon.months):
                        progress()
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return [out[first + i] for i in range(len(jobs))], drawn


def draws_table(draws: list, labels: dict[str, str]) -> pd.DataFrame:
    """Each replication's draw: replication, input, label, value, z (standardised)."""
    rows = [(r, name, labels.get(name, name), d.values[name], d.z[name]) for r, d in enumerate(draws)
            for name in d.values]
    return pd.DataFrame(rows, columns=["replication", "input", "label", "value", "z"])


#: errors writing to the user's results location that are the user's to fix (not bugs)
WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR, errno.EISDIR,
                errno.EEXIST, errno.ENOENT, errno.ENAMETOOLONG, errno.ELOOP, errno.EFBIG, errno.EIO}


def user_write_error(exc: OSError) -> bool:
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


def prepare_folder(folder: Path, what: str = "results folder", option: str = "--results") -> Path:
    """Create ``folder`` and write and remove a probe file in it, so a location that cannot take results is
    refused before any work is done (:class:`ResultsError`, one line)."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                raise ResultsError(f"{p}: is a file, not a folder; expected a {what} ({option} {folder})")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
        try:
            os.write(fd, b"glw-sim probe\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        if not user_write_error(exc):
            raise
        raise ResultsError(f"{folder}: cannot write there ({exc.strerror or exc}); expected a {what} you can "
                           f"write to ({option})") from None
    return folder


def results_folder(results_dir: Path, name: str) -> Path:
    """``results_dir/name``, created and probed (:func:`prepare_folder`), never outside ``results_dir``; stale
    partial folders of dead runs under ``results_dir`` are removed (:func:`glw_sim.io.remove_stale`)."""
    results_dir = Path(results_dir)
    folder = results_dir / name
    if Path(name).name != name or name in (".", "..") or name.startswith("."):
        raise ResultsError(f"{name!r}: a scenario name must not be a path; expected a plain folder name")
    prepare_folder(results_dir)
    prepare_folder(folder)
    if not folder.resolve().is_relative_to(results_dir.resolve()):
        raise ResultsError(f"{folder}: leads outside the results folder {results_dir} (a link?); expected a "
                           "folder inside it")
    # partial folders of runs that died (killed, power lost), of this scenario and of any other in the folder
    for sub in [folder, *(p for p in results_dir.iterdir() if p.is_dir() and not p.name.startswith("."))]:
        remove_stale(sub, "partial")
    return folder
