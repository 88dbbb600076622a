"""Fit the hindcast's trend in ill health (``scenarios/hindcast-2020.yaml``): the one constant factor on onset from
the month after the anchor to December 2024 that takes the model's long-term-sickness inactivity from the
published 2020 level to the published 2024 level (glw_sim/hindcast.py; calibration/SOURCES.md, "Long-term
sickness since 2020").

    python tools/fit_health_trend.py [--scale 0.02] [--replications 3]

Bisection on the factor (the rise grows with it), at the hindcast's own scale, replications and seeds (common
random numbers across factors); writes the factor into the scenario file and prints each step."""

from __future__ import annotations

import argparse
import re

from glw_sim import hindcast
from glw_sim.months import add_months, parse_month


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--steps", type=int, default=7)
    a = ap.parse_args()
    pts = hindcast.published()
    anchor = next(p for p in pts if p.role == "anchor")
    last = max(pts, key=lambda p: p.month)
    want = last.value - anchor.value
    first = add_months(parse_month(anchor.month), 1).isoformat()[:7]  # the month after the anchor
    lo, hi = 1.0, 2.0
    for _ in range(a.steps):
        f = (lo + hi) / 2
        trend = [{"start": first, "end": "2024-12", "onset_factor": f}]
        got = hindcast.rise(hindcast.simulate(a.scale, a.replications, trend=trend), last.month).mean()
        print(f"factor {f:.4f}: rise {got:+.3f} pp by {last.month} (published {want:+.2f})", flush=True)
        lo, hi = (f, hi) if got < want else (lo, f)
    f = round((lo + hi) / 2, 3)
    text = hindcast.SCENARIO.read_text()
    text = re.sub(r"    - \{start: [0-9-]+, end: 2024-12, onset_factor: [0-9.]+\}.*",
                  f"    - {{start: {first}, end: 2024-12, onset_factor: {f}}}  # FITTED by tools/fit_health_trend.py "
                  f"(scale {a.scale}, {a.replications} replications)", text)
    hindcast.SCENARIO.write_text(text)
    print(f"onset factor {f} from {first} to 2024-12 -> {hindcast.SCENARIO}")


if __name__ == "__main__":
    main()
