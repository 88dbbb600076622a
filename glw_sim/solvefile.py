"""A solve file (``solves/*.yaml``): what ``glw-sim solve`` searches for, and every check made before any work.

A solve file names a base scenario, a target (an employment rate, or a number of net extra residents in work,
by a date, reached in a stated share of the evidence's draws), the decision variables with their bounds (a
programme's places a year, referral multiplier or areas; integration hubs by borough; a system lever's
strength), the constraints (a budget a year, the most places, programmes that must stay, the least rise in the
lowest fifth's income: the plan's second target) and the objective (least cost reaching the target, the most
net extra residents in work within the budget, or the most rise in the lowest fifth's income within it). Every problem is one
line naming the file and the field (:class:`SolveError`), found before the first evaluation: each variable is
tried at both ends of its range (and each choice) in the base scenario.

:func:`package` turns one set of decision values into a scenario: a programme whose places fall to 0 is left
out (it costs nothing), and so is a lever set to do nothing (a retention cut of 0, multipliers of 1, demand
change and growth of 0). The searching is :mod:`glw_sim.solve`'s.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from glw_sim.dotted import set_path
from glw_sim.months import add_months, check_month, parse_month
from glw_sim.scenario import NAME_PATTERN, Scenario, ScenarioError, _format, _read_yaml, read_yaml


class SolveError(ScenarioError):
    """A solve cannot be run; the message is one line for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Target(_Strict):
    employment_rate: float | None = Field(None, gt=0, lt=1, description="London's employment rate 16-64 at the "
                                                                        "date, e.g. 0.80")
    net_extra_employed: float | None = Field(None, gt=0, le=5_000_000, description="net extra residents in work "
                                                                                   "at the date")
    by: str = Field(..., description="the date, YYYY-MM, within the base scenario's horizon")
    share_of_draws: float = Field(0.8, gt=0, lt=1, description="the target must be reached in this share of the "
                                                               "evidence's draws (effects, key assumptions)")

    @field_validator("by", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str:
        return check_month(v)

    @model_validator(mode="after")
    def _one(self):
        if (self.employment_rate is None) == (self.net_extra_employed is None):
            raise ValueError("target: give employment_rate or net_extra_employed (one of them)")
        return self

    def words(self) -> str:
        what = (f"an employment rate of {100 * self.employment_rate:.1f}%" if self.employment_rate is not None
                else f"{self.net_extra_employed:,.0f} net extra residents in work")
        return f"{what} by {self.by} in {100 * self.share_of_draws:.0f}% of the evidence's draws"


#: a lever field's value at which the lever does nothing (a lever set there is left out of the package)
NEUTRAL = {"cut": 0.0, "into_search": 1.0, "into_work": 1.0, "change": 0.0, "growth_per_year": 0.0}


class Variable(_Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$",
                             description="label in frontier.csv (default: programme.field, lever.field or hubs)")
    programme: str | None = Field(None, description="a programme's label in the base scenario")
    lever: str | None = Field(None, description="a system lever's label in the base scenario (levers:)")
    hubs: list[str] | None = Field(None, min_length=1, max_length=33,
                                   description="boroughs in order of priority: the variable is how many of the "
                                               "first of them get an integration hub")
    field: str | None = Field(None, description="the programme's or lever's field (dotted), e.g. places_per_year")
    bounds: tuple[float, float] | None = Field(None, description="[low, high]")
    step: float | None = Field(None, gt=0, description="values on a grid of this step from low")
    integer: bool = False
    choices: list[Any] | None = Field(None, min_length=2, max_length=100, description="values to choose from "
                                      "instead of bounds (e.g. areas)")

    @model_validator(mode="after")
    def _shape(self):
        owners = [k for k in ("programme", "lever", "hubs") if getattr(self, k) is not None]
        if len(owners) != 1:
            raise ValueError("give one of programme:, lever: or hubs: (what the variable sets)")
        if owners[0] != "hubs" and not self.field:
            raise ValueError(f"field: required with {owners[0]}: (e.g. places_per_year)")
        if owners[0] == "hubs" and self.field:
            raise ValueError("field: not used with hubs: (the variable is how many of the boroughs get a hub)")
        if (self.bounds is None) == (self.choices is None):
            raise ValueError("give bounds: [low, high] or choices: [...] (one of them)")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo < hi:
                raise ValueError(f"bounds must be [low, high] with low < high, got [{lo:g}, {hi:g}]")
            if self.step is not None and self.step > hi - lo:
                raise ValueError(f"step {self.step:g} is wider than the range [{lo:g}, {hi:g}]")
        if self.hubs is not None:
            if self.choices is not None:
                raise ValueError("hubs: takes bounds: [fewest, most] boroughs, not choices:")
            lo, hi = self.bounds
            if not (float(lo).is_integer() and float(hi).is_integer() and 0 <= lo and hi <= len(self.hubs)):
                raise ValueError(f"bounds: hubs take whole numbers of boroughs from 0 to {len(self.hubs)} (the "
                                 f"boroughs listed), got [{lo:g}, {hi:g}]")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.hubs is not None:
            return "hubs"
        return f"{self.programme or self.lever}.{self.field}"

    @property
    def whole(self) -> bool:
        return self.integer or self.hubs is not None or self.field in ("places_per_year", "support_months")


class Constraints(_Strict):
    budget_per_year: float | None = Field(None, gt=0, le=1e12, description="GBP: the most the package may spend "
                                                                           "in any 12 months to the date")
    max_places: float | None = Field(None, gt=0, le=10_000_000, description="most places a year, all programmes")
    keep: list[str] = Field(default_factory=list, description="programmes that must stay (places above 0)")
    min_income_change: float | None = Field(None, ge=-1000, le=1000, description="GBP a week: the least rise in the "
                                            "lowest fifth's mean income after housing costs (real, the package "
                                            "less its counterfactual, the plan's second target) at the last year "
                                            "reported by the date, reached in the target's share of the draws; "
                                            "needs outputs: {income: true} in the base scenario")


class Coarse(_Strict):
    scale: float = Field(..., gt=0, le=1, description="share of residents each coarse evaluation simulates")
    replications: int = Field(..., ge=2, le=1000, description="replications of each coarse evaluation (the same "
                              "seeds for every package: common random numbers)")


class Search(_Strict):
    trials: int = Field(60, ge=1, le=100_000, description="packages evaluated (the command line can raise it)")
    sampler: Literal["tpe", "nsga2"] = "tpe"
    seed: int = Field(0, ge=0, description="the sampler's seed (the model's seeds are the scenario's)")
    startup_trials: int = Field(10, ge=1, le=10_000, description="random packages before the sampler learns")
    scale: float | None = Field(None, gt=0, le=1, description="share of residents each evaluation simulates "
                                                              "(none: chosen by the scenario's precision:)")
    replications: int | None = Field(None, ge=2, le=1000, description="replications of each evaluation (the "
                                     "same seeds for every package: common random numbers)")
    # the staged search: every package first at the coarse precision, then the most promising ``refine`` of
    # them again at the default one (scale and replications above, or the scenario's precision:)
    coarse: Coarse | None = Field(None, description="precision of the first stage (none: one stage)")
    refine: int | None = Field(None, ge=1, le=10_000, description="packages re-evaluated at the default precision "
                               "(the coarse best, those within noise of it and of the target; default 8)")

    @model_validator(mode="after")
    def _stages(self):
        if self.refine is not None and self.coarse is None:
            raise ValueError("refine re-evaluates the coarse stage's packages: give search.coarse: {scale, "
                             "replications} too (or leave refine out for one stage)")
        if self.coarse is not None and self.scale is not None and self.replications is not None and \
                self.coarse.scale * self.coarse.replications >= self.scale * self.replications:
            raise ValueError(f"coarse (scale {self.coarse.scale:g} x {self.coarse.replications} replications) must "
                             f"be cheaper than the default precision (scale {self.scale:g} x {self.replications})")
        return self

    @property
    def refined(self) -> int:
        """Packages the second stage re-evaluates (0: one stage)."""
        return 0 if self.coarse is None else (self.refine or 8)


class Solve(_Strict):
    name: str = Field(..., pattern=NAME_PATTERN, description="names the results folder")
    description: str = Field("", max_length=10_000)
    scenario: str = Field(..., description="base scenario YAML, relative to the solve file")
    target: Target
    objective: Literal["least_cost", "most_net_extra", "most_income"] = "least_cost"
    variables: list[Variable] = Field(..., min_length=1, max_length=40)
    constraints: Constraints = Constraints()
    search: Search = Search()

    @field_validator("variables")
    @classmethod
    def _distinct(cls, v):
        labels = [x.label for x in v]
        dup = next((x for x in labels if labels.count(x) > 1), None)
        if dup is not None:
            raise ValueError(f"two variables are labelled {dup!r}; give each a distinct name:")
        return v

    @model_validator(mode="after")
    def _budget(self):
        if self.objective != "least_cost" and self.constraints.budget_per_year is None:
            raise ValueError(f"objective {self.objective} needs constraints.budget_per_year (the budget to spend)")
        return self

    @property
    def uses_income(self) -> bool:
        """Whether the solve reads the plan's second target (objective most_income or min_income_change)."""
        return self.objective == "most_income" or self.constraints.min_income_change is not None


# ----------------------------------------------------------------------------- loading and checking

def load_solve(path: str | Path) -> tuple[Solve, dict]:
    """Read and check a solve file; returns it and its base scenario as a dict (``extends:`` merged). Every
    problem is a :class:`SolveError` of one line naming the file and the field."""
    path = Path(path)
    try:
        raw = read_yaml(path, "solve")
    except ScenarioError as exc:
        raise SolveError(str(exc)) from None
    if not isinstance(raw, dict):
        raise SolveError(f"{path}: expected a mapping of keys (name:, scenario:, target:, variables:, ...) at the "
                         "top level")
    try:
        solve = Solve.model_validate(raw)
    except ValidationError as exc:
        raise SolveError(f"{path}: {_format(exc.errors()[0])}") from None
    try:
        scen = _read_yaml(path.parent / solve.scenario)
    except ScenarioError as exc:
        raise SolveError(f"{path}: scenario: {exc}") from None
    try:
        base = Scenario.model_validate(scen)
    except ValidationError as exc:
        raise SolveError(f"{path}: scenario: {path.parent / solve.scenario}: {_format(exc.errors()[0])}") from None
    check(solve, base, scen, path)
    return solve, scen


#: the lowest fifth's income is reported in month 0 and every twelfth month after (glw_sim.incomemetric)
INCOME_EVERY = 12


def income_month(month: int) -> int:
    """The month the second target is read at for a target at run month ``month``: the last reported year at or
    before it."""
    return (month // INCOME_EVERY) * INCOME_EVERY


def target_month(solve: Solve, base: Scenario) -> int:
    """The target date as a month index of the base scenario's run."""
    a, b = parse_month(solve.target.by), parse_month(base.horizon.start)
    return (a.year - b.year) * 12 + a.month - b.month


def check(solve: Solve, base: Scenario, scen: dict, source: Path) -> None:
    """The solve's fields against its base scenario (:class:`SolveError`): the date within the horizon, each
    variable's programme, lever and field, both ends of its range (each choice), and the constraints."""
    first = base.horizon.start
    last = add_months(parse_month(first), base.horizon.months).isoformat()[:7]
    if not first < solve.target.by <= last:
        raise SolveError(f"{source}: target.by: {solve.target.by} is outside the base scenario's horizon ({first} "
                         f"to {last}); expected a month after the start, up to {last}")
    if solve.uses_income:
        field = "objective" if solve.objective == "most_income" else "constraints.min_income_change"
        what = "objective most_income" if solve.objective == "most_income" else "min_income_change"
        if not base.outputs.income:
            raise SolveError(f"{source}: {field}: {what} reads the lowest fifth's income, which the base scenario "
                             f"({solve.scenario}) does not compute; expected outputs: {{income: true}} in it")
        if income_month(target_month(solve, base)) == 0:
            first_report = add_months(parse_month(first), INCOME_EVERY).isoformat()[:7]
            raise SolveError(f"{source}: target.by: {solve.target.by} is before the lowest fifth's income is first "
                             f"reported ({first_report}, every 12 months from the start); expected {first_report} "
                             f"or later with {what}")
    progs = [p.label for p in base.interventions]
    levers = [x.label for x in base.levers]
    for i, v in enumerate(solve.variables):
        where = f"{source}: variables.{i}"
        if v.programme is not None and v.programme not in progs:
            raise SolveError(f"{where}.programme: no programme {v.programme!r} in the base scenario; expected one of "
                             f"{', '.join(progs) or '(none: add programmes to the scenario)'}")
        if v.lever is not None and v.lever not in levers:
            raise SolveError(f"{where}.lever: no lever {v.lever!r} in the base scenario; expected one of "
                             f"{', '.join(levers) or '(none: add levers: to the scenario)'}")
        if v.hubs is not None:
            from glw_sim.geography import load_geography

            geo = load_geography()
            for b in v.hubs:
                try:
                    geo.index(b)
                except KeyError:
                    raise SolveError(f"{where}.hubs: {geo.unknown(b)}") from None
        if v.field is not None and not _has_field(base, v):
            raise SolveError(f"{where}.field: {v.field!r} is not a field of {v.programme or v.lever!r}; expected "
                             "e.g. places_per_year, referral_multiplier, areas (programmes) or cut, into_search, "
                             "growth_per_year (levers)")
        for value in ends(v):
            try:
                package(solve, scen, {v.label: value})
            except SolveError as exc:
                raise SolveError(f"{where}: at {_shown(value)}, which the variable reaches: {exc}") from None
    c = solve.constraints
    for j, k in enumerate(c.keep):
        if k not in progs:
            raise SolveError(f"{source}: constraints.keep.{j}: no programme {k!r} in the base scenario; expected one "
                             f"of {', '.join(progs)}")
        for i, v in enumerate(solve.variables):
            if v.programme == k and v.field == "places_per_year" and (v.bounds or (1, 1))[0] <= 0:
                raise SolveError(f"{source}: variables.{i}.bounds: {k} must stay (constraints.keep) but its places "
                                 "can fall to 0; expected a low bound above 0")


def _has_field(base: Scenario, v: Variable) -> bool:
    """Whether the variable's field is one its programme or lever has (a pydantic field, dotted)."""
    if v.programme is not None:
        model: Any = next(p for p in base.interventions if p.label == v.programme)
    else:
        model = next(x for x in base.levers if x.label == v.lever)
    cls = type(model)
    for part in v.field.split("."):
        fields = getattr(cls, "model_fields", None)
        if not fields or part not in fields:
            return False
        cls = fields[part].annotation
        from typing import get_args

        inner = [a for a in get_args(cls) if isinstance(a, type) and issubclass(a, BaseModel)]
        cls = inner[0] if inner else cls
    return True


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def ends(v: Variable) -> list[Any]:
    """The values a variable is checked at before the search: both ends of its range, or each choice."""
    if v.choices is not None:
        return list(v.choices)
    lo, hi = v.bounds
    return [int(lo), int(hi)] if v.whole else [float(lo), float(hi)]


# ----------------------------------------------------------------------------- a package

def package(solve: Solve, scen: dict, values: dict[str, Any], *, name: str | None = None) -> dict:
    """The base scenario with the decision ``values`` (variable label -> value; a variable not given keeps the
    base's value), as a validated scenario's dict. A programme at 0 places (not one to keep) and a lever set
    to do nothing are left out; ``hubs`` variables set the integration hubs (none at 0)."""
    base = Scenario.model_validate(scen)
    data = copy.deepcopy(scen)
    data["interventions"] = [p.model_dump(mode="json", exclude_none=True) for p in base.interventions]
    progs = [p.label for p in base.interventions]
    levers = [x.label for x in base.levers]
    hub_template = (base.integration_hubs[0].model_dump(mode="json", exclude={"areas"}) if base.integration_hubs
                    else {"start": base.horizon.start})
    for v in solve.variables:
        if v.label not in values:
            continue
        x = values[v.label]
        if v.hubs is not None:
            k = int(x)
            data["integration_hubs"] = [{**hub_template, "areas": {"boroughs": list(v.hubs[:k])}}] if k else []
        elif v.programme is not None:
            set_path(data, f"interventions.{progs.index(v.programme)}.{v.field}", x)
        else:
            set_path(data, f"levers.{levers.index(v.lever)}.{v.field}", x)
    keep = set(solve.constraints.keep)
    data["interventions"] = [p for p, label in zip(data["interventions"], progs)
                             if label in keep or float(p.get("places_per_year", 1)) > 0]
    data["levers"] = [x for x in data.get("levers", []) if not _neutral(x)]
    if name is not None:
        data["name"] = name
    try:
        Scenario.model_validate(data)
    except ValidationError as exc:
        raise SolveError(f"the package is not a valid scenario ({_format(exc.errors()[0])})") from None
    return data


def _neutral(lever: dict) -> bool:
    """Whether a lever's acting fields are all at the value where it does nothing."""
    acting = {"retention": ("cut",), "incidence": ("cut",), "reactivation": ("into_search", "into_work"),
              "demand": ("change", "growth_per_year")}.get(lever.get("kind"), ())
    return bool(acting) and all(float(lever.get(f, NEUTRAL[f])) == NEUTRAL[f] for f in acting)


def places(data: dict) -> float:
    """Places a year across the package's programmes."""
    return float(sum(float(p.get("places_per_year", 0)) for p in data.get("interventions", [])))
