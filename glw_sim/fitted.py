"""The fitted baseline that runs load (``calibration/fitted/baseline.json``, written by ``glw-sim calibrate``:
:mod:`glw_sim.calibration`), and its re-centring on the population a run draws.

:class:`FittedModel` holds the state model (P(E, U, I | attributes)), the reason model (P(reason | attributes)
among the inactive not in education), the flow constants of :mod:`glw_sim.hazards`, the chance of wanting a job
by reason and the hazards' age leads. At run time :func:`recentre_states` and :func:`recentre_reasons` re-fit only
the borough and reason intercepts on the population actually drawn (:func:`glw_sim.synthesis.synthesise`), so
month 0 matches every borough exactly at any scale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from glw_sim.hazards import FlowParams
from glw_sim.loglinear import LogLinearModel, Margin
from glw_sim.population import Population
from glw_sim.states import InactivityReason
from glw_sim.targets import REASONS, Targets

#: the reason model's outcomes: every reason but student (students are the inactive in education)
REASON_CODES = [int(r) for r in REASONS if r != InactivityReason.STUDENT]
FITTED_VERSION = 1


@dataclass
class FittedModel:
    state_model: LogLinearModel
    reason_model: LogLinearModel
    flow: FlowParams
    wants_job_prob: np.ndarray  # [8] by reason code
    reason_codes: list[int] = field(default_factory=lambda: list(REASON_CODES))
    report: dict = field(default_factory=dict)
    #: years ahead the hazards read the age effect, by age band (:func:`glw_sim.hazards.led_state_model`)
    hazard_leads: np.ndarray = field(default_factory=lambda: np.ones(4))

    def copy(self) -> FittedModel:
        return FittedModel(self.state_model.copy(), self.reason_model.copy(), self.flow,
                           self.wants_job_prob.copy(), list(self.reason_codes), dict(self.report),
                           np.array(self.hazard_leads, dtype=float))

    def to_dict(self) -> dict:
        return {
            "version": FITTED_VERSION,
            "state_model": self.state_model.to_dict(),
            "reason_model": self.reason_model.to_dict(),
            "flow": self.flow.__dict__,
            "wants_job_prob": self.wants_job_prob.tolist(),
            "reason_codes": self.reason_codes,
            "report": self.report,
            "hazard_leads": np.asarray(self.hazard_leads, dtype=float).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FittedModel:
        return cls(
            LogLinearModel.from_dict(d["state_model"]),
            LogLinearModel.from_dict(d["reason_model"]),
            FlowParams(**d["flow"]),
            np.array(d["wants_job_prob"]),
            list(d["reason_codes"]),
            d.get("report", {}),
            np.array(d.get("hazard_leads", [1.0, 1.0, 1.0, 1.0]), dtype=float),
        )

    def save(self, path: Path) -> None:
        from glw_sim.io import atomic_write_text

        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: Path) -> FittedModel:
        return cls.from_dict(json.loads(Path(path).read_text()))


def default_fitted_path() -> Path:
    from glw_sim.paths import fitted_dir

    return fitted_dir() / "baseline.json"


def load_fitted(path: Path | None = None) -> FittedModel:
    """The fitted calibration (cached per file and modification time; treat it as read-only)."""
    path = Path(path) if path is not None else default_fitted_path()
    if not path.exists():
        raise FileNotFoundError(f"{path}: fitted calibration missing; run `glw-sim calibrate`")
    return _load_fitted_cached(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load_fitted_cached(path: str, mtime: int) -> FittedModel:
    return FittedModel.load(Path(path))


# --------------------------------------------------------------------------- the margins re-centring rakes to

def borough_margin(targets: Targets) -> Margin:
    """Each borough's APS stocks in work, unemployed and inactive."""
    counts = targets.borough_rates * targets.borough_population[:, None]
    return Margin("borough E/U/I", "borough", np.arange(33), [[0], [1], [2]], counts)


def reason_margins(targets: Targets, total_nonstudent: float) -> list[Margin]:
    """Reasons of the inactive not in education: the long-term sick at their published count (the plan's
    280,000), the other reasons sharing the rest in proportion to their published shares."""
    non_student = targets.reason_share[1:]
    lts = int(InactivityReason.LONG_TERM_SICK) - 2  # index among the non-student reasons
    lts_count = min(targets.reason_share[1 + lts] * targets.inactivity_rate * targets.london_population,
                    0.9 * total_nonstudent)
    others = np.delete(non_student, lts)
    counts = np.insert(others / others.sum() * (total_nonstudent - lts_count), lts, lts_count)
    margins = [Margin("reason shares", "in_education", np.array([0, -1]), [[i] for i in range(len(counts))], counts[None, :])]
    fem = targets.reason_female_share[1:]
    known = [i for i, f in enumerate(fem) if np.isfinite(f)]
    tgt = np.array([[counts[i] * (1 - fem[i]) for i in known], [counts[i] * fem[i] for i in known]])
    margins.append(Margin("reason by sex", "sex", np.array([0, 1]), [[i] for i in known], tgt))
    return margins


# --------------------------------------------------------------------------- run-time re-centring

def recentre_states(fitted: FittedModel, pop: Population, targets: Targets) -> dict[str, float]:
    """Re-fit only the borough table on ``pop`` so borough stocks are exact in expectation."""
    return fitted.state_model.rake(pop, [borough_margin(targets)], tol=1e-7, max_sweeps=500)


def recentre_reasons(fitted: FittedModel, pop: Population, inactive: np.ndarray, targets: Targets) -> dict[str, float]:
    """Re-fit only the reason intercepts on the inactive of ``pop`` not in education, to London's reason shares."""
    rest = inactive[~pop.in_education[inactive]]
    total = float(pop.weight[rest].sum(dtype=np.float64))
    if total <= 0:
        return {}
    m = reason_margins(targets, total)[0]
    return fitted.reason_model.rake(pop, [m], index=rest, tol=1e-7, max_sweeps=500)
