"""Honest programme accounting: who is started, costed and counted as helped.

A small model (scale 0.002) whose first residents are set by hand (:func:`resident`) and put on waiting lists by
hand (no referrals unless a test asks for them), then one month of programmes (``GLWModel._programmes``: the
compiled referral, re-check and discharge pass, then the providers' starts):

- waiting lists are re-checked at start: a resident who found work, or stopped being eligible for any reason,
  leaves the list, is never started, never costed and never counted in ``ever_started`` (the helped), and is
  booked in ``programme.<name>.left_list``;
- the participation rule (scenario key ``participation``): one employment programme at a time, the other's
  list waiting (``wait``) or declining (``decline``), or ``concurrent``; enabling services combine;
- place-based delivery costed per targeted resident-month (``place.cost_per_resident_month``).
"""

import numpy as np
import pytest

from glw_sim.interventions.base import DEFAULTS, EMPLOYMENT_TYPES, ENABLING_TYPES, Participation
from glw_sim.model import GLWModel
from glw_sim.scenario import Scenario, ScenarioError, load_scenario
from glw_sim.states import Health, InactivityReason, LabourState, Qualification

#: no referral through any pathway (a scenario's pathways merge over the type's defaults)
NO_PATHWAYS = {"gp": 0.0, "jobcentre": 0.0, "council": 0.0, "voluntary": 0.0, "community": 0.0}
E, U, I = int(LabourState.EMPLOYED), int(LabourState.UNEMPLOYED), int(LabourState.INACTIVE)
WAITING, SUPPORTED, AFTER = 1, 2, 3
MONTH = 3  # the month the tests' pass runs in (programmes start in the model's first month)


def specs(*entries):
    return Scenario.model_validate({"name": "t", "interventions": list(entries)}).interventions


def programme(name, type="generic", **over):
    """An open programme: every unemployed or inactive resident 16-64 eligible, room for everyone, no referrals
    (residents are put on its list by hand), GBP 1,000 a start."""
    entry = {"type": type, "name": name, "start": "2025-06", "places_per_year": 1_000_000, "support_months": 6,
             "pathways": NO_PATHWAYS, "referral_rate": 0.0, "take_up": 1.0, "cost_per_start": 1000,
             "effect": {"into_work": 1.5},
             "eligibility": {"states": ["unemployed", "inactive"], "health": None, "age": [16, 64],
                             "min_months_in_state": 0, "wants_job_only": False, "in_education": None,
                             "reasons": None, "young_children": None, "qualifications": None}}
    for k, v in over.items():
        entry[k] = {**entry[k], **v} if isinstance(v, dict) and isinstance(entry.get(k), dict) else v
    return entry


def model(fitted, *entries, participation=None):
    m = GLWModel(scale=0.002, seed=5, fitted=fitted, interventions=specs(*entries), participation=participation)
    m.month = MONTH
    return m


def resident(m, i, *, state=U, health=Health.NONE, age=40, months=12, wants_job=True, in_education=False,
             reason=InactivityReason.OTHER, young_children=False, qualification=Qualification.RQF2):
    """Set resident ``i``'s attributes by hand (and refresh their hazard inputs)."""
    pop = m.population
    pop.state[i], pop.health[i], pop.age[i], pop.months_in_state[i] = state, health, age, months
    pop.wants_job[i], pop.in_education[i], pop.reason[i] = wants_job, in_education, reason
    pop.young_children[i], pop.qualification[i] = young_children, qualification
    m._refresh(np.array([i]))


def wait(prog, *idx, since=MONTH - 1):
    prog.status[list(idx)] = WAITING
    prog.since[list(idx)] = since


def support(prog, *idx, since=MONTH - 1):
    prog.status[list(idx)] = SUPPORTED
    prog.since[list(idx)] = since
    prog.ever_started[list(idx)] = True


def books(prog):
    return prog.books()


def weight(m, *idx):
    return float(m.population.weight[list(idx)].astype(np.float64).sum())


