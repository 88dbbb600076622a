"""Route to 80's effect on the plan's second target: ``python tools/second_target.py [scale] [replications]``.

Runs scenarios/route-to-80.yaml to June 2035 with ``outputs.income`` on (no attribution runs), writes the London
second-target series and net extra residents in work to ``/tmp/r80_income_<scale>_<replications>.csv`` and prints
them by replication in June 2025, 2030 and 2035 (the README's figures: scale 0.01, 4 replications).
"""
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from glw_sim.runner import replicate, replication_seeds  # noqa: E402
from glw_sim.scenario import load_scenario  # noqa: E402

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 4
sc = load_scenario(str(Path(__file__).resolve().parents[1] / "scenarios" / "route-to-80.yaml"),
                   {"population": {"scale": scale}, "replications": reps, "horizon": {"start": "2025-06", "months": 120},
                    "precision": None, "outputs": {"income": True, "attribution": False}})
t = time.time()
parts, _ = replicate(sc, replication_seeds(sc.population.seed, sc.replications))
df = pd.concat(parts, ignore_index=True)
df = df[(df.area == "London") & (df.group == "all") & df.metric.str.startswith(("income.", "net_extra_employed", "employment_rate"))]
df.to_csv(f"/tmp/r80_income_{scale}_{reps}.csv", index=False)
print("seconds", round(time.time() - t))
piv = df.pivot_table(index=["metric", "date"], columns="replication", values="value")
sel = piv[piv.index.get_level_values("date").isin(["2025-06", "2030-06", "2035-06"])]
print(sel.to_string())
