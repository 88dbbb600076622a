"""The compiled monthly passes of programmes follow the rules the specifications state.

The model runs all programmes at once in :mod:`glw_sim.engine.programmes`. Here the rules are stated again, one
programme at a time in numpy, from the specification's fields (``eligible_by_spec``, ``multipliers_by_spec``),
and the compiled passes are held to the same answers, resident by resident.
"""

import numpy as np
import pytest

from glw_sim.interventions.base import DEFAULTS
from glw_sim.model import GLWModel
from glw_sim.runner import compare_step
from glw_sim.scenario import Scenario


def eligible_by_spec(prog) -> np.ndarray:
    """Who meets ``prog``'s eligibility, read from its specification's fields (ProgrammeSpec.eligibility)."""
    from glw_sim.states import Health, InactivityReason, LabourState, Qualification

    pop, e = prog.model.population, prog.spec.eligibility
    m = np.isin(pop.state, [LabourState[s.upper()] for s in e.states])
    if e.health is not None:
        m &= np.isin(pop.health, [Health[h.upper()] for h in e.health])
    m &= (pop.age >= e.age[0]) & (pop.age <= e.age[1])
    m &= pop.months_in_state >= e.min_months_in_state
    if e.wants_job_only:
        m &= (pop.state != LabourState.INACTIVE) | pop.wants_job
    if e.employed_off_sick_only:
        m &= (pop.state != LabourState.EMPLOYED) | pop.off_sick
    if e.in_education is not None:
        m &= pop.in_education == e.in_education
    if e.reasons is not None:
        m &= (pop.state != LabourState.INACTIVE) | np.isin(pop.reason, [InactivityReason[r.upper()] for r in e.reasons])
    if e.young_children is not None:
        m &= pop.young_children == e.young_children
    if e.qualifications is not None:
        m &= np.isin(pop.qualification, [Qualification[q.upper()] for q in e.qualifications])
    m &= prog.provider_of_borough[pop.borough] >= 0
    if prog.place is not None:
        m &= prog.place
    return m


def multipliers_by_spec(prog, multiplier, moves):
    """Multiply in ``prog``'s effect (ProgrammeSpec.effect): full while supported, fading over ``after_months``
    (linearly, or halving every ``half_life_months``), ``spillover`` for other residents of an active place; on
    moving into work, into search (inactive) and out of work (employed)."""
    from glw_sim.states import LabourState

    eff, pop = prog.spec.effect, prog.model.population
    sup = np.flatnonzero(prog.status == prog.SUPPORTED)
    idx, frac = [sup], [np.ones(len(sup))]
    after = np.flatnonzero(prog.status == prog.AFTER)
    if len(after) and eff.after_months > 0:
        t = prog.model.month - prog.since[after]
        idx.append(after)
        if eff.decay == "linear":
            frac.append(np.clip(1.0 - t / eff.after_months, 0.0, 1.0))
        else:
            frac.append(np.where(t < eff.after_months, 0.5 ** (t / eff.half_life_months), 0.0))
    if prog.place is not None and prog.spec.place.spillover > 0 and prog.active():
        nb = np.flatnonzero(prog.place & (prog.status != prog.SUPPORTED) & (prog.status != prog.AFTER))
        idx.append(nb)
        frac.append(np.full(len(nb), prog.spec.place.spillover))
    idx, frac = np.concatenate(idx), np.concatenate(frac)
    full = frac == 1.0
    multiplier[idx] *= np.where(full, eff.into_work, 1.0 + (eff.into_work - 1.0) * frac)
    if eff.into_search != 1.0:
        inactive = pop.state[idx] == LabourState.INACTIVE
        f = np.where(full, eff.into_search, 1.0 + (eff.into_search - 1.0) * frac)
        moves[0, idx[inactive]] *= f[inactive]
    if eff.leave_work != 1.0:
        employed = pop.state[idx] == LabourState.EMPLOYED
        f = np.where(full, eff.leave_work, 1.0 + (eff.leave_work - 1.0) * frac)[employed]
        moves[0, idx[employed]] *= f
        moves[1, idx[employed]] *= f


def specs(*entries):
    return Scenario.model_validate({"name": "t", "interventions": list(entries)}).interventions


