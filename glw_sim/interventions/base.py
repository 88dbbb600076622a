"""Programme specification (validated), providers as mesa agents, and the monthly referral/start cycle."""

from __future__ import annotations

from typing import Annotated, Literal

import mesa
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from glw_sim.geography import load_geography
from glw_sim.months import check_month, is_active
from glw_sim.states import Health, InactivityReason, LabourState, Qualification


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

    into_work: float = Field(..., ge=0, le=20, description="multiplier while supported (1 = no effect)")
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
                                                       "(ASSUMPTION, sweep 0.3-0.8)")
    levels: int = Field(1, ge=1, le=2, description="RQF levels gained")


#: Next qualification up: none -> RQF1 -> RQF2 -> RQF3 -> RQF4+; 'other' (mostly unmapped or foreign) -> RQF2
#: (ASSUMPTION: other qualifications sit about level 1).
NEXT_QUALIFICATION = np.array([1, 2, 3, 4, 4, 2], dtype=np.uint8)


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


#: a model runs at most this many programmes: the monthly pass holds a resident's eligibility as 64-bit masks
MAX_PROGRAMMES = 64

#: first keyed-draw purpose of programmes (the model's own are below 100): programme ``key`` uses the four from
#: PROGRAMME_PURPOSES + 4 * key
PROGRAMME_PURPOSES = 1000


class ProgrammeSpec(_Strict):
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

    @field_validator("start", "end", mode="before")
    @classmethod
    def _months(cls, v):
        return None if v is None else check_month(v)

    @model_validator(mode="after")
    def _order(self):
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @property
    def label(self) -> str:
        return self.name or self.type


