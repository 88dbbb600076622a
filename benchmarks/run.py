"""Speed and memory of glw-sim, measured in one run (`make bench`).

(a) agent-months per second of glw-sim and of the one-mesa.Agent-per-resident
    reference (benchmarks/mesa_reference.py) on the same population, and their ratio: glw-sim like for like
    (mesa_reference.LIKE_FOR_LIKE) and with everything it collects and matching on (columns full_*);
(b) a full-scale (scale 1.0) ten-year monthly baseline: build and run wall time,
    agent-months per second and peak memory;
(c) how time and memory grow with population (0.01, 0.1, 1.0) and with months;
(d) interventions and matching on: scenarios/route-to-80.yaml at scale 1.0, ten years, one replication:
    the scenario's model alone (one model, as the acceptance check is worded), and as `glw-sim run` runs it,
    with its common-random-numbers counterfactual (two models; no per-programme attribution runs).

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
GLW_REPEATS = 10  # glw-sim runs before each reference run (a run is a twentieth of a second: one burst of another
# process would decide it), so both sample the machine over the same minute: its speed drifts by 20-40% on a shared host


def measure(scale: float, months: int, reference: bool = False) -> dict:
    """Run one configuration in this process and return its timings (called in a child process).

    With ``reference``: glw-sim like for like with the Mesa reference (``mesa_reference.LIKE_FOR_LIKE``: no net
    migration, no matching, counts by borough, state and reason only; the reference computes London's employment
    rate) and glw-sim with everything it collects and matching on (still no net migration, which the reference
    lacks), alternating with the reference from the same population (GLW_REPEATS runs of each glw-sim
    configuration, then one of the reference, REPEATS times over); the fastest run of each is reported."""
    sys.path.insert(0, str(HERE))
    from glw_sim.model import GLWModel

    configs = {"": {"migration": "balance"}}
    if reference:
        from mesa_reference import LIKE_FOR_LIKE, ReferenceModel

        configs = {"": LIKE_FOR_LIKE, "full_": {"migration": "none"}}
    t0, c0 = time.perf_counter(), time.process_time()
    model = GLWModel(scale=scale, seed=1, collect_boroughs=False, cache_population=reference, **configs[""])
    build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(model.population)
    out = {"scale": scale, "agents": n, "months": months, "build_s": round(build, 3), "build_cpu_s": round(build_cpu, 3)}

    def fresh(config):  # the same population, at the start again (reused from the synthesis cache)
        return GLWModel(scale=scale, seed=1, collect_boroughs=False, cache_population=True, **configs[config])

    runs = {k: [] for k in configs}
    t_ref = float("inf")
    for r in range(REPEATS if reference else 1):
        for j in range(GLW_REPEATS if reference else 1):
            for k in configs:
                m = model if r == j == 0 and k == "" else fresh(k)
                t0, c0 = time.perf_counter(), time.process_time()
                m.run(months)
                runs[k].append((time.perf_counter() - t0, time.process_time() - c0))
        if reference:
            t0 = time.perf_counter()
            ref = ReferenceModel(fresh(""), seed=2)
            out["reference_build_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            for _ in range(months):
                ref.step()
            t_ref = min(t_ref, time.perf_counter() - t0)
            # the reference's millions of Python objects, collected now rather than during glw-sim's next runs
            del ref
            gc.collect()
    for k in configs:
        run, run_cpu = min(runs[k])
        out.update({f"{k}run_s": round(run, 3), f"{k}run_cpu_s": round(run_cpu, 3),
                    f"{k}agent_months_per_s": round(n * months / run)})
    out["total_s"] = round(build + out["run_s"], 3)
    if reference:
        out["reference_run_s"] = round(t_ref, 3)
        out["reference_agent_months_per_s"] = round(n * months / t_ref)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def measure_scenario(scale: float, months: int, counterfactual: bool) -> dict:
    """route-to-80 in this process: its model alone (build and run), or with its counterfactual as
    ``runner.simulate`` runs it (two models)."""
    from glw_sim import runner
    from glw_sim.scenario import load_scenario

    sc = load_scenario(HERE.parent / "scenarios" / "route-to-80.yaml",
                       {"population": {"scale": scale}, "horizon": {"months": months}, "replications": 1,
                        "outputs": {"attribution": False}})
    seed = runner.replication_seeds(sc.population.seed, 1)[0]
    t0, c0 = time.perf_counter(), time.process_time()
    if counterfactual:
        model = runner.simulate(sc, seed)
        build = float("nan")
    else:
        model = runner._model(sc, seed)
        build = time.perf_counter() - t0
        model.run(months)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(model.population)
    models = 2 if counterfactual else 1
    return {"scale": scale, "agents": n, "months": months, "build_s": round(build, 3),
            "run_s": round(total - build, 3), "total_s": round(total, 3), "total_cpu_s": round(cpu, 3),
            "agent_months_per_s": round(models * n * months / total),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def child(scale: float, months: int, reference: bool | str) -> dict:
    mode = {"scenario": "s", "scenario+counterfactual": "c"}.get(reference, "1" if reference else "0")
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
        if args.child[2] in ("s", "c"):
            print(json.dumps(measure_scenario(float(args.child[0]), int(args.child[1]), args.child[2] == "c")))
        else:
            print(json.dumps(measure(float(args.child[0]), int(args.child[1]), args.child[2] == "1")))
        return
    import pandas as pd

    rows = []
    r = child(200_000 / 6_540_000, 12, True)
    r["case"] = "(a) glw-sim vs Mesa reference, 200k residents, 12 months"
    r["speedup_vs_reference"] = round(r["agent_months_per_s"] / r["reference_agent_months_per_s"], 1)
    r["full_speedup_vs_reference"] = round(r["full_agent_months_per_s"] / r["reference_agent_months_per_s"], 1)
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
        r["case"] = "(d) route-to-80 (interventions, hubs, matching), full scale, ten years"
        rows.append(r)
        r = child(1.0, 120, "scenario+counterfactual")
        r["case"] = "(d) route-to-80 + its counterfactual, full scale, ten years (2 models, as glw-sim run)"
        rows.append(r)
    df = pd.DataFrame(rows)
    cols = ["case", "scale", "agents", "months", "build_s", "run_s", "total_s", "agent_months_per_s", "peak_rss_mb",
            "reference_run_s", "reference_agent_months_per_s", "speedup_vs_reference", "full_run_s",
            "full_agent_months_per_s", "full_speedup_vs_reference", "build_cpu_s", "run_cpu_s", "full_run_cpu_s",
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