def everyone_referred(entry):
    """``entry`` with every eligible resident referred and taking the place up, from the model's first month."""
    return {**entry, "start": "2025-06", "pathways": {}, "referral_rate": 1.0, "take_up": 1.0}


def test_a_programme_for_the_employed_off_sick_refers_them_and_no_one_else_in_work(fitted):
    """In-work support's route (the health process on): a programme for the employed off sick and the unemployed
    refers exactly those the rule admits, and at least some of each; a scenario without the health process
    refuses it (nobody would be off sick)."""
    entry = everyone_referred({"type": "generic", "places_per_year": 500, "cost_per_start": 0,
                               "effect": {"into_work": 1.0, "leave_work": 0.8},
                               "eligibility": {"states": ["employed", "unemployed"], "employed_off_sick_only": True}})
    sc = Scenario.model_validate({"name": "t", "health": {"process": True}, "interventions": [entry]})
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=sc.interventions, health_process=True)
    m.month = 1
    want = eligible_by_spec(m.programmes[0])
    np.testing.assert_array_equal(m.programmes[0].eligible(), want)
    pop = m.population
    employed = pop.state == 0
    assert (want & employed).sum() > 0 and (want & ~employed).sum() > 0
    assert not (want & employed & ~pop.off_sick).any()
    with pytest.raises(ValueError, match="employed_off_sick_only.*health: {process: true}"):
        Scenario.model_validate({"name": "t", "health": {"process": False}, "interventions": [entry]})


def test_workwells_default_in_work_route_reaches_the_off_sick_and_is_not_refused_without_the_process(fitted):
    """WorkWell's default admits residents in work while off sick (its in-work route) besides the out-of-work;
    with the health process off, a scenario that keeps the default is accepted (the route then reaches nobody, as
    nobody is off sick), while one that writes the route itself is refused (above)."""
    entry = everyone_referred({"type": "workwell", "areas": {"all": True}, "places_per_year": 100000})
    on = Scenario.model_validate({"name": "t", "interventions": [entry]})
    assert on.health.process  # the default
    el = on.interventions[0].eligibility
    assert set(el.states) == {"employed", "unemployed", "inactive"} and el.employed_off_sick_only
    assert on.interventions[0].effect.leave_work == 0.8
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=on.interventions)
    m.month = 1
    want = m.programmes[0].eligible()
    employed = m.population.state == 0
    assert (want & employed).sum() > 0 and not (want & employed & ~m.population.off_sick).any()
    off = Scenario.model_validate({"name": "t", "health": {"process": False}, "interventions": [entry]})
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=off.interventions, health_process=False)
    m.month = 1
    assert not (m.programmes[0].eligible() & (m.population.state == 0)).any()
    assert m.programmes[0].eligible().any()


def test_referral_pass_refers_exactly_the_eligible_of_every_programme_type(fitted):
    """All programme types at once, each with certain referral: after one pass, the residents in each programme are
    exactly those its eligibility rules admit (stated from the specification), places and areas included; and the
    compiled eligibility (``Programme.eligible``) says the same before the pass."""
    entries = [everyone_referred({"type": t}) for t in DEFAULTS]
    entries.append(everyone_referred({"type": "generic", "places_per_year": 500, "cost_per_start": 0,
                                      "effect": {"into_work": 1.0},
                                      "eligibility": {"states": ["employed", "unemployed"], "min_months_in_state": 6,
                                                      "age": [30, 49]}}))
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=specs(*entries))
    m.month = 1
    expected = [eligible_by_spec(p) for p in m.programmes]
    for prog, want in zip(m.programmes, expected):
        np.testing.assert_array_equal(prog.eligible(), want, err_msg=prog.spec.label)
    m._programmes()
    for prog, want in zip(m.programmes, expected):
        assert want.any(), prog.spec.label
        np.testing.assert_array_equal(prog.status != 0, want, err_msg=prog.spec.label)
        assert (prog.since[want] == 1).all()
        assert (prog.status[want] == prog.WAITING).any() or prog.ever_started[want].all()


