"""Scenario files: YAML validated by pydantic, with ``extends:`` and one-line errors.

A scenario names its horizon, population scale and seed, replications and
demography, and may override labelled assumptions by name. ``extends:``
loads a parent file (relative to the child) and overrides it key by key.
Every problem is reported as one line naming the file, the field and what
was expected (:class:`ScenarioError`).
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from glw_sim.geography import load_geography
from glw_sim.interventions.base import MAX_PROGRAMMES, Hub, Participation, ProgrammeSpec, with_defaults
from glw_sim.levers import KINDS, MAX_LEVERS, SELECTABLE, Lever, check_who  # noqa: F401  (SELECTABLE re-exported)
from glw_sim.months import PLAN_MILESTONE, Period, add_months, check_month, months_between, parse_month
from glw_sim.parameters import ASSUMPTIONS

#: the calendar the calibration reaches (June 2025 data, trends from the 2010s): every month a scenario
#: simulates lies in this window
FIRST_MONTH, LAST_MONTH = "2015-01", "2045-12"

#: names that become folder names: letters, digits, '_', '-' and '.', not starting with '.' (so never '.',
#: '..' or hidden), no separators, at most 100 characters
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$"

#: free text (descriptions) is copied into manifests and reports: at most this many characters
MAX_TEXT = 10_000


class ScenarioError(ValueError):
    """A scenario file cannot be used; the message is one line for the user."""


class _Strict(BaseModel):
    # inf and nan are refused in every float field (pydantic's own check)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Horizon(_Strict):
    start: str = Field("2025-06", description=f"first month, YYYY-MM (calibrated to June 2025), {FIRST_MONTH} "
                                              f"to {LAST_MONTH}")
    months: int = Field(120, ge=1, le=600, description=f"months to simulate; the last must be {LAST_MONTH} or "
                                                       "earlier")

    @field_validator("start", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str:
        v = check_month(v)
        if not FIRST_MONTH <= v <= LAST_MONTH:
            raise ValueError(f"{v} is outside the calibration's reach; expected a month from {FIRST_MONTH} to "
                             f"{LAST_MONTH}")
        return v

    @model_validator(mode="after")
    def _end(self):
        if self.end > LAST_MONTH:
            raise ValueError(f"months: {self.months} months from {self.start} end in {self.end}, after "
                             f"{LAST_MONTH} (the calibration's reach); expected at most "
                             f"{months_between(self.start, LAST_MONTH)} months")
        return self

    @property
    def end(self) -> str:
        """The last month simulated (month ``months``), YYYY-MM."""
        return add_months(parse_month(self.start), self.months).isoformat()[:7]


class PopulationSpec(_Strict):
    scale: float = Field(0.01, gt=0, le=1, description="share of residents simulated; 1.0 = every Londoner")
    seed: int = Field(20250601, ge=0, le=2**63 - 1, description="random seed (0 is a valid seed)")
    borough_rates: Literal["estimate", "draw"] = Field(
        "estimate", description="'estimate': every borough starts on its small-area estimate; 'draw': each "
                                "replication draws a plausible set of borough rates from the estimates' 95% "
                                "intervals (London's totals kept; the same draw for its counterfactual)")


class Demography(_Strict):
    migration: Literal["balance", "none"] = "balance"


class Shock(_Strict):
    month: str = Field(..., description="first month of the new level, YYYY-MM")
    change: float = Field(..., gt=-1, le=10, description="proportional change in labour demand, e.g. -0.1 "
                                                         "(above -1, at most 10: an elevenfold rise)")

    @field_validator("month", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str:
        return check_month(v)


class LabourDemand(_Strict):
    """Vacancies and matching (see glw_sim/demand.py)."""

    enabled: bool = Field(True, description="false: no matching; every chance into work stands as calibrated "
                                            "(seekers and matches are not computed)")
    vacancy_level: float = Field(1.0, gt=0, le=100, description="multiplier on June 2025 vacancies and their "
                                                                 "replenishment (at most 100)")
    growth_per_year: float = Field(0.0, gt=-0.5, lt=0.5, description="labour-demand growth, share per year")
    shocks: list[Shock] = Field(default_factory=list)
    matching_elasticity: float = Field(0.5, gt=0, lt=1, description="elasticity of matches to seekers (0.5-0.7)")
    baseline_slack: float = Field(1.0, ge=1.0, le=2.0, description="matching capacity / baseline flows at the start")
    transport_cost: float = Field(1.0, gt=0, le=5, description="multiplier on commuting distance (fares, journey times)")
    vacancy_response: float = Field(0.5, ge=0, le=1, description="elasticity of new vacancies to seekers (0 fixed jobs, 1 free entry)")
    job_finding_cap: float = Field(1.3, ge=1.0, le=3.0, description="most matching can raise a seeker's calibrated "
                                   "chance of a job when vacancies per seeker rise (1: matching only lowers it; 1.3: "
                                   "the tightest UK market of 2001-2024, calibration/SOURCES.md)")


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
        return check_who(v)


class Outputs(_Strict):
    boroughs: list[str] = Field(default_factory=list, description="authorities to list in the printed summary")
    attribution: bool = Field(True, description="with several programmes, also run the package without each one")
    income: bool = Field(False, description="pay, hours, households and the plan's second target (the lowest fifth's "
                                            "income after housing costs, each year; glw_sim.pay, glw_sim.incomemetric)")

    @field_validator("boroughs")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        geo = load_geography()
        for b in v:
            try:
                geo.index(b)
            except KeyError:
                raise ValueError(geo.unknown(b)) from None
        return v


class Uncertainty(_Strict):
    """What a run's intervals cover besides simulation noise (see glw_sim/uncertainty.py)."""

    evidence: Literal["auto", "on", "off"] = Field(
        "auto", description="draw the uncertain inputs (programme effects, key assumptions: calibration/evidence) "
                            "across replications: 'on', 'off', or 'auto' (on when the scenario has programmes or "
                            "levers)")


