"""Speed of two checkouts side by side: case (a) and case (b) of run.py, alternating, each run in its own process.

    python benchmarks/compare_checkouts.py BEFORE_DIR AFTER_DIR [--rounds 2] [--out FILE]

Each round runs (b) the full-scale ten-year baseline and (a) glw-sim against the Mesa reference (200k residents,
12 months) for the first checkout, then for the second, so both sample the machine over the same minutes. Both
checkouts must have compiled their kernels already (run any small model in each first). Writes one CSV row per run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CASES = {"(a) vs Mesa reference, 200k residents, 12 months": ("0.03058103975535168", "12", "1"),
         "(b) full scale, ten years": ("1.0", "120", "0")}


def child(checkout: Path, args: tuple[str, str, str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, str(checkout / "benchmarks" / "run.py"), "--child", *args], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "compare_checkouts.csv")
    a = ap.parse_args()
    rows = []
    for r in range(a.rounds):
        for case, args in CASES.items():
            for label, checkout in (("before", a.before), ("after", a.after)):
                load = os.getloadavg()[0]
                row = {"round": r + 1, "code": label, "commit": subprocess.run(
                    ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                    text=True).stdout.strip(), "case": case, "started_utc": time.strftime("%H:%M:%S", time.gmtime()),
                    "load_average": round(load, 2), **child(checkout, args)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    a.out.parent.mkdir(exist_ok=True)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with a.out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print(f"written: {a.out}")


if __name__ == "__main__":
    main()
