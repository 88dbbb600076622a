"""System levers (scenario key ``levers:``): changes to the flows of the whole labour market, each applied to a
group over a period, that a planner can ask of the system rather than of a programme.

Kinds:

- ``retention``: fewer residents leave work. A drawn move out of work (to unemployment, and/or to inactivity,
  optionally only for the inactivity reasons listed) is cancelled with chance ``cut``: that flow is exactly
  multiplied by ``1 - cut`` (:func:`glw_sim.engine.programmes.retain`), resident by resident, with a keyed draw
  of its own, so the counterfactual's residents draw the same moves.
- ``reactivation``: more inactive residents (of the reasons listed, else all) start searching
  (``into_search`` multiplies the inactive-to-unemployed chance) or move straight into work (``into_work``
  multiplies the inactive-to-employed chance, which matching then scales like any other).
- ``incidence``: fewer residents develop a long-term condition or a disability (needs the health process,
  ``health: {process: true}``). A resident of its group who is not disabled has each month's onset chances
  (moves to a worse health level, :mod:`glw_sim.engine.health`) multiplied by ``1 - cut``; recovery is
  unchanged. The same keyed draw decides, so the residents whose onset it prevents are exactly those whose
  draw fell in the cut share: onsets in the group are a subset of the counterfactual's, month by month.
- ``demand``: labour demand (the replenishment of vacancies, :mod:`glw_sim.demand`) changes by ``change`` at
  ``start`` and grows by ``growth_per_year`` from ``start`` to ``end`` (then holds): the London Growth Plan's jobs
  are a demand lever. It acts on the whole market (no ``who``).

Each lever may be priced, ``cost_per_resident_reached`` (GBP, once per resident the lever first reaches: for
retention, an employed resident of its group; for reactivation, an inactive one of its reasons; for incidence,
a resident of its group who is not disabled) or
``cost_per_year`` (GBP a year while it runs), or not: then it is reported as a change the system must make, not
priced ("unpriced"). The existing ``employability:`` key is kept as it was (a multiplier on moving into work).

This module holds the schema and the group selector's check (``who``, shared with ``employability:``); the
model applies the levers (:meth:`glw_sim.model.GLWModel._apply_levers`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from glw_sim.geography import load_geography
from glw_sim.months import check_month

#: the attributes a lever's ``who`` selects on, and the enum of each (borough and age_band apart)
SELECTABLE = {
    "sex": "Sex", "health": "Health", "ethnicity": "Ethnicity", "qualification": "Qualification",
    "state": "LabourState", "reason": "InactivityReason",
}

#: at most this many retention and reactivation levers (a resident's levers are bits of a 32-bit word)
MAX_LEVERS = 32

#: reasons a lever may name (not ``none``: the code of residents who are not inactive)
REASONS = ("student", "family_home", "temp_sick", "long_term_sick", "discouraged", "retired", "other")


def check_who(v: dict) -> dict:
    """A ``who`` selector (attribute -> value or list of values) naming known attributes and values."""
    from glw_sim import states

    geo = load_geography()
    for key, val in v.items():
        values = val if isinstance(val, list) else [val]
        if key == "borough":
            for b in values:
                try:
                    geo.index(b)
                except KeyError:
                    raise ValueError(geo.unknown(b)) from None
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
                    import difflib

                    names = [m.name.lower() for m in enum]
                    close = difflib.get_close_matches(str(b).lower(), names, n=1, cutoff=0.75)
                    raise ValueError(str(exc).strip('"') + (f" (did you mean {close[0]!r}?)" if close else "")) from None
        else:
            import difflib

            keys = ["sex", "age_band", "health", "ethnicity", "qualification", "state", "reason", "borough"]
            close = difflib.get_close_matches(str(key), keys, n=1, cutoff=0.75)
            raise ValueError(f"cannot select on {key!r}; expected one of {', '.join(keys)}"
                             + (f" (did you mean {close[0]!r}?)" if close else ""))
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Reason = Literal["student", "family_home", "temp_sick", "long_term_sick", "discouraged", "retired", "other"]


class _Lever(_Strict):
    name: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[^.\x00-\x1f]+$",
                             description="label in results (contribution.<name>): no '.'; default the kind")
    start: str = Field(..., description="first month the lever acts, YYYY-MM, within the horizon")
    end: str | None = Field(None, description="last month it acts, YYYY-MM (none: to the horizon)")
    cost_per_resident_reached: float | None = Field(None, ge=0, le=1e7, description="GBP per resident first "
                                                    "reached")
    cost_per_year: float | None = Field(None, ge=0, le=1e11, description="GBP a year while it acts")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _month(cls, v: Any) -> str | None:
        return None if v is None else check_month(v)

    @model_validator(mode="after")
    def _one_price(self):
        if self.cost_per_resident_reached is not None and self.cost_per_year is not None:
            raise ValueError("give cost_per_resident_reached or cost_per_year, not both (or neither: unpriced)")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kind

    @property
    def priced(self) -> bool:
        return self.cost_per_resident_reached is not None or self.cost_per_year is not None


class _Targeted(_Lever):
    who: dict[str, str | list[str]] = Field(default_factory=dict,
                                            description="attribute -> value(s): sex, age_band, health, ethnicity, "
                                                        "qualification, state, reason, borough")

    @field_validator("who")
    @classmethod
    def _known(cls, v: dict) -> dict:
        return check_who(v)


class Retention(_Targeted):
    """Cut the chance of leaving work."""

    kind: Literal["retention"]
    cut: float = Field(..., gt=0, le=1, description="share of drawn moves out of work cancelled (0-1]")
    to: list[Literal["unemployment", "inactivity"]] = Field(["unemployment", "inactivity"], min_length=1,
                                                             description="the moves out of work it cuts")
    reasons: list[Reason] | None = Field(None, min_length=1, description="only moves to inactivity whose drawn "
                                                                         "reason is one of these (none: all)")

    @model_validator(mode="after")
    def _reasons_need_inactivity(self):
        if self.reasons is not None and "inactivity" not in self.to:
            raise ValueError("reasons select moves to inactivity, but to: does not include 'inactivity'")
        return self


class Reactivation(_Targeted):
    """Raise inactive residents' chances of starting to search and of moving into work."""

    kind: Literal["reactivation"]
    into_search: float = Field(1.0, ge=0, le=10, description="multiplier on inactive -> unemployed")
    into_work: float = Field(1.0, ge=0, le=10, description="multiplier on inactive -> employed")
    reasons: list[Reason] | None = Field(None, min_length=1, description="only inactive residents whose reason is "
                                                                         "one of these (none: all)")

    @model_validator(mode="after")
    def _acts(self):
        if self.into_search == 1.0 and self.into_work == 1.0:
            raise ValueError("into_search and into_work are both 1: the lever would change nothing")
        return self


