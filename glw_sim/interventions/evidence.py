"""Programme evidence: each built-in type's effect and costs with their ranges
(``calibration/evidence/programmes.csv``).

One row per type and parameter: ``effect`` (participants' employment gain at the follow-up named in ``unit``,
as a proportion: 0.02 = +2 percentage points), ``cost_per_start`` (GBP) and, for JobsPlus,
``cost_per_resident_month``; each with a ``central`` value, a ``low``-``high`` range, a ``distribution``
(``triangular`` with mode = central, or ``uniform``) and its ``source``. The file is the one home of the
programmes' target effects: the fit (:mod:`glw_sim.interventions.fit`) reads them from here.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from glw_sim.paths import calibration_dir

COLUMNS = ["type", "parameter", "central", "low", "high", "distribution", "unit", "source"]
DISTRIBUTIONS = ("triangular", "uniform")


def evidence_path() -> Path:
    return calibration_dir() / "evidence" / "programmes.csv"


@lru_cache(maxsize=4)
def _load(path: str, mtime: int) -> pd.DataFrame:
    df = pd.read_csv(path)
    if list(df.columns) != COLUMNS:
        raise ValueError(f"{path}: columns must be {','.join(COLUMNS)}, got {','.join(df.columns)}")
    bad = df[~((df["low"] <= df["central"]) & (df["central"] <= df["high"]))]
    if len(bad):
        raise ValueError(f"{path}: central outside low-high for {', '.join(bad['type'] + '.' + bad['parameter'])}")
    odd = set(df["distribution"]) - set(DISTRIBUTIONS)
    if odd:
        raise ValueError(f"{path}: unknown distribution(s) {sorted(odd)}; expected {DISTRIBUTIONS}")
    return df


def load_evidence(path: Path | None = None) -> pd.DataFrame:
    """The evidence table (validated: its columns, central within low-high, known distributions)."""
    p = Path(path) if path else evidence_path()
    return _load(str(p), p.stat().st_mtime_ns).copy()


def evidence_row(kind: str, parameter: str, path: Path | None = None) -> dict:
    df = load_evidence(path)
    rows = df[(df["type"] == kind) & (df["parameter"] == parameter)]
    if len(rows) != 1:
        raise KeyError(f"no single evidence row for {kind}.{parameter}")
    return rows.iloc[0].to_dict()


def follow_up_months(unit: str) -> int:
    """Months of an effect's follow-up, from its unit ("proportion points at 12 months")."""
    m = re.search(r"at (\d+) months", unit)
    if not m:
        raise ValueError(f"effect unit {unit!r} does not name its follow-up ('... at N months')")
    return int(m.group(1))


def effect_targets(path: Path | None = None) -> dict[str, dict]:
    """Per type: {"low", "central", "high", "follow_up", "source"} of its employment effect."""
    df = load_evidence(path)
    out = {}
    for _, r in df[df["parameter"] == "effect"].iterrows():
        out[r["type"]] = {"low": float(r["low"]), "central": float(r["central"]), "high": float(r["high"]),
                          "follow_up": follow_up_months(r["unit"]), "source": r["source"]}
    return out