class Precision(_Strict):
    """A stated precision: the run chooses scale and replications so that each programme's contribution, the
    hubs' and London's net extra residents in work meet it (95% half-width of the simulation noise)."""

    relative: float = Field(0.10, gt=0, le=1, description="half-width as a share of the figure (0.10 = +/-10%)")
    absolute: float = Field(300.0, gt=0, le=1e6, description="or this many residents, whichever is larger")
    max_scale: float = Field(1.0, gt=0, le=1, description="largest share of residents to simulate")
    max_replications: int = Field(40, ge=4, le=1000, description="most replications to run")


class TrendStep(Period, _Strict):
    """A period of the dated health trend: onset of conditions and disability times ``onset_factor``."""

    start: str = Field(..., description="first month, YYYY-MM")
    end: str | None = Field(None, description="last month, YYYY-MM (none: to the horizon)")
    onset_factor: float = Field(..., ge=0.0, le=5.0, description="factor on every resident's onset chances (1: the "
                                                                 "calibrated, stationary rates)")


class HealthSpec(_Strict):
    process: bool = Field(True, description="health as a monthly process (the default): onset and recovery, "
                                            "sickness absence (glw_sim/engine/health.py; README, 'Health as a "
                                            "monthly process'); false: health changes only at age-band boundaries")
    trend: list[TrendStep] = Field(default_factory=list, max_length=100,
                                   description="dated periods in which onset is multiplied (a trend in ill health, "
                                               "e.g. the rise of 2020-2024: scenarios/hindcast-2020.yaml); periods "
                                               "may not overlap; needs process: true")

    @model_validator(mode="after")
    def _trend(self):
        if self.trend and not self.process:
            raise ValueError("trend: a trend in onset needs the health process; set process: true")
        steps = sorted(self.trend, key=lambda t: t.start)
        for a, b in zip(steps, steps[1:]):
            if a.end is None or a.end >= b.start:
                raise ValueError(f"trend: the periods from {a.start} and from {b.start} overlap")
        return self


