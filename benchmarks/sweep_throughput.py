"""Sweep throughput: runs per second on this machine at scale 0.01, local process pool vs Dask LocalCluster.

A benchmark, not a test. Runs a small Sobol sweep of the baseline (scale 0.01, 12 months) twice, once per
executor, each into a fresh folder, and prints runs/s and the Dask overhead. Writes benchmarks/out/sweeps.csv.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from glw_sim.sensitivity import run_sweep

ROOT = Path(__file__).resolve().parent.parent

SWEEP = """
name: throughput
scenario: {scenario}
method: sobol
samples: 32
seed: 1
scale: 0.01
months: 12
inputs:
  - {{path: labour_demand.growth_per_year, bounds: [-0.02, 0.03]}}
  - {{path: labour_demand.matching_elasticity, bounds: [0.4, 0.7]}}
  - {{path: assumptions.exit_mult_long_term_sick, bounds: [0.2, 0.6]}}
  - {{path: assumptions.duration_ratio_24m, bounds: [0.2, 0.5]}}
outputs:
  - {{metric: employment_rate}}
"""


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    try:
        sweep = tmp / "throughput.yaml"
        sweep.write_text(SWEEP.format(scenario=ROOT / "scenarios" / "baseline.yaml"))
        runs = 32 * (4 + 2)
        rows = []
        for label, scheduler in (("local process pool", None), ("dask LocalCluster", "local")):
            t0 = time.perf_counter()
            run_sweep(sweep, out_dir=tmp / label.replace(" ", "_"), scheduler=scheduler, workers=2)
            dt = time.perf_counter() - t0
            rows.append({"executor": label, "runs": runs, "seconds": round(dt, 2), "runs_per_second": round(runs / dt, 2)})
        df = pd.DataFrame(rows)
        df["overhead_vs_pool"] = (df["seconds"] / df["seconds"].iloc[0] - 1).round(3)
        out = Path(__file__).parent / "out" / "sweeps.csv"
        out.parent.mkdir(exist_ok=True)
        df.to_csv(out, index=False)
        print(df.to_string(index=False))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
