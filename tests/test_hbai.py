"""Month 0 of the second target against HBAI (glw_sim.hbai): the poverty share and its in-work share, derived here
again with a sort (pandas) instead of the binned median. About 10 s after the kernels are compiled."""

import numpy as np
import pandas as pd

from glw_sim import hbai
from glw_sim import incomemetric as M
from glw_sim.model import GLWModel


def test_poverty_is_the_share_below_60_percent_of_the_weighted_median_and_its_share_in_work(fitted):
    m = GLWModel(scale=0.01, seed=3, fitted=fitted, income=True, collect_groups=False)
    rate, in_work = hbai.poverty(m.pay, m.current_month)
    eq = M.equivalised_ahc(m.pay, m.current_month)
    df = pd.DataFrame({"v": eq, "w": m.population.weight.astype(float), "e": m.pay.jobs.held}).sort_values("v")
    cum = df.w.cumsum() / df.w.sum()
    median = df.v.iloc[int((cum < 0.5).sum())]
    poor = df[df.v < 0.6 * median]
    # the binned median is exact to its 1p bin: residents within a penny of the line may fall either side
    assert abs(rate - poor.w.sum() / df.w.sum()) < 0.002
    assert abs(in_work - np.average(poor.e, weights=poor.w)) < 0.005
    # what the report states: the model misses HBAI's 22% and 51% (README): the rows say so, not fitted
    rows = hbai.checks([m], lambda v: (float(np.mean(v)), np.nan, np.nan))
    assert [r[2] for r in rows] == [22.0, 51.0] and not any(r[-1] for r in rows)
    assert rows[0][5][0] == 100 * rate and rows[1][5][0] == 100 * in_work
