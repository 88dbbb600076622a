"""Synthesise London's working-age residents from the calibration targets.

Order of construction (each step conditional on the ones before):

1. **Demography.** Residents per borough (Census 2021 shares scaled to the
   plan's 2025 total), split by single year of age and sex with exact
   largest-remainder counts. At small scales each borough keeps at least
   ``min_agents_per_borough`` residents; weights keep every borough's total.
2. **Attributes.** Ethnicity, qualification, health, young children, unpaid
   care and education or training, conditional on age band and sex (published
   London shares; prevalence by age labelled as assumptions in
   :mod:`glw_sim.parameters`), allocated systematically within boroughs.
3. **Labour state.** P(E, U, I | attributes) from the fitted log-linear state
   model (:mod:`glw_sim.fitted`), re-centred on this population so that
   every borough's expected stocks equal its APS stocks, then allocated
   systematically within boroughs: month 0 is right by construction.
4. **Inactivity reason** (students are the inactive in education or training;
   the rest from the fitted reason model, re-centred on London's shares),
   **wants a job**, and **months in state** drawn from each resident's
   stationary spell-age distribution under the run's hazards.
"""

from __future__ import annotations

import numpy as np

from glw_sim import parameters as P
from glw_sim.fitted import FittedModel, recentre_reasons, recentre_states
from glw_sim.hazards import Hazards
from glw_sim.population import Population
from glw_sim.sampling import largest_remainder, systematic_categorical, systematic_select
from glw_sim.states import AGE_BANDS, Health, InactivityReason, LabourState, age_band_of
from glw_sim.targets import Targets


def borough_sizes(targets: Targets, scale: float, min_per_borough: int) -> np.ndarray:
    """Agents per borough at ``scale`` (at least ``min_per_borough``)."""
    n = np.rint(targets.borough_population * scale).astype(np.int64)
    return np.maximum(n, min_per_borough)


def build_demography(targets: Targets, scale: float, rng: np.random.Generator, min_per_borough: int) -> Population:
    """Borough, age, sex, birth month and weight for every resident."""
    sizes = borough_sizes(targets, scale, min_per_borough)
    n = int(sizes.sum())
    pop = Population.empty(n)
    cells = targets.age_sex_share.ravel()  # (age, sex) flattened, age-major
    pos = 0
    for b, nb in enumerate(sizes):  # 33 boroughs, not residents
        counts = largest_remainder(int(nb), cells)
        cell_ids = np.repeat(np.arange(len(cells)), counts)
        sl = slice(pos, pos + nb)
        pop.borough[sl] = b
        pop.age[sl] = 16 + cell_ids // 2
        pop.sex[sl] = cell_ids % 2
        pop.weight[sl] = targets.borough_population[b] / nb
        pos += nb
    pop.birth_month[:] = rng.integers(0, 12, n)
    return pop


#: Relative prevalence of long-term conditions and disability by age band (ASSUMPTION: rising with age).
HEALTH_REL_BY_BAND = np.array([0.6, 0.8, 1.0, 1.55])


def health_prevalence_by_band(targets: Targets) -> np.ndarray:
    """(4 bands, 3 levels) shares of none / long-term condition / disabled, keeping London's totals."""
    health = targets.groups["health"].population_share
    band_w = np.array([targets.age_sex_share[(np.arange(16, 65) >= lo) & (np.arange(16, 65) <= hi)].sum()
                       for lo, hi in AGE_BANDS])
    norm = float(np.dot(band_w, HEALTH_REL_BY_BAND))
    ltc = health[Health.LONG_TERM_CONDITION] * HEALTH_REL_BY_BAND / norm
    dis = health[Health.DISABLED] * HEALTH_REL_BY_BAND / norm
    return np.column_stack([1.0 - ltc - dis, ltc, dis])


