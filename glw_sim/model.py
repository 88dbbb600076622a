"""GLWModel: one month of working-age London per ``step()``.

``GLWModel`` is a real :class:`mesa.Model`: it owns the seeded random number
generator (``self.rng``), advances one month per ``step()``, collects
model-level metrics with a :class:`mesa.DataCollector`, and works with
``mesa.batch_run``. The millions of residents are not ``mesa.Agent`` objects
but columns of a :class:`~glw_sim.population.Population`, and every step is
vectorised (DESIGN.md, section 2).

One month, in order:

1. **Demography**: residents whose birthday month it is age a year; those
   reaching 65 leave and their slot is taken by a 16-year-old entering the
   same borough; some leave education or training. With ``migration="balance"``
   (the baseline) weights are then rescaled so each borough x sex x single year
   of age keeps its 2025 size: net migration is assumed to carry residents like
   the cell's own (labelled assumption); a year left with no residents at a
   small scale is carried by its band's other years (``GLWModel._migration_factors``).
2. **Transitions** between E, U and I from :mod:`glw_sim.hazards`, one
   uniform draw per resident; new inactivity spells draw a reason; some
   inactive residents' main reason changes.
3. **Metrics** for London, boroughs and groups are recorded.
"""

from __future__ import annotations

from datetime import date

import mesa
import numpy as np

from glw_sim import kernels as K
from glw_sim import metrics as M
from glw_sim import parameters as P
from glw_sim.fitted import FittedModel, load_fitted
from glw_sim.hazards import Hazards
from glw_sim.months import add_months, is_active, parse_month  # noqa: F401  (re-exported for callers)
from glw_sim.states import LabourState, age_band_of
from glw_sim.synthesis import synthesise
from glw_sim.targets import Targets, load_targets

E, U, I = int(LabourState.EMPLOYED), int(LabourState.UNEMPLOYED), int(LabourState.INACTIVE)

#: (scale, seed) -> synthesised population, re-centred model, RNG state after synthesis, fitted model used.
#: Sweeps run many short simulations of the same population; synthesis is the costly part.
_SYNTH_CACHE: dict = {}