class Scenario(_Strict):
    name: str = Field(..., pattern=NAME_PATTERN, description="used as the results folder name: letters, digits, "
                                                             "'_', '-', '.', not starting with '.'")
    description: str = Field("", max_length=MAX_TEXT)
    horizon: Horizon = Horizon()
    population: PopulationSpec = PopulationSpec()
    replications: int = Field(5, ge=1, le=1000)
    demography: Demography = Demography()
    labour_demand: LabourDemand = LabourDemand()
    health: HealthSpec = HealthSpec()
    employability: list[Employability] = Field(default_factory=list)
    levers: list[Lever] = Field(default_factory=list, max_length=MAX_LEVERS,
                                description="system levers (glw_sim/levers.py): retention, reactivation, incidence, "
                                            "demand")
    interventions: list[ProgrammeSpec] = Field(default_factory=list, max_length=MAX_PROGRAMMES,
                                               description=f"at most {MAX_PROGRAMMES} programmes (the monthly "
                                                           "pass's bit masks)")
    integration_hubs: list[Hub] = Field(default_factory=list)
    participation: Participation = Field(Participation(), description="the rule for being in more than one "
                                         "programme: {rule: one_at_a_time | concurrent, while_in_another: wait | "
                                         "decline}")
    assumptions: dict[str, float] = Field(default_factory=dict)
    outputs: Outputs = Outputs()
    uncertainty: Uncertainty = Uncertainty()
    precision: Precision | None = Field(None, description="choose scale and replications to reach this precision "
                                                          "(glw-sim run --precision); none: as given")
    milestones: list[Annotated[str, BeforeValidator(check_month)]] = Field(
        default_factory=list, max_length=60,
        description=f"dates (YYYY-MM) to report figures at besides the horizon, within the run; {PLAN_MILESTONE} is "
                    "added whenever the run reaches it")

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

    @model_validator(mode="after")
    def _distinct_lever_labels(self):
        """Each lever's contribution is reported under its label, apart from the programmes'."""
        seen = {p.label for p in self.interventions} | {"integration_hubs", "interactions"}
        for i, lv in enumerate(self.levers):
            if lv.label in seen:
                raise ValueError(f"levers.{i}: the label {lv.label!r} is already used (by another lever, a programme "
                                 "or the results); give it a distinct name:")
            seen.add(lv.label)
        return self

    @model_validator(mode="after")
    def _known_assumptions(self):
        """Each assumption set is known, read by a run (:attr:`glw_sim.parameters.Assumption.acts`) and in its
        range; one set that a run would ignore is refused by name."""
        from glw_sim.parameters import not_settable

        for k, x in self.assumptions.items():
            where = f"assumptions.{k}"
            why = not_settable(k, self.health.process, income=self.outputs.income)
            if why is not None:
                raise ValueError(f"{where}: {why}")
            a = ASSUMPTIONS[k]
            if not math.isfinite(x):
                raise ValueError(f"{where}: {x}: expected a finite number")
            if not (a.low <= x <= a.high):
                raise ValueError(f"{where}: {x:g} is outside its plausible range [{a.low:g}, {a.high:g}]")
        return self

    @model_validator(mode="after")
    def _off_sick_needs_the_health_process(self):
        """Only the health process sends residents off sick: without it, a programme for the employed off sick
        would reach nobody, so it is refused."""
        if not self.health.process:
            for i, p in enumerate(self.interventions):
                if _own_off_sick_route(p):
                    raise ValueError(f"interventions.{i}.eligibility.employed_off_sick_only: residents are off sick only "
                                     "with the health process; set health: {process: true}, or take 'employed' out "
                                     "of its states")
        return self

    @model_validator(mode="after")
    def _incidence_needs_the_health_process(self):
        """An incidence lever cuts the health process's onset: without the process nobody falls ill, so it is
        refused."""
        if not self.health.process:
            for i, lv in enumerate(self.levers):
                if lv.kind == "incidence":
                    raise ValueError(f"levers.{i}: an incidence lever cuts the onset of conditions and disability, "
                                     "which happens only with the health process; set health: {process: true}")
        return self

    @model_validator(mode="after")
    def _participation_acts(self):
        """The participation rule decides between employment programmes: set with fewer than two it would do
        nothing, so it is refused."""
        from glw_sim.interventions.base import EMPLOYMENT_TYPES

        if "participation" in self.model_fields_set and self.participation != Participation():
            n = sum(p.type in EMPLOYMENT_TYPES for p in self.interventions)
            if n < 2:
                raise ValueError(f"participation: the rule decides between employment programmes "
                                 f"({', '.join(sorted(EMPLOYMENT_TYPES))}) and this scenario has {n}; it would change "
                                 "nothing: remove it, or add the programmes it should decide between")
        return self

    @model_validator(mode="after")
    def _dates_in_horizon(self):
        """Dated levers must act within the horizon: a programme that starts after it ends, or ends before it
        starts, would silently do nothing."""
        first, last = self.horizon.start, self.horizon.end
        window = f"the horizon runs {first} to {last}"

        def reach(where: str, month: str | None) -> None:
            if month is not None and not FIRST_MONTH <= month <= LAST_MONTH:
                raise ValueError(f"{where}: {month} is outside the calibration's reach; expected a month from "
                                 f"{FIRST_MONTH} to {LAST_MONTH}")

        from glw_sim.states import MAX_AGE, MIN_AGE

        for i, p in enumerate(self.interventions):
            lo, hi = p.eligibility.age
            if not MIN_AGE <= lo <= hi <= MAX_AGE:
                raise ValueError(f"interventions.{i}.eligibility.age: [{lo}, {hi}] would select nobody or ages the "
                                 f"model does not hold; expected [low, high] with {MIN_AGE} <= low <= high <= "
                                 f"{MAX_AGE}")
        for field, items in (("interventions", self.interventions), ("integration_hubs", self.integration_hubs)):
            for i, p in enumerate(items):
                reach(f"{field}.{i}.start", p.start)
                reach(f"{field}.{i}.end", p.end)
                if p.start > last:
                    raise ValueError(f"{field}.{i}.start: {p.start} is after the horizon ends ({window}); the "
                                     "programme would never run")
                if p.end is not None and p.end < first:
                    raise ValueError(f"{field}.{i}.end: {p.end} is before the horizon starts ({window}); the "
                                     "programme would never run")
        for i, e in enumerate(self.employability):
            reach(f"employability.{i}.start", e.start)
            if e.start is not None and e.start > last:
                raise ValueError(f"employability.{i}.start: {e.start} is after the horizon ends ({window})")
        for i, lv in enumerate(self.levers):
            for key in ("start", "end"):
                month = getattr(lv, key)
                if month is not None and not first <= month <= last:
                    raise ValueError(f"levers.{i}.{key}: {month} is outside the horizon ({window}); the lever must "
                                     "act within the run")
        for i, t in enumerate(self.health.trend):
            if t.start > last or (t.end is not None and t.end < first):
                raise ValueError(f"health.trend.{i}: {t.start} to {t.end or 'the horizon'} is outside the run "
                                 f"({window}); the trend would never act")
        for i, m in enumerate(self.milestones):
            if not first <= m <= last:
                raise ValueError(f"milestones.{i}: {m} is outside the run ({window}); expected a month from {first} "
                                 f"to {last}")
        for i, sh in enumerate(self.labour_demand.shocks):
            reach(f"labour_demand.shocks.{i}.month", sh.month)
            if sh.month > last:
                raise ValueError(f"labour_demand.shocks.{i}.month: {sh.month} is after the horizon ends ({window})")
        return self


