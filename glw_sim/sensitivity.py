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
the design), and SALib's resampling is seeded. The sweep file, the checks before the first run and the
design are :mod:`glw_sim.sweep`'s.

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
from typing import Callable

import numpy as np
import pandas as pd
from pydantic import ValidationError

from glw_sim.dotted import set_path
from glw_sim.io import atomic_write_bytes, atomic_write_text
from glw_sim.scenario import Scenario, _format
from glw_sim.sweep import Sweep, SweepError, load_sweep, sample
from glw_sim.workers import worker_init


# ----------------------------------------------------------------------------- analysis

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
    return evaluate_replications(scenario, sweep, values)[0]


def evaluate_replications(scenario: dict, sweep: Sweep, values: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Run the scenario with ``values`` at the input paths: the outputs averaged over replications, and each
    replication's (replications x outputs; replication ``r`` has the same seed at every design point)."""
    from glw_sim.runner import replication_seeds, series, simulate

    data = copy.deepcopy(scenario)
    for inp, v in zip(sweep.inputs, values):
        set_path(data, inp.path, float(v))
    try:
        scen = Scenario.model_validate(data)
    except ValidationError as exc:  # (each input's range is checked up front; this is a combination of them)
        point = ", ".join(f"{inp.label}={v:g}" for inp, v in zip(sweep.inputs, values))
        raise SweepError(f"inputs: the design point {point} gives an invalid scenario "
                         f"({_format(exc.errors()[0])})") from None
    totals = np.zeros(len(sweep.outputs))
    each = np.zeros((sweep.replications, len(sweep.outputs)))
    for r, seed in enumerate(replication_seeds(sweep.seed, sweep.replications)):
        model = simulate(scen, seed, cache_population=True, collect_groups=sweep.needs_groups())
        for j, out in enumerate(sweep.outputs):
            ms, ys = series(model, out.area, out.group, out.metric)
            if not ys:
                raise SweepError(f"outputs.{j}: no metric {out.metric!r} for area {out.area!r}, group {out.group!r}")
            k = -1 if out.at is None else _month_index(ms, scen, out.at, j)
            each[r, j] = ys[k] - (ys[0] if out.change else 0.0)
            totals[j] += each[r, j]
    return list(totals / sweep.replications), each


def _month_index(months: list[int], scen: Scenario, at: str, j: int) -> int:
    """Where month ``at`` (YYYY-MM) is in a run's recorded ``months``."""
    from glw_sim.months import parse_month

    a, b = parse_month(at), parse_month(scen.horizon.start)
    m = (a.year - b.year) * 12 + a.month - b.month
    if m not in months:
        raise SweepError(f"outputs.{j}.at: {at} (month {m}) is not recorded for this output")
    return months.index(m)


def evaluate_chunk(scenario: dict, sweep_json: str, indices: list[int], X: np.ndarray) -> pd.DataFrame:
    """Evaluate a chunk of runs (runs in a worker process)."""
    import numba

    numba.set_num_threads(1)  # one process per core already: compiled kernels must not oversubscribe
    sweep = Sweep.model_validate_json(sweep_json)
    rows = []
    reps = sweep.replications if sweep.scenario != "ishigami" and sweep.replications > 1 else 0
    for i, x in zip(indices, X):
        if sweep.scenario == "ishigami":
            y, each = ishigami(x)[0:1].tolist() * len(sweep.outputs), np.zeros((0, 0))
        else:
            y, each = evaluate_replications(scenario, sweep, x)
        rows.append([i, *x, *y, *(each.ravel() if reps else ())])
    # each replication's outputs too (r<k>:<output>), for the simulation noise of the sweep report's figures
    cols = ["run"] + [f"x:{inp.label}" for inp in sweep.inputs] + [f"y:{o.label}" for o in sweep.outputs]
    cols += [f"r{k}:{o.label}" for k in range(reps) for o in sweep.outputs]
    return pd.DataFrame(rows, columns=cols)


# ----------------------------------------------------------------------------- the store

def sweep_hash(sweep: Sweep, scenario: dict) -> str:
    """The sweep's identity (a changed sweep is refused rather than mixed). An output's ``at`` counts only when
    set, so sweeps written before outputs could name a month keep their hash and resume."""
    dump = sweep.model_dump(mode="json")
    for out in dump["outputs"]:
        if out.get("at") is None:
            out.pop("at", None)
    blob = json.dumps({"sweep": dump, "scenario": scenario}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def read_parts(parts: Path) -> pd.DataFrame:
    """Every finished run of a sweep's store (``parts/``), one row per run."""
    files = sorted(Path(parts).glob("part-*.parquet"))
    if not files:
        return pd.DataFrame()
    frames = []
    for f in files:
        try:
            frames.append(pd.read_parquet(f))
        except (OSError, ValueError) as exc:  # (pyarrow's errors are these) a part changed by hand
            raise SweepError(f"{f}: unreadable part of the sweep ({' '.join(str(exc).split())[:200]}); delete "
                             "it and run the sweep again to recompute its runs") from None
    return pd.concat(frames, ignore_index=True).drop_duplicates("run")


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
        return read_parts(self.parts)

    def lock(self, source: str) -> None:
        """Hold an exclusive lock on the store while this process runs the sweep: a second ``glw-sim sweep``
        of the same sweep into the same folder is refused instead of repeating its work. The kernel drops the
        lock when the process ends, however it ends (no stale lock after kill -9)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows: no lock)
            return
        self._lock = open(self.folder / ".lock", "a+")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SweepError(f"{source}: the sweep is already running into {self.folder} (another glw-sim "
                             "process holds it); wait for it to finish, or use another --out") from None
        # holding the lock, any half-written part (a temporary file of atomic_write_bytes) is a dead process's
        for tmp in self.parts.glob(".part-*.tmp"):
            tmp.unlink(missing_ok=True)

    def unlock(self) -> None:
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
            self._lock = None

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
    from glw_sim.runner import prepare_folder

    sweep, scenario = load_sweep(path)
    X = sample(sweep, path)
    prepare_folder(Path(out_dir), "sweep output folder", "--out")
    folder = prepare_folder(Path(out_dir) / sweep.name, "sweep output folder", "--out")
    try:
        store = Store(folder, sweep, scenario, str(path))
    except json.JSONDecodeError:
        raise SweepError(f"{folder / 'sweep.json'}: unreadable (not JSON); expected the record of the sweep "
                         "begun there: delete that folder to start again") from None
    store.lock(str(path))
    try:
        return _run(sweep, scenario, X, store, folder, scheduler=scheduler, workers=workers, chunk_size=chunk_size,
                    progress=progress, max_chunks=max_chunks)
    finally:
        store.unlock()


def _run(sweep: Sweep, scenario: dict, X: np.ndarray, store: Store, folder: Path, *, scheduler, workers, chunk_size,
         progress, max_chunks) -> pd.DataFrame:
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

            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                     initializer=worker_init, initargs=(os.getpid(),)) as ex:
                try:
                    collect(as_completed([ex.submit(evaluate_chunk, scenario, sweep_json, c, X[c]) for c in chunks]))
                except BaseException:  # (a full disk, Ctrl-C): stop now rather than run every chunk left
                    ex.shutdown(wait=True, cancel_futures=True)
                    raise
        else:
            from distributed import Client, LocalCluster
            from distributed import as_completed as dask_completed

            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None) if scheduler == "local" else None
            try:
                try:
                    client = Client(cluster if cluster is not None else scheduler)
                except (OSError, ValueError) as exc:  # (a scheduler address that is wrong or not answering)
                    if cluster is not None:
                        raise
                    raise SweepError(f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())}); "
                                     "expected 'local' or the tcp://HOST:PORT of a running Dask scheduler") from None
                with client:
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
    from glw_sim.sweepreport import write_sweep_report

    write_sweep_report(folder, sweep, scenario, done, indices)
    return indices


def rewrite_report(folder: str | Path) -> Path:
    """(Re)write a finished sweep's ``report.html``, ``outcomes.csv`` and charts from its folder
    (``sweep.json``, ``parts/``, ``indices.csv``): ``glw-sim report SWEEP_FOLDER``."""
    from glw_sim.results import ResultsError
    from glw_sim.sweepreport import write_sweep_report

    folder = Path(folder)
    try:
        rec = json.loads((folder / "sweep.json").read_text())
        sweep = Sweep.model_validate(rec["sweep"])
    except (OSError, ValueError, KeyError) as exc:
        raise ResultsError(f"{folder / 'sweep.json'}: unreadable record of a sweep "
                           f"({' '.join(str(exc).split())[:200]})") from None
    done = read_parts(folder / "parts")
    if len(done) < len(sample(sweep, folder)) or not (folder / "indices.csv").is_file():
        raise ResultsError(f"{folder}: the sweep is not finished; run glw-sim sweep again with its file to finish it")
    done = done.sort_values("run")
    return write_sweep_report(folder, sweep, rec.get("scenario") or {}, done, pd.read_csv(folder / "indices.csv"))
