"""The hindcast from 2020: a dated trend in ill health (``health.trend``) against London's long-term-sickness
inactivity since 2020 (``calibration/targets/lts_inactivity_london.csv``; the validation report's section).

The model's population is drawn for June 2025, so a run placed at February 2020 starts at 2025's level of
long-term sickness. What the hindcast tests is the **rise**: the model's change since its first month, added to
the published 2020 level (the anchor), against each later published point, with the issue's band of +-0.3
points. The trend is fitted to the last point (``tools/fit_health_trend.py``), so only the points between are
checks it was not fitted to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim.months import months_between
from glw_sim.paths import targets_dir

#: the issue's band on each published year (percentage points)
BAND = 0.3
SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "hindcast-2020.yaml"


@dataclass(frozen=True)
class Point:
    period: str
    month: str  # YYYY-MM: the period's middle
    value: float  # % of 16-64s
    role: str  # anchor (the level the rise is added to) or check
    source: str


def published() -> list[Point]:
    df = pd.read_csv(targets_dir() / "lts_inactivity_london.csv", dtype=str)
    return [Point(r.period, r.month, float(r.value_pct), r.role, r.source) for r in df.itertuples()]


def simulate(scale: float = 0.02, replications: int = 3, seed: int = 20250601, trend=None) -> list:
    """``replications`` runs of the hindcast scenario (its trend unless ``trend``: a list of trend steps) from the
    anchor's month to the last published point's; returns the models."""
    from glw_sim.model import GLWModel
    from glw_sim.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    pts = published()
    start = next(p for p in pts if p.role == "anchor").month
    months = max(months_between(start, p.month) for p in pts)
    steps = sc.health.trend if trend is None else trend
    models = []
    for r in range(replications):
        m = GLWModel(scale=scale, seed=seed + r, start=start, health_process=True, health_trend=steps,
                     collect_groups=False, collect_boroughs=False)
        m.run(months)
        models.append(m)
    return models


def rise(models: list, month: str) -> np.ndarray:
    """Each model's change in long-term-sickness inactivity (percentage points of 16-64s) from its first month to
    ``month``."""
    k = months_between(models[0].start.isoformat()[:7], month)
    key = "inactivity_rate_long_term_sick"
    return np.array([100 * (m.records[k][key] - m.records[0][key]) for m in models])


def checks(models: list) -> list[dict]:
    """The validation report's rows (kind ``hindcast``), as the fields of :class:`glw_sim.validation.Check` but
    the model's: each published point after the anchor against the anchor plus each replication's rise
    (``values``; the report gives their mean and its 95% interval, simulation noise)."""
    pts = published()
    anchor = next(p for p in pts if p.role == "anchor")
    fitted_to = max(pts, key=lambda p: p.month).month
    return [{"check": f"Long-term-sickness inactivity, London, {p.period} (hindcast from {anchor.period})",
             "kind": "hindcast", "published": p.value, "low": p.value - BAND, "high": p.value + BAND,
             "values": anchor.value + rise(models, p.month), "unit": "% of 16-64",
             "source": f"{p.source}; model: {anchor.value}% ({anchor.period}, the anchor) plus its rise since "
                       f"{anchor.month} with the trend of scenarios/hindcast-2020.yaml; band +-{BAND} pp",
             "fitted": p.month == fitted_to}
            for p in pts if p.role != "anchor"]