#: Defaults per type: evidence and derivations in calibration/SOURCES.md ("Programmes"); each effect and cost with
#: its range and source in calibration/evidence/programmes.csv (costs here are its central values). Values marked
#: ASSUMPTION are for sensitivity sweeps. ``effect.into_work`` is fitted (calibration/fitted/programmes.json) so
#: that participants' employment at the source's follow-up exceeds comparable non-participants' by the evidence's
#: central effect (adult skills: ``skills.achieve`` is fitted instead).
DEFAULTS: dict[str, dict] = {
    "workwell": {
        "areas": {"icb": ["North Central London", "North West London"]},
        "organised_by": "icb",
        "places_per_year": 5200,  # 59,000 targeted over ~18 months in 15 pilot areas; London has 2 (derived)
        "support_months": 6,
        # single referral gateway from GPs and other health professionals, also Jobcentre (GLW plan; DWP)
        "pathways": {"gp": 0.0017, "jobcentre": 0.002},  # ASSUMPTION: chance of referral at a contact, set so the
        # eligible are referred at 0.002 a month on average, 70% through GPs (fills today's places); sweep x0.5-x5
        "take_up": 0.7,  # ASSUMPTION (voluntary), sweep 0.4-0.9
        "eligibility": {"states": ["unemployed", "inactive"], "health": ["long_term_condition", "disabled"],
                        "wants_job_only": False},
        "effect": {"into_work": 1.9, "after_months": 6,
                   "source": "Health-led Employment Trials (DWP RR 1025/1034): +4 pp at 12 months in the West "
                             "Midlands, none in Sheffield City Region; central +2 pp (range 0 to +4 pp)"},
        "cost_per_start": 1085,  # GBP 64m / 59,000 targeted (derived)
    },
    "connect_to_work": {
        "areas": {"all": True},
        "organised_by": "srp",
        "places_per_year": 14700,  # 81,000 places a year in England x London's share of working-age residents (derived)
        "support_months": 12,
        "pathways": {"gp": 0.002, "jobcentre": 0.0021, "council": 0.0053, "voluntary": 0.0083},  # ASSUMPTION:
        # 0.004 a month on average, 40% GP, 30% Jobcentre, 15% council, 15% voluntary sector; sweep x0.25-x2.5
        "take_up": 0.6,  # ASSUMPTION (voluntary), sweep 0.3-0.8
        "eligibility": {"states": ["unemployed", "inactive"], "health": ["long_term_condition", "disabled"],
                        "wants_job_only": True},
        "effect": {"into_work": 1.9, "after_months": 6,
                   "source": "IPS-LITE, Health-led Employment Trials (DWP RR 1025/1034): +4 pp at 12 months in the "
                             "West Midlands, none in Sheffield City Region; central +2 pp (range 0 to +4 pp); EQOLISE "
                             "(IPS for severe mental illness) not used: another population"},
        "cost_per_start": 3670,  # GBP 54m a year in London (GLW plan) / 14,700 places (derived)
    },
    "restart": {
        "areas": {"all": True},
        "organised_by": "london",
        "places_per_year": 50000,  # GBP 127m a year in London (GLW plan) / about GBP 2,500 per start (NAO 2022)
        "support_months": 12,
        "pathways": {"jobcentre": 0.216},  # ASSUMPTION: Jobcentre referral (mandatory) of eligible claimants,
        # 0.15 a month on average; sweep x0.33-x2
        "take_up": 0.85,  # 450,000 started of 530,000 referred (DWP Restart statistics 2023)
        "eligibility": {"states": ["unemployed"], "min_months_in_state": 9},
        "effect": {"into_work": 1.3, "after_months": 6,
                   "source": "DWP business case: about 6% additionality, read as +6 pp at 12 months (ASSUMPTION; "
                             "no impact estimate published; range 0 to +10 pp)"},
        "cost_per_start": 2430,  # Public Accounts Committee (2023): GBP 1.68bn for about 692,000 starts
    },
    "youth_guarantee": {
        "areas": {"all": True},
        "organised_by": "borough",
        "places_per_year": 10000,  # ASSUMPTION (trailblazer scale not published), sweep 5,000-30,000
        "support_months": 6,
        "pathways": {"jobcentre": 0.0403, "council": 0.0574, "voluntary": 0.0766},  # ASSUMPTION: 0.02 a month
        # on average, half Jobcentre, a quarter each council and youth / voluntary services; sweep x0.25-x2.5
        "take_up": 0.5,  # ASSUMPTION, sweep 0.3-0.8
        "eligibility": {"states": ["unemployed", "inactive"], "age": [16, 24], "in_education": False},
        "effect": {"into_work": 1.2, "after_months": 6,
                   "source": "DWP Employment Data Lab, Talent Match Plus: -1 to +3 pp employment at 2 years "
                             "(not significant), +1 pp midpoint; up to about +4% (Mawn et al. 2017 meta-analysis)"},
        # a guidance and brokerage offer: midpoint of DfE Youth Contract 16-17 (up to GBP 2,200 a young person,
        # IES 2014) and Talent Match (about GBP 4,200 a young person, 2014-18); not Kickstart's wage subsidy
        "cost_per_start": 3200,
    },
    "jobs_plus": {
        # today: three London pilots on housing-association estates in Leyton (Waltham Forest), Penge (Bromley)
        # and East Finchley (Barnet) (Get London Working plan 2025, JobsPlus case study)
        "areas": {"boroughs": ["Waltham Forest", "Bromley", "Barnet"]},
        "organised_by": "borough",
        "place": {"share_of_borough": 0.008,  # ASSUMPTION: one estate of ~1,500 working-age residents per borough
                                               # of ~190,000 (derived), sweep 0.003-0.02
                  "workless_odds": 2.0, "spillover": 0.3,
                  # GBP 188 per targeted working-age resident per month, range 122-188 (MDRC 2005: USD 150,
                  # uplifted and converted: calibration/evidence/programmes.csv, calibration/SOURCES.md)
                  "cost_per_resident_month": 188},
        "places_per_year": 500,  # ASSUMPTION: ~170 starts a year per site (a third of the estate's non-working
                                 # residents), sweep 250-1,000
        "support_months": 12,
        "pathways": {"community": 0.3},  # ASSUMPTION: on-site outreach refers an eligible resident about every
        # 3 years (0.03 a month), sweep x0.33-x3
        "take_up": 0.6,  # ASSUMPTION (open access, voluntary), sweep 0.4-0.8
        "eligibility": {"states": ["unemployed", "inactive"]},
        "effect": {"into_work": 1.5, "after_months": 36,
                   "source": "Jobs Plus replication at 24 US sites (MDRC for HUD, 2014-2020): no measurable "
                             "employment effect; central +0.5 pp for the estates' residents at 36 months "
                             "(ASSUMPTION, range 0 to +1.5 pp)"},
        "cost_per_start": 0,  # costed per targeted resident-month (place), not per start
    },
    "childcare": {
        # funded childcare and help to arrange it for parents of under-5s who are inactive looking after family
        "areas": {"all": True},
        "organised_by": "borough",
        "places_per_year": 3000,  # ASSUMPTION: today's targeted help (Flexible Support Fund, borough schemes) is not
                                  # published for London, sweep 1,000-10,000
        "support_months": 12,
        "pathways": {"jobcentre": 0.0362, "council": 0.0678},  # ASSUMPTION: 0.01 a month on average, 40%
        # Jobcentre, 60% council incl. family hubs (in every borough by April 2026, GLW plan); sweep x0.3-x3
        "take_up": 0.5,  # ASSUMPTION, sweep 0.3-0.8
        "eligibility": {"states": ["inactive"], "reasons": ["family_home"], "young_children": True},
        "effect": {"into_work": 2.0, "into_search": 2.0, "after_months": 12,
                   "source": "Brewer, Cattan, Crawford & Rabe (2022, Labour Economics 74:102100): full-time free "
                             "childcare raised mothers' employment by 3.5 pp from a base of 58% after a year, about "
                             "+8.3 pp per non-working mother (derived; range 0 to +25 pp)"},
        "cost_per_start": 6000,  # ASSUMPTION: a year of part-funded childcare in London, sweep 3,000-12,000
    },
    "adult_skills": {
        # GLA's delegated Adult Skills Fund, Free Courses for Jobs and Skills Bootcamps: about GBP 370m a year,
        # residents 19+ (Get London Working plan 2025, section 3); here the courses that lead to a qualification
        # for residents out of work without a level-3 qualification
        "areas": {"all": True},
        "organised_by": "borough",
        "places_per_year": 40000,  # ASSUMPTION (about GBP 80m of the GBP 370m), sweep 20,000-80,000
        "support_months": 9,  # course length: the qualification comes at its end (ASSUMPTION, sweep 3-12)
        "pathways": {"jobcentre": 0.0191, "council": 0.0217, "voluntary": 0.051},  # ASSUMPTION: 0.01 a month
        # on average, half Jobcentre, 20% council, 30% voluntary / community outreach; sweep x0.3-x3
        "take_up": 0.5,  # ASSUMPTION, sweep 0.3-0.8
        "eligibility": {"states": ["unemployed", "inactive"], "age": [19, 64], "in_education": False,
                        "qualifications": ["none", "rqf1", "rqf2", "other"]},
        "skills": {"achieve": 0.5, "levels": 1},  # achieve is fitted (calibration/fitted/programmes.json) so the
        # qualification gives the ASSUMPTION +2 pp at 24 months (range 0 to +4 pp)
        "effect": {"into_work": 0.9, "after_months": 0,
                   "source": "ASSUMPTION +2 pp at 24 months (range 0 to +4 pp; returns positive but unquantified, "
                             "BIS 2012-13) from the qualification gained (skills.achieve fitted); into_work 0.9 is "
                             "lock-in while studying (Card, Kluve & Weber 2018, JEEA 16(3):894-931; ASSUMPTION, "
                             "sweep 0.7-1.0)"},
        "cost_per_start": 2000,  # ASSUMPTION, sweep 1,000-4,000
    },
}