def _own_off_sick_route(p: ProgrammeSpec) -> bool:
    """Whether a programme's entry itself asks for residents in work while off sick: a route to refuse without
    the health process (nobody is off sick). A built-in type's default route (WorkWell's in-work route) is not
    refused: without the process it reaches nobody, as it should, and the rest of the programme acts."""
    from glw_sim.interventions.defaults import DEFAULTS

    el = p.eligibility
    if "employed" not in el.states or not el.employed_off_sick_only:
        return False
    own = DEFAULTS.get(p.type, {}).get("eligibility", {})
    return not (set(own.get("states", ())) == set(el.states) and own.get("employed_off_sick_only", False))


def hub_warnings(scenario: Scenario, source: str | Path) -> list[str]:
    """One warning line per integration hub that runs where no programme does: a hub only raises programmes'
    referrals and take-up in its boroughs (:meth:`glw_sim.interventions.base.Programme.referral_table`), so in a
    borough where no programme runs while it does (areas and dates; a programme of no places runs nowhere) it
    changes nothing but the spending. Not an error: the scenario runs as written."""
    geo = load_geography()
    horizon_start, horizon_end = scenario.horizon.start, scenario.horizon.end
    out = []
    for i, hub in enumerate(scenario.integration_hubs):
        first = max(hub.start, horizon_start)
        last = min(hub.end or horizon_end, horizon_end)
        area = hub.areas.mask()
        served, anywhere = area.copy(), area.copy()  # hub boroughs with no programme while it runs / ever
        for p in scenario.interventions:
            if p.places_per_year > 0:
                anywhere &= ~p.areas.mask()
                if p.start <= last and (p.end is None or p.end >= first):
                    served &= ~p.areas.mask()
        if not served.any():
            continue
        where = f"{source}: integration_hubs.{i} ({hub.name})"
        names = [geo.names[b] for b in range(geo.n) if served[b]]
        if len(names) > 5 and served.sum() == area.sum():
            what = f"no programme runs in any of its {len(names)} boroughs"
        else:
            what = f"no programme runs in {', '.join(names)}"
        if not scenario.interventions:
            what += " (the scenario has no programmes)"
        if (served != anywhere).any():  # programmes run there, but not while the hubs do
            what += f" while the hubs run ({first} to {last})"
        out.append(f"{where}: {what}; hubs there change nothing (their cost is still counted)")
    return out


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (where YAML would keep the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the base class says so
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key!r} (first given on line {first + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, what: str = "scenario") -> Any:
    """Parse a YAML file, every problem a :class:`ScenarioError` of one line naming the file."""
    path = Path(path)
    expected = f"expected a {what} YAML file"
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found; {expected}") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a folder; {expected}") from None
    except PermissionError:
        raise ScenarioError(f"{path}: cannot be read (permission denied); {expected}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not a text file (byte 0x{exc.object[exc.start]:02x} at offset {exc.start} is "
                            f"not UTF-8); {expected}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc}); {expected}") from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}: YAML syntax error{where}: {problem}") from None


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    path = Path(path)
    if path.resolve() in chain:
        raise ScenarioError(f"{path}: extends: circular chain of scenarios")
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of keys (name:, horizon:, ...) at the top level")
    parent = data.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ScenarioError(f"{path}: extends: expected the path of a parent scenario file (got {parent!r})")
        try:
            base = _read_yaml(path.parent / parent, chain + (path.resolve(),))
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: extends: {exc}") from None
        data = _merge(base, data)
    return data