class Incidence(_Targeted):
    """Cut the onset of long-term conditions and disability (the health process's moves to a worse level)."""

    kind: Literal["incidence"]
    cut: float = Field(..., gt=0, le=1, description="share of onsets (moves to a worse health level) prevented "
                                                    "(0-1]")


class Demand(_Lever):
    """Labour demand: vacancies' replenishment changes at ``start`` and grows until ``end``."""

    kind: Literal["demand"]
    change: float = Field(0.0, gt=-1, le=10, description="proportional change in labour demand at start")
    growth_per_year: float = Field(0.0, gt=-0.5, lt=0.5, description="growth, share a year, from start to end")

    @model_validator(mode="after")
    def _acts(self):
        if self.change == 0.0 and self.growth_per_year == 0.0:
            raise ValueError("change and growth_per_year are both 0: the lever would change nothing")
        if self.cost_per_resident_reached is not None:
            raise ValueError("a demand lever reaches no residents: price it with cost_per_year")
        return self


Lever = Annotated[Union[Retention, Reactivation, Incidence, Demand], Field(discriminator="kind")]

#: the kinds, by their tag (for error messages)
KINDS = {"retention": Retention, "reactivation": Reactivation, "incidence": Incidence, "demand": Demand}


def demand_factor(levers, start_month, month: int) -> float:
    """The demand levers' factor on labour demand in month index ``month`` (``start_month``: the run's first month,
    a date): each lever's ``1 + change`` from its start, times its growth compounded over the months from its start
    to the earlier of now and its end."""
    from glw_sim.months import add_months, parse_month

    now = add_months(start_month, month)
    x = 1.0
    for lv in levers:
        if not isinstance(lv, Demand):
            continue
        first = parse_month(lv.start)
        if now < first:
            continue
        last = now if lv.end is None else min(now, parse_month(lv.end))
        grown = (last.year - first.year) * 12 + last.month - first.month
        x *= (1.0 + lv.change) * (1.0 + lv.growth_per_year) ** (grown / 12.0)
    return x