def with_defaults(spec: dict) -> dict:
    """A scenario's programme entry merged over its type's defaults (key by key, one level deep)."""
    if not isinstance(spec, dict):
        return spec
    base = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.get(spec.get("type"), {}).items()}
    if "areas" in spec:
        base.pop("areas", None)  # areas replace, never merge
    for k, v in spec.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = {**base[k], **v}
        else:
            base[k] = v
    return base


class Hub(_Strict):
    """Co-located / integrated services (No Wrong Door): more referrals and take-up where they run."""

    name: str = Field("integration_hubs", min_length=1, max_length=100)
    areas: Areas
    start: str = "2025-06"
    end: str | None = None
    referral_multiplier: float = Field(1.5, ge=1, le=5, description="ASSUMPTION, sweep 1.1-2.5")
    take_up_multiplier: float = Field(1.2, ge=1, le=3, description="ASSUMPTION, sweep 1.0-1.5")
    cost_per_borough_year: float = Field(500_000, ge=0, le=1e9, allow_inf_nan=False,
                                         description="GBP, ASSUMPTION (no published unit cost; at most 1bn)")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _months(cls, v):
        return None if v is None else check_month(v)


def _member(codes: np.ndarray, allowed: list[int]) -> np.ndarray:
    """``np.isin`` for small integer codes, by table lookup (one pass, no sorting)."""
    table = np.zeros(256, dtype=bool)
    table[np.asarray(allowed, dtype=np.intp)] = True
    return table[codes]