# ------------------------------------------------------------------------------------- waiting lists re-checked
def test_a_resident_who_finds_work_while_waiting_is_never_started_or_costed(fitted):
    m = model(fitted, programme("p"))
    p = m.programmes[0]
    for i in (0, 1):
        resident(m, i)
    wait(p, 0, 1)
    m.population.state[0] = E  # found work last month
    m.population.months_in_state[0] = 1
    spent = m.spending
    m._programmes()
    assert p.status[0] == 0 and not p.ever_started[0]  # left the list, never started, not among the helped
    assert p.status[1] == SUPPORTED and p.ever_started[1]
    b = books(p)
    assert b["starts"] == pytest.approx(weight(m, 1))
    assert b["spending"] == pytest.approx(weight(m, 1) * 1000)
    assert m.spending - spent == pytest.approx(weight(m, 1) * 1000)
    assert b["left_list"] == pytest.approx(weight(m, 0))
    assert not m.participants()[0]
    m.month += 1
    m._programmes()  # gone for good: not on the list next month either
    assert p.status[0] == 0 and books(p)["left_list"] == 0


@pytest.mark.parametrize("change", ["aged_out", "health_recovered", "became_inactive", "state_spell_restarted",
                                    "reason_changed", "entered_education"])
def test_a_resident_who_stops_being_eligible_while_waiting_leaves_the_list(fitted, change):
    entry = programme("p", eligibility={"states": ["unemployed", "inactive"], "age": [16, 24],
                                        "health": ["long_term_condition", "disabled"], "min_months_in_state": 6,
                                        "reasons": ["long_term_sick", "other"], "in_education": False})
    m = model(fitted, entry)
    p = m.programmes[0]
    attrs = dict(state=U, age=22, health=Health.DISABLED, months=9)
    if change == "reason_changed":
        attrs = dict(attrs, state=I, reason=InactivityReason.LONG_TERM_SICK)
    resident(m, 0, **attrs)
    resident(m, 1, **attrs)  # stays eligible
    assert p.eligible()[[0, 1]].all()
    pop = m.population
    if change == "aged_out":
        pop.age[0] = 25
    elif change == "health_recovered":
        pop.health[0] = Health.NONE
    elif change == "became_inactive":  # (inactive for another reason than the two allowed)
        pop.state[0], pop.reason[0] = I, InactivityReason.RETIRED
    elif change == "state_spell_restarted":  # back in unemployment after a spell out: 1 month, 6 needed
        pop.months_in_state[0] = 1
    elif change == "reason_changed":
        pop.reason[0] = InactivityReason.FAMILY_HOME
    else:
        pop.in_education[0] = True
    m._refresh(np.array([0]))
    assert not p.eligible()[0]
    wait(p, 0, 1)
    m._programmes()
    assert p.status[0] == 0 and not p.ever_started[0]
    assert p.status[1] == SUPPORTED
    b = books(p)
    assert b["left_list"] == pytest.approx(weight(m, 0))
    assert b["spending"] == pytest.approx(weight(m, 1) * 1000)


def test_a_resident_who_leaves_a_place_based_programmes_place_is_not_started(fitted):
    """(Places are fixed per resident slot: the re-check reads them like the referral does.)"""
    m = model(fitted, programme("jp", type="jobs_plus", place={"share_of_borough": 0.2},
                                areas={"all": True}))
    p = m.programmes[0]
    inside = np.flatnonzero(p.place)[:2]
    for i in inside:
        resident(m, i)
    wait(p, *inside)
    p.place[inside[0]] = False
    m._programmes()
    assert p.status[inside[0]] == 0 and p.status[inside[1]] == SUPPORTED


