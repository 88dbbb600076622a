"""Scenario files: YAML validated by pydantic, with ``extends:`` and one-line errors.

A scenario names its horizon, population scale and seed, replications and
demography, and may override labelled assumptions by name. ``extends:``
loads a parent file (relative to the child) and overrides it key by key.
Every problem is reported as one line naming the file, the field and what
was expected (:class:`ScenarioError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from glw_sim.geography import load_geography
from glw_sim.interventions.base import MAX_PROGRAMMES, Hub, ProgrammeSpec, with_defaults
from glw_sim.months import check_month
from glw_sim.parameters import ASSUMPTIONS


class ScenarioError(ValueError):
    """A scenario file cannot be used; the message is one line for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Horizon(_Strict):
    start: str = Field("2025-06", description="first month, YYYY-MM (calibrated to June 2025)")
    months: int = Field(120, ge=1, le=600, description="months to simulate")

    @field_validator("start", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str:
        return check_month(v)


class PopulationSpec(_Strict):
    scale: float = Field(0.01, gt=0, le=1, description="share of residents simulated; 1.0 = every Londoner")
    seed: int = Field(20250601, ge=0, description="random seed (0 is a valid seed)")


class Demography(_Strict):
    migration: Literal["balance", "none"] = "balance"


class Shock(_Strict):
    month: str = Field(..., description="first month of the new level, YYYY-MM")
    change: float = Field(..., gt=-1, description="proportional change in labour demand, e.g. -0.1")

    @field_validator("month", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str:
        return check_month(v)


class LabourDemand(_Strict):
    """Vacancies and matching (see glw_sim/demand.py)."""

    enabled: bool = Field(True, description="false: no matching; every chance into work stands as calibrated "
                                            "(seekers and matches are not computed)")
    vacancy_level: float = Field(1.0, gt=0, description="multiplier on June 2025 vacancies and their replenishment")
    growth_per_year: float = Field(0.0, gt=-0.5, lt=0.5, description="labour-demand growth, share per year")
    shocks: list[Shock] = Field(default_factory=list)
    matching_elasticity: float = Field(0.5, gt=0, lt=1, description="elasticity of matches to seekers (0.5-0.7)")
    baseline_slack: float = Field(1.0, ge=1.0, le=2.0, description="matching capacity / baseline flows at the start")
    transport_cost: float = Field(1.0, gt=0, le=5, description="multiplier on commuting distance (fares, journey times)")
    vacancy_response: float = Field(0.5, ge=0, le=1, description="elasticity of new vacancies to seekers (0 fixed jobs, 1 free entry)")


SELECTABLE = {
    "sex": "Sex", "health": "Health", "ethnicity": "Ethnicity", "qualification": "Qualification",
    "state": "LabourState", "reason": "InactivityReason",
}


class Employability(_Strict):
    """A what-if lever: multiply chosen residents' monthly chance of moving into work."""

    who: dict[str, str | list[str]] = Field(default_factory=dict,
                                            description="attribute -> value(s): sex, age_band, health, ethnicity, "
                                                        "qualification, state, reason, borough")
    multiplier: float = Field(..., ge=0, le=10)
    start: str | None = None

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> str | None:
        return None if v is None else check_month(v)

    @field_validator("who")
    @classmethod
    def _known(cls, v: dict) -> dict:
        from glw_sim import states

        geo = load_geography()
        for key, val in v.items():
            values = val if isinstance(val, list) else [val]
            if key == "borough":
                for b in values:
                    try:
                        geo.index(b)
                    except KeyError:
                        raise ValueError(f"unknown borough {b!r}; expected one of the 33 London authorities") from None
            elif key == "age_band":
                for b in values:
                    if b not in states.AGE_BAND_LABELS:
                        raise ValueError(f"unknown age_band {b!r}; expected one of {', '.join(states.AGE_BAND_LABELS)}")
            elif key in SELECTABLE:
                enum = getattr(states, SELECTABLE[key])
                for b in values:
                    try:
                        states.parse(enum, b)
                    except KeyError as exc:
                        raise ValueError(str(exc).strip('"')) from None
            else:
                raise ValueError(f"cannot select on {key!r}; expected one of sex, age_band, health, ethnicity, "
                                 "qualification, state, reason, borough")
        return v


class Outputs(_Strict):
    boroughs: list[str] = Field(default_factory=list, description="authorities to list in the printed summary")
    attribution: bool = Field(True, description="with several programmes, also run the package without each one")

    @field_validator("boroughs")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        geo = load_geography()
        for b in v:
            try:
                geo.index(b)
            except KeyError:
                raise ValueError(f"unknown borough {b!r}; expected one of the 33 London authorities, e.g. 'Newham'") from None
        return v


class Scenario(_Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="used as the results folder name")
    description: str = ""
    horizon: Horizon = Horizon()
    population: PopulationSpec = PopulationSpec()
    replications: int = Field(5, ge=1, le=1000)
    demography: Demography = Demography()
    labour_demand: LabourDemand = LabourDemand()
    employability: list[Employability] = Field(default_factory=list)
    interventions: list[ProgrammeSpec] = Field(default_factory=list, max_length=MAX_PROGRAMMES,
                                               description=f"at most {MAX_PROGRAMMES} programmes (the monthly "
                                                           "pass's bit masks)")
    integration_hubs: list[Hub] = Field(default_factory=list)
    assumptions: dict[str, float] = Field(default_factory=dict)
    outputs: Outputs = Outputs()

    @field_validator("interventions", mode="before")
    @classmethod
    def _programme_defaults(cls, v):
        return [with_defaults(x) for x in v] if isinstance(v, list) else v

    @field_validator("interventions")
    @classmethod
    def _distinct_labels(cls, v: list[ProgrammeSpec]) -> list[ProgrammeSpec]:
        seen = set()
        for p in v:
            if p.label in seen:
                raise ValueError(f"two programmes are labelled {p.label!r} (their results would mix): give each "
                                 "a distinct name:")
            seen.add(p.label)
        return v

    @field_validator("assumptions")
    @classmethod
    def _known_assumptions(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if k not in ASSUMPTIONS:
                raise ValueError(f"unknown assumption {k!r}; see glw_sim/parameters.py for the list")
            a = ASSUMPTIONS[k]
            if a.low == a.low and not (a.low <= x <= a.high):  # nan-safe
                raise ValueError(f"{k}={x} is outside its plausible range [{a.low}, {a.high}]")
        return v


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = Path(path)
    if path.resolve() in chain:
        raise ScenarioError(f"{path}: extends: circular chain of scenarios")
    if not path.exists():
        raise ScenarioError(f"{path}: file not found; expected a scenario YAML file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}: YAML syntax error{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of keys (name:, horizon:, ...) at the top level")
    parent = data.pop("extends", None)
    if parent is not None:
        base = _read_yaml(path.parent / str(parent), chain + (path.resolve(),))
        data = _merge(base, data)
    return data


def _format(err: dict) -> str:
    loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required field is missing"
    msg = err["msg"].removeprefix("Value error, ")
    inp = err.get("input")
    shown = f" (got {inp!r})" if inp is not None and not isinstance(inp, (dict, list)) else ""
    return f"{loc}: {msg}{shown}"


def load_scenario(path: str | Path, overrides: dict | None = None) -> Scenario:
    """Read, merge (``extends:``), override and validate a scenario file."""
    path = Path(path)
    data = _read_yaml(path)
    if overrides:
        data = _merge(data, overrides)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(f"{path}: {_format(first)}") from None
