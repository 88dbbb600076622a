"""The health process's cost: the full-scale ten-year baseline with and without it, alternating rounds in one
process (same machine state for both), wall and CPU seconds of building and of the run.

    python benchmarks/health_process.py [--scale 1.0] [--months 120] [--rounds 2] [--out FILE]

Writes one CSV row per round and setting (and prints them). A benchmark, not a test."""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

from glw_sim.model import GLWModel


def one(scale: float, months: int, process: bool) -> dict:
    c0, t0 = time.process_time(), time.perf_counter()
    m = GLWModel(scale=scale, seed=1, collect_boroughs=False, health_process=process)
    c1, t1 = time.process_time(), time.perf_counter()
    m.run(months)
    c2, t2 = time.process_time(), time.perf_counter()
    return {"health_process": process, "scale": scale, "months": months, "agents": len(m.population),
            "build_wall_s": round(t1 - t0, 2), "build_cpu_s": round(c1 - c0, 2), "run_wall_s": round(t2 - t1, 2), "run_cpu_s": round(c2 - c1, 2),
            "employment_rate_end": round(m.records[-1]["employment_rate"], 5),
            "load_1min": round(os.getloadavg()[0], 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    GLWModel(scale=0.001, seed=1, health_process=True).run(2)  # compile both paths first
    GLWModel(scale=0.001, seed=1).run(2)
    rows = []
    for r in range(a.rounds):
        for process in ((False, True) if r % 2 == 0 else (True, False)):
            row = {"round": r, **one(a.scale, a.months, process)}
            rows.append(row)
            print(row, flush=True)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        with a.out.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    sys.exit(0)


if __name__ == "__main__":
    main()