class GLWModel(mesa.Model):
    """Agent-based model of London's working-age labour market.

    Args:
        scale: share of Londoners simulated (1.0 = one agent per resident).
        seed: random seed (0 is a valid seed). Mesa's rule holds: seed or rng, not both.
        start: first month, ``YYYY-MM`` (the calibration is for June 2025).
        migration: ``"balance"`` keeps each borough x sex x age-band total at
            its start value; ``"none"`` lets the cohorts age (conservation).
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
        cache_population: reuse the synthesised population of the last model with the same scale and
            seed (identical results, much faster for sweeps).
        programme_keys: each programme's key for its keyed draws (default: its position in ``interventions``);
            a run that leaves programmes out passes the others' positions in the full list, so their residents
            draw the same numbers as in the full package.
        participation: the rule for being in more than one programme
            (:class:`glw_sim.interventions.base.Participation`, or a dict of its fields; default one employment
            programme at a time, the others waiting).
    """

    def __init__(
        self,
        scale: float = 0.01,
        seed: int | None = 20250601,
        *,
        rng=None,
        start: str = "2025-06",
        migration: str = "balance",
        collect_boroughs: bool = True,
        collect_groups: bool = True,
        fitted: FittedModel | None = None,
        targets: Targets | None = None,
        assumptions: dict[str, float] | None = None,
        labour_demand=None,
        employability=None,
        interventions=None,
        integration_hubs=None,
        cache_population: bool = False,
        programme_keys: list[int] | None = None,
        participation=None,
    ) -> None:
        super().__init__(seed=seed, rng=rng)
        from glw_sim.scenario import LabourDemand

        if labour_demand is None:
            labour_demand = LabourDemand()
        elif isinstance(labour_demand, dict):
            labour_demand = LabourDemand(**labour_demand)
        self.labour_demand_spec = labour_demand
        self.employability = list(employability or [])
        if migration not in ("balance", "none"):
            raise ValueError(f"migration must be 'balance' or 'none', got {migration!r}")
        self.scale = float(scale)
        self.migration = migration
        self.collect_boroughs = collect_boroughs
        self.collect_groups = collect_groups
        self.start = parse_month(start)
        self.targets = targets or load_targets()
        base = fitted or load_fitted()
        key = (self.scale, seed, self.targets.borough_rates.tobytes())  # (drawn borough rates differ by seed)
        cached = _SYNTH_CACHE.get(key) if cache_population and seed is not None else None
        pi = None
        if cached is not None and cached[3] is base:
            pop, model, state, _ = cached
            self.population, self.fitted = pop.copy(), model.copy()
            self.rng.bit_generator.state = state
        else:
            self.population, self.fitted, pi = synthesise(self.targets, base, scale=self.scale, rng=self.rng,
                                                          durations=False, return_probabilities=True)
            if cache_population and seed is not None:
                _SYNTH_CACHE.clear()  # keep one population: memory stays bounded
                _SYNTH_CACHE[key] = (self.population.copy(), self.fitted.copy(),
                                                    self.rng.bit_generator.state, base)
        self.hazards = Hazards(self.fitted, assumptions)
        # months in the current state: each resident's stationary spell age under this run's hazards
        if pi is None:
            pi = self.fitted.state_model.probabilities(self.population)
        self.hazards.draw_initial_durations(self.population, pi, self.rng)
        del pi
        pop = self.population
        n = len(pop)
        self._pi = np.empty((2, n), dtype=np.float32)  # cached stationary shares of E and U
        self._z = np.empty(n, dtype=np.float32)  # cached reason-exit normaliser
        self._group = np.empty(n, dtype=np.uint16)  # cached tally group (kernels.group_of)
        self._no_programmes = K.no_programmes(n)
        # written by each monthly pass: the residents not in work (by chunk)
        self._not_employed = np.empty(n, dtype=np.int64)
        self._not_employed_count = np.zeros(K.CHUNKS, dtype=np.int64)
        self._cell_chunks = np.zeros((K.CHUNKS, K.N_CELLS))  # weight in each cell after net migration, by chunk
        self._cell_change = np.zeros((K.CHUNKS, K.N_CELLS))  # weight moving between cells at this month's birthdays
        sm, rm = self.fitted.state_model, self.fitted.reason_model
        self._state_tables = (sm.stacked(), sm.intercept.astype(np.float64))
        hm = self.hazards.state_model
        self._hazard_tables = (hm.stacked(), hm.intercept.astype(np.float64))
        self._reason_tables = (rm.stacked(), rm.intercept.astype(np.float64))
        self._reason_codes = np.asarray(self.fitted.reason_codes, dtype=np.uint8)
        self._wants_job_prob = np.asarray(self.fitted.wants_job_prob, dtype=np.float64)
        self._refresh(np.arange(n))
        self._birthdays = [np.flatnonzero(pop.birth_month == m) for m in range(12)]  # birth months never change
        self._demog_tables = None
        # each resident's state in the last three months, by month % 3 (255: not known, e.g. an entrant's slot)
        self._ring = np.full((3, n), 255, dtype=np.uint8)
        self._cell_target = K.cell_totals(pop.weight, pop.borough, pop.sex, pop.age)
        self._cells = self._cell_target.copy()  # the weight in each cell now
        self._work_multiplier = None  # see work_multiplier
        # common random numbers: every per-resident draw is addressed by (seed, month, purpose, resident)
        self._key_seed = int(self.rng.integers(2**62))
        self.market = self._build_market(labour_demand)
        # matching is calibrated on the June 2025 residents at their calibrated hazards, before any programme
        if self.market.enabled:
            self.market.calibrate(self._desired_moves_into_work(with_programmes=False))
        from glw_sim.interventions.base import Programme, Provider, with_defaults, ProgrammeSpec

        specs = [x if isinstance(x, ProgrammeSpec) else ProgrammeSpec.model_validate(with_defaults(x))
                 for x in (interventions or [])]
        # every programme's status, month of its last change and whether the resident ever started, as rows of
        # (residents x programmes) arrays: the compiled monthly passes read all programmes at once
        from glw_sim.interventions.monthly import ProgrammeTables, width

        cols = width(len(specs))  # a resident's statuses are read 8 programmes at a time
        self._prog_status = np.zeros((n, cols), dtype=np.int8)
        self._prog_since = np.zeros((n, cols), dtype=np.int32)
        self._prog_started = np.zeros((n, cols), dtype=np.bool_)
        keys = list(range(len(specs))) if programme_keys is None else list(programme_keys)
        if len(keys) != len(specs) or len(set(keys)) != len(keys):
            raise ValueError(f"programme_keys must give each of the {len(specs)} programmes its own key, got {keys}")
        self.programmes = [Programme(self, spec, i, keys[i]) for i, spec in enumerate(specs)]
        from glw_sim.interventions.base import Participation

        if participation is None:
            participation = Participation()
        elif isinstance(participation, dict):
            participation = Participation(**participation)
        self.participation = participation
        if participation.rule == "one_at_a_time":
            for prog in self.programmes:
                others = [q.index for q in self.programmes if q is not prog and q.employment]
                if prog.employment and others:
                    prog.blocked_by = np.array(others, dtype=np.intp)
                    prog.decline = participation.while_in_another == "decline"
        self._prog_tables = ProgrammeTables(self.programmes)
        # who lives in each place-based programme's place (no rows if none)
        placed = any(p.place is not None for p in self.programmes)
        self._places = np.zeros((n if placed else 0, cols), dtype=np.bool_)
        for p in self.programmes:
            if p.place is not None:
                self._places[:, p.index] = p.place
                p.place = self._places[:, p.index]
        self._prog_done = np.zeros((self._prog_tables.n_skills, n), dtype=np.bool_)
        self._prog_active = np.zeros(len(specs), dtype=np.bool_)
        self._provider_type = Provider
        self.spending = 0.0
        from glw_sim.interventions.base import Hub

        self.hubs = [h if isinstance(h, Hub) else Hub.model_validate(h) for h in (integration_hubs or [])]
        self.hub_referral = np.ones(33)
        self.hub_take_up = np.ones(33)
        self._tally = None  # this month's counts, from the transitions pass
        self.month = 0
        self.records: list[dict] = []
        self.borough_records: list[tuple[int, np.ndarray]] = []
        self.group_records: list[tuple[int, dict]] = []
        self.datacollector = mesa.DataCollector(
            model_reporters={k: (lambda m, k=k: m.records[-1][k]) for k in (
                "employment_rate", "unemployment_rate", "inactivity_rate", "health_related_inactivity_rate",
                "disability_employment_gap", "neet_rate_16_24", "ethnicity_employment_gap",
                "female_employment_rate", "borough_employment_spread", "gap_to_80")}
        )
        # load the monthly kernels now (numba's cache), so that the first month does not pay for it
        self._birthdays_pass(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_))
        self._collect()

    # ------------------------------------------------------------------ helpers
    def _build_market(self, spec):
        from glw_sim.demand import LabourMarket, commuting_matrix, fit_decay, level_path, load_workplaces

        work = load_workplaces(self.targets.london_population, self.targets.geography.codes)
        self.workplaces = work
        decay = fit_decay(work, self.targets.borough_population)
        self.commuting_decay_km = decay
        shocks = [(parse_month(x.month), x.change) for x in spec.shocks]
        return LabourMarket(
            commute=commuting_matrix(work, decay, spec.transport_cost),
            vacancies0=work.vacancies * work.jobs / work.jobs.sum(),
            elasticity=spec.matching_elasticity,
            slack=spec.baseline_slack,
            level_path=level_path(self.start, spec.growth_per_year, shocks),
            vacancy_level=spec.vacancy_level,
            vacancy_response=spec.vacancy_response,
            enabled=spec.enabled,
        )


    @property
    def current_month(self) -> date:
        return add_months(self.start, self.month)

    # purposes of keyed draws (kernels.keyed_uniforms)
    (MOVE, REASON, WANT, SWITCH, EDU_LEAVE, REDRAW_STATE, REDRAW_REASON, REDRAW_WANT, ENTRANT_SEX, SWITCH_REASON,
     SWITCH_WANT, LIFE_HEALTH, LIFE_CHILDREN, LIFE_CARE, ENTRANT_ETHNICITY, ENTRANT_QUALIFICATION, ENTRANT_HEALTH,
     ENTRANT_CHILDREN, ENTRANT_CARE, ENTRANT_EDUCATION) = range(20)

    def _u(self, purpose: int, idx: np.ndarray) -> np.ndarray:
        return K.keyed_uniforms(self._key_seed, self.month, purpose, np.asarray(idx, dtype=np.int64))

    def _feats(self, lm) -> tuple:
        """The columns a log-linear model reads, as uint8 views (for the compiled kernels)."""
        return tuple(getattr(self.population, c).view(np.uint8) for c in lm.columns)

    def _refresh(self, idx: np.ndarray) -> None:
        """Recompute cached hazard inputs and tally groups for residents whose attributes changed (whatever
        changes a resident's attributes calls this).

        Hazards pull each resident towards the shares of residents ``hazards.age_leads`` years older (the state
        model with its age effect read ahead, ``hazards.state_model``), so that a cohort that keeps ageing tracks
        its age profile instead of lagging behind it."""
        if len(idx) == 0:
            return
        pop, hz = self.population, self.hazards
        sm, rm = self.fitted.state_model, self.fitted.reason_model
        if getattr(self, "_z_table", None) is None:
            # Both models' outputs depend only on a few attributes: tabulate them by combination (identical
            # values). The state model has millions of combinations: worth it for large populations only.
            self._r_levels = np.array(list(rm.columns.values()), dtype=np.int64)
            self._z_table = K.reason_z_table(*self._reason_tables, self._r_levels, hz.reason_exit_mult)
            self._s_levels = np.array(list(sm.columns.values()), dtype=np.int64)
            big = len(pop) > np.prod(self._s_levels, dtype=np.float64) / 2
            self._s_table = (K.state_share_table(*self._hazard_tables, self._s_levels) if big
                             else np.empty((2, 0), dtype=np.float32))
        K.refresh_hazard_inputs(
            np.asarray(idx, dtype=np.int64), *self._hazard_tables, self._feats(sm), self._s_levels, self._s_table, self._feats(rm), self._r_levels, self._z_table,
            pop.in_education, float(hz.exit_mult_by_code[1]), self._pi[0], self._pi[1], self._z, pop.sex, pop.age,
            pop.health, pop.ethnicity, pop.qualification, self._group)

    def _refresh_args(self) -> tuple:
        """What the birthday pass needs to refresh its residents (see :func:`glw_sim.kernels.birthdays`)."""
        hz = self.hazards
        return (*self._hazard_tables, self._s_levels, self._s_table, self._r_levels,
                self._z_table, float(hz.exit_mult_by_code[1]), self._pi[0], self._pi[1], self._z, self._group)

    # ------------------------------------------------------------------ the month
    def _active_levers(self):
        """(lever, residents it applies to) for the employability levers active this month."""
        for e in self.employability:
            if is_active(self.current_month, e.start, None):
                yield e, self.select(e.who)

    def helped(self) -> np.ndarray:
        """Residents any active employability lever applies to this month."""
        out = np.zeros(len(self.population), dtype=bool)
        for _, mask in self._active_levers():
            out |= mask
        return out

    def select(self, who: dict) -> np.ndarray:
        """Boolean mask of residents matching ``who`` (attribute -> value or list of values)."""
        from glw_sim import states

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
                from glw_sim.scenario import SELECTABLE

                enum = getattr(states, SELECTABLE[key])
                mask &= np.isin(getattr(pop, key), [states.parse(enum, b) for b in values])
        return mask

    def _programmes(self) -> None:
        """Referrals, the waiting lists' re-check (residents no longer eligible leave, unstarted) and discharges
        in one compiled pass, then every provider (a mesa.Agent) starts residents from its list, under the
        participation rule (:class:`glw_sim.interventions.base.Participation`)."""
        if not self.programmes:
            return
        self.hub_referral[:] = 1.0
        self.hub_take_up[:] = 1.0
        for hub in self.hubs:
            if is_active(self.current_month, hub.start, hub.end):
                area = hub.areas.mask()
                self.hub_referral[area] *= hub.referral_multiplier
                self.hub_take_up[area] *= hub.take_up_multiplier
                self.spending += hub.cost_per_borough_year / 12.0 * area.sum()
        from glw_sim.interventions.monthly import refer_and_discharge, words

        pop, t = self.population, self._prog_tables
        self._prog_active[:] = [p.active() for p in self.programmes]
        referred, caseload, waiting, start, left = refer_and_discharge(
            self.month, self._key_seed, t.purposes, self._prog_active, self._prog_status, words(self._prog_status),
            self._prog_since, pop.state,
            pop.health, pop.age, pop.months_in_state, pop.wants_job, pop.in_education, pop.reason, pop.young_children,
            pop.qualification, pop.borough, pop.weight, t.state_ok, t.static_bits, t.state_bits, t.borough_bits, t.min_months,
            t.provider_of_borough, self._places, t.has_place, np.stack([p.referral_table() for p in self.programmes]),
            np.stack([p.take_up_table() for p in self.programmes]), t.support_months, t.after_months, t.skills_row,
            self._prog_done, t.n_providers, t.employment_bits, self._declines)
        for j, prog in enumerate(self.programmes):
            done = None
            if t.skills_row[j] >= 0:
                row = self._prog_done[t.skills_row[j]]
                done = np.flatnonzero(row)
                row[done] = False
            prog.prepare(referred[j], caseload[j, :len(prog.providers)], waiting[start[j]:start[j + 1]], done,
                         left[j, :len(prog.providers)])
        self.agents_by_type[self._provider_type].do("step")
        self.spending += sum(p.books()["spending"] for p in self.programmes)

    @property
    def _declines(self) -> bool:
        """Participation one at a time, declined while in another, with more than one employment programme."""
        return any(p.decline for p in self.programmes)

    def participants(self) -> np.ndarray:
        """Residents who have started any programme."""
        return self._prog_started.any(axis=1)

    def _programme_effects(self) -> tuple:
        """What :func:`glw_sim.kernels.resident_multipliers` reads."""
        from glw_sim.interventions.monthly import words

        if not getattr(self, "programmes", None):
            return self._no_programmes
        t = self._prog_tables
        return (self._prog_active, self._prog_status, words(self._prog_status), self._prog_since, self._places,
                words(self._places), t.into_work, t.into_search, t.leave_work, t.after_months, t.exponential,
                t.half_life, t.spillover)

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

    def programme_multipliers(self) -> tuple[np.ndarray, np.ndarray]:
        """This month's multipliers from programmes, as the monthly pass applies them: on each resident's chance of
        moving into work, and (shape (2, n)) on moving to U and to I."""
        from glw_sim.interventions.monthly import multipliers

        n = len(self.population)
        work, moves = np.ones(n), np.ones((2, n))
        if self.programmes:
            multipliers(self.month, self._programme_effects(), self.population.state, work, moves)
        return work, moves

    def _apply_employability(self) -> None:
        if not self.employability:
            return
        self.work_multiplier[:] = 1.0
        for e, mask in self._active_levers():
            self.work_multiplier[mask] *= e.multiplier

    def step(self) -> None:
        self.month += 1
        changed = self._demography()  # (refreshes the birthday residents' hazard inputs)
        if self.migration == "balance":
            pop = self.population
            K.scale_weights(pop.weight, pop.borough, pop.sex, pop.age, self._migration_factors(), self._cell_chunks)
            self._cells = self._cell_chunks.sum(axis=0)
        self._programmes()
        self._apply_employability()
        self._transitions(changed)
        self._collect()

    def _migration_factors(self) -> np.ndarray:
        """Net migration (``migration="balance"``): the factor on each borough x sex x single-year-of-age cell's
        weights that restores its start total, so the age structure holds within the bands too (band totals alone
        let a bulge of ages move through a band and shift its rates). The cell totals are last month's (summed
        when the weights were scaled) moved by this month's birthdays (:func:`glw_sim.kernels.birthdays`)."""
        cur = self._cells + self._cell_change.sum(axis=0)
        target = self._cell_target
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(cur > 0, target / cur, 1.0)
            # a single year left with no residents (small scales) cannot be restored: the other years of its
            # borough x sex x age band carry its weight, so the band's total still holds
            band = K.CELL_BAND
            want = np.bincount(band, weights=target, minlength=K.N_CELL_BANDS)
            held = np.bincount(band, weights=np.where(cur > 0, target, 0.0), minlength=K.N_CELL_BANDS)
            return factor * np.where(held > 0, want / held, 1.0)[band]

    _DEMOG_PURPOSES = np.array([EDU_LEAVE, REDRAW_STATE, REDRAW_REASON, REDRAW_WANT, ENTRANT_SEX, LIFE_HEALTH,
                                LIFE_CHILDREN, LIFE_CARE, ENTRANT_ETHNICITY, ENTRANT_QUALIFICATION, ENTRANT_HEALTH,
                                ENTRANT_CHILDREN, ENTRANT_CARE, ENTRANT_EDUCATION], dtype=np.int64)

    def _demography_tables(self):
        if getattr(self, "_demog_tables", None) is None:
            from glw_sim.synthesis import health_prevalence_by_band

            share, groups = self.targets.age_sex_share, self.targets.groups
            self._demog_tables = (health_prevalence_by_band(self.targets), P.YOUNG_CHILDREN_BY_BAND_SEX.astype(np.float64),
                                  P.UNPAID_CARER_BY_BAND.astype(np.float64), P.in_education_share(np.arange(65)),
                                  float(share[0, 1] / share[0].sum()),
                                  np.asarray(groups["ethnicity"].population_share, dtype=np.float64),
                                  np.asarray(groups["qualification"].population_share, dtype=np.float64))
        return self._demog_tables

    def _demography(self) -> np.ndarray:
        """Birthdays: residents age a year. Those entering a new age band get life events (health onset and
        changes in caring, keeping each band's prevalence, so cohorts do not carry their younger profile as
        they age; health only worsens: none -> condition -> disabled, with the probabilities that lift the
        previous band's shares to the new). Some leave education or training: a labour-market entry, their state
        drawn afresh from the shares of residents like them not in education. 65-year-olds leave and a
        16-year-old takes the slot in the same borough, with attributes drawn at London's shares (ethnic group and
        qualification as the whole working-age population, health, children, caring and education as 16-year-olds)
        and a labour state drawn afresh. Their cached hazard inputs are refreshed in the same pass. Returns the
        residents whose attributes changed."""
        birthday = self._birthdays[self.current_month.month - 1]
        leaver = np.empty(len(birthday), dtype=np.bool_)
        self._birthdays_pass(birthday, leaver)
        leavers = birthday[leaver]
        if len(leavers):
            self._ring[:, leavers] = 255  # the slot's last three states were the leaver's
            for prog in self.programmes:
                prog.reset(leavers)
        return birthday

    def _birthdays_pass(self, idx: np.ndarray, leaver: np.ndarray) -> None:
        pop = self.population
        K.birthdays(idx, self._key_seed, self.month, self._DEMOG_PURPOSES, pop.age, pop.sex, pop.ethnicity,
                    pop.qualification, pop.health, pop.young_children, pop.unpaid_carer, pop.in_education, pop.state,
                    pop.reason, pop.months_in_state, pop.wants_job, *self._demography_tables(), *self._state_tables,
                    self._feats(self.fitted.state_model), *self._reason_tables, self._feats(self.fitted.reason_model),
                    self._reason_codes, self._wants_job_prob, leaver, pop.borough, pop.weight, self._cell_change,
                    self._refresh_args())

    def _desired_moves_into_work(self, with_programmes: bool = True) -> np.ndarray:
        """Expected moves into work by home borough at calibrated hazards (times programme effects), over all
        residents (the monthly pass sums the same over the residents it listed as not in work)."""
        n = len(self.population)
        counts = np.array([K._chunk(n, c)[1] - K._chunk(n, c)[0] for c in range(K.CHUNKS)], dtype=np.int64)
        return self._expected_moves(np.arange(n, dtype=np.int64), counts, 255, np.zeros(0, dtype=np.int64),
                                    with_programmes)

    def _expected_moves(self, listed: np.ndarray, counts: np.ndarray, this_birth_month: int, birthday: np.ndarray,
                        with_programmes: bool) -> np.ndarray:
        """:func:`glw_sim.kernels.desired_from_list` over the ``listed`` residents (``counts`` per chunk) and the
        ``birthday`` residents."""
        pop = self.population
        out = np.zeros(33)
        K.desired_from_list(len(pop), listed, counts, pop.birth_month, this_birth_month, birthday,
                            pop.weight, pop.borough, out,
                            pop.state, pop.reason, pop.months_in_state, *self._hazard_args(), self._wm_or_empty(),
                            self._uses_work_multiplier and with_programmes, getattr(self, "month", 0),
                            self._programme_effects(), with_programmes and bool(getattr(self, "programmes", None)))
        return out

    def _hazard_args(self) -> tuple:
        """The cached hazard inputs and hazard constants the monthly kernels read (as :func:`kernels._move_p`)."""
        hz = self.hazards
        fp, dt = hz.flow, hz.durations
        return (self._pi[0], self._pi[1], self._z, fp.k_eu, fp.k_ei, fp.k_ui, fp.cycle, dt.hbar, dt.h0, dt.profile,
                self._edges, hz.exit_mult_by_code)

    _edges = P.DURATION_EDGES.astype(np.int64)

    def _wm_or_empty(self) -> np.ndarray:
        return self._work_multiplier if self._work_multiplier is not None else np.ones(0)

    _PURPOSES = np.array([MOVE, REASON, WANT, SWITCH, SWITCH_REASON, SWITCH_WANT], dtype=np.int64)

    def _month_pass(self, job_factor: np.ndarray | None) -> np.ndarray:
        """E/U/I moves for everyone (unless ``job_factor`` is None) and the month's tally, in one pass."""
        pop, hz = self.population, self.hazards
        tables, intercept = self._reason_tables
        out = K.month_transitions(
            job_factor is not None, self._key_seed, self.month, self._PURPOSES, pop.state, pop.reason,
            pop.months_in_state, pop.borough, self._group, pop.in_education, pop.wants_job, pop.weight,
            *self._hazard_args(), self._wm_or_empty(), self._uses_work_multiplier, self._programme_effects(),
            bool(self.programmes), np.ones(33) if job_factor is None else job_factor, tables, intercept,
            self._feats(self.fitted.reason_model), self._reason_codes, hz.reason_exit_mult,
            self._wants_job_prob, hz.switch_rate, self._ring, self._not_employed, self._not_employed_count,
            self.collect_groups)
        return out

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
        desired = self._expected_moves(self._not_employed, self._not_employed_count, self.current_month.month - 1,
                                       birthday, True)
        job_factor = self.market.job_factors(desired, self.month)
        self._tally = self._month_pass(job_factor)

    # ------------------------------------------------------------------ metrics
    def _collect(self) -> None:
        rec = {"month": self.month, "date": self.current_month.isoformat()[:7]}
        t = self._tally if self._tally is not None else self._month_pass(None)
        self._tally = None
        #: this month's weighted counts (see :func:`glw_sim.kernels.split_tally`): by borough x state, reason, and
        #: by sex, age band, health, ethnic group and qualification x state, ...
        self.counts = K.split_tally(t)
        london, borough, groups, quarterly = M.from_tally(self.counts, self.collect_groups)
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
        if self.programmes:
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