class LeverRun:
    """A model's levers at run time: each month, who each lever reaches (its ``who`` among the residents it acts
    on), the per-resident inputs of the monthly pass (:class:`glw_sim.engine.records.Month`: ``search_mult``,
    ``retain_bits`` and the retention levers' table) and of the health pass (``onset_mult``,
    :class:`glw_sim.engine.records.HealthRates`), and the books (residents first reached, spending)."""

    def __init__(self, model, specs) -> None:
        import numpy as np
        from pydantic import TypeAdapter

        from glw_sim.engine.layout import N_REASONS
        from glw_sim.states import InactivityReason

        adapter = TypeAdapter(Lever)
        self.specs = [x if isinstance(x, BaseModel) else adapter.validate_python(x) for x in (specs or [])]
        self.targeted = [x for x in self.specs if not isinstance(x, Demand)]
        self.demand = [x for x in self.specs if isinstance(x, Demand)]
        n = len(model.population)
        self.retention = [x for x in self.specs if isinstance(x, Retention)]
        self.reactivation = [x for x in self.specs if isinstance(x, Reactivation)]
        k = len(self.retention)
        self.retain_bits = np.zeros(n if k else 0, dtype=np.uint32)
        self.retain_cut = np.array([x.cut for x in self.retention], dtype=np.float64)
        self.retain_u = np.array([("unemployment" in x.to) for x in self.retention], dtype=np.bool_)
        self.retain_i = np.zeros((k, N_REASONS), dtype=np.bool_)
        for j, x in enumerate(self.retention):
            if "inactivity" in x.to:
                codes = [int(InactivityReason[r.upper()]) for r in (x.reasons or REASONS)]
                self.retain_i[j, codes] = True
        self.search_mult = np.ones(n) if self.reactivation else np.zeros(0)
        self.incidence = [x for x in self.specs if isinstance(x, Incidence)]
        self.onset_mult = np.ones(n) if self.incidence else np.zeros(0)
        self.reached = {x.label: np.zeros(n, dtype=np.bool_) for x in self.targeted}
        self.books = {x.label: {"reached": 0.0, "spending": 0.0} for x in self.specs}  # this month's

    @property
    def acting(self) -> bool:
        """Some lever needs the monthly pass's per-resident inputs."""
        return bool(self.targeted)

    def month(self, model) -> float:
        """This month's inputs of the monthly pass and the retention and reactivation levers' books
        (``model.work_multiplier`` already holds the employability levers'; after :meth:`start_month`); returns the
        spending on the residents they first reach."""
        import numpy as np

        from glw_sim.months import is_active
        from glw_sim.states import InactivityReason, LabourState

        pop, now = model.population, model.current_month
        spent = 0.0
        if len(self.retain_bits):
            self.retain_bits[:] = 0
        if len(self.search_mult):
            self.search_mult[:] = 1.0
        for j, x in enumerate(self.retention):
            if is_active(now, x.start, x.end):
                mask = model.select(x.who) & (pop.state == LabourState.EMPLOYED)
                self.retain_bits[mask] |= np.uint32(1 << j)
                spent += self._reach(x, mask, pop)
        for x in self.reactivation:
            if is_active(now, x.start, x.end):
                mask = model.select(x.who) & (pop.state == LabourState.INACTIVE)
                if x.reasons is not None:
                    mask &= np.isin(pop.reason, [int(InactivityReason[r.upper()]) for r in x.reasons])
                if x.into_work != 1.0:
                    model.work_multiplier[mask] *= x.into_work
                if x.into_search != 1.0:
                    self.search_mult[mask] *= x.into_search
                spent += self._reach(x, mask, pop)
        return spent

    def start_month(self, model) -> float:
        """At the month's start, before the health pass: every lever's books begin afresh, the yearly-priced levers
        that act this month book their twelfth, and the incidence levers reach their residents (``onset_mult``:
        the active ones' ``1 - cut`` for the residents of their group who are not disabled). Returns the spending
        booked."""
        from glw_sim.months import is_active
        from glw_sim.states import Health

        pop, now = model.population, model.current_month
        spent = 0.0
        for x in self.specs:
            self.books[x.label] = {"reached": 0.0, "spending": 0.0}
            if x.cost_per_year is not None and is_active(now, x.start, x.end):
                self.books[x.label]["spending"] = x.cost_per_year / 12.0
                spent += x.cost_per_year / 12.0
        if len(self.onset_mult):
            self.onset_mult[:] = 1.0
        for x in self.incidence:
            if is_active(now, x.start, x.end):
                mask = model.select(x.who) & (pop.health != Health.DISABLED)
                self.onset_mult[mask] *= 1.0 - x.cut
                spent += self._reach(x, mask, pop)
        return spent

    def _reach(self, x, mask, pop) -> float:
        """Book the residents ``x`` reaches for the first time this month; their cost if priced per resident."""
        import numpy as np

        new = mask & ~self.reached[x.label]
        self.reached[x.label] |= mask
        w = float(pop.weight[new].sum(dtype=np.float64))
        self.books[x.label]["reached"] = w
        if x.cost_per_resident_reached is None:
            return 0.0
        cost = w * x.cost_per_resident_reached
        self.books[x.label]["spending"] = cost
        return cost

    def reset(self, leavers) -> None:
        """Residents who left at 65 (their slots are entrants now): not reached."""
        for r in self.reached.values():
            r[leavers] = False

    def helped(self) -> "np.ndarray | None":  # noqa: F821
        """Residents any targeted lever has reached (None: no targeted lever)."""
        out = None
        for r in self.reached.values():
            out = r.copy() if out is None else out | r
        return out

    def records(self) -> dict[str, float]:
        """This month's books: ``lever.<label>.reached`` (residents first reached, weighted), ``.spending``, and
        ``.unpriced`` (1: the lever is a change the system must make, not priced)."""
        out = {}
        for x in self.specs:
            b = self.books[x.label]
            out[f"lever.{x.label}.reached"] = b["reached"]
            out[f"lever.{x.label}.spending"] = b["spending"]
            out[f"lever.{x.label}.unpriced"] = 0.0 if x.priced else 1.0
        return out
