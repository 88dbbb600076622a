"""Time of each monthly pass: ``python benchmarks/passes.py [SCALE] [MONTHS] [--health]`` (default 1.0, 24; with
``--health``: the health process on, and its pass timed).

Wraps the engine's passes (month, expected moves, birthdays, net migration) with timers, runs the baseline, and
prints each pass's total wall time. Run it from two checkouts one after the other to compare them pass by pass.
"""

from __future__ import annotations

import collections
import sys
import time

from glw_sim.engine import demography, health, matching, month
from glw_sim.model import GLWModel

TIMES: collections.Counter = collections.Counter()


def timed(mod, name: str, label: str) -> None:
    f = getattr(mod, name)

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        out = f(*args, **kwargs)
        TIMES[label] += time.perf_counter() - t
        return out

    setattr(mod, name, wrapper)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    scale = float(args[0]) if args else 1.0
    months = int(args[1]) if len(args) > 1 else 24
    for mod, name, label in ((month, "month_pass", "month"), (matching, "expected_moves", "expected moves"),
                             (demography, "birthdays", "birthdays"), (demography, "scale_weights", "net migration"),
                             (health, "health_pass", "health")):
        timed(mod, name, label)
    model = GLWModel(scale=scale, seed=1, collect_boroughs=False, health_process="--health" in sys.argv)
    TIMES.clear()
    t0 = time.perf_counter()
    model.run(months)
    total = time.perf_counter() - t0
    for label, t in TIMES.items():
        print(f"{label:>16}: {t:.3f} s")
    print(f"{'other':>16}: {total - sum(TIMES.values()):.3f} s\n{'total':>16}: {total:.3f} s")


if __name__ == "__main__":
    main()
