"""Each replication's draw of the uncertain inputs, from their evidence.

``calibration/evidence/programmes.csv`` gives each programme type's employment effect and unit cost as a
central value, a range and a distribution, with its source; ``calibration/evidence/assumptions.csv`` does the
same for the key assumptions (scenario paths such as ``labour_demand.matching_elasticity``). A replication
draws every input that its scenario leaves at the default (a value the scenario sets is the user's and stays
fixed) from a generator keyed on the replication's seed, so the scenario, its counterfactual and its
leave-one-out runs share the draw. A drawn effect becomes the programme's into-work multiplier by piecewise-
linear interpolation through the multipliers fitted at the evidence's low, central and high effect
(``calibration/fitted/programmes.json``, ``range``); without fitted end points, linearly through no effect
(multiplier 1) and the central fit.

Unit costs are not drawn into the simulation: spending is proportional to a programme's unit cost, so its
evidence is added exactly, as a known loading (:func:`cost_relative_sd`, which the results take up).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim.dotted import get_path, set_path
from glw_sim.labels import programme_label
from glw_sim.paths import calibration_dir

#: key assumptions in words (for the drivers of an interval)
ASSUMPTION_LABELS = {"labour_demand.matching_elasticity": "matching elasticity",
                     "labour_demand.vacancy_response": "employers' vacancy response (displacement)",
                     "labour_demand.job_finding_cap": "most matching raises job-finding (tight market)"}

#: key of the evidence draws' generator (with the replication's seed): apart from every other stream
EVIDENCE_KEY = 0x65766964  # "evid"

@dataclass(frozen=True)
class Distribution:
    central: float
    low: float
    high: float
    kind: str  # "triangular" (mode = central) or "uniform"
    source: str = ""

    def __post_init__(self):
        if not self.low <= self.central <= self.high or self.low == self.high:
            raise ValueError(f"expected low <= central <= high with low < high, got {self.low}, {self.central}, "
                             f"{self.high}")
        if self.kind not in ("triangular", "uniform"):
            raise ValueError(f"unknown distribution {self.kind!r}; expected triangular or uniform")

    @property
    def mean(self) -> float:
        a, c, b = self.low, self.central, self.high
        return (a + b + c) / 3 if self.kind == "triangular" else (a + b) / 2

    @property
    def sd(self) -> float:
        a, c, b = self.low, self.central, self.high
        if self.kind == "triangular":
            return float(np.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18))
        return (b - a) / np.sqrt(12)

    def quantile(self, u: np.ndarray | float) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        a, c, b = self.low, self.central, self.high
        if self.kind == "uniform":
            return a + u * (b - a)
        f = (c - a) / (b - a)
        return np.where(u < f, a + np.sqrt(u * (b - a) * (c - a)), b - np.sqrt((1 - u) * (b - a) * (b - c)))


def evidence_dir() -> Path:
    return calibration_dir() / "evidence"


def programme_evidence() -> dict[tuple[str, str], Distribution]:
    """(type, parameter) -> distribution, parameter one of effect, cost_per_start, cost_per_resident_month
    (``calibration/evidence/programmes.csv``, read by :mod:`glw_sim.interventions.evidence`)."""
    from glw_sim.interventions.evidence import evidence_path, load_evidence

    if not evidence_path().exists():
        return {}
    return {(str(r["type"]), str(r["parameter"])): Distribution(float(r["central"]), float(r["low"]),
                                                                float(r["high"]), str(r["distribution"]),
                                                                str(r["source"]))
            for _, r in load_evidence().iterrows()}


@lru_cache(maxsize=4)
def _assumption_evidence(path: str, mtime: int) -> dict:
    df = pd.read_csv(path)
    return {str(r["input"]): Distribution(float(r["central"]), float(r["low"]), float(r["high"]),
                                          str(r["distribution"]), str(r["source"])) for _, r in df.iterrows()}


def assumption_evidence() -> dict[str, Distribution]:
    """Scenario path (e.g. ``labour_demand.matching_elasticity``) -> distribution
    (``calibration/evidence/assumptions.csv``)."""
    path = evidence_dir() / "assumptions.csv"
    return _assumption_evidence(str(path), path.stat().st_mtime_ns) if path.exists() else {}


def _fitted_points(kind: str) -> list[tuple[float, float]]:
    """(effect, value of the type's fitted parameter) at its fitted low, central and high effect."""
    from glw_sim.interventions.fit import parameter_of

    path = calibration_dir() / "fitted" / "programmes.json"
    if not path.exists():
        return []
    rec = json.loads(path.read_text()).get(kind)
    param = parameter_of(kind)
    if not rec or "target_effect" not in rec or param not in rec:
        return []
    pts = [(float(rec["target_effect"]), float(rec[param]))]
    for end in ("low", "high"):
        r = (rec.get("range") or {}).get(end)
        if r and param in r:
            pts.append((float(r["effect"]), float(r[param])))
    return sorted(pts)


def effect_fields(kind: str, effect: float) -> dict[tuple[str, str], float]:
    """The spec fields that give a programme of type ``kind`` the employment effect ``effect``: its fitted
    parameter (the into-work multiplier, or adult skills' chance of gaining a qualification) interpolated
    piecewise-linearly through the fitted points (extrapolated from the end segments; without fitted end points,
    linearly through no effect and the central fit)."""
    from glw_sim.interventions.fit import parameter_of, setting

    pts = _fitted_points(kind)
    if not pts:
        return {}
    if len(pts) == 1 and parameter_of(kind) == "into_work" and pts[0][0] > 0:
        pts = [(0.0, 1.0), pts[0]]
    xs = np.array([p[0] for p in pts])
    ys = np.array([p[1] for p in pts])
    if len(xs) == 1:
        v = float(ys[0])
    else:
        i = int(np.clip(np.searchsorted(xs, effect) - 1, 0, len(xs) - 2))
        v = float(ys[i] + (ys[i + 1] - ys[i]) * (effect - xs[i]) / (xs[i + 1] - xs[i]))
    v = min(max(v, 0.0), 1.0) if parameter_of(kind) == "achieve" else max(v, 0.0)
    return {(block, name): float(x) for block, fields in setting(kind, v).items() for name, x in fields.items()}


@dataclass(frozen=True)
class Draw:
    """One replication's draw: the scenario to simulate, and each drawn input's value and standardised value."""

    scenario: object  # glw_sim.scenario.Scenario
    values: dict[str, float]
    z: dict[str, float]


def drawn_inputs(scenario) -> list[tuple[str, str, Distribution]]:
    """The inputs a replication of ``scenario`` draws: (name, what, distribution), in a fixed order. Programme
    effects of programmes whose effect the scenario leaves at its type's default, and the key assumptions the
    scenario leaves at their defaults; none when ``uncertainty.evidence`` is off (or, for ``auto``, when the
    scenario has no programme or lever)."""
    from glw_sim.interventions.base import DEFAULTS
    from glw_sim.scenario import Scenario

    mode = scenario.uncertainty.evidence
    levers = bool(scenario.interventions or scenario.employability or scenario.levers)
    if mode == "off" or (mode == "auto" and not levers):
        return []
    from glw_sim.interventions.fit import default_value, parameter_of

    out = []
    prog = programme_evidence()
    for i, p in enumerate(scenario.interventions):
        d = prog.get((p.type, "effect"))
        if d is None or p.type not in DEFAULTS or not effect_fields(p.type, d.central):
            continue
        value = (p.skills.achieve if p.skills is not None else None) if parameter_of(p.type) == "achieve" \
            else p.effect.into_work
        if value == default_value(p.type):  # left at the evidence's central fit: drawn
            out.append((f"interventions.{i}.effect", f"{programme_label(p.label)} effect", d))
    defaults = Scenario(name="x").model_dump()
    data = scenario.model_dump()
    for path, d in assumption_evidence().items():
        try:
            if get_path(data, path) != get_path(defaults, path):
                continue  # set by the scenario: the user's value stays
        except (KeyError, IndexError, TypeError):
            continue
        out.append((path, f"{ASSUMPTION_LABELS.get(path, path)} ({path})", d))
    return out


def draw(scenario, seed: int) -> Draw:
    """The replication's draw (keyed on its ``seed``): the scenario with every drawn input set."""
    from glw_sim.scenario import Scenario

    inputs = drawn_inputs(scenario)
    if not inputs:
        return Draw(scenario, {}, {})
    rng = np.random.default_rng(np.random.SeedSequence([seed, EVIDENCE_KEY]))
    u = rng.random(len(inputs))
    data = scenario.model_dump(mode="json")
    values, z = {}, {}
    for (name, _, d), ui in zip(inputs, u):
        v = float(d.quantile(ui))
        values[name], z[name] = v, (v - d.mean) / d.sd
        parts = name.split(".")
        if parts[0] == "interventions":
            i = int(parts[1])
            for (block, field), x in effect_fields(scenario.interventions[i].type, v).items():
                set_path(data, f"interventions.{i}.{block}.{field}", x)
        else:
            set_path(data, name, v)
    return Draw(Scenario.model_validate(data), values, z)


def labels(scenario) -> dict[str, str]:
    """Drawn input name -> what it is, in words."""
    return {name: what for name, what, _ in drawn_inputs(scenario)}


def cost_relative_sd(spec) -> float:
    """Relative standard deviation of a programme's unit cost from its evidence (0 when the scenario sets the
    cost, or there is no evidence): spending's evidence is this times its spending."""
    from glw_sim.interventions.base import DEFAULTS

    prog = programme_evidence()
    per_resident = getattr(getattr(spec, "place", None), "cost_per_resident_month", None)
    param, value = (("cost_per_resident_month", per_resident) if per_resident else ("cost_per_start", spec.cost_per_start))
    d = prog.get((spec.type, param))
    default = (DEFAULTS.get(spec.type, {}).get("place", {}) if param == "cost_per_resident_month"
               else DEFAULTS.get(spec.type, {})).get(param)
    if d is None or default is None or value != default or value <= 0:
        return 0.0
    return d.sd / value
