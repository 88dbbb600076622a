import numpy as np

from glw_sim.calibration import quarterly_from_monthly
from glw_sim.hazards import DurationTable, FlowParams, monthly_probs


def _matrix(pi, fp):
    p_eu, p_ei, p_ue, p_ui, p_ie, p_iu = monthly_probs(*pi, fp)
    return np.array([[1 - p_eu - p_ei, p_eu, p_ei], [p_ue, 1 - p_ue - p_ui, p_ui], [p_ie, p_iu, 1 - p_ie - p_iu]])


def test_each_residents_chain_is_stationary_at_its_shares():
    fp = FlowParams(0.14, 0.04, 0.25, 0.35)
    for pi in ([0.75, 0.05, 0.20], [0.4, 0.1, 0.5], [0.95, 0.01, 0.04]):
        pi = np.array(pi)
        P = _matrix(pi, fp)
        assert (P >= 0).all()
        np.testing.assert_allclose(pi @ P, pi, atol=1e-12)


def test_circulation_runs_e_to_i_to_u_to_e():
    pi = np.array([0.75, 0.05, 0.20])
    F = pi[:, None] * _matrix(pi, FlowParams(0.14, 0.04, 0.25, 0.35))
    assert F[0, 2] > F[2, 0] and F[2, 1] > F[1, 2] and F[1, 0] > F[0, 1]


def test_quarterly_of_a_homogeneous_population_is_the_cube():
    fp = FlowParams(0.1, 0.03, 0.2, 0.2)
    pi = np.array([0.7, 0.06, 0.24])
    q = quarterly_from_monthly(np.repeat(pi[:, None], 5, axis=1), np.ones(5), fp)
    P = _matrix(pi, fp)
    np.testing.assert_allclose(q, P @ P @ P, atol=1e-12)


def test_duration_dependence_keeps_the_mean_exit():
    table = DurationTable(1 / 3.2)
    for hbar in (0.02, 0.1, 0.3):
        h0 = table.h0_for(np.array([hbar]))[0]
        haz = np.minimum(h0 * table.g, 1)
        surv = np.cumprod(np.r_[1, 1 - haz[:-1]])
        mean_duration = surv.sum() + surv[-1] * (1 - haz[-1]) / haz[-1]
        assert abs(mean_duration * hbar - 1) < 0.01
        assert haz[0] / haz[-1] > 3.1  # <3 months vs 2+ years: 3.2x (ONS 2013)
