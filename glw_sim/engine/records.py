"""The typed records the compiled passes take instead of long argument lists.

Each record is a :class:`typing.NamedTuple` of arrays and numbers, which numba compiles to a struct read by
field name at no cost (a swapped field is a type error or a wrong name, not a silent swap). Numba's parallel
loops cannot take a tuple held inside a record, so records are flat, and the columns a log-linear model reads
(its ``feats``, a tuple of uint8 views of the population's columns) travel beside the record of its tables.
And a parallel loop loses what its body writes through a record's field (numba 0.6x): every parallel kernel's
loop body is therefore one call of a compiled function per chunk, which writes through the records as any function
does. Those chunk functions are compiled without reference counting (``_nrt=False``, so they allocate nothing:
their scratch comes in a record): with it, every per-resident function inlined in them would add and drop a
reference to each array of each record it takes, which made the month pass ten times slower.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from glw_sim.population import COLUMNS


#: The population's columns (:data:`glw_sim.population.COLUMNS`, declared there once), as the passes read and write
#: them: ``res.state[i]``, ``res.months_in_state[i]``, ... A column added to the population is a field here too.
Residents = NamedTuple("Residents", [(c, np.ndarray) for c in COLUMNS])


def residents(pop) -> Residents:
    """The record of a :class:`~glw_sim.population.Population`'s columns (views: writes go to the population)."""
    return Residents(*(getattr(pop, c) for c in COLUMNS))


class Cached(NamedTuple):
    """Each resident's cached hazard inputs (:mod:`glw_sim.engine.hazards`) and tally group."""

    pi_e: np.ndarray  # stationary share of E (float32)
    pi_u: np.ndarray  # stationary share of U (float32)
    z: np.ndarray  # the reason-exit normaliser (float32)
    group: np.ndarray  # tally group (uint16, :func:`glw_sim.engine.tallies.group_of`)


class Hazard(NamedTuple):
    """The constants of the monthly hazard rule (:func:`glw_sim.engine.hazards.move_probabilities`)."""

    k_eu: float
    k_ei: float
    k_ui: float
    cycle: float
    hbar: np.ndarray  # mean hazard grid of the unemployment duration model
    h0: np.ndarray  # its first-month hazard at each grid point
    profile: np.ndarray  # relative hazard by duration band
    edges: np.ndarray  # duration bands' first months
    exit_mult: np.ndarray  # exit multiplier by inactivity reason
    sick_leave: np.ndarray  # by health level: chance of leaving work for inactivity while off sick (engine.health)
    keep: np.ndarray  # by health level: factor on the chance of leaving work for inactivity of those not off sick
    sick_route: np.ndarray  # by health level: the share of exits from work to long-term sickness via absence


class LogLinear(NamedTuple):
    """A log-linear model's tables (:class:`glw_sim.loglinear.LogLinearModel.stacked`) and intercept."""

    tables: np.ndarray
    intercept: np.ndarray


class HealthRates(NamedTuple):
    """The monthly health process and sickness absence (:mod:`glw_sim.engine.health`)."""

    prior: np.ndarray  # [age band, level]: the shares of each health level the population is drawn with
    health_odds: np.ndarray  # [from level, to level, state]: exp of the change in the hazards' state model's
    # health effect (log-linear, additive) from one level to another
    rates: np.ndarray  # recovery from disability, recovery from a condition, the share of recovered disabled
    # keeping a condition, the share of new disability from no condition (engine.health.moves_row)
    onset_factor: float  # this month's trend on moves to a worse level (1: none)
    absence_onset: np.ndarray  # by health level: monthly chance an employed resident goes off sick
    back: float  # monthly chance of returning to work from sickness absence (leaving: Hazard.sick_leave)
    mean_p_ei: np.ndarray  # by health level: employed residents' mean chance of leaving work for inactivity
    k_ei: float  # the hazard rule's constants that chance is made of (Hazard.k_ei, Hazard.cycle)
    cycle: float
    onset_mult: np.ndarray  # by resident: this month's factor on onset from incidence levers (empty: none)
    bound: np.ndarray  # [age band, level, state, recovery | onset]: bounds on the chance of a change
    # (engine.health.change_bounds: residents whose draw is above it are not computed)
    month_bound: np.ndarray  # [age band, level, state]: this month's bound, with its trend (engine.health.month_rates)
    absence_coef: np.ndarray  # by level: absence onset per unit of the chance of leaving work for inactivity
    absence_bound: np.ndarray  # by level: the largest chance of going off sick any resident can have (above it,
    # a health draw decides absence without reading the resident's hazard inputs: engine.health.absence_bound)


class Reasons(NamedTuple):
    """What drawing an inactivity reason needs (:func:`glw_sim.engine.transitions.draw_reason`)."""

    tables: np.ndarray  # the reason model's
    intercept: np.ndarray
    codes: np.ndarray  # the reason code of each of the model's categories
    exit_mult: np.ndarray  # by category: entries are weighted by them
    wants_job_prob: np.ndarray  # by reason code
    switch_rate: float  # monthly chance an inactive resident's main reason changes


class Refresh(NamedTuple):
    """What refreshing the cached hazard inputs needs (:func:`glw_sim.engine.hazards.refresh_one`)."""

    tables: np.ndarray  # the hazards' state model (its age effect read ahead)
    intercept: np.ndarray
    s_levels: np.ndarray  # levels of the state model's features
    s_table: np.ndarray  # stationary shares by combination (empty: computed resident by resident)
    r_levels: np.ndarray  # levels of the reason model's features
    z_table: np.ndarray  # the reason-exit normaliser by combination
    z_student: float  # the normaliser of a resident in education


