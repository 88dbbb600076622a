"""Full-scale baseline: build every working-age Londoner (scale 1.0) and run 12 months.

Measures wall time and peak memory (resident set) and writes a CSV row to
benchmarks/out/full_scale.csv. A benchmark, not a test: run `make bench`.
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from pathlib import Path

from glw_sim.model import GLWModel


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--months", type=int, default=12)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model = GLWModel(scale=args.scale, seed=1, collect_boroughs=False)
    t_build = time.perf_counter() - t0
    n = len(model.population)
    t1 = time.perf_counter()
    model.run(args.months)
    t_run = time.perf_counter() - t1
    row = {
        "scale": args.scale, "agents": n, "months": args.months,
        "build_seconds": round(t_build, 2), "run_seconds": round(t_run, 2),
        "agent_months_per_second": round(n * args.months / t_run),
        "peak_rss_mb": round(peak_rss_mb()),
        "employment_rate_month0": round(model.records[0]["employment_rate"], 4),
        "employment_rate_end": round(model.records[-1]["employment_rate"], 4),
    }
    out = Path(__file__).parent / "out" / "full_scale.csv"
    out.parent.mkdir(exist_ok=True)
    new = not out.exists()
    with out.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)
    for k, v in row.items():
        print(f"{k:>26}: {v}")


if __name__ == "__main__":
    main()
