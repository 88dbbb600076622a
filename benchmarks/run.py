"""Speed and memory of glw-sim, measured in one run (`make bench`).

(a) agent-months per second of glw-sim and of the one-mesa.Agent-per-resident
    reference (benchmarks/mesa_reference.py) on the same population, and their ratio;
(b) a full-scale (scale 1.0) ten-year monthly baseline: build and run wall time,
    agent-months per second and peak memory;
(c) how time and memory grow with population (0.01, 0.1, 1.0) and with months;
(d) interventions and matching on: scenarios/route-to-80.yaml at scale 1.0, ten years, one replication
    without per-programme attribution runs (the scenario and its common-random-numbers counterfactual).

Each configuration runs in its own process so its peak resident memory is its own.
Prints a table and writes benchmarks/out/benchmarks.csv, with CPU seconds (all threads) next to wall
time and the load average before each case: on a shared machine wall time depends on the other processes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


REPEATS = 3  # case (a): the reference runs this many times, fastest kept (other processes only ever slow a run)
GLW_REPEATS = 10  # and glw-sim (a run is a twentieth of a second: one burst of another process would decide it)


def measure(scale: float, months: int, reference: bool = False) -> dict:
    """Run one configuration in this process and return its timings (called in a child process). With
    ``reference``, the Mesa reference runs REPEATS times and glw-sim GLW_REPEATS times from the same population,
    and the fastest run of each is reported."""
    sys.path.insert(0, str(HERE))
    from glw_sim.model import GLWModel

    t0, c0 = time.perf_counter(), time.process_time()
    model = GLWModel(scale=scale, seed=1, collect_boroughs=False, migration="none" if reference else "balance",
                     cache_population=bool(reference))
    build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(model.population)
    out = {"scale": scale, "agents": n, "months": months, "build_s": round(build, 3), "build_cpu_s": round(build_cpu, 3)}

    def fresh():  # the same population, at the start again (reused from the synthesis cache)
        return GLWModel(scale=scale, seed=1, collect_boroughs=False, migration="none", cache_population=True)

    runs = []
    for j in range(GLW_REPEATS if reference else 1):
        m = model if j == 0 else fresh()
        t0, c0 = time.perf_counter(), time.process_time()
        m.run(months)
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    run, run_cpu = min(runs)
    out.update({"run_s": round(run, 3), "run_cpu_s": round(run_cpu, 3), "total_s": round(build + run, 3),
                "agent_months_per_s": round(n * months / run)})
    if reference:
        # after glw-sim: the reference's millions of Python objects would otherwise be collected during its runs
        from mesa_reference import ReferenceModel

        t_ref = float("inf")
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            ref = ReferenceModel(fresh(), seed=2)
            out["reference_build_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            for _ in range(months):
                ref.step()
            t_ref = min(t_ref, time.perf_counter() - t0)
            del ref
            gc.collect()
        out["reference_run_s"] = round(t_ref, 3)
        out["reference_agent_months_per_s"] = round(n * months / t_ref)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def measure_scenario(scale: float, months: int) -> dict:
    """route-to-80 with its counterfactual (two models: build and run), in this process."""
    from glw_sim import runner
    from glw_sim.scenario import load_scenario

    sc = load_scenario(HERE.parent / "scenarios" / "route-to-80.yaml",
                       {"population": {"scale": scale}, "horizon": {"months": months}, "replications": 1,
                        "outputs": {"attribution": False}})
    t0, c0 = time.perf_counter(), time.process_time()
    model = runner.simulate(sc, runner.replication_seeds(sc.population.seed, 1)[0])
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(model.population)
    return {"scale": scale, "agents": n, "months": months, "total_s": round(total, 3), "total_cpu_s": round(cpu, 3),
            "agent_months_per_s": round(2 * n * months / total),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def child(scale: float, months: int, reference: bool | str) -> dict:
    mode = "s" if reference == "scenario" else ("1" if reference else "0")
    cmd = [sys.executable, __file__, "--child", str(scale), str(months), mode]
    load = os.getloadavg()[0]  # other processes on the machine (timings are wall clock)
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1]) | {"load_average": round(load, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="skip the full-scale ten-year run")
    ap.add_argument("--only-reference", action="store_true", help="only case (a), the comparison with the reference")
    args = ap.parse_args()
    if args.child:
        if args.child[2] == "s":
            print(json.dumps(measure_scenario(float(args.child[0]), int(args.child[1]))))
        else:
            print(json.dumps(measure(float(args.child[0]), int(args.child[1]), args.child[2] == "1")))
        return
    import pandas as pd

    rows = []
    r = child(200_000 / 6_540_000, 12, True)
    r["case"] = "(a) glw-sim vs Mesa reference, 200k residents, 12 months"
    r["speedup_vs_reference"] = round(r["agent_months_per_s"] / r["reference_agent_months_per_s"], 1)
    rows.append(r)
    if args.only_reference:
        args.quick = True
    if not args.quick:
        r = child(1.0, 120, False)
        r["case"] = "(b) full scale, ten years"
        rows.append(r)
    for scale in () if args.only_reference else (0.01, 0.1) + (() if args.quick else (1.0,)):
        r = child(scale, 12, False)
        r["case"] = "(c) population scaling, 12 months"
        rows.append(r)
    for months in () if args.only_reference else (12, 60, 120):
        r = child(0.1, months, False)
        r["case"] = "(c) months scaling, scale 0.1"
        rows.append(r)
    if not args.quick:
        r = child(1.0, 120, "scenario")
        r["case"] = "(d) route-to-80 + counterfactual, full scale, ten years (2 models)"
        rows.append(r)
    df = pd.DataFrame(rows)
    cols = ["case", "scale", "agents", "months", "build_s", "run_s", "total_s", "agent_months_per_s", "peak_rss_mb",
            "reference_run_s", "reference_agent_months_per_s", "speedup_vs_reference", "build_cpu_s", "run_cpu_s",
            "total_cpu_s", "load_average"]
    df = df[[c for c in cols if c in df.columns]]
    out = HERE / "out" / "benchmarks.csv"
    out.parent.mkdir(exist_ok=True)
    df.to_csv(out, index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df.to_string(index=False))
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
