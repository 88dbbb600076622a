"""``glw-sim solve``: search for the cheapest package that reaches a target (or the most a budget buys).

The search is Optuna's (TPE, or NSGA-II), not a hand-written one: each trial is a package (a set of decision
values, :func:`glw_sim.solvefile.package`), evaluated by an *evaluator*, a plain function from the package's
scenario to an :class:`Outcome`. The model's evaluator (:class:`ModelEvaluator`) runs the package's
replications with the same seeds for every package (common random numbers: the seeds of ``glw-sim run`` of
the package's scenario, so ``best.yaml`` reproduces the solver's numbers), each replication on its own draw of
the evidence (:func:`glw_sim.draws.draw`), through the replications' pool of :func:`glw_sim.runner.replicate`.
A test gives an analytic evaluator instead, through the same interface.

Robustness: a package reaches the target when its margin over the target (residents) is at or above zero in
the stated share of the evidence's draws: the margin's estimate less the share's normal quantile times its
evidence standard deviation (the draws as control variates, :mod:`glw_sim.uncertainty`); with too few
replications to separate the evidence from the noise, the share of replications that reach it.

Resumable: the study lives in ``study.db`` (Optuna's SQLite storage) in the results folder with its name in
``solve.json``; trial k's sampler is seeded by (seed, k), so a solve killed and run again continues where it
stopped, never re-evaluates a finished package, and asks the same packages an uninterrupted solve would. A
trial left running by a killed solve is marked failed and its package asked again first.

A staged search (``search: {coarse: {scale, replications}, refine: N}``): the trials are evaluated at the coarse
precision, then :func:`run_refine` evaluates at most N of them again at the default precision
(:func:`next_refine`: for least cost a bisection along the coarse :func:`ladder`), stored in ``refine.json``; the
chosen package is picked among those only (:func:`deciding`).

The plan's second target (``min_income_change``, ``objective: most_income``): the lowest fifth's mean income
after housing costs, real, the package less its counterfactual (:data:`INCOME`), read at the last reported
year at or before the date and taken, like the margin, at its value in the target's share of the draws.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from glw_sim import uncertainty as U
from glw_sim.io import atomic_write_text
from glw_sim.scenario import Scenario
from glw_sim.solvefile import Solve, SolveError, load_solve, package, places, target_month


@dataclass
class Goal:
    """What a package is judged against: the target at month ``month`` of the run, in a share of the draws."""

    month: int
    employment_rate: float | None
    net_extra_employed: float | None
    share: float


@dataclass
class Outcome:
    """One package's evaluation at the target date. Rows are {mean, low_95, high_95, ...} (95% intervals of
    simulation noise and evidence); ``reps``: each replication's net extra, cost and margin (for paired
    comparisons: replication r has the same seed and draw in every package)."""

    net: dict  # net extra residents in work
    cost: dict  # spending to the date, GBP
    margin: dict  # residents above the target (below: negative)
    chance: float  # chance of reaching the target over the evidence's draws
    robust_margin: float  # the margin reached in the target's share of the draws
    peak_year_cost: float  # the most spent in any 12 months to the date (mean of replications)
    per_job: dict = field(default_factory=dict)  # cost per net extra job
    per_year: dict = field(default_factory=dict)  # cost per net extra employment-year
    employment_rate: dict = field(default_factory=dict)
    reps: dict = field(default_factory=dict)
    contributions: dict = field(default_factory=dict)  # part -> row (only when attribution was run)
    spending: dict = field(default_factory=dict)  # part (programme, lever) -> its spending to the date, GBP
    flows: dict = field(default_factory=dict)  # the run's stocks and flows (glw_sim.gapflows.record), or {}
    # the plan's second target: the lowest fifth's mean income after housing costs, real, the package less its
    # counterfactual (GBP a week) at ``income_month`` (the last reported year at or before the date); its value
    # reached in the target's share of the draws (NaN: not computed)
    income: dict = field(default_factory=dict)
    income_robust: float = math.nan
    income_month: int | None = None


def robustness(margin: U.Figure, per_rep: np.ndarray, share: float) -> tuple[float, float]:
    """(chance of reaching the target, margin reached in ``share`` of the draws) for a margin over the target.
    With the evidence separated from the noise (the draws fitted as control variates), over the evidence's
    distribution at the estimate (normal); otherwise over the replications themselves (noise and draws)."""
    from scipy.stats import norm

    if margin.inputs:
        sd = margin.evidence_sd
        if sd > 0:
            return float(norm.cdf(margin.estimate / sd)), float(margin.estimate - norm.ppf(share) * sd)
        return float(margin.estimate >= 0), float(margin.estimate)
    per_rep = np.asarray(per_rep, dtype=float)
    return float(np.mean(per_rep >= 0)), float(np.quantile(per_rep, 1 - share))


def outcome_from(reps: dict[str, np.ndarray], goal: Goal, Z: np.ndarray | None = None,
                 inputs: tuple[str, ...] = (), flows: dict | None = None) -> Outcome:
    """An :class:`Outcome` from each replication's ``net``, ``cost``, ``years`` (employment-years), ``peak``
    (most spent in 12 months) and ``margin`` (and ``Z``, their draws' standardised values, with ``inputs``):
    the figures fitted as every run's are (:func:`glw_sim.uncertainty.fit_many`); ``flows``: the stocks and
    flows of :func:`glw_sim.gapflows.record`, if any; ``income`` among ``reps``: each replication's change in
    the lowest fifth's mean income after housing costs (GBP a week). Analytic evaluators use it."""
    keys = ["net", "cost", "years", "margin"] + (["income"] if "income" in reps else [])
    figs, scaled = U.fit_many(np.column_stack([np.asarray(reps[k], dtype=float) for k in keys]), Z, inputs)
    f = dict(zip(keys, figs))
    chance, robust = robustness(f["margin"], reps["margin"], goal.share)
    income = {}
    if "income" in f:
        income = {"income": f["income"].as_row(), "income_month": goal.month,
                  "income_robust": robustness(f["income"], reps["income"], goal.share)[1]}
    gain = f["net"].estimate > 0
    nan = U.Ratio(math.nan, math.nan, math.nan, False)
    return Outcome(net=f["net"].as_row(), cost=f["cost"].as_row(), margin=f["margin"].as_row(), chance=chance,
                   robust_margin=robust, peak_year_cost=float(np.mean(reps["peak"])),
                   per_job=(U.ratio(f["cost"], f["net"], U.noise_cov(scaled, 1, 0)) if gain else nan).as_row(),
                   per_year=(U.ratio(f["cost"], f["years"], U.noise_cov(scaled, 1, 2)) if gain else nan).as_row(),
                   reps={k: [float(x) for x in reps[k]] for k in ("net", "cost", "margin")}, flows=flows or {},
                   **income)


Evaluator = Callable[[Scenario, Goal], Outcome]


class ModelEvaluator:
    """The model as an evaluator: the package's replications (seeds of its scenario, so the same for every
    package), on ``workers`` processes (:func:`glw_sim.runner.replicate`'s pool) or, with ``scheduler``
    (``"local"``: a Dask LocalCluster of ``workers`` processes; ``tcp://HOST:PORT``: a running scheduler), on a
    Dask cluster as sweeps run; the figures are those of :meth:`glw_sim.results.Results.headline` at the target's
    month, as ``glw-sim run`` reports them. :meth:`close` stops a cluster it started; ``processes=False``: the
    LocalCluster's workers are threads of this process (quicker to start, for tests)."""

    attribution = True  # it gives each part's contribution when the package's outputs ask for it

    def __init__(self, workers: int | None = None, scheduler: str | None = None, *, processes: bool = True):
        self.workers, self.scheduler, self.processes = workers, scheduler, processes
        self._client = self._cluster = self._pool = None

    def __call__(self, scenario: Scenario, goal: Goal) -> Outcome:
        from glw_sim.precision import _results
        from glw_sim.runner import replicate, replication_seeds

        seeds = replication_seeds(scenario.population.seed, scenario.replications)
        if self.scheduler is None and self.workers and self.workers > 1 and len(seeds) > 1:
            parts, drawn = self._on_pool(scenario, seeds)
        elif self.scheduler is None:
            parts, drawn = replicate(scenario, seeds, workers=self.workers)
        else:
            parts, drawn = self._on_dask(scenario, seeds)
        return results_outcome(_results(scenario, parts, drawn), goal)

    def _on_pool(self, scenario: Scenario, seeds: list[int]):
        """The replications on this evaluator's own process pool, kept for every package: the workers start
        (and import the compiled kernels) once, and each keeps its synthesised population between packages
        (the same scale and seeds), where :func:`glw_sim.runner.replicate` starts a pool per package. The same
        jobs as replicate's, so the same figures to the last digit."""
        import os

        from glw_sim.draws import draw
        from glw_sim.runner import _replication_job

        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            from glw_sim.workers import worker_init

            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=worker_init, initargs=(os.getpid(),))
        threads = max(1, (os.cpu_count() or 1) // min(self.workers, len(seeds)))
        drawn = [draw(scenario, s) for s in seeds]
        futures = [self._pool.submit(_replication_job, (d.scenario, s, r, threads))
                   for r, (s, d) in enumerate(zip(seeds, drawn))]
        out = dict(f.result() for f in futures)
        return [out[r] for r in range(len(seeds))], drawn

    def _on_dask(self, scenario: Scenario, seeds: list[int]):
        from glw_sim.draws import draw
        from glw_sim.runner import _replication_job

        client = self._connect()
        drawn = [draw(scenario, s) for s in seeds]
        futures = [client.submit(_replication_job, (d.scenario, s, r, 1), pure=False)
                   for r, (s, d) in enumerate(zip(seeds, drawn))]
        out = dict(client.gather(futures))
        return [out[r] for r in range(len(seeds))], drawn

    def _connect(self):
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.scheduler == "local":
                self._cluster = LocalCluster(n_workers=self.workers or 2, threads_per_worker=1,
                                             processes=self.processes, dashboard_address=None)
            try:
                self._client = Client(self._cluster if self._cluster is not None else self.scheduler)
            except (OSError, ValueError) as exc:  # (a scheduler address that is wrong or not answering)
                if self._cluster is not None:
                    raise
                raise SolveError(f"--scheduler {self.scheduler}: cannot connect ({' '.join(str(exc).split())}); "
                                 "expected 'local' or the tcp://HOST:PORT of a running Dask scheduler") from None
        return self._client

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None


def results_outcome(res, goal: Goal) -> Outcome:
    """An :class:`Outcome` from a run's :class:`glw_sim.results.Results` at the goal's month."""
    m = goal.month
    h = res.headline(m)
    employed, pop = res.at("employed", m), res.at("population", m)
    net = res.at("net_extra_employed", m) if res.has_counterfactual else employed * 0.0
    if goal.employment_rate is not None:
        margin = employed - goal.employment_rate * pop
    else:
        margin = net - goal.net_extra_employed
    fig = res.fit(margin)[0]
    chance, robust = robustness(fig, margin.to_numpy(), goal.share)
    zero = {"mean": 0.0, "low_95": 0.0, "high_95": 0.0}
    if res.has("spending_cumulative"):
        wide = res.london("spending_cumulative").loc[:m]
        spend = wide.iloc[-1]
        yearly = (wide - wide.shift(12).fillna(0.0)).max()
        peak = float(yearly.mean())
    else:
        spend, peak = net * 0.0, 0.0
    nan = {"mean": math.nan, "low_95": math.nan, "high_95": math.nan}
    contributions = {p: res.figure(f"contribution.{p}", m).as_row() for p in res.parts()}
    from glw_sim import gapflows

    flows = gapflows.record(res, m, gapflows.first_month(res.scenario, m)) or {}
    income = {}
    if res.has(INCOME):
        from glw_sim.solvefile import income_month

        mi = income_month(m)
        per = res.at(INCOME, mi)
        if len(per):
            f_inc = res.fit(per)[0]
            income = {"income": f_inc.as_row(), "income_month": mi,
                      "income_robust": robustness(f_inc, per.to_numpy(), goal.share)[1]}
    return Outcome(net=h.get("net_extra_employed", zero), cost=h.get("spending", zero), margin=fig.as_row(),
                   chance=chance, robust_margin=robust, peak_year_cost=peak,
                   per_job=h.get("cost_per_net_extra_job", nan), per_year=h.get("cost_per_net_extra_employment_year",
                                                                                   nan),
                   employment_rate=h["employment_rate"],
                   reps={"net": net.tolist(), "cost": spend.tolist(), "margin": margin.tolist()},
                   contributions=contributions,
                   spending={k: float(v) for k, v in res.programme_spending(m).mean().items()}, flows=flows,
                   **income)


#: the second target's figure a solve reads (:data:`glw_sim.runner.INCOME_CHANGES`): GBP a week, real, the
#: lowest fifth's mean income after housing costs, the package less its counterfactual
INCOME = "income.bottom_fifth_mean_ahc_real_change"


# ----------------------------------------------------------------------------- the study

def solve_hash(solve: Solve, scen: dict, settings: dict) -> str:
    """The solve's identity: a changed solve file, base scenario or evaluation is refused rather than mixed
    (the number of trials may grow: it is not part of it)."""
    dump = solve.model_dump(mode="json")
    dump["search"].pop("trials")
    blob = json.dumps({"solve": dump, "scenario": scen, "settings": settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def evaluation_settings(solve: Solve, scen: dict, workers: int | None = None, report=None) -> dict:
    """Scale and replications every package is evaluated at: the solve's, or (the scenario's ``precision:``)
    chosen once for the base package by :func:`glw_sim.precision.choose`, at the target's date."""
    out = _default_settings(solve, scen, workers, report)
    c = solve.search.coarse
    if c is not None:
        if c.scale * c.replications >= out["scale"] * out["replications"]:
            raise SolveError(f"search.coarse: scale {c.scale:g} x {c.replications} replications is not cheaper than "
                             f"the default precision (scale {out['scale']:g} x {out['replications']}): lower it, or "
                             "leave coarse: out for one stage")
        out.update(coarse={"scale": c.scale, "replications": c.replications}, refine=solve.search.refined)
    return out


def _default_settings(solve: Solve, scen: dict, workers: int | None = None, report=None) -> dict:
    base = Scenario.model_validate(scen)
    s = solve.search
    if base.precision is not None and (s.scale is None or s.replications is None) and report is not None:
        report("solve: choosing the scale and replications of every evaluation (the scenario's precision:)")
    if s.scale is not None and s.replications is not None:
        return {"scale": s.scale, "replications": s.replications, "chosen": False}
    if base.precision is None:
        return {"scale": s.scale or base.population.scale, "replications": s.replications or base.replications,
                "chosen": False}
    from glw_sim.precision import choose

    data = base.model_dump(mode="json")
    data["horizon"]["months"] = target_month(solve, base)
    data["outputs"]["attribution"] = False
    choice = choose(Scenario.model_validate(data), workers=workers, report=report)
    sc = choice.scenario
    return {"scale": s.scale or sc.population.scale, "replications": s.replications or sc.replications,
            "chosen": True}


def stage_settings(settings: dict, stage: str) -> dict:
    """The scale and replications of a stage: ``"coarse"`` (the staged search's first stage; in a one-stage
    solve, the default precision) or ``"fine"`` (the default precision)."""
    if stage == "coarse" and settings.get("coarse"):
        return {**settings, **settings["coarse"]}
    return settings


def candidate(solve: Solve, scen: dict, values: dict[str, Any], settings: dict, *,
              attribution: bool = False, name: str | None = None) -> dict:
    """A package's scenario as evaluated: run to the target date at the evaluation's scale and replications."""
    base = Scenario.model_validate(scen)
    data = package(solve, scen, values, name=name or f"{solve.name}-package")
    data.setdefault("horizon", {})
    data["horizon"] = {**data["horizon"], "start": base.horizon.start, "months": target_month(solve, base)}
    data.setdefault("population", {})
    data["population"] = {**data["population"], "scale": settings["scale"]}
    data["replications"] = settings["replications"]
    data["precision"] = None
    data["outputs"] = {**data.get("outputs", {}), "attribution": attribution}
    data["milestones"] = [m for m in data.get("milestones", []) if m <= solve.target.by]
    return data


def suggest(trial, solve: Solve) -> dict[str, Any]:
    """The trial's decision values (Optuna's suggestions): whole numbers, a grid (``step``) or reals; choices
    by their position in the list."""
    out = {}
    for v in solve.variables:
        if v.choices is not None:
            out[v.label] = v.choices[trial.suggest_categorical(v.label, list(range(len(v.choices))))]
            continue
        lo, hi = v.bounds
        if v.whole:
            out[v.label] = trial.suggest_int(v.label, int(lo), int(hi), step=int(v.step or 1))
        else:
            out[v.label] = trial.suggest_float(v.label, lo, hi, step=v.step)
    return out


def values_of(params: dict, solve: Solve) -> dict[str, Any]:
    """Decision values from a stored trial's parameters (choices stored by position)."""
    return {v.label: (v.choices[int(params[v.label])] if v.choices is not None else params[v.label])
            for v in solve.variables if v.label in params}


def sampler(solve: Solve, k: int):
    """Trial ``k``'s sampler, seeded by (seed, k): what it asks depends on the finished trials only."""
    import optuna

    seed = int(np.random.SeedSequence([solve.search.seed, k]).generate_state(1)[0])
    if solve.search.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (Optuna calls multivariate experimental)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=solve.search.startup_trials,
                                          multivariate=True)


def goal_of(solve: Solve, scen: dict) -> Goal:
    t = solve.target
    return Goal(target_month(solve, Scenario.model_validate(scen)), t.employment_rate, t.net_extra_employed,
                t.share_of_draws)


def constraint_names(solve: Solve) -> list[str]:
    """The constraints' names in the order :func:`score` gives them (the budget's always last)."""
    income = ["income"] if solve.constraints.min_income_change is not None else []
    return (["target"] if solve.objective == "least_cost" else []) + income + ["budget"]


def score(solve: Solve, out: Outcome) -> tuple[float, list[float]]:
    """The trial's objective and its constraints (:func:`constraint_names`; at or below 0: met), the target's
    as a share of the net extra and the income's as a share of its minimum, so all are of one size for the
    sampler. The second target's figures are those reached in the target's share of the draws; a package
    whose evaluation gave none fails an income constraint and scores -inf on most_income."""
    budget = solve.constraints.budget_per_year
    over = (out.peak_year_cost - budget) / budget if budget else -1.0
    got = out.income_robust if out.income_robust is not None and np.isfinite(out.income_robust) else None
    cons = []
    low = solve.constraints.min_income_change
    if low is not None:
        cons.append((low - got) / max(abs(low), 1.0) if got is not None else 1.0)
    if solve.objective == "least_cost":
        scale = max(abs(out.net.get("mean", 0.0)), abs(out.robust_margin), 1.0)
        return float(out.cost["mean"]), [-out.robust_margin / scale] + cons + [over]
    if solve.objective == "most_income":
        return (float(got) if got is not None else -math.inf), cons + [over]
    return float(out.robust_margin), cons + [over]


@dataclass
class Study:
    folder: Path
    solve: Solve
    scenario: dict
    settings: dict
    study: Any
    evaluated: int = 0  # packages evaluated by this call (not those found finished)
    lock: Any = None  # the open lock file (:func:`hold`), closed by :meth:`close`

    def close(self) -> None:
        """Let another solve open the study (the kernel also drops the lock when the process ends)."""
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def hold(folder: Path, source: str | Path):
    """An exclusive lock on the solve's folder while this process searches: a second ``glw-sim solve`` of the
    same solve into the same folder is refused instead of taking the first's running trial for a dead one.
    Dropped when the process ends, however it ends (no stale lock after kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (Windows: no lock)
        return None
    f = open(folder / ".lock", "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise SolveError(f"{source}: the solve is already running into {folder} (another glw-sim process holds "
                         "it); wait for it to finish, or use another --results") from None
    return f


def open_study(path: str | Path, results: Path, *, workers: int | None = None, report=None,
               search: dict | None = None) -> Study:
    """Check the solve file (before any work), then create or reopen its study in ``results/solve/<name>/``;
    ``search``: fields of the solve file's ``search:`` given on the command line (scale, replications)."""
    from glw_sim.runner import prepare_folder

    solve, scen = load_solve(path)
    if search:
        from pydantic import ValidationError

        from glw_sim.scenario import _format

        dump = solve.model_dump(mode="json")
        try:
            solve = Solve.model_validate({**dump, "search": {**dump["search"], **search}})
        except ValidationError as exc:
            raise SolveError(f"{path}: given on the command line: {_format(exc.errors()[0])}") from None
    folder = prepare_folder(Path(results) / "solve" / solve.name)
    lock = hold(folder, path)
    try:
        return _open(path, folder, solve, scen, lock, workers=workers, report=report)
    except BaseException:
        if lock is not None:
            lock.close()
        raise


def _open(path, folder: Path, solve: Solve, scen: dict, lock, *, workers=None, report=None) -> Study:
    import optuna

    ident = folder / "solve.json"
    old = json.loads(ident.read_text()) if ident.exists() else None
    settings = old["settings"] if old else evaluation_settings(solve, scen, workers, report)
    digest = solve_hash(solve, scen, settings)
    if old and old.get("hash") != digest:
        raise SolveError(f"{path}: the solve {solve.name!r} in {folder} was started with a different definition "
                         "(target, variables, constraints, sampler, seed or scenario); refusing to mix its trials: "
                         "rename the solve or delete that folder")
    name = f"{solve.name}-{digest[:12]}"
    if not old:
        atomic_write_text(ident, json.dumps({"hash": digest, "study": name, "storage": "study.db",
                                             "settings": settings, "solve": solve.model_dump(mode="json"),
                                             "scenario": scen}, indent=2, default=str))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = folder / "study.db"
    storage = optuna.storages.RDBStorage(f"sqlite:///{db}", engine_kwargs={"creator": lambda: _sqlite(db)})
    direction = "minimize" if solve.objective == "least_cost" else "maximize"
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, load_if_exists=True)
    _recover(study)
    return Study(folder, solve, scen, settings, study, lock=lock)


def _sqlite(path: Path):
    """The study's SQLite connection: write-ahead log, synced at checkpoints (a killed solve loses nothing it
    told the study; only a crash of the machine itself could lose the last trials, which are then run again)."""
    import sqlite3

    con = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def _recover(study) -> None:
    """Trials a killed solve left running: marked failed, their packages asked again first."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        study.enqueue_trial(t.params)


def finished(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def run_trials(st: Study, trials: int, evaluator: Evaluator, progress: Callable[[int, dict], None] | None = None):
    """Evaluate packages until the study holds ``trials`` finished ones (those already finished are kept)."""
    solve, goal = st.solve, goal_of(st.solve, st.scenario)
    limit = solve.constraints.max_places
    k = len(finished(st.study))
    while k < trials:
        st.study.sampler = sampler(solve, k)
        trial = st.study.ask()
        values = suggest(trial, solve)
        data = candidate(solve, st.scenario, values, stage_settings(st.settings, "coarse"))
        trial.set_user_attr("values", _jsonable(values))
        if limit is not None and places(data) > limit:  # refused without running: too many places
            trial.set_user_attr("skipped", f"{places(data):,.0f} places a year, above max_places {limit:,.0f}")
            cons = [1.0] * len(constraint_names(solve))
            value = math.inf if solve.objective == "least_cost" else -math.inf
        else:
            out = evaluator(Scenario.model_validate(data), goal)
            value, cons = score(solve, out)
            trial.set_user_attr("outcome", _jsonable(asdict(out)))
        trial.set_user_attr("constraints", cons)
        for key, c in zip(constraint_names(solve), cons):
            trial.set_constraint(key, c)  # (read by Optuna's samplers: feasible at or below 0)
        st.study.tell(trial, value)
        st.evaluated += math.isfinite(value)
        k += 1
        if progress is not None:
            progress(k, best_so_far(st))
    return st


def _jsonable(x):
    return json.loads(json.dumps(x, default=float, allow_nan=True))


def feasible(t) -> bool:
    return "outcome" in t.user_attrs and all(c <= 0 for c in t.user_attrs["constraints"])


def rank_key(t, solve: Solve) -> tuple:
    """How good an evaluation is, smallest first: feasible before infeasible (and within the budget before
    over it); then the cheapest (least_cost) or the most of the objective; infeasible ones by the most reached;
    ties by trial number. :func:`pick` takes the smallest."""
    o = t.user_attrs["outcome"]
    key = "income_robust" if solve.objective == "most_income" else "robust_margin"
    v = o.get(key)
    most = v if v is not None and math.isfinite(v) else -math.inf
    if feasible(t):
        return (0, o["cost"]["mean"] if solve.objective == "least_cost" else -most, t.number)
    return (1 if t.user_attrs["constraints"][-1] <= 0 else 2, -most, t.number)


def pick(done: list, solve: Solve):
    """The best of ``done`` (:func:`rank_key`), or None."""
    return min(done, key=lambda t: rank_key(t, solve)) if done else None


@dataclass
class Evaluation:
    """A package's evaluation as a trial's shape (``number``, ``params``, ``user_attrs`` with its outcome and
    constraints, ``stage``): a finished trial's (the search's stage) or its re-evaluation's (``"fine"``)."""

    number: int
    params: dict
    user_attrs: dict
    stage: str


