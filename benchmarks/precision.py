"""The precision acceptance: a scenario at its stated precision with two different seeds.

Runs the scenario (default scenarios/health-package-2030.yaml: WorkWell pan-London and Connect to Work doubled,
to June 2030) once per seed at the precision its file states, timing each run, and checks what a director
needs of it: every part's contribution has the same sign in both runs and lies within the other run's 95%
interval, and each run's noise half-widths meet the stated precision. Writes one row per run and part to
benchmarks/out/precision.csv. A benchmark (minutes), not a test.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from glw_sim.precision import target_half_width
from glw_sim.results import load_results
from glw_sim.pipeline import run_scenario
from glw_sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "health-package-2030.yaml"))
    ap.add_argument("--seeds", type=int, nargs=2, default=[20250601, 777])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--results", default="/tmp/glw-precision")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "precision.csv"))
    args = ap.parse_args()
    runs = []
    for seed in args.seeds:
        sc = load_scenario(args.scenario, {"population": {"seed": seed}})
        t0 = time.perf_counter()
        res = load_results(run_scenario(sc, Path(args.results), workers=args.workers, charts=False).folder)
        runs.append((seed, time.perf_counter() - t0, res))
    rows = []
    ok = True
    for i, (seed, seconds, res) in enumerate(runs):
        other = runs[1 - i][2]
        prec = res.manifest["precision"]
        spec = load_scenario(args.scenario).precision
        for name, f in res.figures().items():
            g = other.figures()[name]
            same_sign = (f.estimate > 0) == (g.estimate > 0)
            inside = g.low <= f.estimate <= g.high
            meets = f.noise_half_width <= target_half_width(f.estimate, spec)
            ok &= same_sign and inside and meets
            rows.append({"seed": seed, "seconds": round(seconds, 1), "scale": prec["chosen_scale"],
                         "replications": prec["chosen_replications"], "figure": name,
                         "estimate": round(f.estimate, 1), "low_95": round(f.low, 1), "high_95": round(f.high, 1),
                         "noise_half_width": round(f.noise_half_width, 1),
                         "evidence_half_width": round(f.evidence_half_width, 1),
                         "target_half_width": round(target_half_width(f.estimate, spec), 1),
                         "meets_precision": meets, "same_sign_as_other": same_sign,
                         "inside_other_interval": inside, "run": res.run_id})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(r)
    print("acceptance", "met" if ok else "NOT met", f"; runs took {', '.join(f'{s:.0f} s' for _, s, _ in runs)}")


if __name__ == "__main__":
    main()
