"""What pay, hours and the second target cost a run: the no-change baseline with and without ``income=True``.

    python benchmarks/income_cost.py [--scale 1.0] [--months 120] [--rounds 2] [--out FILE] [--before DIR]

Each round runs the baseline without income, then with it, each in its own process (so peak memory is each
run's own), so both sample the machine over the same minutes. Per run: build and run wall and CPU seconds, peak
resident memory, the load average at the start, and the employment rate at the end (the same with and without:
income changes no labour-market result). Issue 21 asks the full-scale ten-year baseline to be no more than 15%
slower with it. Compile the kernels first (any small run of this checkout). ``--before DIR``: each round also runs
the with-income baseline of another checkout (``DIR``, its own code on ``PYTHONPATH``; its kernels compiled
first), between this checkout's two runs, so that before and after a change share the machine's minutes (rows'
``tree``: ``this`` or ``before``).

The machine's speed moves by more than income's cost between runs minutes apart (the same run without income
took 23-29 s in one session), so each with-income run also times, in process, the seconds it spends in the pay
run's own code (``income_s``: :class:`glw_sim.incomemetric.PayRun`'s set-up, records and monthly step; the rest of
the run is the same code as without income, with the same results); ``income_s / (total_s - income_s)`` is the
cost attributed to income in that run, a figure that does not depend on another run's minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def _timed(cls, name: str, spent: list) -> None:
    """Wrap ``cls.name`` so that its wall seconds add to ``spent[0]`` (in-process attribution)."""
    f = getattr(cls, name)

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t

    setattr(cls, name, timed)


def run_child(scale: float, months: int, income: bool) -> dict:
    from glw_sim.model import GLWModel

    spent = [0.0]  # wall seconds inside the pay run: its set-up and its records (each reported year's jobs,
    # pay figures and second target; nothing else of the run is income's), where it exists
    try:
        from glw_sim.incomemetric import PayRun

        for name in ("__init__", "records", "month"):
            _timed(PayRun, name, spent)
    except ImportError:  # (a checkout from before pay)
        pass
    t0, c0 = time.perf_counter(), time.process_time()
    m = GLWModel(scale=scale, seed=1, collect_boroughs=False, income=income)
    t1, c1 = time.perf_counter(), time.process_time()
    m.run(months)
    t2, c2 = time.perf_counter(), time.process_time()
    return {"scale": scale, "agents": len(m.population), "months": months, "income": income,
            "build_s": round(t1 - t0, 3), "build_cpu_s": round(c1 - c0, 3), "run_s": round(t2 - t1, 3),
            "run_cpu_s": round(c2 - c1, 3), "total_s": round(t2 - t0, 3),
            "income_s": round(spent[0], 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "employment_rate_end": m.records[-1]["employment_rate"],
            "bottom_fifth_mean_ahc_real_end": m.records[-1].get("income.bottom_fifth_mean_ahc_real", float("nan"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "income_cost.csv")
    ap.add_argument("--child", choices=["with", "without"])
    ap.add_argument("--before", type=Path, help="another checkout whose with-income run each round also times")
    ap.add_argument("--before-commit", default="", help="the commit --before holds (for the rows)")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_child(a.scale, a.months, a.child == "with")))
        return
    commit = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    rows = []
    runs = [("this", "without"), ("this", "with")]
    if a.before:
        runs.insert(1, ("before", "with"))
    for r in range(a.rounds):
        for tree, which in runs:
            load = os.getloadavg()[0]
            started = time.strftime("%H:%M:%S", time.gmtime())
            root = a.before.resolve() if tree == "before" else Path(__file__).resolve().parent.parent
            env = {**os.environ, "PYTHONPATH": str(root)}
            out = subprocess.run([sys.executable, str(root / "benchmarks" / "income_cost.py"), "--child", which,
                                  "--scale", str(a.scale), "--months", str(a.months)], capture_output=True, text=True,
                                 check=True, env=env, cwd=root)
            row = {"round": r + 1, "tree": tree, "commit": commit if tree == "this" else a.before_commit, "started_utc": started, "load_average": round(load, 2),
                   **json.loads(out.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    a.out.parent.mkdir(exist_ok=True)
    with a.out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"written: {a.out}")
    for r in range(1, a.rounds + 1):
        got = {(x["tree"], x["income"]): x for x in rows if x["round"] == r}
        base = got[("this", False)]["total_s"]
        parts = [f"round {r}: without {base:.1f} s"]
        for tree in ("before", "this"):
            x = got.get((tree, True))
            if x:
                spent = x.get("income_s")  # (a checkout from before the attribution has none)
                parts.append(f"{tree} with {x['total_s']:.1f} s ({100 * (x['total_s'] / base - 1):+.1f}% paired"
                             + (f", {100 * spent / (x['total_s'] - spent):.1f}% attributed)" if spent else ")"))
        print("; ".join(parts))


if __name__ == "__main__":
    main()