def test_waiting_lists_keep_exactly_the_eligible_of_every_programme_type(fitted):
    """Everyone on every type's list (no places, so nobody starts): after the pass, those still waiting are exactly
    the eligible (``Programme.eligible``, the referral's rules); the rest are booked as leavers."""
    entries = [{"type": t, "start": "2025-06", "places_per_year": 0} for t in DEFAULTS]
    m = GLWModel(scale=0.002, seed=5, fitted=fitted, interventions=specs(*entries))
    m.month = 1
    w = m.population.weight.astype(np.float64)
    for p in m.programmes:
        p.status[:] = WAITING
        p.since[:] = 0
    expected = [p.eligible() for p in m.programmes]
    m._programmes()
    for p, want in zip(m.programmes, expected):
        assert want.any() and not want.all(), p.spec.label
        np.testing.assert_array_equal(p.status == WAITING, want, err_msg=p.spec.label)
        assert books(p)["left_list"] == pytest.approx(w[~want].sum(), rel=1e-9), p.spec.label
        assert books(p)["waiting"] == pytest.approx(w[want].sum(), rel=1e-9), p.spec.label


def test_a_waiting_leaver_at_65_is_booked_as_leaving_the_list(fitted):
    m = model(fitted, programme("p", places_per_year=0))
    p = m.programmes[0]
    resident(m, 0)
    wait(p, 0)
    p.reset(np.array([0]))  # (the model's 65th-birthday leavers: the slot starts afresh)
    m._programmes()
    assert books(p)["left_list"] == pytest.approx(weight(m, 0))


def test_over_a_run_every_start_is_eligible_when_it_starts_and_costed_once(fitted):
    """WorkWell at few places (long waits) for two years, the natural dynamics: no start is in work or otherwise
    ineligible at its start, the residents who left are booked, and spending is starts x cost."""
    m = GLWModel(scale=0.002, seed=5, fitted=fitted, interventions=specs({"type": "workwell", "places_per_year": 300}))
    p = m.programmes[0]
    seen = {"left": 0.0, "starts": 0.0}
    month_of_programmes = m._programmes

    def checked():  # right after the starts, before the month's moves
        month_of_programmes()
        new = (p.status == SUPPORTED) & (p.since == m.month)
        assert not (m.population.state[new] == E).any()
        assert p.eligible()[new].all()
        b = books(p)
        assert b["spending"] == pytest.approx(b["starts"] * p.spec.cost_per_start)
        seen["left"] += b["left_list"]
        seen["starts"] += b["starts"]

    m._programmes = checked
    m.run(24)
    assert seen["starts"] > 0 and seen["left"] > 0 and books(p)["waiting"] > 0
    assert (m.population.weight[p.ever_started].astype(np.float64).sum()
            <= seen["starts"] * 1.05)  # (weights drift with net migration)


# ------------------------------------------------------------------------------------- more than one programme
@pytest.mark.parametrize("rule", [None, {"rule": "one_at_a_time", "while_in_another": "wait"},
                                  {"rule": "one_at_a_time", "while_in_another": "decline"}, {"rule": "concurrent"}])
def test_a_resident_supported_by_one_employment_programme_follows_the_rule_on_anothers_list(fitted, rule):
    m = model(fitted, programme("a"), programme("b"), participation=rule)
    a, b = m.programmes
    resident(m, 0)
    resident(m, 1)
    support(a, 0)
    wait(b, 0, 1)
    m._programmes()
    mode = "wait" if rule is None else rule.get("while_in_another", rule["rule"])
    assert b.status[1] == SUPPORTED  # (not supported elsewhere)
    assert a.status[0] == SUPPORTED
    if mode == "wait":  # stays on b's list, in its place, not started
        assert b.status[0] == WAITING and not b.ever_started[0]
        assert books(b)["waiting"] == pytest.approx(weight(m, 0))
        assert books(b)["starts"] == pytest.approx(weight(m, 1))
        # when a's support ends (6 months), b starts them
        m.month = MONTH - 1 + 6
        m._programmes()
        assert a.status[0] == AFTER and b.status[0] == SUPPORTED and b.since[0] == m.month
    elif mode == "decline":  # leaves b's list, never started
        assert b.status[0] == 0 and not b.ever_started[0]
        assert books(b)["left_list"] == pytest.approx(weight(m, 0))
        assert books(b)["waiting"] == 0
    else:  # concurrent: started by b as well, effects multiplied
        assert b.status[0] == SUPPORTED
        work, _ = m.programme_multipliers()
        assert work[0] == pytest.approx(1.5 * 1.5)