def draw_attributes(pop: Population, idx: np.ndarray, targets: Targets, rng: np.random.Generator) -> None:
    """Draw the non-demographic attributes of residents ``idx`` (in place)."""
    if len(idx) == 0:
        return
    strata = pop.borough[idx]
    band = age_band_of(pop.age[idx])
    sex = pop.sex[idx]
    n = len(idx)

    def shares(dim: str) -> np.ndarray:
        return targets.groups[dim].population_share

    eth = shares("ethnicity")
    pop.ethnicity[idx] = systematic_categorical(np.broadcast_to(eth[:, None], (len(eth), n)), strata, rng)
    qual = shares("qualification")
    pop.qualification[idx] = systematic_categorical(np.broadcast_to(qual[:, None], (len(qual), n)), strata, rng)
    prev = health_prevalence_by_band(targets)  # (4 bands, 3 levels)
    probs = prev[band].T
    pop.health[idx] = systematic_categorical(probs, strata, rng)
    pop.young_children[idx] = systematic_select(P.YOUNG_CHILDREN_BY_BAND_SEX[band, sex], strata, rng)
    pop.unpaid_carer[idx] = systematic_select(P.UNPAID_CARER_BY_BAND[band], strata, rng)
    pop.in_education[idx] = systematic_select(P.in_education_share(pop.age[idx]), strata, rng)


def assign_reasons(
    pop: Population, idx: np.ndarray, fitted: FittedModel, rng: np.random.Generator | None, *, systematic: bool,
    entry: bool = False, hazards: Hazards | None = None, uniforms: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Reason and wants-a-job for inactive residents ``idx``.

    Students are the inactive in education or training. With ``entry=True`` the
    reasons are drawn in proportion to share x exit multiplier (the mix of
    *new* spells that keeps the stock mix stationary). ``uniforms`` (reason,
    wants-a-job; aligned with ``idx``) replace ``rng`` for independent draws,
    so that draws are common random numbers across runs.
    """
    if not systematic and uniforms is None:
        uniforms = (rng.random(len(idx)), rng.random(len(idx)))
    pop.reason[idx] = InactivityReason.STUDENT
    rest = idx[~pop.in_education[idx]]
    if len(rest):
        tau = fitted.reason_model.probabilities(pop, rest)
        if entry and hazards is not None:
            tau = tau * hazards.reason_exit_mult[:, None]
            tau /= tau.sum(axis=0, keepdims=True)
        if systematic:
            codes = systematic_categorical(tau, pop.borough[rest], rng)
        else:
            u = uniforms[0][~pop.in_education[idx]]
            codes = np.minimum((u[None, :] > np.cumsum(tau, axis=0)).sum(axis=0), tau.shape[0] - 1)
        pop.reason[rest] = np.asarray(fitted.reason_codes)[codes]
    p_want = fitted.wants_job_prob[pop.reason[idx]]
    if systematic:
        pop.wants_job[idx] = systematic_select(p_want, pop.borough[idx], rng)
    else:
        pop.wants_job[idx] = uniforms[1] < p_want


def synthesise(
    targets: Targets,
    fitted: FittedModel,
    *,
    scale: float,
    rng: np.random.Generator,
    durations: bool = True,
    return_probabilities: bool = False,
):
    """Build a Population at ``scale`` and the fitted models re-centred on it.

    ``durations=False`` leaves months in state at 0 (the model draws them with its own hazards, which read the
    run's assumptions); otherwise they are drawn under the default assumptions.
    ``return_probabilities``: also return the (3, n) state probabilities the states were drawn from.
    """
    if not (0 < scale <= 1.0):
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    pop = build_demography(targets, scale, rng, int(P.value("min_agents_per_borough")))
    draw_attributes(pop, np.arange(len(pop)), targets, rng)
    model = fitted.copy()
    recentre_states(model, pop, targets)
    pi = model.state_model.probabilities(pop)
    pop.state[:] = systematic_categorical(pi, pop.borough, rng)
    inactive = np.nonzero(pop.state == LabourState.INACTIVE)[0]
    recentre_reasons(model, pop, inactive, targets)
    assign_reasons(pop, inactive, model, rng, systematic=True)
    if durations:
        Hazards(model).draw_initial_durations(pop, pi, rng)
    return (pop, model, pi) if return_probabilities else (pop, model)
