"""The statistics of a figure's interval (glw_sim.uncertainty): on synthetic replications with a known answer."""

import numpy as np
import pytest

from glw_sim import uncertainty as U
from glw_sim.draws import Distribution


def _synthetic(rng, n, b=(3.0, 0.0), noise=1.0, a=10.0):
    Z = rng.standard_normal((n, len(b)))
    y = a + Z @ np.array(b) + noise * rng.standard_normal(n)
    return y, Z


def test_estimate_parts_and_drivers_recover_a_known_linear_response():
    rng = np.random.default_rng(1)
    y, Z = _synthetic(rng, 400)
    f = U.fit(y, Z, ("effect", "inert"))
    # the intercept's standard error is noise / sqrt(n) = 0.05: 10 within 4 of them
    assert f.estimate == pytest.approx(10.0, abs=4 * 0.05)
    assert f.noise_se == pytest.approx(1.0 / np.sqrt(400), rel=0.15)
    # evidence sd is |b| = 3 (the sampling error of b is 0.05)
    assert f.evidence_sd == pytest.approx(3.0, abs=0.2)
    (name, share), = [d for d in f.drivers() if d[1] > 0.01]
    assert name == "effect" and share > 0.98


def test_an_input_that_does_nothing_gets_no_evidence_on_average():
    # without the bias correction the regression reads noise as an effect: E[b^2] = var(b) ~ noise^2 / n per
    # input; corrected, E[max(b^2 - var b, 0)] is about a third of that (E[max(chi2_1 - 1, 0)] = 0.32)
    rng = np.random.default_rng(2)
    sds = [U.fit(*_synthetic(rng, 12, b=(0.0, 0.0)), ("a", "b")).evidence_sd ** 2 for _ in range(300)]
    raw = []
    for _ in range(300):
        y, Z = _synthetic(rng, 12, b=(0.0, 0.0))
        X = np.column_stack([np.ones(12), Z])
        coef = np.linalg.lstsq(X, y, rcond=None)[0]
        raw.append((coef[1:] ** 2).sum())
    assert np.mean(raw) == pytest.approx(2 / (12 - 2 - 2), rel=0.3)  # E[(X'X)^-1] = I / (n - p - 2)
    assert np.mean(sds) < 0.5 * np.mean(raw)


def test_noise_interval_covers_the_truth_at_its_nominal_rate():
    rng = np.random.default_rng(3)
    hits = 0
    trials = 400
    for _ in range(trials):
        y, Z = _synthetic(rng, 15, b=(2.0,))
        f = U.fit(y, Z, ("x",))
        hits += f.noise_low <= 10.0 <= f.noise_high
    # 95% nominal; 400 trials: binomial sd 1.1 pp, so within 4 sd
    assert abs(hits / trials - 0.95) < 0.045


def test_without_draws_the_estimate_is_the_mean_and_the_se_the_standard_error():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    f = U.fit(y)
    assert f.estimate == pytest.approx(3.0)
    assert f.noise_se == pytest.approx(np.std(y, ddof=1) / np.sqrt(5))
    assert f.evidence_sd == 0.0
    assert f.noise_half_width == pytest.approx(2.776445 * f.noise_se, rel=1e-5)  # t(4) 97.5%


def test_too_few_replications_for_the_draws_fall_back_to_the_mean():
    rng = np.random.default_rng(4)
    y, Z = _synthetic(rng, 5, b=(1.0, 1.0))
    f = U.fit(y, Z, ("a", "b"))
    assert f.estimate == pytest.approx(y.mean())
    assert f.inputs == ()


def test_fieller_interval_holds_the_point_and_is_unbounded_near_zero():
    rng = np.random.default_rng(5)
    spend = 1e6 + 1e4 * rng.standard_normal(20)
    jobs = 50 + 5 * rng.standard_normal(20)
    (fs, fj), resid = U.fit_many(np.column_stack([spend, jobs]), None)
    r = U.ratio(fs, fj, U.noise_cov(resid, 0, 1))
    assert r.bounded and r.low < r.estimate < r.high
    assert r.estimate == pytest.approx(spend.mean() / jobs.mean())
    # a denominator whose interval holds zero: no bound
    (fs, fj), resid = U.fit_many(np.column_stack([spend, 0.5 + 5 * rng.standard_normal(20)]), None)
    assert not U.ratio(fs, fj).bounded


def test_separated_needs_the_difference_beyond_its_uncertainty():
    rng = np.random.default_rng(6)
    a = U.fit(100 + 10 * rng.standard_normal(10))
    b = U.fit(104 + 10 * rng.standard_normal(10))
    c = U.fit(200 + 10 * rng.standard_normal(10))
    assert not U.separated(a, b)
    assert U.separated(a, c)


