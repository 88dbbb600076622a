"""Households (glw_sim.households; issue 21, step 2): types consistent with the resident's own attributes, tenure
on each borough's Census 2021 shares, rental areas, partners' work at the model's rates. About 15 s."""

import numpy as np
import pytest

from glw_sim import households as H
from glw_sim.model import GLWModel
from glw_sim.states import LabourState, Sex, age_band_of


@pytest.fixture(scope="module")
def model(fitted):
    m = GLWModel(scale=0.02, seed=7, fitted=fitted, income=True, collect_groups=False)
    return m


def test_types_follow_the_residents_attributes(model):
    pop, hh = model.population, model.pay.households
    yc = pop.young_children
    # a parent of a child under 5 lives with children: lone parent or couple with children (or in an 'other' household)
    assert not np.isin(hh.type[yc], [H.SINGLE, H.COUPLE]).any()
    assert np.all(hh.children[np.isin(hh.type, [H.LONE_PARENT, H.COUPLE_CHILDREN])] >= 1)
    assert np.all(hh.children[~np.isin(hh.type, [H.LONE_PARENT, H.COUPLE_CHILDREN])] == 0)
    lone = hh.type == H.LONE_PARENT
    female = np.average(pop.sex[lone] == Sex.FEMALE, weights=pop.weight[lone])
    assert 0.8 < female < 0.97  # about nine in ten lone parents are mothers (the assumption, within sampling)
    young = age_band_of(pop.age) == 0
    assert np.average(hh.type[young] == H.OTHER, weights=pop.weight[young]) > 0.6  # 16-24s live with others


def test_tenure_keeps_every_boroughs_census_shares(model, targets):
    """Each borough's weighted tenure shares are Census 2021's (TS054) within 1.5 points: raked to them, the rest is
    the sampling of one categorical draw per resident (400+ residents a borough: SD under 2.5 points, so the
    mean absolute error over 33 boroughs is the test, 1.5 points, with the largest under 7)."""
    pop, hh = model.population, model.pay.households
    want = H.tenure_shares(list(targets.geography.names))
    w = pop.weight.astype(np.float64)
    got = np.stack([np.bincount(pop.borough, weights=w * (hh.tenure == k), minlength=33) for k in range(3)], 1)
    got /= got.sum(axis=1, keepdims=True)
    assert np.abs(got - want).mean() < 0.015 and np.abs(got - want).max() < 0.07
    # and the young rent privately more often, the out of work are more often social renters
    young = pop.age < 35
    assert np.average(hh.tenure[young] == H.PRIVATE, weights=w[young]) > np.average(hh.tenure[~young] == H.PRIVATE,
                                                                                      weights=w[~young])
    out = pop.state != LabourState.EMPLOYED
    assert np.average(hh.tenure[out] == H.SOCIAL, weights=w[out]) > np.average(hh.tenure[~out] == H.SOCIAL,
                                                                                weights=w[~out])


def test_rental_areas_and_lha_categories(model):
    pop, hh = model.population, model.pay.households
    assert len(H.brmas()) == 14 and set(np.unique(hh.brma)) == set(range(14))
    cat = hh.lha_category(pop.age)
    assert np.all(cat[(hh.type == H.SINGLE) & (pop.age < 35)] == 0)
    assert np.all(cat[(hh.type == H.COUPLE)] == 1)
    assert np.all(cat[hh.children == 3] == 3)
    lha = H.lha_monthly()
    assert lha.shape == (14, 5) and np.all(np.diff(lha, axis=1) > 0)


def test_partners_work_at_the_models_rates(model):
    """Partners' employment follows the model's rate of their sex and band (each with a fixed rank): over couples
    it is the population rate of the partners' sex within 2 points (sampling of about 40,000 couples)."""
    pop, hh = model.population, model.pay.households
    emp = H.partner_employed(hh, pop)
    rate = H.employment_rate_by_sex_band(pop)
    for s in (Sex.MALE, Sex.FEMALE):
        c = hh.couple & (pop.sex == s)  # their partners are of the other sex
        want = np.average(rate[1 - s, age_band_of(pop.age[c])], weights=pop.weight[c])
        assert abs(np.average(emp[c], weights=pop.weight[c]) - want) < 0.02
    assert not emp[~hh.couple].any()
    # a rise in the rates raises partners' work, with the same ranks
    before, saved = emp.sum(), pop.state.copy()
    pop.state[:] = LabourState.EMPLOYED
    try:
        assert H.partner_employed(hh, pop).sum() > before
    finally:
        pop.state[:] = saved
