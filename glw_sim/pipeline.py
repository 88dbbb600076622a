"""Run a scenario end to end and write its results folder atomically: the top of the run's layers, above
choosing its size (:mod:`glw_sim.precision`), its replications (:mod:`glw_sim.runner`) and its report
(:mod:`glw_sim.report`).

``results/<scenario>/<run-id>/`` holds:

- ``manifest.json``: the resolved scenario, seeds, package and library
  versions, and SHA-256 hashes of every calibration file used;
- ``timeseries.parquet``: tidy rows (replication, month, date, area, group, metric, value);
- ``summary.csv``: each metric at the horizon, its estimate and 95% interval (noise and evidence), the
  two parts and the spread of single replications, and the estimate and interval at each milestone (2030-06
  and the scenario's ``milestones``) (:func:`glw_sim.runner.summarise`);
- ``draws.csv``: each replication's draw of the uncertain inputs (when the run drew them);
- ``charts/``: the briefing charts (:mod:`glw_sim.charts`);
- ``report.html``: the self-contained briefing (:mod:`glw_sim.report`) and ``summary.xlsx``, the paste-ready
  tables (:mod:`glw_sim.workbook`).

The results location is created and written to (a probe file) before any
replication runs (:func:`glw_sim.runner.results_folder`), so a bad ``--results`` path costs nothing. The folder is
built under a hidden temporary name that carries its owner's process id
(``.partial-<pid>-<start token>-*``) and renamed into place at the end, so an
interrupted run leaves no half results; the next run into the same folder
removes partial folders whose owner is dead. Run ids are the time, a hash of
the scenario and a random part, so concurrent identical runs never collide.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import platform
import secrets
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from glw_sim import __version__
from glw_sim.draws import labels
from glw_sim.io import atomic_write_bytes, atomic_write_text, make_owned_dir
from glw_sim.paths import calibration_dir
from glw_sim.precision import choose, top_up
from glw_sim.report import write_outputs
from glw_sim.results import ResultsError
from glw_sim.runner import draws_table, replicate, replication_seeds, results_folder, summarise, user_write_error
from glw_sim.scenario import Scenario
from glw_sim.targets import load_targets


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(scenario: Scenario, seeds: list[int], argv: list[str] | None) -> dict:
    import mesa
    import pydantic

    cal = calibration_dir()
    files = sorted(p for p in cal.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".md"))
    return {
        "scenario": scenario.model_dump(mode="json"),
        "seeds": seeds,
        "glw_sim_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": {"numpy": np.__version__, "pandas": pd.__version__, "mesa": mesa.__version__,
                      "pydantic": pydantic.__version__},
        "data": {str(p.relative_to(cal.parent)): _hash(p) for p in files},
        "command": argv,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def run_id(scenario: Scenario) -> str:
    """``YYYYmmdd-HHMMSS-<scenario hash>-<random>``: sortable by time, unique across concurrent runs."""
    digest = hashlib.sha256(json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:8]
    return datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{digest}-{secrets.token_hex(3)}"


@dataclass
class RunResult:
    folder: Path
    timeseries: pd.DataFrame
    summary: pd.DataFrame


def run_scenario(
    scenario: Scenario,
    results_dir: Path = Path("results"),
    *,
    progress: Callable[[], None] | None = None,
    argv: list[str] | None = None,
    charts: bool = True,
    workers: int | None = None,
    report: Callable[[str], None] | None = None,
) -> RunResult:
    """Run every replication, write the results folder atomically, return the tables.

    The results location is checked (created, probed) first; a write that fails for want of space or
    permission raises :class:`ResultsError` and leaves nothing behind. ``workers``: processes running
    replications side by side (default 1: in this process). With ``scenario.precision`` the scale and number
    of replications are chosen to reach it (:mod:`glw_sim.precision`), and ``report`` is told what was chosen."""
    parent = results_folder(results_dir, scenario.name)
    load_targets()
    choice = None
    if scenario.precision is not None:
        choice = choose(scenario, workers=workers, progress=progress, report=report)
        scenario = choice.scenario
    seeds = replication_seeds(scenario.population.seed, scenario.replications)
    parts, drawn = replicate(scenario, seeds, progress=progress, workers=workers)
    if choice is not None:
        scenario, seeds, parts, drawn = top_up(choice, scenario, seeds, parts, drawn, workers=workers,
                                               progress=progress, report=report)
    ts = pd.concat(parts, ignore_index=True)
    draws = draws_table(drawn, labels(scenario))
    meta = manifest(scenario, seeds, argv)
    if choice is not None:
        meta["precision"] = choice.record()
    summary = summarise(ts, draws, meta)

    try:
        tmp = make_owned_dir(parent, "partial")
    except OSError as exc:
        if not user_write_error(exc):
            raise
        raise ResultsError(f"{parent}: cannot write results ({exc.strerror or exc}); nothing was kept") from None
    try:
        buf = io.BytesIO()
        ts.to_parquet(buf, index=False)
        atomic_write_bytes(tmp / "timeseries.parquet", buf.getvalue())
        atomic_write_text(tmp / "summary.csv", summary.to_csv(index=False, float_format="%.6g"))
        if len(draws):
            atomic_write_text(tmp / "draws.csv", draws.to_csv(index=False, float_format="%.8g"))
        final = parent / run_id(scenario)
        atomic_write_text(tmp / "manifest.json", json.dumps({"run_id": final.name, **meta}, indent=2))
        if charts:
            write_outputs(tmp, targets=load_targets())
        for _ in range(10):  # another run took this id (the same second, the same random part): take another
            if not final.exists():
                try:
                    os.rename(tmp, final)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
            final = parent / run_id(scenario)
            atomic_write_text(tmp / "manifest.json", json.dumps({"run_id": final.name, **meta}, indent=2))
        else:
            raise ResultsError(f"{parent}: could not find a free run id; nothing was kept")
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if not user_write_error(exc):
            raise
        raise ResultsError(f"{parent}: cannot write results ({exc.strerror or exc}); nothing was kept") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return RunResult(final, ts, summary)