def _model_at(loc: tuple) -> type | None:
    """The pydantic model whose field ``loc`` names (``loc`` without its last element), or None."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if fields and part not in fields and part in KINDS and "kind" in fields:  # a lever's kind (tagged union)
            model = KINDS[part]
            continue
        if not fields or part not in fields:
            return None
        model = fields[part].annotation
        while get_args(model) and not (isinstance(model, type) and issubclass(model, BaseModel)):
            inner = [a for a in get_args(model) if isinstance(a, type) and issubclass(a, BaseModel)]
            model = inner[0] if inner else get_args(model)[0]
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _did_you_mean(word: Any, choices) -> str:
    """" (did you mean 'x'?)" for the closest of ``choices`` to a misspelt ``word``, else ""."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _format(err: dict) -> str:
    # a lever's errors are located under its kind's tag (levers.0.retention.cut): shown without it
    shown_loc = [x for j, x in enumerate(err["loc"]) if not (j >= 2 and err["loc"][j - 2] == "levers" and x in KINDS)]
    loc = ".".join(str(x) for x in shown_loc)
    kind = err["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = ", ".join(KINDS)
        tag = (err.get("ctx") or {}).get("tag")
        if kind == "union_tag_not_found":
            return f"{loc}.kind: required field is missing; expected one of {tags}"
        return f"{loc}.kind: unknown kind {_short(tag)}; expected one of {tags}" + _did_you_mean(tag, KINDS)
    if kind == "extra_forbidden":
        model = _model_at(tuple(err["loc"]))
        return f"{loc}: unknown key" + (_did_you_mean(err["loc"][-1], model.model_fields) if model else "")
    if kind == "literal_error" and isinstance(err.get("input"), str):
        choices = re.findall(r"'([^']*)'", (err.get("ctx") or {}).get("expected", ""))
        hint = _did_you_mean(err["input"], choices)
        if hint:
            return f"{loc}: {err['msg']} (got {_short(err['input'])}){hint}"
    if kind == "missing":
        return f"{loc}: required field is missing"
    if kind == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == NAME_PATTERN:
        return (f"{loc}: expected letters, digits, '_', '-' or '.', not starting with '.', at most 100 characters "
                f"(it names a folder; got {_short(err.get('input'))})")
    if kind == "string_pattern_mismatch" and loc.split(".")[-1] == "name":
        return (f"{loc}: expected a label without '.' or control characters (it becomes part of metric names; "
                f"got {_short(err.get('input'))})")
    msg = err["msg"].removeprefix("Value error, ")
    inp = err.get("input")
    shown = f" (got {_short(inp)})" if inp is not None and not isinstance(inp, (dict, list)) else ""
    if not loc:  # a check across fields (a model validator): the message names its fields
        return msg if kind == "value_error" else f"(top level): {msg}{shown}"
    return f"{loc}: {msg}{shown}"


def _short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value, cut short (a 50 MB description is not echoed back)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def load_scenario(path: str | Path, overrides: dict | None = None) -> Scenario:
    """Read, merge (``extends:``), override and validate a scenario file."""
    path = Path(path)
    data = _read_yaml(path)
    if overrides:
        data = _merge(data, overrides)
    return validate_scenario(data, path)


def validate_scenario(data: Any, source: str | Path) -> Scenario:
    """Validate a scenario given as a mapping (as read from YAML, ``extends:`` already merged); a problem is a
    :class:`ScenarioError` of one line naming ``source`` and the field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ScenarioError(f"{source}: {_format(first)}") from None
