import numpy as np
import pandas as pd

from glw_sim import metrics as M
from glw_sim.population import Population

tallied = M.of_population


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
    m = tallied(small_population())[0]
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
    b = tallied(small_population())[1]
    assert b.shape == (33, 4)
    np.testing.assert_allclose(b[0], [0.5, 1 / 3, 0.25, 0.25])
    np.testing.assert_allclose(b[1], [0.5, 0.0, 0.5, 0.0])
    assert np.isnan(b[2, 0])


def test_tally_gives_the_metrics_pandas_gives(targets, fitted):
    """On a synthetic population, the compiled tally's metrics equal those computed here from the columns with
    pandas (an independent statement of the definitions in glw_sim.metrics' docstring)."""
    from glw_sim.synthesis import synthesise

    pop, _ = synthesise(targets, fitted, scale=0.002, rng=np.random.default_rng(0))
    lon, b, grp, q = tallied(pop, pop.state.copy())
    df = pd.DataFrame({c: getattr(pop, c) for c in ("state", "reason", "borough", "sex", "age", "health",
                                                     "ethnicity", "in_education", "wants_job", "months_in_state")})
    df["w"] = pop.weight.astype(np.float64)
    tot = df.w.sum()
    emp = df.w[df.state == 0].sum()

    def rate(mask, within=None):
        base = df.w.sum() if within is None else df.w[within].sum()
        return df.w[mask & (True if within is None else within)].sum() / base

    assert np.isclose(lon["employment_rate"], emp / tot, rtol=1e-12)
    assert np.isclose(lon["unemployment_rate"], rate(df.state == 1, df.state < 2), rtol=1e-12)
    assert np.isclose(lon["health_related_inactivity_rate"], rate(df.reason == 4), rtol=1e-12)
    assert np.isclose(lon["inactive_want_job"], df.w[(df.state == 2) & df.wants_job].sum(), rtol=1e-12)
    young = df.age <= 24
    assert np.isclose(lon["neet_rate_16_24"], rate((df.state != 0) & ~df.in_education, young), rtol=1e-12)
    gap = rate(df.state == 0, df.health < 2) - rate(df.state == 0, df.health == 2)
    assert np.isclose(lon["disability_employment_gap"], gap, rtol=1e-12)
    eth = rate(df.state == 0, df.ethnicity == 0) - rate(df.state == 0, df.ethnicity > 0)
    assert np.isclose(lon["ethnicity_employment_gap"], eth, rtol=1e-12)
    assert np.isclose(lon["long_term_unemployed_share"], rate(df.months_in_state >= 12, df.state == 1), rtol=1e-12)
    by_b = df.groupby("borough").apply(lambda g: g.w[g.state == 0].sum() / g.w.sum(), include_groups=False)
    np.testing.assert_allclose(b[:, 0], by_b.reindex(range(33)).to_numpy(), rtol=1e-12)
    assert np.isclose(lon["borough_employment_spread"], by_b.max() - by_b.min(), rtol=1e-12)
    female = rate(df.state == 0, df.sex == 1)
    assert np.isclose(grp[("sex", "female", "employment_rate")], female, rtol=1e-12)
    np.testing.assert_allclose(q, np.eye(3))  # the state three months ago was the state now
