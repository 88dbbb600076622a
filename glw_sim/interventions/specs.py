"""What a scenario may say about a programme: the validated specifications (:class:`ProgrammeSpec` and its parts,
:class:`Hub`, :class:`Participation`). The types' defaults are in :mod:`glw_sim.interventions.defaults`, the
run-time programmes and providers in :mod:`glw_sim.interventions.base`."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from glw_sim.engine.layout import MAX_PROGRAMMES  # noqa: F401  (re-exported)
from glw_sim.geography import load_geography
from glw_sim.months import Period


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Areas(_Strict):
    """Where a programme runs: all of London, or named boroughs, sub-regional partnerships or ICBs."""

    all: bool = False
    boroughs: list[str] = Field(default_factory=list)
    srp: list[str] = Field(default_factory=list)
    icb: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self):
        geo = load_geography()
        for b in self.boroughs:
            try:
                geo.index(b)
            except KeyError:
                raise ValueError(geo.unknown(b)) from None
        for s in self.srp:
            if s not in geo.srps:
                raise ValueError(f"unknown sub-regional partnership {s!r}; expected one of: {', '.join(geo.srps)}")
        for s in self.icb:
            if s not in geo.icbs:
                raise ValueError(f"unknown integrated care board {s!r}; expected one of: {', '.join(geo.icbs)}")
        if not (self.all or self.boroughs or self.srp or self.icb):
            raise ValueError("name the areas: all: true, or boroughs, srp or icb lists")
        return self

    def mask(self) -> np.ndarray:
        geo = load_geography()
        if self.all:
            return np.ones(geo.n, dtype=bool)
        m = np.zeros(geo.n, dtype=bool)
        for b in self.boroughs:
            m[geo.index(b)] = True
        for s in self.srp:
            m |= geo.members(srp=s)
        for s in self.icb:
            m |= geo.members(icb=s)
        return m


class Eligibility(_Strict):
    states: list[Literal["employed", "unemployed", "inactive"]] = Field(default_factory=lambda: ["unemployed", "inactive"])
    health: list[Literal["none", "long_term_condition", "disabled"]] | None = None
    age: tuple[int, int] = (16, 64)
    min_months_in_state: int = Field(0, ge=0)
    wants_job_only: bool = False
    employed_off_sick_only: bool = Field(False, description="employed residents only while off sick (sickness "
                                                            "absence, the health process): in-work support's route")
    in_education: bool | None = Field(None, description="None: either; false: not in full-time education")
    reasons: list[Literal["student", "family_home", "temp_sick", "long_term_sick", "discouraged", "retired",
                          "other"]] | None = Field(None, description="inactive residents only with these main reasons "
                                                                     "(the unemployed and employed are unaffected)")
    young_children: bool | None = Field(None, description="None: either; true: parents of a child under 5")
    qualifications: list[Literal["none", "rqf1", "rqf2", "rqf3", "rqf4_plus", "other"]] | None = Field(
        None, description="highest qualification held")


class Effect(_Strict):
    """Multipliers on participants' monthly transition probabilities while supported, fading afterwards.

    The transitions a programme can act on: ``into_work`` (unemployed or inactive -> employed),
    ``into_search`` (inactive -> unemployed, i.e. starting to look for work) and ``leave_work`` (employed ->
    unemployed or inactive: in-work support keeps participants who are in work there; below 1 = fewer exits).
    Any other key is refused. After support the effect fades over ``after_months``: linearly to nothing
    (``decay: linear``), or halving every ``half_life_months`` and ending at ``after_months``
    (``decay: exponential``)."""

    into_work: float = Field(..., ge=0, le=20, description="multiplier while supported (1 = no effect; built-in "
                                                           "types: fitted, calibration/fitted/programmes.json)")
    into_search: float = Field(1.0, ge=0, le=20, description="multiplier on inactive -> unemployed while supported")
    leave_work: float = Field(1.0, ge=0, le=5, description="multiplier on leaving work while supported (in-work "
                                                           "support; 1 = no effect)")
    after_months: int = Field(6, ge=0, le=84, description="months over which the effect fades after support")
    decay: Literal["linear", "exponential"] = "linear"
    half_life_months: float = Field(6.0, gt=0, le=120, description="exponential decay: months for the after-effect "
                                                                    "to halve")
    source: str = ""


class Skills(_Strict):
    """A course that raises the participant's highest qualification when it ends (after ``support_months``, the
    delay); the qualification then changes their monthly chances through the model's qualification-dependent
    hazards (the state model's shares), not through a separate bonus."""

    achieve: float = Field(0.5, ge=0, le=1, description="chance a start ends with a qualification above the one held "
                                                       "(adult skills: fitted, calibration/fitted/programmes.json; "
                                                       "other types: ASSUMPTION, sweep 0.3-0.8)")
    levels: int = Field(1, ge=1, le=2, description="RQF levels gained")




class Place(_Strict):
    """Place-based delivery (JobsPlus): the programme serves the residents of targeted estates in its areas.

    The population has no addresses, so a share of each area borough's working-age residents is flagged as
    living on the targeted estates (drawn once, at the start, with common random numbers); residents who are
    not in work are ``workless_odds`` times as likely (odds) to be flagged, because social-housing estates
    concentrate worklessness. Residents of the place who are not participants get ``spillover`` of the
    participants' effect while the programme runs (neighbour outreach, the "community support for work"
    component of Jobs-Plus)."""

    share_of_borough: float = Field(..., gt=0, le=1, description="share of an area borough's working-age residents "
                                                                  "living on the targeted estates (ASSUMPTION)")
    workless_odds: float = Field(2.0, ge=1, le=10, description="odds ratio of not being in work, estate vs borough "
                                                               "(ASSUMPTION, sweep 1-4)")
    spillover: float = Field(0.3, ge=0, le=1, description="share of the participants' effect reaching other residents "
                                                          "of the place (ASSUMPTION, sweep 0-0.6)")
    cost_per_resident_month: float | None = Field(None, ge=0, le=10_000, allow_inf_nan=False,
                                                  description="GBP per resident of the targeted place per month while "
                                                              "the programme runs (place-based delivery is costed "
                                                              "per targeted resident), added to cost_per_start x "
                                                              "starts; none: starts only")


#: Employment programmes: under ``participation: {rule: one_at_a_time}`` (the default) a resident supported by one
#: of them is not started by another while supported. The enabling services (childcare, adult skills) remove a
#: barrier (care, a qualification) rather than offer employment support, so they combine with an employment
#: programme and with each other: the effects multiply.
EMPLOYMENT_TYPES = frozenset({"workwell", "connect_to_work", "restart", "youth_guarantee", "jobs_plus", "generic"})
ENABLING_TYPES = frozenset({"childcare", "adult_skills"})


class Participation(_Strict):
    """The rule for being in more than one programme (scenario key ``participation``).

    ``one_at_a_time`` (default): a resident supported by one employment programme (:data:`EMPLOYMENT_TYPES`) is
    not started by another until that support ends (its after-period does not count); while supported they stay
    on the other's waiting list and start when their support ends if still eligible (``while_in_another: wait``,
    default), or they are not referred to it and leave its waiting list (``decline``, counted in
    ``programme.<name>.left_list``). Enabling services (childcare, adult skills) combine with any programme.
    ``concurrent``: no rule; a resident may be supported by several employment programmes at once, their effects
    multiplied (``while_in_another`` is then refused unless left at its default)."""

    rule: Literal["one_at_a_time", "concurrent"] = "one_at_a_time"
    while_in_another: Literal["wait", "decline"] = "wait"

    @model_validator(mode="after")
    def _check(self):
        if self.rule == "concurrent" and self.while_in_another != "wait":
            raise ValueError("while_in_another applies to rule one_at_a_time only (concurrent: residents are started "
                             "by every programme that has them)")
        return self




class ProgrammeSpec(Period, _Strict):
    type: Literal["workwell", "connect_to_work", "restart", "youth_guarantee", "jobs_plus", "childcare", "adult_skills",
                  "generic"]
    name: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[^.\x00-\x1f]+$",
                             description="label in results (metric programme.<name>.*): no '.', at most 100 "
                                         "characters")
    areas: Areas = Areas(all=True)
    organised_by: Literal["borough", "srp", "icb", "london"] = "borough"
    start: str = "2025-06"
    end: str | None = None
    places_per_year: float = Field(..., ge=0, le=1_000_000, allow_inf_nan=False,
                                   description="starts a year across the programme's areas (at most 1,000,000: "
                                               "about a sixth of London's working-age residents)")
    support_months: int = Field(12, ge=1, le=36)
    pathways: dict[Literal["gp", "jobcentre", "council", "voluntary", "community"],
                   Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="service -> chance an eligible resident is referred at a contact with it "
                                          "(contact rates: calibration/targets/service_contacts.csv)")
    referral_rate: float = Field(0.0, ge=0, le=1, description="direct (self-)referral: monthly chance an eligible "
                                                              "resident is referred outside the pathways")
    referral_multiplier: float = Field(1.0, ge=0, le=20, description="scales every referral route (a lever)")
    take_up: float = Field(0.8, ge=0, le=1)
    eligibility: Eligibility = Eligibility()
    effect: Effect
    place: Place | None = Field(None, description="place-based delivery on targeted estates (JobsPlus)")
    skills: Skills | None = Field(None, description="a course raising the qualification held (adult skills)")
    cost_per_start: float = Field(..., ge=0, le=1_000_000, allow_inf_nan=False,
                                  description="GBP per start (at most 1,000,000)")


    @property
    def label(self) -> str:
        return self.name or self.type


class Hub(Period, _Strict):
    """Co-located / integrated services (No Wrong Door): more referrals and take-up where they run."""

    name: str = Field("integration_hubs", min_length=1, max_length=100)
    areas: Areas
    start: str = "2025-06"
    end: str | None = None
    referral_multiplier: float = Field(1.5, ge=1, le=5, description="ASSUMPTION, sweep 1.1-2.5")
    take_up_multiplier: float = Field(1.2, ge=1, le=3, description="ASSUMPTION, sweep 1.0-1.5")
    cost_per_borough_year: float = Field(500_000, ge=0, le=1e9, allow_inf_nan=False,
                                         description="GBP, ASSUMPTION (no published unit cost; at most 1bn)")
