"""A sensitivity sweep's file and its design: what ``sweeps/*.yaml`` may say, and everything checked before the
first run (the sweep's fields, its scenario, every output and every input over the whole range the design gives
it), and the design itself (SALib's sampler, seeded). Running, resuming and analysing a sweep are
:mod:`glw_sim.sensitivity`'s.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from glw_sim.dotted import set_path
from glw_sim.months import add_months, parse_month
from glw_sim.scenario import NAME_PATTERN, Scenario, ScenarioError, _format, _read_yaml, read_yaml


class SweepError(ScenarioError):
    """A sweep cannot be run; the message is one line for the user."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SweepInput(_Strict):
    path: str = Field(..., description="dotted path into the scenario, e.g. labour_demand.matching_elasticity")
    bounds: tuple[float, float] | tuple[float, float, float] = Field(
        ..., description="unif: [low, high]; norm: [mean, standard deviation]; lognorm: [mean, standard deviation] "
                         "of the log; triang: [low, high, peak as a share of the way from low to high]")
    dist: Literal["unif", "norm", "triang", "lognorm"] = "unif"
    name: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _bounds(self):
        # SALib's own conditions (SALib.util), said in the sweep file's terms before SALib is called
        b = list(self.bounds)
        if self.dist == "triang":
            if len(b) != 3:
                raise ValueError(f"bounds: a triangular input needs [low, high, peak] (peak from 0 to below 1, "
                                 f"the share of the way from low to high), got {b}")
            lo, hi, peak = b
            if not (lo < hi and 0 <= peak < 1):
                raise ValueError(f"bounds: a triangular input needs [low, high, peak] with low < high and peak "
                                 f"from 0 to below 1, got {b}")
            return self
        if len(b) != 2:
            raise ValueError(f"bounds: a {self.dist} input needs two numbers, got {b}")
        lo, hi = b
        if self.dist == "unif" and not lo < hi:
            raise ValueError(f"bounds must be [low, high] with low < high, got {b}")
        if self.dist in ("norm", "lognorm") and not hi > 0:
            raise ValueError(f"bounds: a {self.dist} input's bounds are [mean, standard deviation]; the standard "
                             f"deviation must be above 0, got {hi:g}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.path


class SweepOutput(_Strict):
    metric: str = Field(..., description="a metric of summary.csv, e.g. employment_rate or net_extra_employed")
    area: str = "London"
    group: str = "all"
    change: bool = Field(False, description="horizon minus month 0 instead of the horizon value")
    at: str | None = Field(None, description="a month YYYY-MM within the run, e.g. 2030-06: the value there "
                                             "(or, with change, its change since month 0) instead of the horizon's")

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v):
        from glw_sim.months import check_month

        return None if v is None else check_month(v)

    @property
    def label(self) -> str:
        base = self.metric if self.area == "London" and self.group == "all" else f"{self.metric}[{self.area},{self.group}]"
        base = f"{base}@{self.at}" if self.at else base
        return f"change_{base}" if self.change else base


class Sweep(_Strict):
    name: str = Field(..., pattern=NAME_PATTERN, description="names the sweep's output folder")
    scenario: str = Field(..., description="scenario YAML, relative to the sweep file")
    method: Literal["sobol", "morris", "fast", "rbd_fast"] = "sobol"
    samples: int = Field(64, ge=4, le=1_000_000, description="SALib N (trajectories for Morris)")
    second_order: bool = False
    replications: int = Field(1, ge=1, le=100)
    seed: int = Field(0, ge=0)
    scale: float | None = Field(None, gt=0, le=1)
    months: int | None = Field(None, ge=1, le=600)
    inputs: list[SweepInput] = Field(..., min_length=1)
    outputs: list[SweepOutput] = Field(..., min_length=1)

    @field_validator("inputs")
    @classmethod
    def _distinct(cls, v):
        labels = [i.label for i in v]
        if len(set(labels)) != len(labels):
            raise ValueError("inputs must have distinct paths (or names)")
        return v

    @model_validator(mode="after")
    def _salib(self):
        # SALib's conditions on the sample size, in the sweep file's terms
        if self.method == "fast" and self.samples <= 4 * 4 ** 2:
            raise ValueError(f"samples: FAST (M=4) needs more than {4 * 4 ** 2} samples, got {self.samples}")
        return self

    def needs_groups(self) -> bool:
        """Whether any output needs the counts by group (else the runs skip them: faster)."""
        from glw_sim.metrics import GROUP_METRICS

        return any(o.group != "all" or o.metric in GROUP_METRICS or o.metric.startswith("quarterly_")
                   for o in self.outputs)

    def problem(self) -> dict:
        return {
            "num_vars": len(self.inputs),
            "names": [i.label for i in self.inputs],
            "bounds": [list(i.bounds) for i in self.inputs],
            "dists": [i.dist for i in self.inputs],
        }


