"""Monthly transition probabilities between employment (E), unemployment (U) and inactivity (I).

For a resident whose fitted state model gives stationary shares
``pi = (pi_E, pi_U, pi_I)``, the monthly flows are built so that ``pi`` is
exactly the stationary distribution of the resident's own Markov chain:

* a symmetric part ``F_ij = K_ij pi_i pi_j`` (detailed balance), and
* a circulation ``c = kappa pi_E pi_U pi_I`` around E -> I -> U -> E
  (people leave work for inactivity, then search, then find work: the net
  direction in the LFS flows),

so ``p_ij = F_ij / pi_i``. Covariates and boroughs act through ``pi``
(employable residents leave unemployment faster and lose work less often),
and the four constants ``K_EU, K_EI, K_UI, kappa`` are fitted to the LFS
quarterly flows (:func:`glw_sim.calibration.fit_flows`). A baseline with no
change therefore stays on its APS stocks by construction while its flows
match the LFS.

Unemployment exits fall with duration (:func:`glw_sim.parameters.duration_profile`),
scaled per resident so the *mean* exit over the stationary spell-length
distribution is unchanged; inactivity exits differ by reason, with new spells'
reasons drawn in proportion to share x exit rate so the reason mix is also
stationary.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import brentq

from glw_sim import parameters as P
from glw_sim.engine.hazards import flows
from glw_sim.engine.layout import STUDENT
from glw_sim.engine.sampling import searchsorted_rows
from glw_sim.states import InactivityReason, LabourState

if TYPE_CHECKING:
    from glw_sim.loglinear import LogLinearModel

MAX_DURATION = 480  # months tabulated for the stationary unemployment spell distribution


@dataclass(frozen=True)
class FlowParams:
    k_eu: float
    k_ei: float
    k_ui: float
    cycle: float

    def as_array(self) -> np.ndarray:
        return np.array([self.k_eu, self.k_ei, self.k_ui, self.cycle])


def monthly_probs(pi_e, pi_u, pi_i, fp: FlowParams):
    """The six monthly transition probabilities for residents with stationary shares ``pi``.

    Returns ``(p_eu, p_ei, p_ue, p_ui, p_ie, p_iu)`` arrays: the rule of :func:`glw_sim.engine.hazards.flows`,
    which the monthly passes apply.
    """
    return flows(pi_e, pi_u, pi_i, fp.k_eu, fp.k_ei, fp.k_ui, fp.cycle)


def duration_band(months: np.ndarray) -> np.ndarray:
    return (np.searchsorted(P.DURATION_EDGES, months, side="right") - 1).astype(np.intp)


class DurationTable:
    """Maps a resident's mean monthly U-exit probability to the duration-dependent hazard.

    For hazard ``h(d) = h0 * g(d)`` the stationary mean exit is ``1 / sum_d S(d)``
    with survival ``S``; ``h0`` is solved on a grid of means (brentq) so that
    mean equals the resident's stationary exit probability.
    """

    def __init__(self, ratio_24m: float, grid_size: int = 400):
        self.profile = P.duration_profile(ratio_24m)
        self.g = self.profile[duration_band(np.arange(MAX_DURATION))]
        self.hbar = np.geomspace(1e-3, 0.95, grid_size)
        self.h0 = np.array([self._solve(h) for h in self.hbar])
        haz = np.minimum(self.h0[:, None] * self.g[None, :], 1.0)
        surv = np.cumprod(np.c_[np.ones(grid_size), 1.0 - haz[:, :-1]], axis=1)
        self.pmf_cdf = np.cumsum(surv / surv.sum(axis=1, keepdims=True), axis=1)

    def _mean_duration(self, h0: float) -> float:
        haz = np.minimum(h0 * self.g, 1.0)
        surv = np.cumprod(np.r_[1.0, 1.0 - haz[:-1]])
        tail = surv[-1] * (1.0 - haz[-1])  # geometric tail beyond the table
        return float(surv.sum() + (tail / haz[-1] if haz[-1] > 0 else 0.0))

    def _solve(self, hbar: float) -> float:
        return brentq(lambda h0: self._mean_duration(h0) - 1.0 / hbar, 1e-6, 1.0 / self.profile.min())

    def h0_for(self, hbar: np.ndarray) -> np.ndarray:
        return np.interp(hbar, self.hbar, self.h0)

    def sample_durations(self, hbar: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        row = np.clip(np.searchsorted(self.hbar, hbar), 0, len(self.hbar) - 1)
        u = rng.random(len(hbar))
        out = searchsorted_rows(self.pmf_cdf, row.astype(np.int64), u)  # np.searchsorted(pmf_cdf[row], u) each
        return np.minimum(out, MAX_DURATION - 1)


#: Ages at which the hazards' age leads are given (the centres of the age bands); linear in between.
LEAD_KNOTS = np.array([20.0, 29.5, 42.0, 57.0])


def led_state_model(state_model, leads) -> "LogLinearModel":
    """The state model the hazards pull residents towards: its age effect read ``lead(age)`` years ahead.

    An ageing cohort lags behind its age profile (its members entered their state when younger), so hazards that
    aimed at the shares of residents of the same age would leave every cohort short of its profile and the
    cross-section would drift. Aiming at the shares of residents ``lead`` years older offsets the lag. ``leads``
    is one lead per age band, at the band centres :data:`LEAD_KNOTS` and linear in between (fractions of a year
    read the age table by linear interpolation); fitted so that the no-change baseline holds still
    (:func:`glw_sim.calibration.fit_hazard_leads`)."""
    model = state_model.copy()
    leads = np.broadcast_to(np.asarray(leads, dtype=float), LEAD_KNOTS.shape)
    ages = np.arange(16, 65, dtype=float)
    read = np.clip(ages + np.interp(ages, LEAD_KNOTS, leads), 16.0, 64.0)
    for tab in (model.tables, model.priors):
        row = tab["age"]
        out = row.copy()
        for k in range(row.shape[0]):
            out[k, 16:65] = np.interp(read, ages, row[k, 16:65])
        tab["age"] = out
    return model


@lru_cache(maxsize=64)
def duration_table(ratio_24m: float) -> DurationTable:
    """Cached :class:`DurationTable` (read-only; building one solves 400 root-finding problems)."""
    return DurationTable(ratio_24m)


class Hazards:
    """Everything the monthly transition step needs, derived from a FittedModel."""

    def __init__(self, fitted, overrides: dict[str, float] | None = None):
        self.fitted = fitted
        self.flow = fitted.flow
        self.durations = duration_table(P.value("duration_ratio_24m", overrides))
        codes = list(fitted.reason_codes)
        self.reason_codes = np.array(codes)
        self.reason_exit_mult = np.array([P.value(f"exit_mult_{InactivityReason(c).name.lower()}", overrides)
                                          for c in codes])
        #: exit multiplier by reason code (index = InactivityReason), student included
        self.exit_mult_by_code = np.ones(len(InactivityReason))
        self.exit_mult_by_code[STUDENT] = P.value("exit_mult_student", overrides)
        self.exit_mult_by_code[self.reason_codes] = self.reason_exit_mult
        self.switch_rate = P.value("reason_switch_rate", overrides)
        lead = P.value("hazard_age_lead", overrides)
        #: years ahead the hazards read each age band's age effect (fitted, or one value for all set by the user)
        self.age_leads = np.full(len(LEAD_KNOTS), lead) if np.isfinite(lead) else np.asarray(fitted.hazard_leads)
        #: the state model with the age effect read ahead: the stationary shares the hazards aim at
        self.state_model = led_state_model(fitted.state_model, self.age_leads)

    def reason_normaliser(self, pop, idx: np.ndarray) -> np.ndarray:
        """Z = sum_r tau_r m_r for residents ``idx``, so that m_r / Z averages to 1 over the stock."""
        z = np.full(len(idx), self.exit_mult_by_code[STUDENT])
        rest = ~pop.in_education[idx]
        if rest.any():
            tau = self.fitted.reason_model.probabilities(pop, idx[rest])
            z[rest] = self.reason_exit_mult @ tau
        return z

    def draw_initial_durations(self, pop, pi: np.ndarray, rng: np.random.Generator) -> None:
        """Months in the current state from each resident's stationary spell-age distribution."""
        n = len(pop)
        exit_p = np.empty(n)
        e = pop.state == LabourState.EMPLOYED
        i = pop.state == LabourState.INACTIVE
        u = pop.state == LabourState.UNEMPLOYED
        # each group's own exit probabilities (the rule's base flows), computed for that group only
        eidx, iidx, uidx = np.flatnonzero(e), np.flatnonzero(i), np.flatnonzero(u)
        p_eu, p_ei, *_ = monthly_probs(pi[0, eidx], pi[1, eidx], pi[2, eidx], self.flow)
        exit_p[eidx] = p_eu + p_ei
        z = self.reason_normaliser(pop, iidx)
        *_, p_ie, p_iu = monthly_probs(pi[0, iidx], pi[1, iidx], pi[2, iidx], self.flow)
        exit_p[iidx] = (p_ie + p_iu) * self.exit_mult_by_code[pop.reason[iidx]] / z
        out = np.zeros(n, dtype=np.int64)
        geo = e | i
        pe = np.clip(exit_p[geo], 1e-5, 0.999)
        out[geo] = np.floor(np.log1p(-rng.random(int(geo.sum()))) / np.log1p(-pe)).astype(np.int64)
        _, _, p_ue, p_ui, _, _ = monthly_probs(pi[0, uidx], pi[1, uidx], pi[2, uidx], self.flow)
        out[uidx] = self.durations.sample_durations(p_ue + p_ui, rng)
        pop.months_in_state[:] = np.minimum(out, 600)