@pytest.mark.parametrize("mode", ["wait", "decline", "concurrent"])
def test_a_resident_waiting_for_two_employment_programmes_is_started_by_one_under_the_rule(fitted, mode):
    """On both lists with places in both: the first programme in the scenario's order starts them; the second
    holds them (wait) or drops them (decline); concurrent starts both."""
    rule = {"rule": "concurrent"} if mode == "concurrent" else {"rule": "one_at_a_time", "while_in_another": mode}
    m = model(fitted, programme("a"), programme("b"), participation=rule)
    a, b = m.programmes
    resident(m, 0)
    wait(a, 0)
    wait(b, 0)
    m._programmes()
    assert a.status[0] == SUPPORTED
    assert b.status[0] == {"wait": WAITING, "decline": 0, "concurrent": SUPPORTED}[mode]
    assert books(b)["spending"] == (weight(m, 0) * 1000 if mode == "concurrent" else 0)


@pytest.mark.parametrize("mode", ["wait", "decline", "concurrent"])
def test_referral_while_supported_by_another_employment_programme_follows_the_rule(fitted, mode):
    """Certain referral to b: a resident supported by a joins b's list (wait: and waits there; concurrent: and
    starts), or is not referred (decline)."""
    rule = {"rule": "concurrent"} if mode == "concurrent" else {"rule": "one_at_a_time", "while_in_another": mode}
    # (b: residents aged 40 only, so that its places take everyone referred)
    m = model(fitted, programme("a"), programme("b", referral_rate=1.0, eligibility={"age": [40, 40]}),
              participation=rule)
    a, b = m.programmes
    resident(m, 0)
    support(a, 0)
    m._programmes()
    assert b.status[0] == {"wait": WAITING, "decline": 0, "concurrent": SUPPORTED}[mode]
    assert (b.status[1:] != 0).any()  # others were referred


@pytest.mark.parametrize("enabling", sorted(ENABLING_TYPES))
@pytest.mark.parametrize("mode", ["wait", "decline"])
def test_an_enabling_service_combines_with_an_employment_programme(fitted, enabling, mode):
    """Childcare and adult skills are started while an employment programme supports the resident (and the other
    way round), under either setting of the rule; the effects multiply."""
    entry = programme("c", type=enabling, skills=None, effect={"into_work": 1.2, "into_search": 1.0})
    m = model(fitted, programme("a"), entry, programme("b"),
              participation={"rule": "one_at_a_time", "while_in_another": mode})
    a, c, b = m.programmes
    assert a.employment and b.employment and not c.employment
    resident(m, 0)
    resident(m, 1)
    support(a, 0)
    wait(c, 0)
    support(c, 1)
    wait(a, 1)
    m._programmes()
    assert c.status[0] == SUPPORTED and c.ever_started[0]
    assert a.status[1] == SUPPORTED  # an enabling service does not hold back an employment programme
    work, _ = m.programme_multipliers()
    assert work[0] == pytest.approx(1.5 * 1.2) and work[1] == pytest.approx(1.5 * 1.2)


def test_the_programme_types_are_employment_or_enabling():
    from typing import get_args

    from glw_sim.interventions.base import ProgrammeSpec

    types = set(get_args(ProgrammeSpec.model_fields["type"].annotation))
    assert EMPLOYMENT_TYPES | ENABLING_TYPES == types and not EMPLOYMENT_TYPES & ENABLING_TYPES