# ----------------------------------------------------------------------------- loading and checking

def load_sweep(path: str | Path) -> tuple[Sweep, dict]:
    """Read and validate a sweep file; returns it and the resolved scenario as a dict.

    Everything that can be checked without running is checked here, each problem one line naming the file
    and field (:class:`SweepError`): the sweep's fields, its scenario, every output (metric, area and group
    exist for that scenario) and every input over the whole range the design gives it (both ends, and a
    fractional value for a field that takes whole numbers) against the field's bounds and type."""
    path = Path(path)
    try:
        raw = read_yaml(path, "sweep")
    except ScenarioError as exc:
        raise SweepError(str(exc)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SweepError(f"{path}: expected a mapping of keys (name:, scenario:, inputs:, ...) at the top level")
    try:
        sweep = Sweep.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(f"{path}: {_format(exc.errors()[0])}") from None
    if sweep.scenario == "ishigami":
        return sweep, {}
    scen_path = path.parent / sweep.scenario
    try:
        scen = _read_yaml(scen_path)
    except ScenarioError as exc:
        raise SweepError(f"{path}: scenario: {exc}") from None
    if sweep.scale is not None:
        scen.setdefault("population", {})["scale"] = sweep.scale
    if sweep.months is not None:
        scen.setdefault("horizon", {})["months"] = sweep.months
    try:
        base = Scenario.model_validate(scen)
    except ValidationError as exc:
        raise SweepError(f"{path}: scenario: {scen_path}: {_format(exc.errors()[0])}") from None
    check_inputs(sweep, path, base.health.process, income=base.outputs.income)
    check_outputs(sweep, base, path)
    check_design(sweep, scen, sample(sweep, path), path)
    return sweep, scen


#: scenario fields a sweep's runs do not read: each run's replications and random numbers come from the sweep
INERT_IN_SWEEP = {
    "replications": "a sweep's runs take their replications from the sweep file (its replications:), not the "
                    "scenario, so varying it changes nothing; set replications: in the sweep file",
    "population.seed": "a sweep's runs take their random numbers from the sweep file's seed (common random "
                       "numbers across the design), not the scenario's, so varying it changes nothing",
}


def check_inputs(sweep: Sweep, source: Path, health_process: bool = False, income: bool = False) -> None:
    """Every input is a field a sweep's runs read (:class:`SweepError`, one line naming the sweep file and the
    input): an assumption that acts in a run (:attr:`glw_sim.parameters.Assumption.acts`; the health process's
    only if the scenario has it on), and not a scenario field the sweep itself decides (:data:`INERT_IN_SWEEP`)."""
    from glw_sim.parameters import not_settable

    for i, inp in enumerate(sweep.inputs):
        head, _, name = inp.path.partition(".")
        why = INERT_IN_SWEEP.get(inp.path) or (not_settable(name, health_process, income=income)
                                                    if head == "assumptions" else None)
        if why is not None:
            raise SweepError(f"{source}: inputs.{i}.path: {inp.path}: {why}")


def available_metrics(scenario: Scenario, collect_groups: bool = True) -> dict[str, set[str]]:
    """The metrics a run of ``scenario`` records (what :func:`glw_sim.runner.series` can give a sweep), by
    kind of output: ``"london"`` (area London, group all), ``"group"`` (London, group ``name=level``) and
    ``"borough"`` (an authority). Kept in step with the model by tests/test_failsafe.py. With matching switched
    off (``labour_demand.enabled: false``) a run records seekers and matches as NaN: they are not offered."""
    from glw_sim.metrics import BOROUGH_METRICS, GROUP_METRICS, REASON_NAMES

    london = {"population", "employed", "unemployed", "inactive", "employment_rate", "unemployment_rate",
              "inactivity_rate", "health_related_inactivity_rate", *GROUP_METRICS, "borough_employment_spread",
              "borough_employment_sd", "gap_to_80", "vacancies",
              *(f"inactivity_rate_{r}" for r in REASON_NAMES)}
    if scenario.labour_demand.enabled:  # (matching switched off: no seekers or matches are computed)
        london |= {"seekers", "matches"}
    if collect_groups and scenario.horizon.months >= 3:
        names = ("employed", "unemployed", "inactive")
        london |= {f"quarterly_{a}_to_{b}" for a in names for b in names if a != b}
    group = {"employment_rate", "unemployment_rate", "inactivity_rate"}
    progs = scenario.interventions
    for p in progs:
        keys = ["referrals", "starts", "participants", "waiting", "left_list", "spending", "capacity"]
        keys += ["qualifications"] if p.skills is not None else []
        london |= {f"programme.{p.label}.{k}" for k in keys}
    for x in scenario.levers:
        london |= {f"lever.{x.label}.{k}" for k in ("reached", "spending", "unpriced")}
    if progs or scenario.levers:
        london |= {"spending_cumulative"}
    if progs or any(x.priced for x in scenario.levers):
        london |= {"cost_per_net_extra_job"}
    if scenario.employability or progs or scenario.levers:
        london |= {"net_extra_employed", "gross_extra_employed_helped", "displaced", "helped_residents"}
        if scenario.labour_demand.enabled:  # (the package's twin: gross before displacement)
            london |= {"gross_extra_employed"}
        group |= {"net_extra_employed"}
        if any(p.skills is not None for p in progs):
            group |= {"moved_in_work"}  # (qualification groups: residents a course moved up a group)
        from glw_sim.runner import components

        parts = components(scenario)
        if len(parts) == 1 or (len(parts) > 1 and scenario.outputs.attribution):
            london |= {f"contribution.{label}" for _, label in parts}
        if len(parts) > 1 and scenario.outputs.attribution:
            london.add("contribution.interactions")
    if scenario.outputs.income:  # pay and the second target, in the reported years (every twelfth month)
        from glw_sim.runner import INCOME_CHANGES

        london |= set(YEARLY_METRICS)
        if scenario.employability or progs or scenario.levers:
            from glw_sim.incomemetric import DECOMPOSED, PARTS

            london |= {f"{k}_change" for k in INCOME_CHANGES}
            london |= {f"{k}_change_{part}" for k in DECOMPOSED for part in PARTS}
    return {"london": london, "group": group if collect_groups else set(), "borough": set(BOROUGH_METRICS)}


#: with ``outputs.income``: what a run records each reported year (month 0 and every twelfth month after)
YEARLY_METRICS = ("pay.below_llw_share", "pay.part_time_share", "pay.median_hourly", "pay.mean_weekly",
                  "income.bottom_fifth_median_ahc", "income.bottom_fifth_mean_ahc",
                  "income.bottom_fifth_median_ahc_real", "income.bottom_fifth_mean_ahc_real",
                  "income.bottom_fifth_in_work")


#: London metrics with no value at month 0, so a change from month 0 is undefined
NO_MONTH_0 = {
    "cost_per_net_extra_job": "no net extra jobs yet",
    "seekers": "matching has not run yet",
    "matches": "matching has not run yet",
}


def check_outputs(sweep: Sweep, scenario: Scenario, source: Path) -> None:
    """Every output names a metric, area and group a run of ``scenario`` records (:class:`SweepError`)."""
    from glw_sim.geography import load_geography
    from glw_sim.metrics import GROUPINGS

    geo = load_geography()
    metrics = available_metrics(scenario, sweep.needs_groups())
    for j, out in enumerate(sweep.outputs):
        where = f"{source}: outputs.{j}"
        if out.area != "London":
            try:
                geo.index(out.area)
            except KeyError:
                raise SweepError(f"{where}.area: unknown area {out.area!r}; expected London or one of the 33 "
                                 "London authorities (name or code, e.g. Newham or E09000025)") from None
            if out.group != "all":
                raise SweepError(f"{where}.group: a borough's metrics are for everyone; expected group: all")
            kind = "borough"
        elif out.group != "all":
            g, _, lev = out.group.partition("=")
            if g not in GROUPINGS or lev not in GROUPINGS[g]:
                known = "; ".join(f"{k}={'|'.join(v)}" for k, v in GROUPINGS.items())
                raise SweepError(f"{where}.group: unknown group {out.group!r}; expected all or one of {known}")
            kind = "group"
        else:
            kind = "london"
        if out.metric not in metrics[kind]:
            scope = {"london": "London", "group": f"group {out.group}", "borough": f"area {out.area}"}[kind]
            shown = ", ".join(sorted(m for m in metrics[kind] if not m.startswith(("programme.", "quarterly_"))))
            raise SweepError(f"{where}.metric: no metric {out.metric!r} for {scope} in this scenario; expected "
                             f"one of {shown} (or programme.<name>.starts etc.)")
        if out.at is not None:
            first = parse_month(scenario.horizon.start)
            last = add_months(first, scenario.horizon.months).isoformat()[:7]
            if not scenario.horizon.start < out.at <= last:
                raise SweepError(f"{where}.at: {out.at} is outside the run (the horizon runs "
                                 f"{scenario.horizon.start} to {last}); expected a month after the start, up to "
                                 "the horizon")
        if out.metric.startswith(("pay.", "income.")):
            at = out.at or add_months(parse_month(scenario.horizon.start), scenario.horizon.months).isoformat()[:7]
            first = parse_month(scenario.horizon.start)
            months = (int(at[:4]) - first.year) * 12 + int(at[5:7]) - first.month
            if months % 12:
                raise SweepError(f"{where}: {out.metric} is reported each year only (every twelfth month from "
                                 f"{scenario.horizon.start}); {at} is {months} months on: set at: or months: to a "
                                 "whole number of years")
        if out.change and kind == "london" and out.metric in NO_MONTH_0:
            raise SweepError(f"{where}.change: {out.metric} has no value at month 0 ({NO_MONTH_0[out.metric]}), so "
                             "its change would be NaN in every run; expected change: false")


def _is_whole(x: float) -> bool:
    return float(x).is_integer()


#: design points whose combination of inputs is validated one by one before the first run (beyond this many
#: distinct points, every pair of inputs at the four corners of their sampled ranges)
MAX_CHECKED_POINTS = 20_000


def check_design(sweep: Sweep, scenario: dict, X: np.ndarray, source: Path) -> None:
    """Before the first run, the design (:class:`SweepError`, one line naming the sweep file and the input):

    - every input's column, both ends and (for a field of whole numbers) a fractional value, gives a valid
      scenario with the other inputs as the scenario has them, whose runs record every output;
    - every design point (the inputs together: e.g. an age range's two ends) gives a valid scenario."""
    for i, inp in enumerate(sweep.inputs):
        col = X[:, i]
        lo, hi = float(col.min()), float(col.max())
        frac = next((float(v) for v in col if not _is_whole(v)), None)
        trials = [lo, hi] + ([frac] if frac is not None else [])
        for v in trials:
            trial = copy.deepcopy(scenario)
            try:
                set_path(trial, inp.path, v)
                valid = Scenario.model_validate(trial)
            except ValidationError as exc:
                err = exc.errors()[0]
                msg = _format(err)
                if err["type"] == "int_from_float":
                    raise SweepError(f"{source}: inputs.{i}.path: {inp.path} takes whole numbers, but the design "
                                     f"gives it fractions such as {v:g}; expected a field of real numbers "
                                     f"({msg})") from None
                if not err["type"].startswith(("greater_than", "less_than", "finite", "value_error")):
                    raise SweepError(f"{source}: inputs.{i}.path: {inp.path!r} is not a number the scenario can "
                                     f"take ({msg})") from None
                if v == lo == hi or len(trials) == 1:
                    what = f"the value {v:g}"
                else:
                    what = f"values from {lo:g} to {hi:g}"
                raise SweepError(f"{source}: inputs.{i}.bounds: the design gives {inp.path} {what}, which that "
                                 f"field refuses at {v:g} ({msg})") from None
            except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
                raise SweepError(f"{source}: inputs.{i}.path: {inp.path!r} is not a usable scenario field "
                                 f"({exc})") from None
            try:
                check_outputs(sweep, valid, source)
            except SweepError as exc:  # an output the runs at this end of the range would not record
                raise SweepError(f"{exc} (at inputs.{i}: {inp.path} = {v:g}, which the design reaches)") from None
    check_combinations(sweep, scenario, X, source)


def check_combinations(sweep: Sweep, scenario: dict, X: np.ndarray, source: Path) -> None:
    """Every design point gives a valid scenario (each input's own range is checked by :func:`check_design`;
    this is the inputs together). At most :data:`MAX_CHECKED_POINTS` distinct points one by one; beyond, every
    pair of inputs at the corners of their sampled ranges."""
    k = X.shape[1]
    if k < 2:
        return
    points = np.unique(X, axis=0)
    what = "the design point"
    if len(points) <= MAX_CHECKED_POINTS:
        trials = [(tuple(range(k)), tuple(p)) for p in points]
    else:
        what = "the ends of their sampled ranges"
        lo, hi = X.min(axis=0), X.max(axis=0)
        trials = [((a, b), (va, vb)) for a in range(k) for b in range(a + 1, k)
                  for va in (lo[a], hi[a]) for vb in (lo[b], hi[b])]
    for idx, values in trials:
        trial = copy.deepcopy(scenario)
        for j, v in zip(idx, values):
            set_path(trial, sweep.inputs[j].path, float(v))
        try:
            Scenario.model_validate(trial)
        except ValidationError as exc:
            point = ", ".join(f"{sweep.inputs[j].path}={v:g}" for j, v in zip(idx, values))
            raise SweepError(f"{source}: inputs: {what} {point} gives an invalid scenario "
                             f"({_format(exc.errors()[0])}); expected ranges that are valid together") from None


# ----------------------------------------------------------------------------- the design

def sample(sweep: Sweep, source: str | Path = "sweep") -> np.ndarray:
    """The design (runs x inputs), SALib's sampler seeded; SALib's refusals as one line (:class:`SweepError`)."""
    import warnings

    from SALib.sample import fast_sampler, latin, morris, sobol

    problem = sweep.problem()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if sweep.method == "sobol":
                X = sobol.sample(problem, sweep.samples, calc_second_order=sweep.second_order, seed=sweep.seed)
            elif sweep.method == "morris":
                X = morris.sample(problem, sweep.samples, num_levels=4, seed=sweep.seed)
            elif sweep.method == "fast":
                X = fast_sampler.sample(problem, sweep.samples, M=4, seed=sweep.seed)
            else:
                X = latin.sample(problem, sweep.samples, seed=sweep.seed)
    except ValueError as exc:  # SALib's checks of the problem (bounds, distributions, sample size)
        raise SweepError(f"{source}: method {sweep.method}, samples {sweep.samples}, inputs: SALib refused the "
                         f"design: {' '.join(str(exc).split())}") from None
    if not np.isfinite(X).all():
        bad = int(np.argwhere(~np.isfinite(X))[0][1])
        raise SweepError(f"{source}: inputs.{bad}.bounds: the {sweep.inputs[bad].dist} distribution gives values "
                         "that are not finite; expected finite bounds")
    return X
