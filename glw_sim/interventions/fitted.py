"""The programme effects fitted by ``glw-sim calibrate --programmes`` (:mod:`glw_sim.interventions.fit`), as read
from ``calibration/fitted/programmes.json``: the one home of those numbers, which the types' defaults
(:data:`glw_sim.interventions.defaults.DEFAULTS`) take from here and do not repeat.

Each type with evidence has one fitted parameter: the into-work multiplier (``effect.into_work``; childcare's
``effect.into_search`` moves with it, :data:`TIED`), or for adult skills ``skills.achieve``, the chance a start
gains a qualification (:data:`FITTED_PARAMETER`; its ``effect.into_work`` is the lock-in while studying, a
default like any other).
"""

from __future__ import annotations

import json
from pathlib import Path

#: The parameter each type is fitted on (default: the into-work multiplier, ``into_work``)
FITTED_PARAMETER = {"adult_skills": "achieve"}

#: Effects fitted with the same multiplier as ``into_work`` (childcare lifts the barrier to searching and to working)
TIED = {"childcare": ("into_search",)}


def parameter_of(kind: str) -> str:
    return FITTED_PARAMETER.get(kind, "into_work")


def setting(kind: str, value: float) -> dict:
    """The spec overrides that set ``kind``'s fitted parameter to ``value``."""
    if parameter_of(kind) == "achieve":
        return {"skills": {"achieve": value}}
    return {"effect": {"into_work": value, **{k: value for k in TIED.get(kind, ())}}}


def fitted_path() -> Path:
    from glw_sim.paths import fitted_dir

    return fitted_dir() / "programmes.json"


def fitted_settings(path: Path | None = None) -> dict[str, dict]:
    """Each fitted type's spec overrides (:func:`setting`) at its fitted central value; none without the file (a
    type without its fitted value then fails validation when used: ``effect.into_work`` has no default)."""
    path = Path(path) if path is not None else fitted_path()
    if not path.exists():
        return {}
    out = {}
    for kind, rec in json.loads(path.read_text()).items():
        value = rec.get("achieve") if parameter_of(kind) == "achieve" else rec["into_work"]
        if value is not None:
            out[kind] = setting(kind, value)
    return out