class Provider(mesa.Agent):
    """One service provider: a caseload with a capacity, a waiting list, and its books."""

    def __init__(self, model, programme: Programme, boroughs: np.ndarray, capacity: float):
        super().__init__(model)
        self.programme = programme
        self.slot = len(programme.providers)  # its index in the programme's queues
        self.boroughs = boroughs  # bool mask over the 33 authorities it serves
        self.capacity = capacity  # concurrent places (residents, weighted)
        self.starts = 0.0
        self.spending = 0.0
        self.left = 0.0  # residents who left the waiting list unstarted this month (weighted)
        self.caseload = 0.0
        self.waiting = 0.0
        self.carry = 0.0  # place-months left unused while people waited (negative: used beyond capacity)
        pop = model.population
        here = boroughs[pop.borough]  # one agent's weight in its boroughs (the carry's bound when nobody waits)
        self.agent_weight = float(pop.weight[here].mean(dtype=np.float64)) if here.any() else 0.0

    def step(self) -> None:
        """Start residents from the waiting list as places free up (the month's pass has discharged finished
        supports and counted the caseload)."""
        self.programme.admit(self)


class Programme:
    """A programme's residents (waiting, supported, after support) and its providers."""

    WAITING, SUPPORTED, AFTER = 1, 2, 3

    def __init__(self, model, spec: ProgrammeSpec, index: int, key: int | None = None):
        self.model, self.spec, self.index = model, spec, index
        n = len(model.population)
        # columns of the model's (residents x programmes) arrays, which the compiled monthly passes read
        self.status = model._prog_status[:, index]
        self.since = model._prog_since[:, index]  # month of joining the list / starting / leaving support
        self.ever_started = model._prog_started[:, index]
        self.provider_of_borough = np.full(33, -1, dtype=np.int64)
        self.qualified = np.zeros(n, dtype=bool)  # gained a qualification on the course (adult skills)
        # keyed draws: referral; queue order (+1); course achievement (+2); place (+3). ``key`` is the programme's
        # place in the scenario, kept when other programmes are left out (attribution), so the same residents
        # draw the same numbers for it in every run
        self.refer_purpose = PROGRAMME_PURPOSES + 4 * (index if key is None else key)
        self.achieved = 0.0  # this month's qualifications gained (weighted)
        self.employment = spec.type in EMPLOYMENT_TYPES
        # participation (set by the model): the columns of the other employment programmes whose support keeps a
        # resident from starting this one (None: no rule applies), and whether such residents are declined
        self.blocked_by: np.ndarray | None = None
        self.decline = False
        self._left = np.zeros(0)  # per provider: this month's leavers of the waiting list before the starts
        self._left_reset = 0.0  # waiting residents who left at 65 since the last month's pass
        self._place_weight = None  # per provider: weighted residents of the place this month (per-resident cost)
        area = spec.areas.mask()
        geo = model.targets.geography
        pop_b = model.targets.borough_population
        if spec.organised_by == "borough":
            units = [np.eye(33, dtype=bool)[b] for b in range(33) if area[b]]
        elif spec.organised_by == "srp":
            units = [geo.members(srp=s) & area for s in geo.srps]
        elif spec.organised_by == "icb":
            units = [geo.members(icb=s) & area for s in geo.icbs]
        else:
            units = [area]
        units = [u for u in units if u.any()]
        total = sum(pop_b[u].sum() for u in units)
        concurrent = spec.places_per_year * spec.support_months / 12.0
        self.providers = []
        for u in units:
            p = Provider(model, self, u, concurrent * pop_b[u].sum() / total if total else 0.0)
            self.provider_of_borough[u] = len(self.providers)
            self.providers.append(p)
        self.referrals = 0.0
        self._caseload = np.zeros(len(self.providers))
        self._queues = [np.zeros(0, dtype=np.int64)] * len(self.providers)
        self.place = self._place_mask(area) if spec.place is not None else None

    def _place_mask(self, area: np.ndarray) -> np.ndarray:
        """Residents living on the targeted estates: in each area borough, ``share_of_borough`` of its weight,
        non-workers over-represented by ``workless_odds`` (a logistic intercept per borough, by bisection)."""
        pop, pl = self.model.population, self.spec.place
        b = pop.borough.astype(np.intp)
        non = pop.state != LabourState.EMPLOYED
        w = pop.weight.astype(np.float64)
        # the chance is logistic in a per-borough intercept plus log(workless_odds) for non-workers: two classes
        # per borough, so the intercepts are solved on the classes' weights (bisection on 33 intercepts at once)
        w_e = np.bincount(b[~non], weights=w[~non], minlength=33)
        w_n = np.bincount(b[non], weights=w[non], minlength=33)
        target = pl.share_of_borough * (w_e + w_n)
        shift = np.log(pl.workless_odds)
        lo, hi = np.full(33, -30.0), np.full(33, 30.0)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            low = w_e / (1.0 + np.exp(-mid)) + w_n / (1.0 + np.exp(-(mid + shift))) < target
            lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
        c = 0.5 * (lo + hi)
        p = np.where(non, (1.0 / (1.0 + np.exp(-(c + shift))))[b], (1.0 / (1.0 + np.exp(-c)))[b])
        from glw_sim.engine.keyed import keyed_uniforms

        u = keyed_uniforms(self.model._key_seed, 0, self.refer_purpose + 3, np.arange(len(pop), dtype=np.int64))
        return (u < p) & area[b]

    # -- monthly cycle ------------------------------------------------------------------
    def active(self) -> bool:
        return is_active(self.model.current_month, self.spec.start, self.spec.end)

    def eligible(self) -> np.ndarray:
        pop, e = self.model.population, self.spec.eligibility
        m = _member(pop.state, [LabourState[s.upper()] for s in e.states])
        if e.health is not None:
            m &= _member(pop.health, [Health[h.upper()] for h in e.health])
        m &= (pop.age >= e.age[0]) & (pop.age <= e.age[1])
        if e.min_months_in_state:
            m &= pop.months_in_state >= e.min_months_in_state
        if e.wants_job_only:
            m &= (pop.state != LabourState.INACTIVE) | pop.wants_job
        if e.in_education is not None:
            m &= pop.in_education == e.in_education
        if e.reasons is not None:
            m &= (pop.state != LabourState.INACTIVE) | _member(pop.reason, [InactivityReason[r.upper()] for r in e.reasons])
        if e.young_children is not None:
            m &= pop.young_children == e.young_children
        if e.qualifications is not None:
            m &= _member(pop.qualification, [Qualification[q.upper()] for q in e.qualifications])
        m &= self.provider_of_borough[pop.borough] >= 0
        if self.place is not None:
            m &= self.place
        return m

    def referral_table(self) -> np.ndarray:
        """Monthly chance an eligible resident is referred, by (borough, state, health, age band): through each
        pathway, the service's contact rate for the resident times the chance of referral at a contact; plus
        direct referral. Integration hubs multiply the chance of referral at a contact in their boroughs."""
        from glw_sim.interventions.contacts import load_contacts

        spec = self.spec
        scale = spec.referral_multiplier * self.model.hub_referral  # by borough
        miss = np.empty((33, 3, 3, 4))
        miss[:] = (1.0 - np.minimum(spec.referral_rate * scale, 1.0))[:, None, None, None]
        rates = load_contacts()
        for service, r in spec.pathways.items():
            miss *= 1.0 - np.minimum(rates.rate_by_band(service)[None] * r * scale[:, None, None, None], 1.0)
        return 1.0 - miss

    def referral_chance(self, cand: np.ndarray) -> np.ndarray:
        """Monthly chance each resident ``cand`` is referred (:meth:`referral_table`)."""
        from glw_sim.states import age_band_of

        pop = self.model.population
        return self.referral_table()[pop.borough[cand], pop.state[cand], pop.health[cand], age_band_of(pop.age[cand])]

    def take_up_table(self) -> np.ndarray:
        """Chance a referred resident takes the place up, by borough (integration hubs raise it)."""
        return np.minimum(self.spec.take_up * self.model.hub_take_up, 1.0)

    def prepare(self, referrals: float, caseload: np.ndarray, waiting: np.ndarray, done: np.ndarray | None,
                left: np.ndarray | None = None) -> None:
        """After the month's referral and discharge pass (:func:`glw_sim.interventions.monthly.refer_and_discharge`):
        its referrals, each provider's caseload, the courses that ended (``done``: qualifications are awarded),
        each provider's residents who left the waiting list as no longer eligible (``left``, weighted) and each
        provider's waiting list in queue order (first come, first served, ties in keyed random order)."""
        self.referrals = float(referrals)
        self._caseload = caseload
        self._left = np.zeros(len(self.providers)) if left is None else left
        if self._left_reset:
            self._left = self._left.copy()
            self._left[0] += self._left_reset  # (London-wide book: booked with the first provider)
            self._left_reset = 0.0
        self.achieved = 0.0
        pl = self.spec.place
        if pl is not None and pl.cost_per_resident_month is not None and self.active():
            pop = self.model.population
            if getattr(self, "_place_idx", None) is None:
                self._place_idx = np.flatnonzero(self.place)  # (fixed: drawn once; a leaver's slot keeps it)
            per_borough = np.bincount(pop.borough[self._place_idx], weights=pop.weight[self._place_idx], minlength=33)
            self._place_weight = np.array([per_borough[p.boroughs].sum() for p in self.providers])
        else:
            self._place_weight = None
        if self.spec.skills is not None and done is not None:
            self._qualify(done)
        who = self.provider_of_borough[self.model.population.borough[waiting]]
        order = np.lexsort((self.model._u(self.refer_purpose + 1, waiting), self.since[waiting], who))
        queue = waiting[order]
        cuts = np.searchsorted(who[order], np.arange(len(self.providers) + 1))
        self._queues = [queue[cuts[j]:cuts[j + 1]] for j in range(len(self.providers))]

    def admit(self, provider: Provider) -> None:
        """Start residents from ``provider``'s waiting list, first come first served, as its places allow. The
        list holds only residents still eligible (the month's pass has re-checked it); under the participation
        rule (:class:`Participation`) residents supported by another employment programme are held on the list
        or declined. Spending: ``cost_per_start`` per start, plus ``place.cost_per_resident_month`` per resident
        of the provider's part of the place while the programme runs."""
        pop, month = self.model.population, self.model.month
        j = provider.slot
        w = pop.weight
        provider.caseload = float(self._caseload[j])
        waiting = self._queues[j]
        provider.left = float(self._left[j])
        # participation: residents supported by another employment programme (this month's starts included:
        # providers start in the scenario's order) wait, keeping their place in the queue, or are declined
        held = waiting[:0]
        if self.blocked_by is not None and len(waiting):
            busy = (self.model._prog_status[np.ix_(waiting, self.blocked_by)] == self.SUPPORTED).any(axis=1)
            if busy.any():
                held, waiting = waiting[busy], waiting[~busy]
                if self.decline:
                    self.status[held] = 0
                    provider.left += float(w[held].sum(dtype=np.float64))
                    held = held[:0]
        free = provider.capacity - provider.caseload + provider.carry if self.active() else 0.0
        starts = 0.0
        take = waiting[:0]
        # Unused place-months carry over while people wait (and a caseload above capacity is paid back), so
        # the average caseload equals capacity even when one agent stands for more residents than a provider
        # has places (at scale 0.01 one agent is 100 people, more than a small borough provider's monthly
        # places); an agent starts once the places cover half its weight (rounding, not truncation, so waits
        # are not lengthened by an agent's size); at large scales the carry stays below one agent's weight.
        if len(waiting) and free > 0:
            wq = w[waiting].astype(np.float64)
            n_take = int(np.searchsorted(np.cumsum(wq) - 0.5 * wq, free, side="right"))
            take = waiting[:n_take]
            self.status[take] = self.SUPPORTED
            self.since[take] = month
            self.ever_started[take] = True
            starts = float(w[take].sum())
        # while nobody startable is left waiting, the carry is kept within one agent's weight either way: at
        # small scales a list holding no agent stands for one holding fewer residents than an agent (lists
        # re-checked at start empty more often than lists that kept everyone)
        if not self.active():
            provider.carry = 0.0
        elif len(take) < len(waiting):
            provider.carry = free - starts
        else:
            provider.carry = min(max(free - starts, -provider.agent_weight), provider.agent_weight)
        provider.starts = starts
        provider.spending = starts * self.spec.cost_per_start
        if self._place_weight is not None:
            provider.spending += float(self._place_weight[j]) * self.spec.place.cost_per_resident_month
        provider.caseload += starts
        provider.waiting = float(w[waiting[len(take):]].sum(dtype=np.float64))
        if len(held):
            provider.waiting += float(w[held].sum(dtype=np.float64))

    def exposure(self) -> tuple[np.ndarray, np.ndarray]:
        """(residents, strength): who the effect reaches this month and how much of it (1 while supported,
        fading linearly over ``after_months`` afterwards; ``spillover`` for other residents of a place)."""
        eff = self.spec.effect
        sup = np.flatnonzero(self.status == self.SUPPORTED)
        idx, frac = [sup], [np.ones(len(sup))]
        after = np.flatnonzero(self.status == self.AFTER)
        if len(after) and eff.after_months > 0:
            t = self.model.month - self.since[after]
            idx.append(after)
            if eff.decay == "linear":
                frac.append(np.clip(1.0 - t / eff.after_months, 0.0, 1.0))
            else:
                frac.append(np.where(t < eff.after_months, 0.5 ** (t / eff.half_life_months), 0.0))
        if self.place is not None and self.spec.place.spillover > 0 and self.active():
            nb = np.flatnonzero(self.place & (self.status != self.SUPPORTED) & (self.status != self.AFTER))
            idx.append(nb)
            frac.append(np.full(len(nb), self.spec.place.spillover))
        return np.concatenate(idx), np.concatenate(frac)

    def apply(self, multiplier: np.ndarray, moves: np.ndarray | None = None) -> None:
        """Multiply the chances of the residents the programme reaches (:meth:`exposure`): into work
        (``multiplier``) and, given ``moves`` (multipliers on moving to U and to I, shape (2, n)), into search
        (inactive -> U) and out of work (employed -> U and -> I)."""
        eff = self.spec.effect
        idx, frac = self.exposure()
        if not len(idx):
            return
        full = frac == 1.0
        multiplier[idx] *= np.where(full, eff.into_work, 1.0 + (eff.into_work - 1.0) * frac)
        if moves is not None and eff.into_search != 1.0:
            inactive = self.model.population.state[idx] == LabourState.INACTIVE
            f = np.where(full, eff.into_search, 1.0 + (eff.into_search - 1.0) * frac)
            moves[0, idx[inactive]] *= f[inactive]
        if moves is not None and eff.leave_work != 1.0:
            employed = self.model.population.state[idx] == LabourState.EMPLOYED
            f = np.where(full, eff.leave_work, 1.0 + (eff.leave_work - 1.0) * frac)[employed]
            moves[0, idx[employed]] *= f
            moves[1, idx[employed]] *= f

    def _qualify(self, idx: np.ndarray) -> None:
        """Course ends for residents ``idx``: those who achieve (keyed draw) gain ``levels`` of qualification, and
        their hazards are recomputed from their new attributes."""
        if not len(idx):
            return
        sk, pop = self.spec.skills, self.model.population
        up = idx[self.model._u(self.refer_purpose + 2, idx) < sk.achieve]
        q = pop.qualification[up]
        for _ in range(sk.levels):
            q = NEXT_QUALIFICATION[q]
        pop.qualification[up] = q
        self.qualified[up] = True
        self.achieved += float(pop.weight[up].sum())
        self.model._refresh(up)

    def reset(self, idx: np.ndarray) -> None:
        """Residents ``idx`` left (65th birthday); the 16-year-olds taking their slots start afresh. Those who were
        waiting left the list unstarted (``left_list``)."""
        waited = idx[self.status[idx] == self.WAITING]
        if len(waited):
            self._left_reset += float(self.model.population.weight[waited].sum(dtype=np.float64))
        self.status[idx] = 0
        self.ever_started[idx] = False
        self.qualified[idx] = False

    def books(self) -> dict[str, float]:
        p = self.providers
        extra = {"qualifications": self.achieved} if self.spec.skills is not None else {}
        return {**extra, "referrals": self.referrals, "starts": sum(x.starts for x in p),
                "participants": sum(x.caseload for x in p), "waiting": sum(x.waiting for x in p),
                "left_list": sum(x.left for x in p),
                "spending": sum(x.spending for x in p), "capacity": sum(x.capacity for x in p)}