def test_two_replications_whose_net_holds_zero_give_an_unbounded_cost():
    # the reported page: net extra 305 from 2 replications, interval -316 to 926 (t with 1 df), beside a cost
    # per net job the normal's 1.96 bounded at about 204k to 412k
    jobs = np.array([305 - 48.9, 305 + 48.9])
    spend = np.array([93e6, 93.4e6])
    (fs, fj), resid = U.fit_many(np.column_stack([spend, jobs]), None)
    assert fj.noise_df == 1
    assert fj.low == pytest.approx(305 - 12.7062 * 48.9, abs=1) and fj.low < 0 < fj.high
    r = U.ratio(fs, fj, U.noise_cov(resid, 0, 1))
    assert not r.bounded and np.isnan(r.low) and np.isnan(r.high)
    assert r.estimate == pytest.approx(spend.mean() / jobs.mean())
    # the ranking check at the same quantile: 300 apart is within t(1)'s interval (1.96 would rank them)
    a, b = U.fit(np.array([1000.0, 1100.0])), U.fit(np.array([1300.0, 1400.0]))
    assert abs(a.estimate - b.estimate) > 1.96 * np.hypot(a.noise_se, b.noise_se)
    assert not U.separated(a, b)


def test_ratio_is_unbounded_exactly_when_its_denominators_interval_holds_zero():
    rng = np.random.default_rng(11)
    for n in (2, 3, 5, 12):
        base = rng.standard_normal(n)
        for centre in np.linspace(0, 60, 61):
            jobs = centre + 10 * base
            spend = 1e6 + 1e4 * rng.standard_normal(n)
            (fs, fj), resid = U.fit_many(np.column_stack([spend, jobs]), None)
            assert U.ratio(fs, fj, U.noise_cov(resid, 0, 1)).bounded == fj.excludes_zero()


def test_fieller_interval_matches_a_hand_computation_at_students_t():
    from scipy import stats

    rng = np.random.default_rng(12)
    n = 5
    spend = 1e6 + 3e4 * rng.standard_normal(n)
    jobs = 80 + 4 * rng.standard_normal(n)
    (fs, fj), resid = U.fit_many(np.column_stack([spend, jobs]), None)
    r = U.ratio(fs, fj, U.noise_cov(resid, 0, 1))
    # by hand: means, their covariance matrix (sample covariance / n), t with n - 1 df
    a, b = spend.mean(), jobs.mean()
    c = np.cov(spend, jobs, ddof=1) / n
    t2 = stats.t.ppf(0.975, n - 1) ** 2
    qa, qb, qc = b * b - t2 * c[1, 1], -2 * (a * b - t2 * c[0, 1]), a * a - t2 * c[0, 0]
    root = np.sqrt(qb * qb - 4 * qa * qc)
    assert r.bounded
    assert r.low == pytest.approx((-qb - root) / (2 * qa), rel=1e-9)
    assert r.high == pytest.approx((-qb + root) / (2 * qa), rel=1e-9)
    # wider than the normal's interval would be
    z2 = U.Z95 ** 2
    qa, qb, qc = b * b - z2 * c[1, 1], -2 * (a * b - z2 * c[0, 1]), a * a - z2 * c[0, 0]
    assert r.high - r.low > np.sqrt(qb * qb - 4 * qa * qc) / qa
    # the ranking check at the same t: a difference separated exactly when its t interval leaves out zero
    x, y = spend / 1e4, spend / 1e4 + rng.standard_normal(n) + 3
    fx, fy = U.fit(x), U.fit(y)
    d = y - x
    assert U.separated(fy, fx, float(np.cov(x, y, ddof=1)[0, 1] / n)) == bool(
        abs(d.mean()) > stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))


def test_known_cost_loadings_widen_spending_only():
    f = U.fit(np.array([10.0, 11.0, 9.0, 10.0]))
    g = U.add_known(f, {"cost.x": 3.0})
    assert g.evidence_sd == pytest.approx(3.0)
    assert g.estimate == f.estimate and g.noise_se == f.noise_se


@pytest.mark.parametrize("kind", ["triangular", "uniform"])
def test_distributions_draw_their_stated_mean_and_sd(kind):
    d = Distribution(0.02, 0.0, 0.05, kind)
    x = d.quantile(np.random.default_rng(7).random(200_000))
    assert x.min() >= 0.0 and x.max() <= 0.05
    assert x.mean() == pytest.approx(d.mean, abs=4 * d.sd / np.sqrt(200_000))
    assert x.std() == pytest.approx(d.sd, rel=0.01)
