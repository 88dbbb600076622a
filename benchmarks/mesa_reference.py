"""The same baseline dynamics written the ordinary Mesa way: one ``mesa.Agent`` per resident.

This is the comparison point for glw-sim's speed (issue "Every Londoner an
agent"). It starts from the same synthesised population as a
:class:`glw_sim.model.GLWModel` and shares its fitted parameters and
:class:`glw_sim.hazards.Hazards`; each resident's ``step()`` applies the same
rules one resident at a time: birthday ageing (65-year-olds replaced by a
16-year-old, leaving full-time education redraws the state), then the
monthly E/U/I transition with unemployment duration dependence and
inactivity-reason exit multipliers, and a reason drawn for each new
inactivity spell. Net-migration reweighting is not modelled here, so compare
it with ``GLWModel(migration="none")``.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from glw_sim import parameters as P
from glw_sim.hazards import duration_band
from glw_sim.model import GLWModel, add_months
from glw_sim.population import COLUMNS
from glw_sim.states import InactivityReason

E, U, I = 0, 1, 2


def _softmax(x: list[float]) -> list[float]:
    m = max(x)
    e = [math.exp(v - m) if v > -1e300 else 0.0 for v in x]
    s = sum(e)
    return [v / s for v in e]


class Resident(mesa.Agent):
    """One working-age Londoner, with the attributes of a Population row."""

    def __init__(self, model: ReferenceModel, row: dict):
        super().__init__(model)
        for k, v in row.items():
            setattr(self, k, v)
        self.refresh()

    # ---- the resident's own probabilities (same tables as the vectorised model)
    def _logits(self, lm, attrs: dict) -> list[float]:
        out = list(lm.intercept)
        for col in lm.columns:
            x = attrs[col]
            t = self.model.tables[id(lm)][col]
            for k in range(len(out)):
                out[k] += t[k][x]
        return out

    def _attrs(self) -> dict:
        return {c: int(getattr(self, c)) for c in ("borough", "sex", "health", "ethnicity", "qualification",
                                                     "in_education", "young_children", "unpaid_carer", "age")}

    def refresh(self) -> None:
        m = self.model
        pi = _softmax(self._logits(m.hazards.state_model, self._attrs()))
        self.pi_e, self.pi_u = pi[0], pi[1]
        if self.in_education:
            self.z = m.hazards.exit_mult_by_code[1]
        else:
            tau = _softmax(self._logits(m.fitted.reason_model, self._attrs()))
            self.z = float(np.dot(m.hazards.reason_exit_mult, tau))

    def draw_state_afresh(self) -> None:
        pi = _softmax(self._logits(self.model.fitted.state_model, self._attrs()))
        u = self.model.random.random()
        new = E if u < pi[0] else (U if u < pi[0] + pi[1] else I)
        if new != self.state:
            self.months_in_state = 0
        self.state = new
        self.reason, self.wants_job = InactivityReason.NONE, False
        if new == I:
            self.draw_reason(entry=False)

    def draw_reason(self, entry: bool) -> None:
        m = self.model
        if self.in_education:
            self.reason = int(InactivityReason.STUDENT)
        else:
            tau = _softmax(self._logits(m.fitted.reason_model, self._attrs()))
            if entry:
                tau = [t * x for t, x in zip(tau, m.hazards.reason_exit_mult)]
                s = sum(tau)
                tau = [t / s for t in tau]
            u, acc, code = m.random.random(), 0.0, m.fitted.reason_codes[-1]
            for c, t in zip(m.fitted.reason_codes, tau):
                acc += t
                if u < acc:
                    code = c
                    break
            self.reason = int(code)
        self.wants_job = m.random.random() < m.fitted.wants_job_prob[self.reason]

    # ---- one month
    def step(self) -> None:
        m = self.model
        if self.birth_month == m.calendar_month:
            old = self.age
            self.age += 1
            if self.age > 64:
                m.replace_with_entrant(self)
            elif self.in_education:
                e_old, e_new = P.in_education_share(np.array([old]))[0], P.in_education_share(np.array([self.age]))[0]
                if m.random.random() < max(0.0, 1 - e_new / e_old):
                    self.in_education = False
                    self.draw_state_afresh()
            self.refresh()
        self.transition()

    def transition(self) -> None:
        m, fp = self.model, self.model.hazards.flow
        pe, pu = self.pi_e, self.pi_u
        pi_i = 1.0 - pe - pu
        u = m.random.random()
        old = self.state
        if old == E:
            p_eu = fp.k_eu * pu
            p_ei = fp.k_ei * pi_i + fp.cycle * pu * pi_i
            new = U if u < p_eu else (I if u < p_eu + p_ei else E)
        elif old == U:
            p_ue = fp.k_eu * pe + fp.cycle * pe * pi_i
            p_ui = fp.k_ui * pi_i
            hbar = p_ue + p_ui
            h = m.hazards.durations.h0_for(hbar) * m.hazards.durations.profile[duration_band(self.months_in_state)]
            f = min(h / hbar, 1.0 / hbar)
            new = E if u < p_ue * f else (I if u < (p_ue + p_ui) * f else U)
        else:
            mult = m.hazards.exit_mult_by_code[self.reason] / self.z
            p_ie = fp.k_ei * pe * mult
            p_iu = (fp.k_ui * pu + fp.cycle * pe * pu) * mult
            s = max(p_ie + p_iu, 1.0)
            new = E if u < p_ie / s else (U if u < (p_ie + p_iu) / s else I)
        if new == old:
            self.months_in_state = min(self.months_in_state + 1, 65535)
            if new == I and not self.in_education and m.random.random() < m.hazards.switch_rate:
                self.draw_reason(entry=False)
            return
        self.state, self.months_in_state = new, 0
        if old == I:
            self.reason, self.wants_job = InactivityReason.NONE, False
        if new == I:
            self.draw_reason(entry=True)


#: the GLWModel configuration that does what the reference does (and no less): no net migration, no matching and
#: no health process (the reference has none of them), and counts by borough, state and inactivity reason only
#: (the reference counts London's residents in work). Still more than the reference: life events at each new age
#: band, and every London and borough rate of those counts each month.
LIKE_FOR_LIKE = {"migration": "none", "labour_demand": {"enabled": False}, "collect_groups": False,
                 "health_process": False}


class ReferenceModel(mesa.Model):
    """One mesa.Agent per resident, started from a GLWModel's population."""

    def __init__(self, source: GLWModel, seed: int = 1):
        super().__init__(seed=seed)
        self.fitted, self.hazards, self.start = source.fitted, source.hazards, source.start
        self.tables = {id(lm): {c: (lm.tables[c] + lm.priors[c]).tolist() for c in lm.columns}
                       for lm in (self.fitted.state_model, self.fitted.reason_model, self.hazards.state_model)}
        pop = source.population
        cols = {c: getattr(pop, c).tolist() for c in COLUMNS}
        for i in range(len(pop)):
            Resident(self, {c: cols[c][i] for c in COLUMNS})
        self.month = 0
        self.calendar_month = self.start.month - 1
        self.employment = [self.employment_rate()]

    def replace_with_entrant(self, r: Resident) -> None:
        """The 65-year-old leaves; a 16-year-old like an existing one in the same borough takes the slot."""
        peers = self.sixteens.get(r.borough) or []
        template = self.random.choice(peers) if peers else None
        r.age = 16
        if template is not None:
            for c in ("sex", "ethnicity", "qualification", "health", "young_children", "unpaid_carer", "in_education"):
                setattr(r, c, getattr(template, c))
        r.draw_state_afresh()

    def employment_rate(self) -> float:
        num = den = 0.0
        for a in self.agents:
            den += a.weight
            if a.state == E:
                num += a.weight
        return num / den

    def step(self) -> None:
        self.month += 1
        self.calendar_month = add_months(self.start, self.month).month - 1
        self.sixteens: dict[int, list[Resident]] = {}
        for a in self.agents:
            if a.age == 16:
                self.sixteens.setdefault(a.borough, []).append(a)
        self.agents.shuffle_do("step")
        self.employment.append(self.employment_rate())
