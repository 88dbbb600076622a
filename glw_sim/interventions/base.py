"""Programmes at run time: each :class:`Programme` refers eligible residents, queues them at its providers (one
:class:`Provider` ``mesa.Agent`` per borough, sub-region or ICB), starts them as places free up and books the
spending; the rules of referral, discharge and effects, and their monthly pass, are
:mod:`glw_sim.engine.programmes`.

The specifications (:mod:`glw_sim.interventions.specs`) and the types' defaults
(:mod:`glw_sim.interventions.defaults`) are re-exported here for the modules that import them from here."""

from __future__ import annotations

import itertools
import weakref

import mesa
import numpy as np

from glw_sim.interventions.defaults import DEFAULTS, with_defaults
from glw_sim.interventions.specs import (EMPLOYMENT_TYPES, ENABLING_TYPES, MAX_PROGRAMMES, Areas, Effect, Eligibility,
                                         Hub, Participation, Place, ProgrammeSpec, Skills)
from glw_sim.months import is_active
from glw_sim.engine import programmes
from glw_sim.engine.keyed import keyed_uniforms
from glw_sim.interventions.contacts import load_contacts
from glw_sim.states import AGE_BANDS, N_BOROUGHS, Health, LabourState, age_band_of

__all__ = ["DEFAULTS", "EMPLOYMENT_TYPES", "ENABLING_TYPES", "MAX_PROGRAMMES", "NEXT_QUALIFICATION",
           "PROGRAMME_PURPOSES", "Areas", "Effect", "Eligibility", "Hub", "Participation", "Place", "Programme",
           "ProgrammeSpec", "Provider", "Skills", "with_defaults"]

#: Next qualification up: none -> RQF1 -> RQF2 -> RQF3 -> RQF4+; 'other' (mostly unmapped or foreign) -> RQF2
#: (ASSUMPTION: other qualifications sit about level 1).
NEXT_QUALIFICATION = np.array([1, 2, 3, 4, 4, 2], dtype=np.uint8)

#: first keyed-draw purpose of programmes (the model's own are below 100): programme ``key`` uses the four from
#: PROGRAMME_PURPOSES + 4 * key
PROGRAMME_PURPOSES = 1000


class _IdsByModel(weakref.WeakKeyDictionary):
    """``mesa.Agent``'s counters of unique ids by model (each model's agents numbered from 1, as mesa's), held by
    weak reference: mesa 3.3 keeps them in a class-level ``defaultdict`` keyed by the model itself, so every model
    that ever made an agent stayed alive, and a run of many replications grew by all its models' memory (a
    28-replication run of scenarios/what-it-takes-example.yaml at scale 0.05 reached 24 GB and was killed). Known
    upstream: mesa issue #3179, fixed by pull request #3180 (January 2026) in a release after the 3.3.1 pinned here;
    this can go when the pin moves past it."""

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            self[model] = counter = itertools.count(1)
            return counter


class Provider(mesa.Agent):
    """One service provider: a caseload with a capacity, a waiting list, and its books."""

    _ids = _IdsByModel()  # (mesa.Agent's own would keep every model alive: _IdsByModel)

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
        lo, hi = np.full(N_BOROUGHS, -30.0), np.full(N_BOROUGHS, 30.0)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            low = w_e / (1.0 + np.exp(-mid)) + w_n / (1.0 + np.exp(-(mid + shift))) < target
            lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
        c = 0.5 * (lo + hi)
        p = np.where(non, (1.0 / (1.0 + np.exp(-(c + shift))))[b], (1.0 / (1.0 + np.exp(-c)))[b])
        u = keyed_uniforms(self.model._key_seed, 0, self.refer_purpose + 3, np.arange(len(pop), dtype=np.int64))
        return (u < p) & area[b]

    # -- monthly cycle ------------------------------------------------------------------
    def active(self) -> bool:
        return is_active(self.model.current_month, self.spec.start, self.spec.end)

    def eligible(self) -> np.ndarray:
        """Residents who meet the programme's eligibility rules now (boolean by resident), by the rule the monthly
        pass refers with (:func:`glw_sim.engine.programmes.eligible`)."""
        m = self.model
        return programmes.eligible(self.index, m.res, m._prog_rules, m._places)

    def referral_table(self) -> np.ndarray:
        """Monthly chance an eligible resident is referred, by (borough, state, health, age band): through each
        pathway, the service's contact rate for the resident times the chance of referral at a contact; plus
        direct referral. Integration hubs multiply the chance of referral at a contact in their boroughs."""
        spec = self.spec
        scale = spec.referral_multiplier * self.model.hub_referral  # by borough
        miss = np.empty((N_BOROUGHS, len(LabourState), len(Health), len(AGE_BANDS)))
        miss[:] = (1.0 - np.minimum(spec.referral_rate * scale, 1.0))[:, None, None, None]
        rates = load_contacts()
        for service, r in spec.pathways.items():
            miss *= 1.0 - np.minimum(rates.rate_by_band(service)[None] * r * scale[:, None, None, None], 1.0)
        return 1.0 - miss

    def referral_chance(self, cand: np.ndarray) -> np.ndarray:
        """Monthly chance each resident ``cand`` is referred (:meth:`referral_table`)."""
        pop = self.model.population
        return self.referral_table()[pop.borough[cand], pop.state[cand], pop.health[cand], age_band_of(pop.age[cand])]

    def take_up_table(self) -> np.ndarray:
        """Chance a referred resident takes the place up, by borough (integration hubs raise it)."""
        return np.minimum(self.spec.take_up * self.model.hub_take_up, 1.0)

    def prepare(self, referrals: float, caseload: np.ndarray, waiting: np.ndarray, done: np.ndarray | None,
                left: np.ndarray | None = None) -> None:
        """After the month's referral and discharge pass (:func:`glw_sim.engine.programmes.refer_and_discharge`):
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
