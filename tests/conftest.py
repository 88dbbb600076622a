import numpy as np
import pytest

from glw_sim.calibration import load_fitted
from glw_sim.model import GLWModel
from glw_sim.targets import load_targets


@pytest.fixture(scope="session")
def targets():
    return load_targets()


@pytest.fixture(scope="session")
def fitted():
    return load_fitted()


@pytest.fixture(scope="session")
def model_12(fitted):
    """A 2% baseline (about 130,000 agents) run for 12 months, shared by the dynamics tests."""
    m = GLWModel(scale=0.02, seed=7, fitted=fitted)
    m.run(12)
    return m


def weighted_rate(pop, mask, num_mask):
    w = pop.weight.astype(np.float64)
    return w[mask & num_mask].sum() / w[mask].sum()
