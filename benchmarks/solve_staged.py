"""Staged solve throughput: seconds per package of each stage of ``glw-sim solve``'s staged search, and the
time of a 200-package solve extrapolated from them.

A benchmark, not a test. Opens ``solves/route-to-80.yaml`` with ``search.coarse`` and ``refine`` given here and
the default precision given explicitly (``--scale``/``--replications``, by default the pilot's choice: 0.02 x
28, so no pilot runs; its time, 19-37 s measured on this machine, is added to the estimate), evaluates
``--coarse-trials`` packages at the coarse precision on one process pool of ``--workers`` processes (kept for
every package), then re-evaluates ``--refine`` of them at the default precision (the second stage's own
choice), then writes the outputs (the chosen package's attribution run at the default precision). Each step is
timed with the machine's load. Writes one CSV row.

    PYTHONPATH=. .venv/bin/python benchmarks/solve_staged.py --coarse-scale 0.005 --coarse-replications 2 \\
        --coarse-trials 10 --refine 2 --out benchmarks/out/solve-staged.csv
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from glw_sim.solve import ModelEvaluator, open_study, run_trials
from glw_sim.solvestages import run_refine
from glw_sim.solveout import write_outputs

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--solve", default=str(ROOT / "solves" / "route-to-80.yaml"))
    ap.add_argument("--coarse-scale", type=float, default=0.005)
    ap.add_argument("--coarse-replications", type=int, default=2)
    ap.add_argument("--coarse-trials", type=int, default=10)
    ap.add_argument("--refine", type=int, default=2, help="re-evaluations timed (the solve's refine: N)")
    ap.add_argument("--planned-refine", type=int, default=8, help="refine: N of the 200-package estimate")
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--replications", type=int, default=28)
    ap.add_argument("--pilot-seconds", type=float, default=37.0, help="the pilot's time added to the estimate")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "solve-staged.csv"))
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="solve-staged-"))
    try:
        solve = yaml.safe_load(Path(a.solve).read_text())
        solve["scenario"] = str((Path(a.solve).parent / solve["scenario"]).resolve())
        solve["search"] = {**solve["search"], "trials": a.coarse_trials, "scale": a.scale,
                           "replications": a.replications, "refine": a.refine,
                           "coarse": {"scale": a.coarse_scale, "replications": a.coarse_replications}}
        path = tmp / "staged.yaml"
        path.write_text(yaml.safe_dump(solve, sort_keys=False))
        st = open_study(path, tmp / "res", workers=a.workers)
        ev = ModelEvaluator(a.workers)
        load0 = _load()
        stamps: list[float] = []
        t0 = time.perf_counter()
        try:
            run_trials(st, a.coarse_trials, ev, lambda n, best: stamps.append(time.perf_counter() - t0))
            t1 = time.perf_counter()
            fine: list[float] = []
            run_refine(st, ev, lambda n, best: fine.append(time.perf_counter() - t1))
            t2 = time.perf_counter()
            load1 = _load()
            write_outputs(st, ev)
            t3 = time.perf_counter()
        finally:
            ev.close()
            st.close()
        coarse_each = [b - x for x, b in zip([0.0] + stamps, stamps)]
        fine_each = [b - x for x, b in zip([0.0] + fine, fine)]
        # the first coarse package includes the pool's start (spawn, imports): the steady rate is the rest's
        steady = sum(coarse_each[1:]) / max(1, len(coarse_each) - 1)
        per_fine = (t2 - t1) / max(1, len(fine_each))
        outputs = t3 - t2
        est = (a.pilot_seconds + coarse_each[0] + 199 * steady + a.planned_refine * per_fine + outputs) / 60
        row = {"date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), "workers": a.workers,
               "coarse_scale": a.coarse_scale, "coarse_replications": a.coarse_replications,
               "scale": a.scale, "replications": a.replications, "coarse_packages": a.coarse_trials,
               "coarse_first_seconds": round(coarse_each[0], 1), "coarse_seconds_per_package": round(steady, 2),
               "coarse_seconds_each": ";".join(f"{x:.1f}" for x in coarse_each),
               "refined": len(fine_each), "fine_seconds_each": ";".join(f"{x:.0f}" for x in fine_each),
               "fine_seconds_per_package": round(per_fine, 1), "outputs_seconds": round(outputs, 1),
               "pilot_seconds_assumed": a.pilot_seconds, "planned_refine": a.planned_refine,
               "minutes_for_200_estimate": round(est, 1), "load_before": load0, "load_after_refine": load1,
               "load_after": _load()}
        print(row, flush=True)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row]).to_csv(a.out, index=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
