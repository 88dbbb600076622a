"""Global sensitivity analysis with SALib: which uncertain inputs move the answer.

A sweep file (``sweeps/*.yaml``) names a scenario, the outputs to analyse, the
uncertain inputs as dotted paths into the scenario with bounds (or a
distribution), the method (Sobol, Morris, FAST or RBD-FAST) and its sample
size. :func:`run_sweep` samples with SALib, evaluates the runs in a local
process pool or on a Dask cluster, in chunks, and appends every finished
chunk to the sweep's store as a Parquet part, so an interrupted sweep resumes
where it stopped and never loses finished runs. The same sweep and seed give
the same indices whatever the executor or the interruptions: every run's
random numbers depend only on the sweep seed (common random numbers across
the design), and SALib's resampling is seeded.

References: Saltelli et al. (2010) for Sobol indices; Morris (1991);
Cukier et al. (1973) / Saltelli et al. (1999) for FAST; Tarantola et al.
(2006) for RBD-FAST; Herman and Usher (2017), SALib.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from glw_sim.io import atomic_write_bytes, atomic_write_text
from glw_sim.scenario import Scenario, ScenarioError, _format, _read_yaml


class SweepError(ScenarioError):
    """A sweep cannot be run; the message is one line for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SweepInput(_Strict):
    path: str = Field(..., description="dotted path into the scenario, e.g. labour_demand.matching_elasticity")
    bounds: tuple[float, float]
    dist: Literal["unif", "norm", "triang", "lognorm"] = "unif"
    name: str | None = None

    @model_validator(mode="after")
    def _bounds(self):
        lo, hi = self.bounds
        if self.dist in ("unif", "triang") and not lo < hi:
            raise ValueError(f"bounds must be [low, high] with low < high, got {list(self.bounds)}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.path


class SweepOutput(_Strict):
    metric: str = Field(..., description="a metric of summary.csv, e.g. employment_rate or net_extra_employed")
    area: str = "London"
    group: str = "all"
    change: bool = Field(False, description="horizon minus month 0 instead of the horizon value")

    @property
    def label(self) -> str:
        base = self.metric if self.area == "London" and self.group == "all" else f"{self.metric}[{self.area},{self.group}]"
        return f"change_{base}" if self.change else base


class Sweep(_Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    scenario: str = Field(..., description="scenario YAML, relative to the sweep file")
    method: Literal["sobol", "morris", "fast", "rbd_fast"] = "sobol"
    samples: int = Field(64, ge=4, le=1_000_000, description="SALib N (trajectories for Morris)")
    second_order: bool = False
    replications: int = Field(1, ge=1, le=100)
    seed: int = Field(0, ge=0)
    scale: float | None = Field(None, gt=0, le=1)
    months: int | None = Field(None, ge=1, le=600)
    inputs: list[SweepInput] = Field(..., min_length=1)
    outputs: list[SweepOutput] = Field(..., min_length=1)

    @field_validator("inputs")
    @classmethod
    def _distinct(cls, v):
        labels = [i.label for i in v]
        if len(set(labels)) != len(labels):
            raise ValueError("inputs must have distinct paths (or names)")
        return v

    def needs_groups(self) -> bool:
        """Whether any output needs the counts by group (else the runs skip them: faster)."""
        from glw_sim.metrics import GROUP_METRICS

        return any(o.group != "all" or o.metric in GROUP_METRICS or o.metric.startswith("quarterly_")
                   for o in self.outputs)

    def problem(self) -> dict:
        return {
            "num_vars": len(self.inputs),
            "names": [i.label for i in self.inputs],
            "bounds": [list(i.bounds) for i in self.inputs],
            "dists": [i.dist for i in self.inputs],
        }


# ----------------------------------------------------------------------------- loading

def set_path(data: dict, path: str, value: float) -> None:
    """Set ``value`` at a dotted path in nested dicts and lists (list items by index)."""
    keys = path.split(".")
    node: Any = data
    for i, k in enumerate(keys[:-1]):
        nxt_is_index = keys[i + 1].isdigit()
        if isinstance(node, list):
            node = node[int(k)]
        else:
            if k not in node or node[k] is None:
                node[k] = [] if nxt_is_index else {}
            node = node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def load_sweep(path: str | Path) -> tuple[Sweep, dict]:
    """Read and validate a sweep file; returns it and the resolved scenario as a dict."""
    path = Path(path)
    if not path.exists():
        raise SweepError(f"{path}: file not found; expected a sweep YAML file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SweepError(f"{path}: YAML syntax error{where}: {getattr(exc, 'problem', None) or 'invalid YAML'}") from None
    if not isinstance(raw, dict):
        raise SweepError(f"{path}: expected a mapping of keys (name:, scenario:, inputs:, ...) at the top level")
    try:
        sweep = Sweep.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(f"{path}: {_format(exc.errors()[0])}") from None
    if sweep.scenario == "ishigami":
        return sweep, {}
    scen_path = path.parent / sweep.scenario
    try:
        scen = _read_yaml(scen_path)
    except ScenarioError as exc:
        raise SweepError(f"{path}: scenario: {exc}") from None
    if sweep.scale is not None:
        scen.setdefault("population", {})["scale"] = sweep.scale
    if sweep.months is not None:
        scen.setdefault("horizon", {})["months"] = sweep.months
    for i, inp in enumerate(sweep.inputs):
        trial = copy.deepcopy(scen)
        try:
            set_path(trial, inp.path, float(np.mean(inp.bounds)))
            Scenario.model_validate(trial)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
            msg = _format(exc.errors()[0]) if isinstance(exc, ValidationError) else str(exc)
            raise SweepError(f"{path}: inputs.{i}.path: {inp.path!r} is not a usable scenario field ({msg})") from None
    try:
        Scenario.model_validate(scen)
    except ValidationError as exc:
        raise SweepError(f"{scen_path}: {_format(exc.errors()[0])}") from None
    return sweep, scen


# ----------------------------------------------------------------------------- sampling and analysis

def sample(sweep: Sweep) -> np.ndarray:
    from SALib.sample import fast_sampler, latin, morris, sobol

    problem = sweep.problem()
    if sweep.method == "sobol":
        return sobol.sample(problem, sweep.samples, calc_second_order=sweep.second_order, seed=sweep.seed)
    if sweep.method == "morris":
        return morris.sample(problem, sweep.samples, num_levels=4, seed=sweep.seed)
    if sweep.method == "fast":
        return fast_sampler.sample(problem, sweep.samples, M=4, seed=sweep.seed)
    return latin.sample(problem, sweep.samples, seed=sweep.seed)


def analyse(sweep: Sweep, X: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    """Tidy indices: output, parameter, index, value, conf (SALib's bootstrap confidence interval)."""
    from SALib.analyze import fast, morris, rbd_fast, sobol

    problem = sweep.problem()
    names = problem["names"]
    rows = []
    for j, out in enumerate(sweep.outputs):
        y = Y[:, j]
        if sweep.method == "sobol":
            r = sobol.analyze(problem, y, calc_second_order=sweep.second_order, seed=sweep.seed)
            pairs = [("S1", "S1_conf"), ("ST", "ST_conf")]
        elif sweep.method == "morris":
            r = morris.analyze(problem, X, y, num_levels=4, seed=sweep.seed)
            pairs = [("mu_star", "mu_star_conf"), ("sigma", None), ("mu", None)]
        elif sweep.method == "fast":
            r = fast.analyze(problem, y, M=4, seed=sweep.seed)
            pairs = [("S1", "S1_conf"), ("ST", "ST_conf")]
        else:
            r = rbd_fast.analyze(problem, X, y, seed=sweep.seed)
            pairs = [("S1", "S1_conf")]
        for k, name in enumerate(names):
            for idx, conf in pairs:
                rows.append({"output": out.label, "parameter": name, "index": idx, "value": float(r[idx][k]),
                             "conf": float(r[conf][k]) if conf else float("nan")})
        if sweep.method == "sobol" and sweep.second_order:
            for a in range(len(names)):
                for b in range(a + 1, len(names)):
                    rows.append({"output": out.label, "parameter": f"{names[a]} x {names[b]}", "index": "S2",
                                 "value": float(r["S2"][a, b]), "conf": float(r["S2_conf"][a, b])})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- evaluation

def ishigami(values: np.ndarray) -> np.ndarray:
    """SALib's Ishigami test function as a sweep model (analytic S1 = 0.314, 0.442, 0.0)."""
    from SALib.test_functions import Ishigami

    return Ishigami.evaluate(np.atleast_2d(values))


def evaluate_scenario(scenario: dict, sweep: Sweep, values: np.ndarray) -> list[float]:
    """Run the scenario with ``values`` at the input paths; outputs averaged over replications."""
    from glw_sim.runner import replication_seeds, series, simulate

    data = copy.deepcopy(scenario)
    for inp, v in zip(sweep.inputs, values):
        set_path(data, inp.path, float(v))
    scen = Scenario.model_validate(data)
    totals = np.zeros(len(sweep.outputs))
    for r, seed in enumerate(replication_seeds(sweep.seed, sweep.replications)):
        model = simulate(scen, seed, cache_population=True, collect_groups=sweep.needs_groups())
        for j, out in enumerate(sweep.outputs):
            months, values = series(model, out.area, out.group, out.metric)
            if not values:
                raise SweepError(f"outputs.{j}: no metric {out.metric!r} for area {out.area!r}, group {out.group!r}")
            totals[j] += values[-1] - (values[0] if out.change else 0.0)
    return list(totals / sweep.replications)


def evaluate_chunk(scenario: dict, sweep_json: str, indices: list[int], X: np.ndarray) -> pd.DataFrame:
    """Evaluate a chunk of runs (runs in a worker process)."""
    import numba

    numba.set_num_threads(1)  # one process per core already: compiled kernels must not oversubscribe
    sweep = Sweep.model_validate_json(sweep_json)
    rows = []
    for i, x in zip(indices, X):
        y = ishigami(x)[0:1].tolist() * len(sweep.outputs) if sweep.scenario == "ishigami" else \
            evaluate_scenario(scenario, sweep, x)
        rows.append([i, *x, *y])
    cols = ["run"] + [f"x:{inp.label}" for inp in sweep.inputs] + [f"y:{o.label}" for o in sweep.outputs]
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------- the store

def sweep_hash(sweep: Sweep, scenario: dict) -> str:
    blob = json.dumps({"sweep": sweep.model_dump(mode="json"), "scenario": scenario}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class Store:
    """A folder of Parquet parts, one per finished chunk, plus the sweep it belongs to."""

    def __init__(self, folder: Path, sweep: Sweep, scenario: dict, source: str):
        self.folder = Path(folder)
        self.parts = self.folder / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        ident = self.folder / "sweep.json"
        digest = sweep_hash(sweep, scenario)
        if ident.exists():
            old = json.loads(ident.read_text())
            if old.get("hash") != digest:
                raise SweepError(f"{source}: the sweep {sweep.name!r} in {self.folder} was started with a different "
                                 "definition (inputs, outputs, method, samples, seed or scenario); refusing to mix "
                                 "results: rename the sweep or delete that folder")
        else:
            atomic_write_text(ident, json.dumps({"hash": digest, "sweep": sweep.model_dump(mode="json"),
                                                 "scenario": scenario}, indent=2, default=str))

    def done(self) -> pd.DataFrame:
        files = sorted(self.parts.glob("part-*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).drop_duplicates("run")

    def append(self, df: pd.DataFrame) -> None:
        import io

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(self.parts / f"part-{int(df['run'].min()):08d}-{int(df['run'].max()):08d}.parquet",
                           buf.getvalue())


# ----------------------------------------------------------------------------- running

def _chunks(indices: list[int], size: int) -> list[list[int]]:
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def run_sweep(
    path: str | Path,
    *,
    out_dir: str | Path = "sweeps/out",
    scheduler: str | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    max_chunks: int | None = None,
) -> pd.DataFrame:
    """Run (or resume) a sweep and return its indices as a tidy DataFrame.

    ``scheduler``: None for a local process pool, ``"local"`` for a Dask
    LocalCluster, or ``"tcp://host:port"`` for a running Dask scheduler.
    ``max_chunks`` stops after that many chunks (used to test resuming).
    """
    sweep, scenario = load_sweep(path)
    X = sample(sweep)
    folder = Path(out_dir) / sweep.name
    store = Store(folder, sweep, scenario, str(path))
    done = store.done()
    finished = set(done["run"].tolist()) if len(done) else set()
    pending = [i for i in range(len(X)) if i not in finished]
    workers = workers or os.cpu_count() or 1
    size = chunk_size or max(1, min(64, math.ceil(len(pending) / (workers * 4)) if pending else 1))
    chunks = _chunks(pending, size)
    if max_chunks is not None:
        chunks = chunks[:max_chunks]
    total, count = len(X), len(finished)
    if progress:
        progress(count, total)
    sweep_json = sweep.model_dump_json()

    def collect(finished_futures) -> None:
        nonlocal count
        for f in finished_futures:
            df = f.result()
            store.append(df)
            count += len(df)
            if progress:
                progress(count, total)

    if chunks:
        if scheduler is None:
            import multiprocessing as mp

            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
                collect(as_completed([ex.submit(evaluate_chunk, scenario, sweep_json, c, X[c]) for c in chunks]))
        else:
            from distributed import Client, LocalCluster
            from distributed import as_completed as dask_completed

            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None) if scheduler == "local" else None
            try:
                with Client(cluster if cluster is not None else scheduler) as client:
                    collect(dask_completed([client.submit(evaluate_chunk, scenario, sweep_json, c, X[c], pure=False)
                                            for c in chunks]))
            finally:
                if cluster is not None:
                    cluster.close()
    done = store.done().sort_values("run")
    if len(done) < len(X):
        return pd.DataFrame()
    Y = done[[c for c in done.columns if c.startswith("y:")]].to_numpy(float)
    Xd = done[[c for c in done.columns if c.startswith("x:")]].to_numpy(float)
    indices = analyse(sweep, Xd, Y)
    atomic_write_text(folder / "indices.csv", indices.to_csv(index=False, float_format="%.6g"))
    from glw_sim import charts

    charts.sensitivity_charts(indices, sweep.method, folder / "charts", sweep.name)
    return indices