def _refine_file(st: Study) -> dict:
    path = st.folder / "refine.json"
    return json.loads(path.read_text()) if path.exists() else {"evaluations": {}}


def refined(st: Study) -> dict:
    """The second stage's evaluations of the search as it stands: trial number -> {outcome, constraints, value,
    after} (``refine.json``; ``after``: the coarse packages finished when it was asked for; a search given more
    trials refines again, reusing a stored evaluation of a package asked for again)."""
    if not st.settings.get("coarse"):
        return {}
    n = len(finished(st.study))
    return {int(k): v for k, v in _refine_file(st)["evaluations"].items() if v.get("after") == n}


def evaluations(st: Study, stage: str = "best") -> list[Evaluation]:
    """Every evaluated package, each at its most precise evaluation (``"best"``), or only those of one stage
    (``"coarse"``: the search's; ``"fine"``: the re-evaluations at the default precision). A one-stage solve's
    are all ``"default"``."""
    staged = bool(st.settings.get("coarse"))
    fine = refined(st) if stage != "coarse" else {}
    out = []
    for t in finished(st.study):
        if "outcome" not in t.user_attrs:
            continue
        if t.number in fine:
            out.append(Evaluation(t.number, t.params, {**t.user_attrs, **fine[t.number]}, "fine"))
        elif stage != "fine":
            out.append(Evaluation(t.number, t.params, dict(t.user_attrs), "coarse" if staged else "default"))
    return out


def deciding(st: Study) -> list[Evaluation]:
    """The evaluations the chosen package is picked from: the re-evaluated ones once the second stage has
    any (never a coarse figure against a fine one), else all."""
    return evaluations(st, "fine") or evaluations(st, "coarse")


def best_so_far(st: Study) -> dict:
    """The best package so far: {number, cost, net, chance, reached, stage} (reached false: the most reached)."""
    t = pick(deciding(st), st.solve)
    if t is None:
        return {}
    ok = feasible(t)
    o = t.user_attrs["outcome"]
    return {"number": t.number, "cost": o["cost"]["mean"], "net": o["net"]["mean"], "chance": o["chance"],
            "reached": ok and st.solve.objective == "least_cost", "feasible": ok, "stage": t.stage}
