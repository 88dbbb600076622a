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
   same borough; some leave full-time education. With ``migration="balance"``
   (the baseline) weights are then rescaled so each borough x sex x age-band
   cell keeps its 2025 size: net migration is assumed to carry residents like
   the cell's own (labelled assumption).
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
from glw_sim.calibration import FittedModel, load_fitted
from glw_sim.hazards import Hazards
from glw_sim.months import add_months, is_active, parse_month  # noqa: F401  (re-exported for callers)
from glw_sim.states import Health, InactivityReason, LabourState, age_band_of
from glw_sim.synthesis import assign_reasons, draw_attributes, synthesise
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
        fitted, targets: calibration (default: the shipped files).
        assumptions: overrides of :data:`glw_sim.parameters.ASSUMPTIONS` values.
        labour_demand: :class:`glw_sim.scenario.LabourDemand` (or a dict of its fields).
        employability: levers (:class:`glw_sim.scenario.Employability`) on chances of moving into work.
        cache_population: reuse the synthesised population of the last model with the same scale and
            seed (identical results, much faster for sweeps).
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
        fitted: FittedModel | None = None,
        targets: Targets | None = None,
        assumptions: dict[str, float] | None = None,
        labour_demand=None,
        employability=None,
        interventions=None,
        integration_hubs=None,
        cache_population: bool = False,
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
        self.start = parse_month(start)
        self.targets = targets or load_targets()
        base = fitted or load_fitted()
        cached = _SYNTH_CACHE.get((self.scale, seed)) if cache_population and seed is not None else None
        if cached is not None and cached[3] is base:
            pop, model, state, _ = cached
            self.population, self.fitted = pop.copy(), model.copy()
            self.rng.bit_generator.state = state
        else:
            self.population, self.fitted = synthesise(self.targets, base, scale=self.scale, rng=self.rng,
                                                      durations=False)
            if cache_population and seed is not None:
                _SYNTH_CACHE.clear()  # keep one population: memory stays bounded
                _SYNTH_CACHE[(self.scale, seed)] = (self.population.copy(), self.fitted.copy(),
                                                    self.rng.bit_generator.state, base)
        self.hazards = Hazards(self.fitted, assumptions)
        # months in the current state: each resident's stationary spell age under this run's hazards
        self.hazards.draw_initial_durations(
            self.population, self.fitted.state_model.probabilities(self.population), self.rng)
        pop = self.population
        n = len(pop)
        self._pi = np.empty((2, n), dtype=np.float32)  # cached stationary shares of E and U
        self._z = np.empty(n, dtype=np.float32)  # cached reason-exit normaliser
        self._refresh(np.arange(n))
        self._history = [pop.state.copy(), pop.state.copy(), pop.state.copy()]
        self._entered = np.full(n, -999, dtype=np.int32)  # month a slot was taken by an entrant
        self._flag = np.zeros(n, dtype=np.uint8)  # 1 left inactivity this month, 2 entered it
        self._p = np.zeros((3, n), dtype=np.float64)  # this month's move probabilities to E, U, I
        #: multiplier on each resident's chance of moving into work (the hook programmes act through)
        self.work_multiplier = np.ones(n, dtype=np.float64)
        # common random numbers: every per-resident draw is addressed by (seed, month, purpose, resident);
        # entrants' attributes come from their own stream, used the same way in every run
        self._key_seed = int(self.rng.integers(2**62))
        self._rng_demog = np.random.default_rng(self.rng.integers(2**62))
        self.market = self._build_market(labour_demand)
        # matching is calibrated on the June 2025 residents at their calibrated hazards, before any programme
        self.market.calibrate(self._desired_moves_into_work(with_programmes=False))
        from glw_sim.interventions.base import Programme, Provider, with_defaults, ProgrammeSpec

        specs = [x if isinstance(x, ProgrammeSpec) else ProgrammeSpec.model_validate(with_defaults(x))
                 for x in (interventions or [])]
        self.programmes = [Programme(self, spec, i) for i, spec in enumerate(specs)]
        #: multipliers on each resident's chances of moving to U and to I (programmes acting on search or on
        #: staying in work); allocated only when a programme does
        self.move_multiplier = (np.ones((2, n), dtype=np.float64) if any(
            s.effect.into_search != 1.0 or s.effect.leave_work != 1.0 for s in specs) else None)
        self._provider_type = Provider
        self.spending = 0.0
        from glw_sim.interventions.base import Hub

        self.hubs = [h if isinstance(h, Hub) else Hub.model_validate(h) for h in (integration_hubs or [])]
        self.hub_referral = np.ones(33)
        self.hub_take_up = np.ones(33)
        self._cell_target = K.cell_totals(pop.weight, pop.borough, pop.sex, pop.age)
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
     SWITCH_WANT, LIFE_HEALTH, LIFE_CHILDREN, LIFE_CARE) = range(14)

    def _u(self, purpose: int, idx: np.ndarray) -> np.ndarray:
        return K.keyed_uniforms(self._key_seed, self.month, purpose, np.asarray(idx, dtype=np.int64))

    def _refresh(self, idx: np.ndarray) -> None:
        """Recompute cached hazard inputs for residents whose attributes changed."""
        if len(idx) == 0:
            return
        pop = self.population
        age = pop.age[idx].copy()
        lead = self.hazards.age_lead
        if lead:
            # Hazards pull each resident towards the shares of residents `lead` years older, so that a
            # cohort that keeps ageing tracks its age profile instead of lagging behind it.
            pop.age[idx] = np.minimum(age + lead, 64)
        pi = self.fitted.state_model.probabilities(pop, idx)
        pop.age[idx] = age
        self._pi[0, idx] = pi[0]
        self._pi[1, idx] = pi[1]
        self._z[idx] = self.hazards.reason_normaliser(self.population, idx)

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
        """Referrals, then every provider (a mesa.Agent) discharges and starts residents."""
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
        for prog in self.programmes:
            prog.refer()
        self.agents_by_type[self._provider_type].do("step")
        self.spending += sum(p.books()["spending"] for p in self.programmes)

    def participants(self) -> np.ndarray:
        """Residents who have started any programme."""
        out = np.zeros(len(self.population), dtype=bool)
        for prog in self.programmes:
            out |= prog.ever_started
        return out

    def _apply_employability(self) -> None:
        if not self.employability and not self.programmes:
            return
        self.work_multiplier[:] = 1.0
        if self.move_multiplier is not None:
            self.move_multiplier[:] = 1.0
        for prog in self.programmes:
            prog.apply(self.work_multiplier, self.move_multiplier)
        for e, mask in self._active_levers():
            self.work_multiplier[mask] *= e.multiplier

    def step(self) -> None:
        self.month += 1
        changed = self._demography()
        self._refresh(changed)
        self._programmes()
        self._apply_employability()
        self._transitions()
        self._collect()

    def _demography(self) -> np.ndarray:
        pop = self.population
        cal = self.current_month.month - 1
        birthday = np.nonzero(pop.birth_month == cal)[0]
        old_age = pop.age[birthday]
        pop.age[birthday] += 1
        leavers = birthday[pop.age[birthday] > 64]
        self._life_events(birthday[(pop.age[birthday] <= 64) & (age_band_of(pop.age[birthday]) != age_band_of(old_age))])
        # leaving full-time education at a birthday
        stay = birthday[(pop.age[birthday] <= 64) & pop.in_education[birthday]]
        if len(stay):
            e_old = P.in_education_share(old_age[np.isin(birthday, stay)])
            e_new = P.in_education_share(pop.age[stay])
            leave = self._u(self.EDU_LEAVE, stay) < np.clip(1 - e_new / e_old, 0, 1)
            gone = stay[leave]
            pop.in_education[gone] = False
            # Leaving full-time education is a labour-market entry: the leaver's state is drawn
            # afresh from the shares of residents like them who are not in education.
            self._redraw_state(gone)
        # 65-year-olds leave; a 16-year-old takes the slot in the same borough
        if len(leavers):
            pop.age[leavers] = 16
            pop.sex[leavers] = (self._u(self.ENTRANT_SEX, leavers)
                                < self.targets.age_sex_share[0, 1] / self.targets.age_sex_share[0].sum())
            draw_attributes(pop, leavers, self.targets, self._rng_demog)
            self._redraw_state(leavers)
            self._entered[leavers] = self.month
            for prog in self.programmes:
                prog.reset(leavers)
        if self.migration == "balance":
            K.reweight_cells(pop.weight, pop.borough, pop.sex, pop.age, self._cell_target)
        return birthday

    def _life_events(self, idx: np.ndarray) -> None:
        """Residents entering a new age band: health onset and changes in caring, keeping each band's
        prevalence (so cohorts do not carry their younger profile as they age). Health only worsens:
        none -> condition -> disabled, with the probabilities that lift the previous band's shares to the new."""
        if len(idx) == 0:
            return
        from glw_sim.synthesis import health_prevalence_by_band

        pop = self.population
        if not hasattr(self, "_health_prev"):
            self._health_prev = health_prevalence_by_band(self.targets)
        new_b = age_band_of(pop.age[idx]).astype(np.intp)
        old = self._health_prev[new_b - 1]
        new = self._health_prev[new_b]
        u = self._u(self.LIFE_HEALTH, idx)
        h = pop.health[idx]
        # disabled share rises from old[2] to new[2]: onset among the not yet disabled
        p_dis = np.clip((new[:, 2] - old[:, 2]) / (1.0 - old[:, 2]), 0, 1)
        to_dis = (h != Health.DISABLED) & (u < p_dis)
        # conditions (not disabling) among those with none, so the condition share reaches new[1]:
        # new[1] = old[1] (1 - p_dis) + old[0] (1 - p_dis) p_ltc
        p_ltc = np.clip((new[:, 1] - old[:, 1] * (1 - p_dis)) / np.maximum(old[:, 0] * (1 - p_dis), 1e-9), 0, 1)
        to_ltc = (h == Health.NONE) & ~to_dis & (u >= p_dis) & (u < p_dis + p_ltc * (1 - p_dis))
        h = np.where(to_dis, Health.DISABLED, np.where(to_ltc, Health.LONG_TERM_CONDITION, h))
        pop.health[idx] = h
        sex = pop.sex[idx]
        pop.young_children[idx] = self._u(self.LIFE_CHILDREN, idx) < P.YOUNG_CHILDREN_BY_BAND_SEX[new_b, sex]
        pop.unpaid_carer[idx] = self._u(self.LIFE_CARE, idx) < P.UNPAID_CARER_BY_BAND[new_b]

    def _redraw_state(self, idx: np.ndarray) -> None:
        """Draw a fresh labour state (and reason) for residents ``idx`` from their stationary shares."""
        if len(idx) == 0:
            return
        pop = self.population
        pi = self.fitted.state_model.probabilities(pop, idx)
        u = self._u(self.REDRAW_STATE, idx)
        new = np.where(u < pi[0], E, np.where(u < pi[0] + pi[1], U, I)).astype(np.uint8)
        changed = new != pop.state[idx]
        pop.state[idx] = new
        pop.months_in_state[idx[changed]] = 0
        pop.reason[idx] = InactivityReason.NONE
        pop.wants_job[idx] = False
        ni = idx[new == I]
        assign_reasons(pop, ni, self.fitted, None, systematic=False,
                       uniforms=(self._u(self.REDRAW_REASON, ni), self._u(self.REDRAW_WANT, ni)))

    def _move_probabilities(self) -> np.ndarray:
        pop, hz = self.population, self.hazards
        fp, dt = hz.flow, hz.durations
        p = self._p
        K.move_probabilities(pop.state, pop.reason, pop.months_in_state, self._pi[0], self._pi[1], self._z,
                             fp.k_eu, fp.k_ei, fp.k_ui, fp.cycle, dt.hbar, dt.h0, dt.profile,
                             P.DURATION_EDGES.astype(np.int64), hz.exit_mult_by_code, p[0], p[1], p[2])
        return p

    def _desired_moves_into_work(self, with_programmes: bool = True) -> np.ndarray:
        """Expected moves into work by home borough at calibrated hazards (times programme effects)."""
        p = self._move_probabilities()
        w = self.population.weight * p[0]
        if with_programmes:
            w = w * self.work_multiplier
        return np.bincount(self.population.borough, weights=w, minlength=33)

    def _transitions(self) -> None:
        """E/U/I moves for everyone: probabilities, matching for moves into work, then one draw each."""
        pop, hz = self.population, self.hazards
        desired = self._desired_moves_into_work()
        p = self._p
        if self.move_multiplier is not None:
            p[1:] *= self.move_multiplier
        job_factor = self.market.job_factors(desired, self.month)
        u = self._u(self.MOVE, np.arange(len(pop)))
        K.apply_moves(pop.state, pop.reason, pop.months_in_state, pop.borough, u, p[0], p[1], p[2],
                      self.work_multiplier, job_factor, self._flag)
        left_i = np.flatnonzero(self._flag == 1)
        pop.wants_job[left_i] = False
        entered_i = np.flatnonzero(self._flag == 2)
        assign_reasons(pop, entered_i, self.fitted, None, systematic=False, entry=True, hazards=hz,
                       uniforms=(self._u(self.REASON, entered_i), self._u(self.WANT, entered_i)))
        # a few inactive residents' main reason changes (redrawn from the stock mix)
        cand = np.flatnonzero((pop.state == I) & (self._flag == 0) & ~pop.in_education)
        sw = cand[self._u(self.SWITCH, cand) < hz.switch_rate]
        if len(sw):
            assign_reasons(pop, sw, self.fitted, None, systematic=False,
                           uniforms=(self._u(self.SWITCH_REASON, sw), self._u(self.SWITCH_WANT, sw)))

    # ------------------------------------------------------------------ metrics
    def _collect(self) -> None:
        pop = self.population
        rec = {"month": self.month, "date": self.current_month.isoformat()[:7]}
        valid = (self._entered < self.month - 2) if self.month >= 3 else np.zeros(len(pop), dtype=bool)
        t = K.tally(pop.state, pop.reason, pop.borough, pop.sex, pop.age, pop.health, pop.ethnicity,
                    pop.qualification, pop.in_education, pop.wants_job, pop.months_in_state, pop.weight,
                    self._history[0], valid)
        london, borough, groups, quarterly = M.from_tally(t)
        rec.update(london)
        if self.market.history:
            _, v, sk, mt = self.market.history[-1]
            rec.update({"vacancies": float(v.sum()), "seekers": float(sk.sum()), "matches": float(mt.sum())})
        else:
            rec.update({"vacancies": float(self.market.vacancies.sum()), "seekers": float("nan"),
                        "matches": float("nan")})
        self.group_records.append((self.month, groups))
        if self.month >= 3:
            names = ("employed", "unemployed", "inactive")
            for i in range(3):
                for j in range(3):
                    if i != j:
                        rec[f"quarterly_{names[i]}_to_{names[j]}"] = float(quarterly[i, j])
        self._history = [self._history[1], self._history[2], pop.state.copy()]
        for prog in self.programmes:
            for k, v in prog.books().items():
                rec[f"programme.{prog.spec.label}.{k}"] = v
        if self.programmes:
            rec["spending_cumulative"] = self.spending
        self.records.append(rec)
        if self.collect_boroughs or self.month == 0:
            self.borough_records.append((self.month, borough))
        self.datacollector.collect(self)

    def finish(self) -> None:
        """Make sure the final month's borough metrics are recorded."""
        if self.borough_records[-1][0] != self.month:
            self.borough_records.append((self.month, M.boroughs(self.population)))

    def run(self, months: int, progress=None) -> None:
        for _ in range(months):
            self.step()
            if progress is not None:
                progress()
        self.finish()
