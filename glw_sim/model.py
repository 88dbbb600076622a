"""GLWModel: one month of working-age London per ``step()``.

``GLWModel`` is a real :class:`mesa.Model`: it owns the seeded random number generator (``self.rng``), advances
one month per ``step()``, collects model-level metrics with a :class:`mesa.DataCollector`, and works with
``mesa.batch_run``. The millions of residents are not ``mesa.Agent`` objects but columns of a
:class:`~glw_sim.population.Population`, and every step is a few compiled passes over them, one module of
:mod:`glw_sim.engine` per mechanism (DESIGN.md, section 2; the README's Design section draws the month).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import mesa
import numpy as np

from glw_sim import parameters as P
from glw_sim import states
from glw_sim.demand import Following, LabourMarket, commuting_matrix, fit_decay, level_path, load_workplaces
from glw_sim.engine import demography, hazards, health, keyed, logits, matching, month, programmes, tallies
from glw_sim.engine.programmes import RETAIN
from glw_sim.engine.layout import AGE_CODES, CHUNKS, N_CELLS, RING_MONTHS, STUDENT, UNKNOWN_STATE, chunk
from glw_sim.engine.records import (BirthdayWork, Cached, Chances, Demography, Hazard, HealthRates, Listing, LogLinear,
                                    Month, Reasons, Refresh, residents)
from glw_sim.fitted import FittedModel, load_fitted
from glw_sim.hazards import Hazards
from glw_sim.interventions.base import Hub, Participation, Programme, ProgrammeSpec, Provider, with_defaults
from glw_sim.incomemetric import PayRun
from glw_sim.levers import LeverRun, demand_factor
from glw_sim.metrics import from_tally
from glw_sim.months import add_months, is_active, parse_month  # noqa: F401  (re-exported for callers)
from glw_sim.scenario import SELECTABLE, LabourDemand
from glw_sim.states import N_BOROUGHS, age_band_of
from glw_sim.synthesis import health_prevalence_by_band, synthesise
from glw_sim.targets import Targets, load_targets

#: (scale, seed) -> synthesised population, re-centred model, RNG state after synthesis, fitted model used.
#: Sweeps run many short simulations of the same population; synthesis is the costly part.
_SYNTH_CACHE: dict = {}

#: metrics the mesa DataCollector reports each month
REPORTED = ("employment_rate", "unemployment_rate", "inactivity_rate", "health_related_inactivity_rate",
            "disability_employment_gap", "neet_rate_16_24", "ethnicity_employment_gap", "female_employment_rate",
            "borough_employment_spread", "gap_to_80")


@dataclass(frozen=True)
class Options:
    """A model's settings beyond scale, seed and start (the keyword arguments of :class:`GLWModel`).

    Attributes:
        migration: ``"balance"`` keeps each borough x sex x single-year-of-age total at its start value (net
            migration); ``"none"`` lets the cohorts age (conservation).
        collect_boroughs: record borough metrics every month (else first/last only).
        collect_groups: count residents by group each month (sex, age band, health, ethnic group,
            qualification), wanting a job, unemployment duration and quarterly flows; without, only by borough,
            state and inactivity reason, and the metrics that need the rest (:data:`glw_sim.metrics.GROUP_METRICS`,
            group rates, flows) are NaN: faster, for runs that ask for none of them (e.g. sweeps).
        fitted, targets: calibration (default: the shipped files).
        assumptions: overrides of :data:`glw_sim.parameters.ASSUMPTIONS` values (only those whose ``acts`` is
            ``"run"`` are read; scenarios and sweeps refuse the others).
        labour_demand: :class:`glw_sim.scenario.LabourDemand` (or a dict of its fields).
        employability: levers (:class:`glw_sim.scenario.Employability`) on chances of moving into work.
        levers: system levers (:mod:`glw_sim.levers`: retention, reactivation, incidence, demand; models or
            dicts; incidence needs ``health_process``).
        follow: another model whose market's job factors this one takes each month (that model steps first):
            the package's twin without competition for vacancies (:class:`glw_sim.demand.Following`).
        interventions: programme specifications (:class:`~glw_sim.interventions.base.ProgrammeSpec` or dicts).
        integration_hubs: :class:`~glw_sim.interventions.base.Hub` (or dicts).
        cache_population: reuse the synthesised population of the last model with the same scale and
            seed (identical results, much faster for sweeps).
        programme_keys: each programme's key for its keyed draws (default: its position in ``interventions``);
            a run that leaves programmes out passes the others' positions in the full list, so their residents
            draw the same numbers as in the full package.
        participation: the rule for being in more than one programme
            (:class:`glw_sim.interventions.base.Participation`, or a dict of its fields; default one employment
            programme at a time, the others waiting).
        health_process: health changes month by month and employed residents can be off sick
            (:mod:`glw_sim.engine.health`; a scenario's ``health: {process: true}``). On by default (README, "Health
            as a monthly process"); off, health changes only with age (at age-band boundaries) and results are
            those of the model before it (the Mesa comparison's like-for-like configuration).
        health_trend: dated periods in which onset is multiplied (:class:`glw_sim.scenario.TrendStep`, or dicts
            with ``start``, ``end``, ``onset_factor``); needs ``health_process``.
        income: employed residents have pay and hours (:mod:`glw_sim.pay`), drawn outside the month pass with keyed
            draws of their own: the labour-market results are those of a run without it; the month's records gain
            the ``pay.*`` figures. Off by default (README, "Pay, hours and income").
    """

    migration: str = "balance"
    collect_boroughs: bool = True
    collect_groups: bool = True
    fitted: FittedModel | None = None
    targets: Targets | None = None
    assumptions: dict[str, float] | None = None
    labour_demand: Any = None
    employability: Any = None
    levers: Any = None
    follow: Any = None
    interventions: Any = None
    integration_hubs: Any = None
    cache_population: bool = False
    programme_keys: list[int] | None = None
    participation: Any = None
    health_process: bool = True
    health_trend: Any = None
    income: bool = False

    def __post_init__(self):
        if self.migration not in ("balance", "none"):
            raise ValueError(f"migration must be 'balance' or 'none', got {self.migration!r}")
        for name in self.assumptions or {}:  # every input acts, or is refused (scenarios and sweeps say the same)
            why = P.not_settable(name, self.health_process, self.income)
            if why:
                raise ValueError(f"assumptions.{name}: {why}")
        if self.health_trend and not self.health_process:
            raise ValueError("health_trend: a trend in onset needs the health process (health_process=True)")


class GLWModel(mesa.Model):
    """Agent-based model of London's working-age labour market.

    Args:
        scale: share of Londoners simulated (1.0 = one agent per resident).
        seed: random seed (0 is a valid seed). Mesa's rule holds: seed or rng, not both.
        start: first month, ``YYYY-MM`` (the calibration is for June 2025).
        options: the keyword settings of :class:`Options` (migration, what to collect, calibration,
            assumptions, labour demand, levers, programmes, hubs, participation, ...).
    """

    def __init__(self, scale: float = 0.01, seed: int | None = 20250601, *, rng=None, start: str = "2025-06",
                 **options) -> None:
        super().__init__(seed=seed, rng=rng)
        opt = Options(**options)
        self._settings(scale, start, opt)
        self._build_population(seed, opt)
        self._build_hazard_inputs()
        self._build_month_state()
        # common random numbers: every per-resident draw is addressed by (seed, month, purpose, resident)
        self._key_seed = int(self.rng.integers(2**62))
        self._build_health(opt)
        self.levers = LeverRun(self, opt.levers)
        if self.levers.incidence and not self.health_process:
            raise ValueError("levers: an incidence lever cuts the onset of conditions and disability, which happens "
                             "only with the health process (health_process=True)")
        self.market = self._build_market(self.labour_demand_spec)
        if opt.follow is not None:
            self.market = Following(opt.follow.market)
        elif self.market.enabled:  # calibrated on the June 2025 residents at their calibrated hazards, no programme
            self.market.calibrate(self._desired_moves_into_work(with_programmes=False))
        self._build_programmes(opt)
        self._build_collection()
        self.pay = (PayRun(self.population, self._key_seed, opt.assumptions, list(self.targets.geography.names))
                    if opt.income else None)
        self._birthdays_pass(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_))  # load the kernels now
        self._collect()

    # ------------------------------------------------------------------ building
    def _settings(self, scale: float, start: str, opt: Options) -> None:
        demand = opt.labour_demand
        self.labour_demand_spec = LabourDemand(**demand) if isinstance(demand, dict) else demand or LabourDemand()
        self.employability = list(opt.employability or [])
        self.scale = float(scale)
        self.migration = opt.migration
        self.collect_boroughs = opt.collect_boroughs
        self.collect_groups = opt.collect_groups
        self.start = parse_month(start)
        self.targets = opt.targets or load_targets()
        self.month = 0
        self.health_process = opt.health_process
        self.programmes: list[Programme] = []
        self._work_multiplier = None  # see work_multiplier

    def _build_population(self, seed: int | None, opt: Options) -> None:
        """The synthetic residents (or a copy of the cached ones), the re-centred model, their hazards and how long
        each has been in their state (each resident's stationary spell age under this run's hazards)."""
        base = opt.fitted or load_fitted()
        key = (self.scale, seed, self.targets.borough_rates.tobytes())  # (drawn borough rates differ by seed)
        cached = _SYNTH_CACHE.get(key) if opt.cache_population and seed is not None else None
        pi = None
        if cached is not None and cached[3] is base:
            pop, model, state, _ = cached
            self.population, self.fitted = pop.copy(), model.copy()
            self.rng.bit_generator.state = state
        else:
            self.population, self.fitted, pi = synthesise(self.targets, base, scale=self.scale, rng=self.rng,
                                                          durations=False, return_probabilities=True)
            if opt.cache_population and seed is not None:
                _SYNTH_CACHE.clear()  # keep one population: memory stays bounded
                _SYNTH_CACHE[key] = (self.population.copy(), self.fitted.copy(), self.rng.bit_generator.state, base)
        self.hazards = Hazards(self.fitted, opt.assumptions)
        if pi is None:
            pi = self.fitted.state_model.probabilities(self.population)
        self.hazards.draw_initial_durations(self.population, pi, self.rng)
        self.res = residents(self.population)

    def _feats(self, lm) -> tuple:
        """The columns a log-linear model reads, as uint8 views (for the compiled kernels)."""
        return tuple(getattr(self.population, c).view(np.uint8) for c in lm.columns)

    def _build_hazard_inputs(self) -> None:
        """The records the passes read (the fitted state and reason models, the hazards' constants) and every
        resident's cached hazard inputs (:mod:`glw_sim.engine.hazards`)."""
        n, hz = len(self.population), self.hazards
        sm, rm, hm = self.fitted.state_model, self.fitted.reason_model, hz.state_model
        self._state_model = LogLinear(sm.stacked(), sm.intercept.astype(np.float64))
        self._s_feats, self._r_feats = self._feats(sm), self._feats(rm)
        self._reasons = Reasons(rm.stacked(), rm.intercept.astype(np.float64),
                                np.asarray(self.fitted.reason_codes, dtype=np.uint8), hz.reason_exit_mult,
                                np.asarray(self.fitted.wants_job_prob, dtype=np.float64), hz.switch_rate)
        fp, dt = hz.flow, hz.durations
        self._hazard = Hazard(fp.k_eu, fp.k_ei, fp.k_ui, fp.cycle, dt.hbar, dt.h0, dt.profile,
                              P.DURATION_EDGES.astype(np.int64), hz.exit_mult_by_code, np.zeros(3), np.ones(3),
                              np.zeros(3))  # (the health process: _build_health)
        # Both models' outputs depend only on a few attributes: tabulate them by combination (identical values).
        # The state model has millions of combinations: worth it for large populations only.
        r_levels = np.array(list(rm.columns.values()), dtype=np.int64)
        s_levels = np.array(list(sm.columns.values()), dtype=np.int64)
        h_tables = (hm.stacked(), hm.intercept.astype(np.float64))
        big = n > np.prod(s_levels, dtype=np.float64) / 2
        z, self._lts_by_combination = logits.reason_tables(  # (the latter: the health process's absence route)
            self._reasons.tables, self._reasons.intercept, r_levels, hz.reason_exit_mult,
            self._reasons.codes == states.InactivityReason.LONG_TERM_SICK)
        self._refresh_inputs = Refresh(
            *h_tables, s_levels, logits.state_share_table(*h_tables, s_levels) if big else np.empty((2, 0), np.float32),
            r_levels, z, float(hz.exit_mult_by_code[STUDENT]))
        self._pi = np.empty((2, n), dtype=np.float32)  # stationary shares of E and U
        self.cached = Cached(self._pi[0], self._pi[1], np.empty(n, dtype=np.float32), np.empty(n, dtype=np.uint16))
        self._refresh(np.arange(n))

    def _build_month_state(self) -> None:
        """What the monthly passes carry from month to month: the residents not in work, the weight in each cell
        (net migration), each resident's state in the last three months, the birthday lists."""
        pop, n = self.population, len(self.population)
        self._listing = Listing(np.empty(n, dtype=np.int64), np.zeros(CHUNKS, dtype=np.int64))
        self._cell_chunks = np.zeros((CHUNKS, N_CELLS))  # weight in each cell after net migration, by chunk
        self._cell_change = np.zeros((CHUNKS, N_CELLS))  # weight moving between cells at this month's birthdays
        ks, kr = self._state_model.tables.shape[1], self._reasons.tables.shape[1]
        self._scratch = (np.empty((CHUNKS, ks)), np.empty((CHUNKS, ks)), np.empty((CHUNKS, kr)))  # birthday pass
        self._birthdays = [np.flatnonzero(pop.birth_month == m) for m in range(12)]  # birth months never change
        self._demography_inputs = self._demography_tables()
        # each resident's state in the last three months, by month % 3 (UNKNOWN_STATE: e.g. an entrant's slot)
        self._ring = np.full((RING_MONTHS, n), UNKNOWN_STATE, dtype=np.uint8)
        self._cell_target = demography.cell_totals(pop.weight, pop.borough, pop.sex, pop.age)
        self._cells = self._cell_target.copy()  # the weight in each cell now
        self._no_programmes = programmes.no_programmes(n)
        self._tally = None  # this month's counts, from the transitions pass

    def _build_health(self, opt: Options) -> None:
        """The health process's monthly chances (:mod:`glw_sim.engine.health`): recovery at its rates and each
        resident's onset keeping the health levels of residents like them (the prior the population is drawn with,
        the hazards' state model's health effect); sickness absence from its steady share (:meth:`_start_absence`).
        Without the process: no onset or recovery, nobody off sick, exits from work as calibrated."""
        a = opt.assumptions
        sm = self.hazards.state_model
        logit = np.asarray(sm.tables["health"] + sm.priors["health"], dtype=np.float64)  # [state, level]
        odds = np.exp(logit.T[None, :, :] - logit.T[:, None, :])  # [from, to, state]
        back = P.value("absence_back", a)
        if self.health_process:
            rates = np.array([P.value(k, a) for k in ("health_recovery_disabled", "health_recovery_condition",
                                                     "health_recovered_to_condition", "health_onset_from_none")])
            cond = P.value("absence_onset_condition", a)
            onset = np.array([0.0, cond, cond])  # long spells of residents with a condition (see parameters.py)
            mean = self._start_absence(onset, back, P.value("absence_route_share", a))
        else:
            rates, onset, mean = np.zeros(4), np.zeros(3), np.zeros(3)
            self.population.off_sick[:] = False
            self._hazard = self._hazard._replace(sick_leave=np.zeros(3), keep=np.ones(3), sick_route=np.zeros(3))
        hz = self._hazard
        prior = health_prevalence_by_band(self.targets)
        bound = health.change_bounds(prior, odds, rates)
        coef = np.divide(onset, mean, out=np.zeros(3), where=mean > 0)  # absence onset per unit of the exit chance
        self._health_rates = HealthRates(prior, odds, rates, 1.0, onset, float(back), mean, float(hz.k_ei),
                                         float(hz.cycle), np.zeros(0), bound, health.month_bound(bound, 1.0), coef,
                                         health.absence_bound(coef, float(hz.k_ei), float(hz.cycle)))
        from glw_sim.scenario import TrendStep

        self._health_trend = [x if isinstance(x, TrendStep) else TrendStep(**x) for x in (opt.health_trend or [])]

    def _start_absence(self, onset: np.ndarray, back: float, route: float) -> np.ndarray:
        """Sickness absence at its steady share from the start (keyed draws of month 0), and the hazards' absence
        route with the factor on the other employed residents' exits to inactivity that keeps each health level's
        exits at the calibration's (:func:`glw_sim.engine.health.keep_exits`: those off sick are those most likely
        to leave, so the factor makes up for their own chances, not the level's mean). Returns, by health level, employed residents' mean chance of leaving work for
        inactivity (absence onset is in proportion to each one's own)."""
        pop, hz = self.population, self._hazard
        employed = np.flatnonzero(pop.state == states.LabourState.EMPLOYED)
        pe, pu = self.cached.pi_e[employed].astype(np.float64), self.cached.pi_u[employed].astype(np.float64)
        p_ei = hazards.flows_from_e.py_func(pe, pu, 1.0 - pe - pu, hz.k_eu, hz.k_ei, hz.k_ui, hz.cycle)[1]
        h, w = pop.health[employed], pop.weight[employed]
        lts = self._lts_share(employed)
        exits = health.lts_exit_chance(p_ei, lts, h, w)
        leave, _ = health.absence_route(onset, back, exits, route)
        mean = health.lts_exit_chance(p_ei, np.ones_like(p_ei), h, w)  # by level
        own = onset[h] * p_ei / np.where(mean > 0, mean, 1.0)[h]
        stay = (1 - leave)[h]
        o = health.off_at_moves(own, back, leave[h])  # each one's steady chance of being off sick at the moves
        keep = health.keep_exits(p_ei, o, lts, h, w, leave, np.where(onset > 0, route, 0.0))
        u = self._u(health.ABSENCE, employed)
        pop.off_sick[:] = False
        pop.off_sick[employed] = u < o * stay  # each resident's steady share
        self._hazard = hz._replace(sick_leave=leave, keep=keep, sick_route=np.where(onset > 0, route, 0.0))
        return mean

    def _lts_share(self, idx: np.ndarray) -> np.ndarray:
        """For residents ``idx``, the share of their moves into inactivity that draw long-term sickness (the reason
        model's shares weighted by the exit multipliers, as :func:`glw_sim.engine.transitions.draw_reason`; in
        education: none), from its table by combination of the reason model's features
        (:func:`glw_sim.engine.logits.reason_tables`)."""
        levels = self._refresh_inputs.r_levels
        key = np.zeros(len(idx), dtype=np.int64)
        for f, col in enumerate(self._r_feats):
            key = key * levels[f] + col[idx]
        out = self._lts_by_combination[key]
        out[self.population.in_education[idx]] = 0.0
        return out

    def onset_factor(self) -> float:
        """This month's factor on onset from the dated trend (``health_trend``: the active periods' product)."""
        x = 1.0
        for t in self._health_trend:
            if is_active(self.current_month, t.start, t.end):
                x *= t.onset_factor
        return x

    def _health(self) -> None:
        """Health onset and recovery, and sickness absence (:mod:`glw_sim.engine.health`), with this month's trend
        and incidence levers (:meth:`glw_sim.levers.LeverRun.start_month`)."""
        if self.health_process:
            f = self.onset_factor()
            self._health_rates = self._health_rates._replace(
                onset_factor=f, onset_mult=self.levers.onset_mult,
                month_bound=health.month_bound(self._health_rates.bound, f))
            health.health_pass(self._month_inputs(False, None), self.res, self._health_rates, self._refresh_inputs,
                               self._r_feats, self._reasons, self.cached, self._scratch[2])

    def _demography_tables(self) -> Demography:
        share, groups = self.targets.age_sex_share, self.targets.groups
        return Demography(health_prevalence_by_band(self.targets), P.YOUNG_CHILDREN_BY_BAND_SEX.astype(np.float64),
                          P.UNPAID_CARER_BY_BAND.astype(np.float64), P.in_education_share(np.arange(AGE_CODES)),
                          float(share[0, 1] / share[0].sum()),
                          np.asarray(groups["ethnicity"].population_share, dtype=np.float64),
                          np.asarray(groups["qualification"].population_share, dtype=np.float64))

    def _build_market(self, spec) -> LabourMarket:
        work = load_workplaces(self.targets.london_population, self.targets.geography.codes)
        self.workplaces = work
        decay = fit_decay(work, self.targets.borough_population)
        self.commuting_decay_km = decay
        shocks = [(parse_month(x.month), x.change) for x in spec.shocks]
        level = level_path(self.start, spec.growth_per_year, shocks)
        if self.levers.demand:  # the demand levers scale labour demand from their start
            base, levers, start = level, self.levers.demand, self.start

            def level(month: int) -> float:
                return base(month) * demand_factor(levers, start, month)
        return LabourMarket(
            commute=commuting_matrix(work, decay, spec.transport_cost),
            vacancies0=work.vacancies * work.jobs / work.jobs.sum(),
            elasticity=spec.matching_elasticity,
            slack=spec.baseline_slack,
            level_path=level,
            vacancy_level=spec.vacancy_level,
            vacancy_response=spec.vacancy_response,
            enabled=spec.enabled,
            cap=spec.job_finding_cap,
        )

    def _build_programmes(self, opt: Options) -> None:
        """Every programme's status, month of its last change and whether the resident ever started, as rows of
        (residents x programmes) arrays: the compiled monthly passes read all programmes at once; the
        participation rule; the places of place-based programmes; the hubs."""
        specs = [x if isinstance(x, ProgrammeSpec) else ProgrammeSpec.model_validate(with_defaults(x))
                 for x in (opt.interventions or [])]
        n, cols = len(self.population), programmes.width(len(specs))  # statuses are read 8 programmes at a time
        self._prog_status = np.zeros((n, cols), dtype=np.int8)
        self._prog_since = np.zeros((n, cols), dtype=np.int32)
        self._prog_started = np.zeros((n, cols), dtype=np.bool_)
        keys = list(range(len(specs))) if opt.programme_keys is None else list(opt.programme_keys)
        if len(keys) != len(specs) or len(set(keys)) != len(keys):
            raise ValueError(f"programme_keys must give each of the {len(specs)} programmes its own key, got {keys}")
        self.programmes = [Programme(self, spec, i, keys[i]) for i, spec in enumerate(specs)]
        part = opt.participation
        self.participation = Participation(**part) if isinstance(part, dict) else part or Participation()
        if self.participation.rule == "one_at_a_time":
            for prog in self.programmes:
                others = [q.index for q in self.programmes if q is not prog and q.employment]
                if prog.employment and others:
                    prog.blocked_by = np.array(others, dtype=np.intp)
                    prog.decline = self.participation.while_in_another == "decline"
        self._prog_tables = programmes.ProgrammeTables(self.programmes)
        self._prog_rules = self._prog_tables.rules()
        placed = any(p.place is not None for p in self.programmes)  # who lives in each place (no rows if none)
        self._places = np.zeros((n if placed else 0, cols), dtype=np.bool_)
        for p in self.programmes:
            if p.place is not None:
                self._places[:, p.index] = p.place
                p.place = self._places[:, p.index]
        self._prog_done = np.zeros((self._prog_tables.n_skills, n), dtype=np.bool_)
        self._prog_active = np.zeros(len(specs), dtype=np.bool_)
        self.spending = 0.0
        self.hubs = [h if isinstance(h, Hub) else Hub.model_validate(h) for h in (opt.integration_hubs or [])]
        self.hub_referral = np.ones(N_BOROUGHS)
        self.hub_take_up = np.ones(N_BOROUGHS)

    def _build_collection(self) -> None:
        self.records: list[dict] = []
        self.borough_records: list[tuple[int, np.ndarray]] = []
        self.group_records: list[tuple[int, dict]] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.records[-1][k]) for k in REPORTED})

    # ------------------------------------------------------------------ helpers
    @property
    def current_month(self) -> date:
        return add_months(self.start, self.month)

    def _u(self, purpose: int, idx: np.ndarray) -> np.ndarray:
        return keyed.keyed_uniforms(self._key_seed, self.month, purpose, np.asarray(idx, dtype=np.int64))

    def _month_inputs(self, do_moves: bool, job_factor: np.ndarray | None, with_programmes: bool = True) -> Month:
        """This month's :class:`~glw_sim.engine.records.Month`."""
        lv = self.levers
        retention = with_programmes and len(lv.retain_bits) > 0
        return Month(self.month, self._key_seed, do_moves, self.collect_groups,
                     with_programmes and bool(self.programmes), self._uses_work_multiplier and with_programmes,
                     self._wm_or_empty(), np.ones(N_BOROUGHS) if job_factor is None else job_factor,
                     lv.search_mult, retention, lv.retain_bits, lv.retain_cut, lv.retain_u, lv.retain_i,
                     np.uint64(keyed.key_base(self._key_seed, self.month, RETAIN) if retention else 0),
                     self.health_process, np.uint64(keyed.key_base(self._key_seed, self.month, health.ABSENCE_ROUTE)),
                     keyed.bases(self._key_seed, self.month, health.PURPOSES))

    def _refresh(self, idx: np.ndarray) -> None:
        """Recompute cached hazard inputs and tally groups for residents whose attributes changed (whatever
        changes a resident's attributes calls this).

        Hazards pull each resident towards the shares of residents ``hazards.age_leads`` years older (the state
        model with its age effect read ahead, ``hazards.state_model``), so that a cohort that keeps ageing tracks
        its age profile instead of lagging behind it."""
        if len(idx):
            hazards.refresh_hazard_inputs(np.asarray(idx, dtype=np.int64), self._refresh_inputs, self._s_feats,
                                          self._r_feats, self.res, self.cached)

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month: the mechanisms in order."""
        self.month += 1
        changed = self._demography()  # birthdays, life events, entrants (engine.demography)
        self._net_migration()  # (engine.demography)
        if self.levers.specs:
            self.spending += self.levers.start_month(self)  # the levers' books, incidence's reach (glw_sim.levers)
        self._health()  # health onset and recovery, sickness absence (engine.health)
        self._programmes()  # referral, waiting lists, discharge, providers' starts (engine.programmes)
        self._apply_employability()  # the employability levers and the system levers (glw_sim.levers)
        self._transitions(changed)  # matching, moves and the month's tally (engine.matching, engine.month)
        if self.pay is not None:
            self.pay.month(self.month)  # the jobs are as of this month (made when a figure needs them: glw_sim.pay)
        self._collect()  # the month's metrics

    def _demography(self) -> np.ndarray:
        """Birthdays (:mod:`glw_sim.engine.demography`): residents age a year, life events, leaving education,
        65-year-olds replaced by 16-year-olds; their cached hazard inputs are refreshed in the same pass. Returns
        the residents whose attributes changed."""
        birthday = self._birthdays[self.current_month.month - 1]
        leaver = np.empty(len(birthday), dtype=np.bool_)
        self._birthdays_pass(birthday, leaver)
        leavers = birthday[leaver]
        if len(leavers):
            self._ring[:, leavers] = UNKNOWN_STATE  # the slot's last three states were the leaver's
            for prog in self.programmes:
                prog.reset(leavers)
            self.levers.reset(leavers)
        return birthday

    def _birthdays_pass(self, idx: np.ndarray, leaver: np.ndarray) -> None:
        demography.birthdays(idx, self._month_inputs(False, None), keyed.DEMOGRAPHY, self.res,
                             self._demography_inputs, self._state_model, self._s_feats, self._reasons, self._r_feats,
                             self._refresh_inputs, self.cached,
                             BirthdayWork(leaver, self._cell_change, *self._scratch))

    def _net_migration(self) -> None:
        """With ``migration="balance"``, weights are rescaled so each borough x sex x single year of age keeps its
        start size; the cell totals are last month's (summed when the weights were scaled) moved by this month's
        birthdays (:func:`glw_sim.engine.demography.migration_factors`)."""
        if self.migration != "balance":
            return
        factor = demography.migration_factors(self._cells + self._cell_change.sum(axis=0), self._cell_target)
        demography.scale_weights(self.res, factor, self._cell_chunks)
        self._cells = self._cell_chunks.sum(axis=0)

    def _active_levers(self):
        """(lever, residents it applies to) for the employability levers active this month."""
        for e in self.employability:
            if is_active(self.current_month, e.start, None):
                yield e, self.select(e.who)

    def helped(self) -> np.ndarray:
        """Residents any active employability lever applies to this month, or any system lever has reached."""
        out = np.zeros(len(self.population), dtype=bool)
        for _, mask in self._active_levers():
            out |= mask
        reached = self.levers.helped()
        return out if reached is None else out | reached

    def select(self, who: dict) -> np.ndarray:
        """Boolean mask of residents matching ``who`` (attribute -> value or list of values)."""
        pop = self.population
        mask = np.ones(len(pop), dtype=bool)
        for key, val in who.items():
            values = val if isinstance(val, list) else [val]
            if key == "borough":
                codes = [self.targets.geography.index(b) for b in values]
                mask &= np.isin(pop.borough, codes)
            elif key == "age_band":
                mask &= np.isin(age_band_of(pop.age), [states.AGE_BAND_LABELS.index(b) for b in values])
            else:
                enum = getattr(states, SELECTABLE[key])
                mask &= np.isin(getattr(pop, key), [states.parse(enum, b) for b in values])
        return mask

    def _programmes(self) -> None:
        """Referrals, the waiting lists' re-check (residents no longer eligible leave, unstarted) and discharges
        in one compiled pass (:func:`glw_sim.engine.programmes.refer_and_discharge`), then every provider (a
        mesa.Agent) starts residents from its list, under the participation rule
        (:class:`glw_sim.interventions.base.Participation`)."""
        if not self.programmes:
            return
        self._hubs_month()
        self._prog_active[:] = [p.active() for p in self.programmes]
        chances = Chances(np.stack([p.referral_table() for p in self.programmes]),
                          np.stack([p.take_up_table() for p in self.programmes]))
        referred, caseload, waiting, start, left = programmes.refer_and_discharge(
            self._month_inputs(False, None), self._prog_rules, self._programme_effects(), self.res, chances,
            self._prog_done, self._declines)
        for j, prog in enumerate(self.programmes):
            done = None
            row = self._prog_tables.skills_row[j]
            if row >= 0:
                done = np.flatnonzero(self._prog_done[row])
                self._prog_done[row][done] = False
            prog.prepare(referred[j], caseload[j, :len(prog.providers)], waiting[start[j]:start[j + 1]], done,
                         left[j, :len(prog.providers)])
        self.agents_by_type[Provider].do("step")
        self.spending += sum(p.books()["spending"] for p in self.programmes)

    def _hubs_month(self) -> None:
        """Integration hubs active this month: their boroughs' referral and take-up multipliers, and their cost."""
        self.hub_referral[:] = 1.0
        self.hub_take_up[:] = 1.0
        for hub in self.hubs:
            if is_active(self.current_month, hub.start, hub.end):
                area = hub.areas.mask()
                self.hub_referral[area] *= hub.referral_multiplier
                self.hub_take_up[area] *= hub.take_up_multiplier
                self.spending += hub.cost_per_borough_year / 12.0 * area.sum()

    @property
    def _declines(self) -> bool:
        """Participation one at a time, declined while in another, with more than one employment programme."""
        return any(p.decline for p in self.programmes)

    def participants(self) -> np.ndarray:
        """Residents who have started any programme."""
        return self._prog_started.any(axis=1)

    def _programme_effects(self):
        """The programmes' state and effects as the passes read them (:class:`glw_sim.engine.records.Effects`)."""
        if not self.programmes:
            return self._no_programmes
        return self._prog_tables.effects(self._prog_active, self._prog_status, self._prog_since, self._places)

    @property
    def work_multiplier(self) -> np.ndarray:
        """Multiplier on each resident's chance of moving into work from employability levers (a hook: programmes'
        effects are applied in the monthly pass, :meth:`programme_multipliers`).

        Made on first use: until then every resident's multiplier is 1 and the monthly pass skips it."""
        if self._work_multiplier is None:
            self._work_multiplier = np.ones(len(self.population), dtype=np.float64)
        return self._work_multiplier

    @property
    def _uses_work_multiplier(self) -> bool:
        return self._work_multiplier is not None

    def _wm_or_empty(self) -> np.ndarray:
        return self._work_multiplier if self._work_multiplier is not None else np.ones(0)

    def programme_multipliers(self) -> tuple[np.ndarray, np.ndarray]:
        """This month's multipliers from programmes, as the monthly pass applies them: on each resident's chance of
        moving into work, and (shape (2, n)) on moving to U and to I."""
        n = len(self.population)
        work, moves = np.ones(n), np.ones((2, n))
        if self.programmes:
            programmes.multipliers(self.month, self._programme_effects(), self.population.state, work, moves)
        return work, moves

    def _apply_employability(self) -> None:
        if self.employability or self.levers.acting:
            self.work_multiplier[:] = 1.0
            for e, mask in self._active_levers():
                self.work_multiplier[mask] *= e.multiplier
        if self.levers.specs:
            self.spending += self.levers.month(self)

    def _desired_moves_into_work(self, with_programmes: bool = True) -> np.ndarray:
        """Expected moves into work by home borough at calibrated hazards (times programme effects), over all
        residents (the monthly pass sums the same over the residents it listed as not in work)."""
        n = len(self.population)
        counts = np.array([chunk.py_func(n, c)[1] - chunk.py_func(n, c)[0] for c in range(CHUNKS)], dtype=np.int64)
        return self._expected_moves(Listing(np.arange(n, dtype=np.int64), counts), 255, np.zeros(0, dtype=np.int64),
                                    with_programmes)[0]

    def _expected_moves(self, listing: Listing, this_birth_month: int, birthday: np.ndarray,
                        with_programmes: bool) -> tuple[np.ndarray, np.ndarray]:
        """:func:`glw_sim.engine.matching.expected_moves` over the ``listing`` residents and the ``birthday``
        residents: (expected moves, greatest chance) by home borough."""
        return matching.expected_moves(listing, this_birth_month, birthday, self.res, self.cached, self._hazard,
                                       self._month_inputs(False, None, with_programmes), self._programme_effects())

    def _month_pass(self, job_factor: np.ndarray | None) -> np.ndarray:
        """E/U/I moves for everyone (unless ``job_factor`` is None: the tally only) and the month's tally."""
        return month.month_pass(self._month_inputs(job_factor is not None, job_factor), keyed.TRANSITIONS, self.res,
                                self.cached, self._hazard, self._reasons, self._r_feats, self._programme_effects(),
                                self._ring, self._listing)

    def _transitions(self, birthday: np.ndarray) -> None:
        """E/U/I moves for everyone: probabilities, matching for moves into work, then one draw each; new
        inactivity spells draw a reason; some inactive residents' main reason changes. The month's metrics
        are tallied in the same pass (kept for _collect).

        The expected moves into work that matching needs are summed over the residents not in work only: those
        last month's pass listed, and this month's ``birthday`` residents (whose state may have changed). With
        matching switched off they are not needed: every chance into work stands as calibrated."""
        if not self.market.enabled:
            self._tally = self._month_pass(self.market.unconstrained(self.month))
            return
        if isinstance(self.market, Following):  # the leader's factors: no expected moves needed
            self._tally = self._month_pass(self.market.job_factors(None, self.month))
            return
        this_birth_month = self.current_month.month - 1
        desired, top = self._expected_moves(self._listing, this_birth_month, birthday, True)
        factor = self.market.job_factors(desired, self.month)
        raised = matching.capped_factors(factor, desired, top, lambda f: matching.capped_moves(  # (only if needed)
            self._listing, this_birth_month, birthday, self.res, self.cached, self._hazard,
            self._month_inputs(False, None, True), self._programme_effects(), f))
        if raised is not factor:  # (the factors the month applies: a twin following this market takes these)
            self.market.last_factor = raised
        self._tally = self._month_pass(raised)

    # ------------------------------------------------------------------ metrics
    def _collect(self) -> None:
        rec = {"month": self.month, "date": self.current_month.isoformat()[:7]}
        t = self._tally if self._tally is not None else self._month_pass(None)
        self._tally = None
        #: this month's weighted counts (see :func:`glw_sim.engine.tallies.split_tally`): by borough x state, reason,
        #: and by sex, age band, health, ethnic group and qualification x state, ...
        self.counts = tallies.split_tally(t)
        london, borough, groups, quarterly = from_tally(self.counts, self.collect_groups)
        rec.update(london)
        if self.market.history:
            _, v, sk, mt = self.market.history[-1]
            rec.update({"vacancies": float(v.sum()), "seekers": float(sk.sum()), "matches": float(mt.sum())})
        else:
            rec.update({"vacancies": float(self.market.vacancies.sum()), "seekers": float("nan"),
                        "matches": float("nan")})
        self.group_records.append((self.month, groups))
        if self.month >= 3 and self.collect_groups:
            names = ("employed", "unemployed", "inactive")
            for i in range(3):
                for j in range(3):
                    if i != j:
                        rec[f"quarterly_{names[i]}_to_{names[j]}"] = float(quarterly[i, j])
        for prog in self.programmes:
            for k, v in prog.books().items():
                rec[f"programme.{prog.spec.label}.{k}"] = v
        if self.levers.specs:
            rec.update(self.levers.records())
        if self.pay is not None:
            rec.update(self.pay.records(self.month, self.current_month))
        if self.programmes or self.levers.specs:
            rec["spending_cumulative"] = self.spending
        self.records.append(rec)
        self._borough_now = borough
        if self.collect_boroughs or self.month == 0:
            self.borough_records.append((self.month, borough))
        self.datacollector.collect(self)

    def finish(self) -> None:
        """Make sure the final month's borough metrics are recorded."""
        if self.borough_records[-1][0] != self.month:
            self.borough_records.append((self.month, self._borough_now))  # from the month's tally

    def run(self, months: int, progress=None) -> None:
        for _ in range(months):
            self.step()
            if progress is not None:
                progress()
        self.finish()
