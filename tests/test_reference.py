"""The one-agent-per-resident Mesa reference computes the same model as glw-sim (like-for-like benchmark)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from mesa_reference import LIKE_FOR_LIKE, ReferenceModel  # noqa: E402

from glw_sim.model import GLWModel  # noqa: E402


def test_reference_matches_vectorised_trajectory(fitted):
    fast = GLWModel(scale=0.02, seed=21, fitted=fitted, **LIKE_FOR_LIKE)  # the configuration the benchmark times
    ref = ReferenceModel(fast, seed=22)
    n = len(fast.population)
    fast.run(12)
    for _ in range(12):
        ref.step()
    a = np.array([r["employment_rate"] for r in fast.records])
    b = np.array(ref.employment)
    assert a[0] == b[0]  # same starting population
    # two independent runs of the same chain: the difference of employment rates after t months has
    # SD <= sqrt(2 p (1-p) / n) (the full binomial bound); allow 4 SD
    sd = np.sqrt(2 * 0.75 * 0.25 / n)
    assert np.abs(a - b).max() < 4 * sd, (np.round(a, 4), np.round(b, 4))
    # and neither drifts: both stay near 75%
    assert abs(b[-1] - 0.75) < 0.01
