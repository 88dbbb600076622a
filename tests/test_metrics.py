import numpy as np

from glw_sim import metrics as M
from glw_sim.population import Population


def small_population():
    """Eight hand-made residents in two boroughs (codes 0 and 1)."""
    p = Population.empty(8)
    p.borough[:] = [0, 0, 0, 0, 1, 1, 1, 1]
    p.state[:] = [0, 0, 1, 2, 0, 2, 2, 0]  # E E U I | E I I E
    p.reason[:] = [0, 0, 0, 4, 0, 1, 2, 0]  # long-term sick, student, family
    p.in_education[:] = [0, 0, 0, 0, 0, 1, 0, 0]
    p.age[:] = [20, 30, 22, 50, 40, 18, 35, 60]
    p.sex[:] = [0, 1, 0, 1, 0, 1, 1, 0]
    p.health[:] = [0, 2, 0, 2, 0, 0, 0, 2]
    p.ethnicity[:] = [0, 4, 0, 0, 2, 0, 3, 0]
    p.weight[:] = [1, 1, 1, 1, 2, 2, 2, 2]
    return p


def test_london_metrics_by_hand():
    m = M.london(small_population())
    # weights: borough 0 = 4, borough 1 = 8; employed weight 1+1+2+2 = 6 of 12
    assert m["employment_rate"] == 6 / 12
    assert m["unemployment_rate"] == 1 / 7
    assert m["inactivity_rate"] == 5 / 12
    assert m["health_related_inactivity_rate"] == 1 / 12
    # disabled: residents 1 (E,w1), 3 (I,w1), 7 (E,w2) -> 3/4; non-disabled: E weight 1+2=3 of 8
    assert np.isclose(m["disability_employment_gap"], 3 / 8 - 3 / 4)
    # white: 0 (E,1), 2 (U,1), 3 (I,1), 5 (I,2), 7 (E,2) -> 3/7; minority: 1 (E,1), 4 (E,2), 6 (I,2) -> 3/5
    assert np.isclose(m["ethnicity_employment_gap"], 3 / 7 - 3 / 5)
    # women: 1 (E,1), 3 (I,1), 5 (I,2), 6 (I,2) -> 1/6
    assert np.isclose(m["female_employment_rate"], 1 / 6)
    # 16-24: 0 (E,1), 2 (U,1, not in education -> NEET), 5 (I, in education,2) -> 1/4
    assert np.isclose(m["neet_rate_16_24"], 1 / 4)
    assert np.isclose(m["gap_to_80"], 0.8 * 12 - 6)
    assert np.isclose(m["borough_employment_spread"], abs(2 / 4 - 4 / 8))


def test_borough_metrics_by_hand():
    b = M.boroughs(small_population())
    assert b.shape == (33, 4)
    np.testing.assert_allclose(b[0], [0.5, 1 / 3, 0.25, 0.25])
    np.testing.assert_allclose(b[1], [0.5, 0.0, 0.5, 0.0])
    assert np.isnan(b[2, 0])


def test_compiled_tally_gives_the_same_metrics(targets, fitted):
    from glw_sim import kernels as K
    from glw_sim.synthesis import synthesise

    pop, _ = synthesise(targets, fitted, scale=0.002, rng=np.random.default_rng(0))
    t = K.tally(pop.state, pop.reason, pop.borough, pop.sex, pop.age, pop.health, pop.ethnicity, pop.qualification,
                pop.in_education, pop.wants_job, pop.months_in_state, pop.weight, pop.state, np.ones(len(pop), bool))
    lon, b, grp, q = M.from_tally(t)
    ref = M.london(pop)
    for k, v in ref.items():
        assert np.isclose(lon[k], v, rtol=1e-9, atol=1e-12), k
    np.testing.assert_allclose(b, M.boroughs(pop), rtol=1e-9)
    for k, v in M.groups(pop).items():
        assert np.isclose(grp[k], v, rtol=1e-9), k
    np.testing.assert_allclose(q, np.eye(3))