def test_participation_is_a_scenario_key_passed_to_the_model(tmp_path):
    from glw_sim.runner import _model

    f = tmp_path / "s.yaml"
    f.write_text("name: s\nparticipation: {rule: one_at_a_time, while_in_another: decline}\n"
                 "interventions: [{type: restart}, {type: connect_to_work}]\npopulation: {scale: 0.002}\n")
    sc = load_scenario(f)
    assert sc.participation == Participation(rule="one_at_a_time", while_in_another="decline")
    assert Scenario.model_validate({"name": "t"}).participation == Participation(rule="one_at_a_time",
                                                                                  while_in_another="wait")
    m = _model(sc, 1)
    assert m.participation == sc.participation and all(p.decline for p in m.programmes)
    for bad in ("{rule: sometimes}", "{while_in_another: queue}", "{rule: concurrent, while_in_another: decline}",
                "{rule: concurrent, also: 1}"):
        f.write_text(f"name: s\nparticipation: {bad}\n")
        with pytest.raises(ScenarioError, match="participation"):
            load_scenario(f)
    # a rule that has fewer than two employment programmes to decide between would do nothing: refused
    for progs in ("[]", "[{type: restart}]", "[{type: restart}, {type: childcare}]"):
        f.write_text(f"name: s\nparticipation: {{rule: concurrent}}\ninterventions: {progs}\n")
        with pytest.raises(ScenarioError, match="participation: the rule decides between employment programmes"):
            load_scenario(f)
    f.write_text("name: s\nparticipation: {rule: one_at_a_time, while_in_another: wait}\ninterventions: "
                 "[{type: restart}]\n")
    assert load_scenario(f).participation == Participation()  # the default, spelt out, changes nothing: allowed


# ------------------------------------------------------------------------------------- place-based cost
def test_jobs_plus_cost_per_targeted_resident_month_adds_to_the_cost_of_starts(fitted):
    entry = {"type": "jobs_plus", "start": "2025-06", "pathways": NO_PATHWAYS, "referral_rate": 0.0, "cost_per_start": 2500,
             "places_per_year": 100_000,
             "place": {"share_of_borough": 0.05, "cost_per_resident_month": 120.0}}
    m = model(fitted, entry)
    p = m.programmes[0]
    w = m.population.weight.astype(np.float64)
    first = np.flatnonzero(p.place & (m.population.state != E))[0]
    wait(p, first)
    spent = m.spending
    m._programmes()
    b = books(p)
    want = w[p.place].sum() * 120.0 + b["starts"] * 2500
    assert b["starts"] == pytest.approx(w[first]) and b["spending"] == pytest.approx(want, rel=1e-9)
    assert m.spending - spent == pytest.approx(want, rel=1e-9)
    # per provider: the residents of its boroughs' place
    for prov in p.providers:
        mine = p.place & prov.boroughs[m.population.borough]
        assert prov.spending == pytest.approx(w[mine].sum() * 120.0 + prov.starts * 2500, rel=1e-9)
    # without the per-resident cost, starts only; and nothing while the programme is not running
    m2 = model(fitted, {**entry, "place": {"share_of_borough": 0.05, "cost_per_resident_month": None}})
    m2._programmes()
    assert books(m2.programmes[0])["spending"] == 0
    m3 = model(fitted, {**entry, "start": "2026-06"})
    m3._programmes()
    assert books(m3.programmes[0])["spending"] == 0


def test_cost_per_resident_month_is_validated():
    for bad in (-1, 10_001, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            specs({"type": "jobs_plus", "place": {"share_of_borough": 0.01, "cost_per_resident_month": bad}})
    # the default is the evidence's central value (calibration/evidence/programmes.csv), JobsPlus charged per
    # targeted resident-month only
    from glw_sim.interventions.evidence import evidence_row

    assert DEFAULTS["jobs_plus"]["place"]["cost_per_resident_month"] == evidence_row("jobs_plus",
                                                                                 "cost_per_resident_month")["central"]
    assert DEFAULTS["jobs_plus"]["cost_per_start"] == 0