def test_referral_pass_discharges_and_counts_caseloads(fitted):
    """Supports end after ``support_months`` (to the after-period), after-periods after ``after_months``; the
    providers' caseload is the weight of those still supported."""
    entry = {"type": "generic", "places_per_year": 0, "cost_per_start": 0, "support_months": 3,
             "effect": {"into_work": 2.0, "after_months": 2}}
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=specs(entry))
    prog = m.programmes[0]
    m.month = 10
    k = np.arange(12)
    prog.status[k] = [prog.SUPPORTED] * 6 + [prog.AFTER] * 6
    prog.since[k] = [10, 9, 8, 7, 6, 2, 10, 9, 8, 7, 6, 2]  # 0, 1, 2, 3, 4 and 8 months ago, twice
    m._programmes()
    np.testing.assert_array_equal(prog.status[k], [2, 2, 2, 3, 3, 3, 3, 3, 0, 0, 0, 0])
    np.testing.assert_array_equal(prog.since[k[3:6]], 10)  # the after-period starts now
    assert (prog.status[12:] == 0).all()
    w = m.population.weight[:3].astype(np.float64).sum()
    assert sum(p.caseload for p in prog.providers) == pytest.approx(w, rel=1e-12)


def test_compiled_multipliers_equal_programme_apply(fitted):
    """Supported, fading (linear and exponential) and spill-over effects on moving into work, into search and out
    of work: the multipliers the monthly pass applies (glw_sim.engine.programmes.effect) are, resident by resident,
    the product, programme by programme, of the effects the specifications state."""
    entries = [
        {"type": "generic", "name": "linear", "places_per_year": 1000, "cost_per_start": 0,
         "effect": {"into_work": 2.0, "into_search": 3.0, "after_months": 8}},
        {"type": "generic", "name": "exponential", "places_per_year": 1000, "cost_per_start": 0,
         "effect": {"into_work": 1.5, "leave_work": 0.5, "after_months": 6, "decay": "exponential",
                    "half_life_months": 2}},
        {"type": "jobs_plus", "start": "2025-06", "place": {"share_of_borough": 0.3, "spillover": 0.4}},
    ]
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=specs(*entries))
    m.month = 12
    rng = np.random.default_rng(0)
    n = len(m.population)
    for prog in m.programmes:
        prog.status[:] = rng.choice([0, 1, 2, 3], size=n, p=[0.4, 0.1, 0.2, 0.3])
        prog.since[:] = m.month - rng.integers(0, 12, size=n)
    m._prog_active[:] = [p.active() for p in m.programmes]
    want, moves = np.ones(n), np.ones((2, n))
    for prog in m.programmes:
        multipliers_by_spec(prog, want, moves)
    work, move = m.programme_multipliers()
    assert (want != 1).mean() > 0.3 and (moves != 1).any(axis=1).all()
    np.testing.assert_allclose(work, want, rtol=1e-14)
    np.testing.assert_allclose(move, moves, rtol=1e-14)


def test_gross_comparison_counts_participants_place_residents_and_lever_reach(fitted):
    """The helped are residents who started a programme, live in a place-based programme's place, or are reached
    by an employability lever: the compiled count equals the masks."""
    entries = specs({"type": "jobs_plus", "start": "2025-06", "place": {"share_of_borough": 0.05}},
                    {"type": "restart", "start": "2025-06", "referral_rate": 0.2})
    levers = [{"who": {"health": "disabled"}, "multiplier": 1.2}]
    sc = Scenario.model_validate({"name": "t", "employability": levers})
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, interventions=entries, employability=sc.employability)
    b = GLWModel(scale=0.01, seed=5, fitted=fitted)
    for _ in range(4):
        m.step()
        b.step()
    helped = m.participants() | m.helped() | m.programmes[0].place
    assert m.participants().any() and (m.helped() & ~m.participants()).any()
    w_s, w_b = m.population.weight.astype(np.float64), b.population.weight.astype(np.float64)
    out = compare_step(m, b)
    assert out["helped_residents"] == pytest.approx(w_s[helped].sum(), rel=1e-12)
    gross = w_s[helped & (m.population.state == 0)].sum() - w_b[helped & (b.population.state == 0)].sum()
    assert out["gross_extra_employed_helped"] == pytest.approx(gross, rel=1e-9, abs=1e-6)