class Effects(NamedTuple):
    """The programmes' state and effects as the multipliers read them (:func:`glw_sim.engine.programmes.effect`)."""

    active: np.ndarray  # by programme: running this month
    status: np.ndarray  # residents x programmes
    words: np.ndarray  # the same, 8 programmes to a 64-bit word
    since: np.ndarray  # month of the status's last change
    place: np.ndarray  # residents x programmes: lives in a place-based programme's place (no rows if none)
    place_words: np.ndarray
    into_work: np.ndarray  # by programme
    into_search: np.ndarray
    leave_work: np.ndarray
    after_months: np.ndarray
    exponential: np.ndarray
    half_life: np.ndarray
    spillover: np.ndarray


class Rules(NamedTuple):
    """The programmes' rules as arrays and bit masks (:class:`glw_sim.engine.programmes.ProgrammeTables`)."""

    purposes: np.ndarray  # keyed-draw purpose of each programme's referrals
    state_ok: np.ndarray
    static_bits: np.ndarray
    state_bits: np.ndarray
    borough_bits: np.ndarray
    min_months: np.ndarray
    provider_of_borough: np.ndarray
    has_place: np.ndarray
    support_months: np.ndarray
    after_months: np.ndarray
    skills_row: np.ndarray
    n_providers: int
    employment_bits: np.uint64


class Chances(NamedTuple):
    """This month's referral and take-up chances of every programme (:meth:`Programme.referral_table`)."""

    refer: np.ndarray  # programme x borough x state x health x age band
    take_up: np.ndarray  # programme x borough


class Demography(NamedTuple):
    """The shares life events and entrants are drawn at (:func:`glw_sim.engine.demography.birthdays`)."""

    health_prev: np.ndarray  # by age band x health
    young_children: np.ndarray  # by age band x sex
    unpaid_carer: np.ndarray  # by age band
    edu_share: np.ndarray  # in education or training, by single year of age
    female_entrant: float
    ethnicity_share: np.ndarray
    qualification_share: np.ndarray


class Listing(NamedTuple):
    """The residents not in work after a month, each chunk's from its own offset (:mod:`glw_sim.engine.matching`)."""

    residents: np.ndarray
    count: np.ndarray  # per chunk


class Tally(NamedTuple):
    """The month pass's per-chunk accumulators (:func:`glw_sim.engine.tallies.count_one`) and scratch."""

    groups: np.ndarray  # chunk x (group x state)
    boroughs: np.ndarray  # chunk x (borough x state x reason)
    extra: np.ndarray  # chunk x extras
    scratch: np.ndarray  # chunk x the reason model's categories


class BirthdayWork(NamedTuple):
    """The birthday pass's outputs and scratch (:func:`glw_sim.engine.demography.birthdays`)."""

    leaver: np.ndarray  # by birthday resident: the slot became an entrant
    cell_change: np.ndarray  # chunk x cell: weight moving between cells
    state_scratch: np.ndarray  # chunk x the state model's categories
    hazard_scratch: np.ndarray  # chunk x the state model's categories
    reason_scratch: np.ndarray  # chunk x the reason model's categories


class Plan(NamedTuple):
    """A month's referral constants (:func:`glw_sim.engine.programmes.refer_and_discharge`)."""

    bases: np.ndarray  # key base of each programme's referral draws
    top: np.ndarray  # highest referral chance of each programme by state
    active_bits: np.uint64
    employed_ok: bool  # some active programme takes employed residents


class Books(NamedTuple):
    """A month's programme counts, per chunk: referrals, caseloads, leavers of the waiting lists, waiting."""

    referred: np.ndarray
    caseload: np.ndarray
    left: np.ndarray
    n_wait: np.ndarray


class Month(NamedTuple):
    """This month's settings of the passes (:func:`glw_sim.engine.month.month_pass` and those before it)."""

    month: int
    key_seed: int  # the run's key of keyed draws (:mod:`glw_sim.engine.keyed`)
    do_moves: bool  # False: the tally only (month 0)
    by_group: bool  # tally by group, the extras and the flows too
    use_programmes: bool
    use_levers: bool  # the levers' multipliers (``work_mult``, ``search_mult``) act
    work_mult: np.ndarray  # by resident (empty when no lever)
    job_factor: np.ndarray  # matching's factor on moves into work, by home borough
    search_mult: np.ndarray  # reactivation levers' multiplier on inactive -> unemployed, by resident (empty: none)
    use_retention: bool  # retention levers act (:func:`glw_sim.engine.programmes.retain`)
    retain_bits: np.ndarray  # uint32 by resident: the retention levers reaching them (bit k: lever k; empty: none)
    retain_cut: np.ndarray  # by retention lever: the share of drawn moves out of work it cancels
    retain_u: np.ndarray  # by retention lever: it cuts moves to U
    retain_i: np.ndarray  # retention lever x inactivity reason: it cuts moves to I with that drawn reason
    retain_base: np.uint64  # the month's key base of the retention draws
    use_absence: bool  # sickness absence acts (the health process: :func:`glw_sim.engine.health.leave_chance`)
    absence_base: np.uint64  # the month's key base of the sickness-absence route's draws (engine.health)
    health_bases: np.ndarray  # the month's key bases of the health process's draws (engine.health.PURPOSES)
