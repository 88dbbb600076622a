"""The health process's cost against the code before it: the full-scale ten-year baseline of other checkouts
(without the health process: the code before the issue) and of this one (with it, and without), alternating, each
run in its own process, so all sample the machine over the same minutes.

    python benchmarks/health_vs_before.py --tree pre=/tmp/pre:off --tree old=/tmp/hold:on --tree this=.:on \\
        [--rounds 2] [--scale 1.0] [--months 120] [--out FILE]

``--tree NAME=DIR:on|off``: a checkout (its kernels compiled first: run any small model in it) and whether its run
has ``health_process=True`` (a checkout from before the health process takes only ``off``). Per run: build and run
wall and CPU seconds, peak memory, the load at the start, the employment rate at the end. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys, time
from glw_sim.model import GLWModel
scale, months, on = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "on"
try:  # a checkout with the health process takes the option (on by default since issue 18); one before it, none
    m = GLWModel(scale=0.001, seed=1, health_process=on)
    kw = {"health_process": on}
except TypeError:
    kw = {}
c0, t0 = time.process_time(), time.perf_counter()
m = GLWModel(scale=scale, seed=1, collect_boroughs=False, **kw)
c1, t1 = time.process_time(), time.perf_counter()
m.run(months)
c2, t2 = time.process_time(), time.perf_counter()
print(json.dumps({"agents": len(m.population), "build_s": round(t1 - t0, 2), "build_cpu_s": round(c1 - c0, 2),
                  "run_s": round(t2 - t1, 2), "run_cpu_s": round(c2 - c1, 2), "total_s": round(t2 - t0, 2),
                  "employment_rate_end": round(m.records[-1]["employment_rate"], 5),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tree", action="append", required=True, help="NAME=DIR:on|off")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "health_vs_before.csv")
    a = ap.parse_args()
    trees = []
    for t in a.tree:
        name, rest = t.split("=", 1)
        folder, health = rest.rsplit(":", 1)
        trees.append((name, Path(folder).resolve(), health))
    rows = []
    for r in range(a.rounds):
        for name, folder, health in (trees if r % 2 == 0 else trees[::-1]):
            load = os.getloadavg()[0]
            out = subprocess.run([sys.executable, "-c", CHILD, str(a.scale), str(a.months), health],
                                 env={**os.environ, "PYTHONPATH": str(folder)}, cwd=folder, capture_output=True,
                                 text=True, check=True)
            row = {"round": r, "tree": name, "health_process": health, "load_1min": round(load, 2),
                   **json.loads(out.stdout.strip().splitlines()[-1])}
            rows.append(row)
            print(row, flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with a.out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(summary(rows, trees[0][0]))


def summary(rows: list[dict], reference: str) -> str:
    """Each tree's total time against the ``reference`` tree's in the same round (runs minutes apart see the same
    machine): the median of the rounds' ratios and their range. On a machine whose timings move by a third from
    run to run, the paired ratios' median is the figure to quote, with the range beside it."""
    import statistics

    by_round: dict = {}
    for r in rows:
        by_round.setdefault(r["round"], {})[r["tree"]] = float(r["total_s"])
    lines = []
    for name in dict.fromkeys(r["tree"] for r in rows):
        if name == reference:
            continue
        ratios = sorted(v[name] / v[reference] for v in by_round.values() if name in v and reference in v)
        if ratios:
            lines.append(f"{name} against {reference}: median {statistics.median(ratios) - 1:+.1%} "
                         f"(rounds {ratios[0] - 1:+.1%} to {ratios[-1] - 1:+.1%}, {len(ratios)} rounds)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
