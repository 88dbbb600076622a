"""Write the results snapshots that guard refactors: ``python tests/snapshots/make.py``.

The shipped baseline and route-to-80 scenarios, and the baseline without the health process, at scale 0.01, two
replications (route-to-80 with its evidence draws and every leave-one-out run), 24 months. Each snapshot keeps the London-wide metrics in full precision
the whole tidy table, boroughs and groups included (``<name>.parquet``), and its SHA-256 (``hashes.json``).
``python tests/snapshots/make.py --check`` reruns them and says whether the bytes are the same (what a refactor
must keep); ``tests/test_snapshots.py`` reruns them and asks for every value to within 1e-12 relative (a change
of one resident's path moves a rate by ~1e-6 at this scale; 1e-12 leaves room only for the last bits of a
machine's own exp and log). A change that moves results must rewrite the snapshots in its own commit and say
why.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
#: name -> (scenario, its own overrides). ``baseline-no-health``: the baseline without the health process (health
#: changing only with age), whose bytes are those of the model before the process (issue 18) and must stay so
CASES = {"baseline": ("scenarios/baseline.yaml", {}), "route-to-80": ("scenarios/route-to-80.yaml", {}),
         "baseline-no-health": ("scenarios/baseline.yaml", {"health": {"process": False}})}
OVERRIDES = {"population": {"scale": 0.01}, "replications": 2, "horizon": {"months": 24}, "precision": None}


def table(name: str) -> pd.DataFrame:
    from glw_sim.runner import replicate, replication_seeds
    from glw_sim.scenario import load_scenario

    path, own = CASES[name]
    sc = load_scenario(ROOT / path, {**OVERRIDES, **own})
    parts, _ = replicate(sc, replication_seeds(sc.population.seed, sc.replications))
    return pd.concat(parts, ignore_index=True)


def digest(df: pd.DataFrame) -> str:
    text = df.to_csv(index=False, float_format="%.17g", lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def _close(got: pd.DataFrame, want: pd.DataFrame) -> bool:
    """The same rows, and every value within a relative 1e-12 of the snapshot's (tests/test_snapshots.py's rule)."""
    import numpy as np

    keys = ["replication", "month", "date", "area", "group", "metric"]
    if len(got) != len(want) or not got[keys].equals(want[keys]):
        return False
    a, b = got["value"].to_numpy(), want["value"].to_numpy()
    return bool(np.array_equal(np.isnan(a), np.isnan(b)) and (np.isnan(b) | np.isclose(a, b, rtol=1e-12, atol=0)).all())


def main() -> None:
    check = "--check" in sys.argv
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or list(CASES)
    path = HERE / "hashes.json"
    hashes = json.loads(path.read_text()) if path.exists() else {}
    same = True
    for name in names:
        df = table(name)
        h = digest(df)
        if check:
            ok = hashes.get(name) == h
            close = ok or _close(df, pd.read_parquet(HERE / f"{name}.parquet"))
            same &= close
            verdict = ("same bytes" if ok else "same to 1e-12 (the bytes differ in the last digits: another CPU's "
                       "floating-point sums, as tests/test_snapshots.py allows)" if close else
                       "DIFFERENT from the snapshot")
            print(f"{name}: {verdict} ({len(df)} rows)")
            continue
        hashes[name] = h
        df.to_parquet(HERE / f"{name}.parquet", index=False, compression="zstd")
        print(name, h, len(df))
    if check:
        sys.exit(0 if same else 1)
    path.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
