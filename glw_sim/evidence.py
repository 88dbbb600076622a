"""The evidence behind a run's uncertain inputs, and each replication's draw of them.

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
evidence is added exactly, as a known loading (:func:`cost_loadings`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim.paths import calibration_dir

#: key of the evidence draws' generator (with the replication's seed): apart from every other stream
EVIDENCE_KEY = 0x65766964  # "evid"

COLUMNS = ["central", "low", "high", "distribution"]


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


def _read(path: Path, key: list[str]) -> dict:
    if not path.exists():
        return {}
    df = pd.read_csv(path)
    out = {}
    for _, r in df.iterrows():
        k = tuple(str(r[c]) for c in key)
        out[k if len(k) > 1 else k[0]] = Distribution(float(r["central"]), float(r["low"]), float(r["high"]),
                                                      str(r["distribution"]), str(r.get("source", "")))
    return out


@lru_cache(maxsize=4)
def _programme_evidence(folder: str) -> dict:
    return _read(Path(folder) / "programmes.csv", ["type", "parameter"])


@lru_cache(maxsize=4)
def _assumption_evidence(folder: str) -> dict:
    return _read(Path(folder) / "assumptions.csv", ["input"])


def programme_evidence() -> dict[tuple[str, str], Distribution]:
    """(type, parameter) -> distribution, parameter one of effect, cost_per_start, cost_per_resident_month."""
    return _programme_evidence(str(evidence_dir()))


def assumption_evidence() -> dict[str, Distribution]:
    """Scenario path (e.g. ``labour_demand.matching_elasticity``) -> distribution."""
    return _assumption_evidence(str(evidence_dir()))


def _fitted_points(kind: str) -> list[tuple[float, dict[str, float]]]:
    """(effect, {field: value}) points of a type's fitted effect: low, central, high where fitted."""
    path = calibration_dir() / "fitted" / "programmes.json"
    if not path.exists():
        return []
    from glw_sim.interventions.fit import NOT_FITTED

    rec = json.loads(path.read_text()).get(kind)
    if not rec or "target_effect" not in rec:
        return []
    central = {k: float(v) for k, v in (rec.get("central") or {}).items() if k != "effect"}
    if kind not in NOT_FITTED:
        central.setdefault("into_work", float(rec["into_work"]))
    if not central:
        return []  # an effect from the mechanism, with no fitted parameter to draw
    pts = [(float(rec["target_effect"]), central)]
    for end in ("low", "high"):
        r = (rec.get("range") or {}).get(end)
        if r:
            pts.append((float(r["effect"]), {k: float(v) for k, v in r.items() if k != "effect"}))
    return sorted(pts, key=lambda p: p[0])


#: where a fitted field lives in a programme's spec
FIELD_PATHS = {"into_work": ("effect", "into_work"), "into_search": ("effect", "into_search"),
               "achieve": ("skills", "achieve")}


def effect_fields(kind: str, effect: float) -> dict[tuple[str, str], float]:
    """The spec fields that give a programme of type ``kind`` the employment effect ``effect``."""
    from glw_sim.interventions.fit import TIED

    pts = _fitted_points(kind)
    if not pts:
        return {}
    if len(pts) == 1:  # no fitted end points: linear through no effect (multiplier 1) and the central fit
        e0, f0 = pts[0]
        pts = [(0.0, {k: 1.0 for k in f0}), pts[0]] if e0 > 0 else pts
    fields = sorted(set.intersection(*(set(f) for _, f in pts)))
    xs = np.array([p[0] for p in pts])
    out = {}
    for name in fields:
        ys = np.array([p[1][name] for p in pts])
        if len(xs) == 1:
            v = ys[0]
        else:  # piecewise linear, extrapolated from the end segments
            i = int(np.clip(np.searchsorted(xs, effect) - 1, 0, len(xs) - 2))
            v = ys[i] + (ys[i + 1] - ys[i]) * (effect - xs[i]) / (xs[i + 1] - xs[i]) if xs[i + 1] > xs[i] else ys[i]
        lo = 0.0
        out[FIELD_PATHS[name]] = float(max(v, lo))
        if name == "into_work":
            for tied in TIED.get(kind, ()):
                out[FIELD_PATHS[tied]] = float(max(v, lo))
    return out


@dataclass(frozen=True)
class Draw:
    """One replication's draw: the scenario to simulate, and each drawn input's value and standardised value."""

    scenario: object  # glw_sim.scenario.Scenario
    values: dict[str, float]
    z: dict[str, float]


def _get(data: dict, path: str):
    cur = data
    for part in path.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def _set(data: dict, path: tuple, value) -> None:
    cur = data
    for part in path[:-1]:
        cur = cur[part]
    cur[path[-1]] = value


def drawn_inputs(scenario) -> list[tuple[str, str, Distribution]]:
    """The inputs a replication of ``scenario`` draws: (name, what, distribution), in a fixed order. Programme
    effects of programmes whose effect the scenario leaves at its type's default, and the key assumptions the
    scenario leaves at their defaults; none when ``uncertainty.evidence`` is off (or, for ``auto``, when the
    scenario has no programme or lever)."""
    from glw_sim.interventions.base import DEFAULTS
    from glw_sim.scenario import Scenario

    mode = scenario.uncertainty.evidence
    levers = bool(scenario.interventions or scenario.employability)
    if mode == "off" or (mode == "auto" and not levers):
        return []
    out = []
    prog = programme_evidence()
    for i, p in enumerate(scenario.interventions):
        d = prog.get((p.type, "effect"))
        default = DEFAULTS.get(p.type, {}).get("effect", {}).get("into_work")
        if d is not None and default is not None and p.effect.into_work == default and effect_fields(p.type, d.central):
            out.append((f"interventions.{i}.effect", f"{p.label} effect", d))
    defaults = Scenario(name="x").model_dump()
    data = scenario.model_dump()
    for path, d in assumption_evidence().items():
        try:
            if _get(data, path) != _get(defaults, path):
                continue  # set by the scenario: the user's value stays
        except (KeyError, IndexError, TypeError):
            continue
        out.append((path, path, d))
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
            for path, x in effect_fields(scenario.interventions[i].type, v).items():
                _set(data["interventions"][i], path, x)
        else:
            _set(data, tuple(parts), v)
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
