"""Solve throughput: evaluations per minute of ``glw-sim solve`` at a stated precision, locally and on Dask.

A benchmark, not a test. Opens the solve (by default ``solves/route-to-80.yaml`` at its default precision: the
base scenario's ``precision:`` block chooses every evaluation's scale and replications once, with a pilot, as
``glw-sim solve`` does), times the pilot, then evaluates the first ``--trials`` packages on a local process pool
of ``--workers`` processes and the same packages (same sampler seeds: the same packages asked) on a Dask
LocalCluster of ``--workers`` processes, each into its own folder with the settings of the first (no second
pilot). Writes one CSV row per executor with the machine's load (``os.getloadavg``) before and after, and
prints the extrapolation to 200 evaluations.

    PYTHONPATH=. .venv/bin/python benchmarks/solve_throughput.py --out benchmarks/out/solve-throughput.csv
    PYTHONPATH=. .venv/bin/python benchmarks/solve_throughput.py --scale 0.01 --replications 3 --trials 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from glw_sim.solve import ModelEvaluator, finished, open_study, run_trials

ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _say(msg: str, total=None) -> None:
    print(msg, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--solve", default=str(ROOT / "solves" / "route-to-80.yaml"))
    ap.add_argument("--trials", type=int, default=1, help="packages evaluated by each executor")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scale", type=float, default=None, help="instead of the default precision's choice")
    ap.add_argument("--replications", type=int, default=None)
    ap.add_argument("--executors", default="local,dask")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "solve-throughput.csv"))
    a = ap.parse_args()
    search = {k: v for k, v in (("scale", a.scale), ("replications", a.replications)) if v is not None}
    tmp = Path(tempfile.mkdtemp(prefix="solve-throughput-"))
    rows = []
    try:
        load0, t0 = _load(), time.perf_counter()
        first = open_study(a.solve, tmp / "local", workers=a.workers, report=_say, search=search or None)
        pilot = time.perf_counter() - t0
        settings = first.settings
        print(f"settings {settings} (pilot and opening {pilot:.0f} s, load {load0} -> {_load()})", flush=True)
        ident = json.loads((first.folder / "solve.json").read_text())
        first.close()
        for ex in a.executors.split(","):
            folder = tmp / ex
            if ex != "local":  # the same settings: no second pilot
                dest = folder / "solve" / ident["solve"]["name"]
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp / "local" / "solve" / ident["solve"]["name"] / "solve.json", dest / "solve.json")
            st = open_study(a.solve, folder, workers=a.workers, search=search or None)
            ev = ModelEvaluator(a.workers, None if ex == "local" else "local")
            load_before, start = _load(), time.perf_counter()
            stamps = []
            try:
                run_trials(st, a.trials, ev, lambda n, best: stamps.append(time.perf_counter() - start))
            finally:
                ev.close()
            wall = time.perf_counter() - start
            outs = [t.user_attrs.get("outcome", {}) for t in finished(st.study)]
            st.close()
            per_min = a.trials / wall * 60
            rows.append({"date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
                         "executor": "local process pool" if ex == "local" else "Dask LocalCluster",
                         "workers": a.workers, "scale": settings["scale"], "replications": settings["replications"],
                         "settings_chosen_by_precision": settings.get("chosen", False),
                         "pilot_seconds": round(pilot, 1) if ex == "local" else "",
                         "packages": a.trials, "wall_seconds": round(wall, 1),
                         "seconds_per_package": ";".join(f"{b - a_:.0f}" for a_, b in zip([0.0] + stamps, stamps)),
                         "evaluations_per_minute": round(per_min, 3), "minutes_for_200": round(200 / per_min, 0),
                         "net_extra_first_package": round(outs[0]["net"]["mean"], 1) if outs and outs[0] else "",
                         "cost_first_package": round(outs[0]["cost"]["mean"], 0) if outs and outs[0] else "",
                         "load_before": load_before, "load_after": _load()})
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    df = pd.DataFrame(rows)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(a.out, index=False)
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
