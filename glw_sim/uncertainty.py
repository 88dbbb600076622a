"""What a headline figure's interval holds: simulation noise and the evidence behind the inputs.

Each replication of a run has its own seed (simulation noise) and, when the run draws its evidence, its own
draw of the uncertain inputs (programme effects, key assumptions; :mod:`glw_sim.draws`), shared by the
replication's counterfactual and leave-one-out runs (common random numbers). From the replications' values
``y`` and their standardised draws ``Z`` (each input's draw minus its distribution's mean, over its standard
deviation), a figure is summarised by ordinary least squares of ``y`` on ``[1, Z]``:

- the **estimate** is the intercept: the expected value over the evidence with the draws used as control
  variates, so the luck of which draws came up does not move it (with no draws it is the plain mean);
- the **simulation noise** is its Monte Carlo standard error (residual variance times the intercept's entry of
  ``(X'X)^-1``): the part more replications or a larger scale shrink;
- the **evidence** part is the standard deviation of the outcome across the evidence distribution,
  ``sqrt(b'b)`` (the draws are independent with unit variance), with each input's share ``b_k^2 / b'b``: the
  drivers; each fitted ``b_k^2`` is first reduced by its sampling variance (the noise a regression on few
  replications would otherwise read as the input's effect), so an input that does nothing gets no share;
- the **95% interval** is the estimate +/- the half-widths of both parts together, ``hypot(t x noise, 1.96 x
  evidence)``: Student's t with the residual's degrees of freedom for the noise (:func:`t95`; a run has a
  handful of replications, where the normal's 1.96 is too narrow) and the normal for the evidence (a normal
  approximation of a linear response: ``r2`` says how much of the replications' spread the linear fit explains).

Costs need no simulation: spending scales with each programme's cost per unit, so its evidence enters as a
known column (:func:`add_known`), not through the regression. A ratio (cost per net extra job) gets Fieller's
interval from the numerator's and denominator's joint uncertainty, with the same quantiles as every other interval
(t for the noise, 1.96 for the evidence), which always contains the point estimate and is unbounded exactly
when the denominator's own interval holds zero. A ranking (:func:`separated`) uses the interval of the
difference, a :class:`Figure` like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

Z95 = 1.959963984540054


def t95(df: int) -> float:
    """The 95% two-sided quantile of Student's t with ``df`` degrees of freedom (inf with none): the quantile of
    every interval's simulation-noise part (figures, ratios, differences, the precision a run chooses)."""
    return float(stats.t.ppf(0.975, df)) if df > 0 else float("inf")


@dataclass(frozen=True)
class Figure:
    """One figure's estimate and uncertainty (see the module docstring)."""

    estimate: float
    noise_se: float  # Monte Carlo standard error of the estimate
    noise_df: int  # degrees of freedom of the noise estimate (for its t interval)
    evidence: np.ndarray = field(repr=False)  # evidence loadings: outcome change per standard deviation of each input
    inputs: tuple[str, ...] = ()
    replications: int = 0
    r2: float = float("nan")  # share of the replications' variance the linear fit explains
    floor: float = float("-inf")  # the figure cannot go below this (a count, a rate): intervals stop there

    @property
    def evidence_sd(self) -> float:
        return float(np.sqrt(np.sum(self.evidence ** 2)))

    @property
    def total_sd(self) -> float:
        return float(np.hypot(self.noise_se, self.evidence_sd))

    @property
    def noise_half_width(self) -> float:
        """95% half-width of the simulation noise alone (t with the residual's degrees of freedom)."""
        if not np.isfinite(self.noise_se):
            return float("nan")
        return float(t95(self.noise_df) * self.noise_se)

    @property
    def evidence_half_width(self) -> float:
        return Z95 * self.evidence_sd

    @property
    def half_width(self) -> float:
        """95% half-width of noise and evidence together."""
        return float(np.hypot(self.noise_half_width, self.evidence_half_width))

    @property
    def low(self) -> float:
        return max(self.estimate - self.half_width, self.floor)

    @property
    def high(self) -> float:
        return self.estimate + self.half_width

    @property
    def noise_low(self) -> float:
        return max(self.estimate - self.noise_half_width, self.floor)

    @property
    def noise_high(self) -> float:
        return self.estimate + self.noise_half_width

    def excludes_zero(self) -> bool:
        """The 95% interval (noise and evidence) leaves out zero: the figure's sign is known."""
        return bool(np.isfinite(self.half_width) and abs(self.estimate) > self.half_width)

    def drivers(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` inputs with the largest share of the evidence variance, largest first."""
        var = self.evidence ** 2
        total = var.sum()
        if not len(var) or total <= 0:
            return []
        order = np.argsort(-var, kind="stable")[:k]
        return [(self.inputs[i], float(var[i] / total)) for i in order if var[i] > 0]

    def as_row(self) -> dict[str, float]:
        return {"mean": self.estimate, "low_95": self.low, "high_95": self.high, "noise_se": self.noise_se,
                "noise_low_95": self.noise_low, "noise_high_95": self.noise_high, "evidence_sd": self.evidence_sd,
                "replications": self.replications}


def _design(Z: np.ndarray | None, n: int) -> np.ndarray:
    Z = np.zeros((n, 0)) if Z is None else np.asarray(Z, dtype=np.float64).reshape(n, -1)
    return np.column_stack([np.ones(n), Z])


def usable_inputs(n: int, p: int) -> bool:
    """Whether ``n`` replications can carry a regression on ``p`` drawn inputs with at least 3 residual degrees
    of freedom (otherwise the draws are averaged over, not used as control variates)."""
    return n - p - 1 >= 3


def fit_many(Y: np.ndarray, Z: np.ndarray | None, inputs: tuple[str, ...] = (),
             floors: np.ndarray | None = None) -> tuple[list[Figure], np.ndarray]:
    """Summarise each column of ``Y`` (replications x figures) against the draws ``Z`` (replications x inputs);
    also returns the residuals scaled so that ``scaled[:, i] @ scaled[:, j]`` is the Monte Carlo covariance of
    estimates ``i`` and ``j`` (:func:`noise_cov`, for :func:`ratio`). ``floors``: the least value each figure can
    take (intervals are cut there)."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    n, m = Y.shape
    p = 0 if Z is None else np.asarray(Z).reshape(n, -1).shape[1]
    if p and not usable_inputs(n, p):
        # too few replications to separate the inputs' effects from noise: the plain mean, whose standard error
        # then holds the evidence's spread too (said by an empty evidence part and inputs named)
        Z, p = None, 0
        inputs = ()
    X = _design(Z, n)
    if n == 0:
        nan = float("nan")
        return [Figure(nan, nan, 0, np.zeros(0), inputs, 0) for _ in range(m)], np.zeros((0, m))
    coef, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid = Y - X @ coef
    df = n - p - 1
    xtx_inv = np.linalg.pinv(X.T @ X)
    scaled = resid * np.sqrt(xtx_inv[0, 0] / df) if df > 0 else np.zeros_like(resid)
    figures = []
    for j in range(m):
        s2 = float(resid[:, j] @ resid[:, j] / df) if df > 0 else float("nan")
        se = float(np.sqrt(max(s2, 0.0) * xtx_inv[0, 0])) if df > 0 else float("nan")
        tss = float(((Y[:, j] - Y[:, j].mean()) ** 2).sum())
        r2 = 1.0 - float(resid[:, j] @ resid[:, j]) / tss if tss > 0 and p else float("nan")
        floor = float("-inf") if floors is None else float(floors[j])
        # each fitted loading b_k overstates b_k^2 by its sampling variance (noise fitted as if it were the
        # input's effect): shrink it so its square is the unbiased estimate max(b_k^2 - var(b_k), 0)
        b = coef[1:, j].copy()
        if df > 0 and len(b):
            var_b = max(s2, 0.0) * np.diag(xtx_inv)[1:]
            b = np.sign(b) * np.sqrt(np.maximum(b * b - var_b, 0.0))
        figures.append(Figure(float(coef[0, j]), se, df, b, tuple(inputs), n, r2, floor))
    return figures, scaled


def fit(y, Z=None, inputs: tuple[str, ...] = ()) -> Figure:
    """:func:`fit_many` for one figure."""
    return fit_many(np.asarray(y, dtype=np.float64)[:, None], Z, inputs)[0][0]


def add_known(fig: Figure, loadings: dict[str, float]) -> Figure:
    """``fig`` with evidence of known size added (outcome change per standard deviation of each named input),
    e.g. spending's dependence on each programme's unit cost, which needs no simulation."""
    names = list(fig.inputs) + [k for k in loadings if k not in fig.inputs]
    ev = np.zeros(len(names))
    ev[:len(fig.inputs)] = fig.evidence
    for k, v in loadings.items():
        ev[names.index(k)] += v
    return Figure(fig.estimate, fig.noise_se, fig.noise_df, ev, tuple(names), fig.replications, fig.r2, fig.floor)


def _aligned(a: Figure, b: Figure) -> tuple[np.ndarray, np.ndarray]:
    names = list(dict.fromkeys(a.inputs + b.inputs))
    va, vb = np.zeros(len(names)), np.zeros(len(names))
    for fig, v in ((a, va), (b, vb)):
        for k, x in zip(fig.inputs, fig.evidence):
            v[names.index(k)] = x
    return va, vb


@dataclass(frozen=True)
class Ratio:
    """A ratio's point estimate and 95% interval (Fieller): ``bounded`` false when the denominator's interval
    holds zero, and then ``low``/``high`` are nan."""

    estimate: float
    low: float
    high: float
    bounded: bool

    def as_row(self) -> dict[str, float]:
        return {"mean": self.estimate, "low_95": self.low, "high_95": self.high}


def ratio(num: Figure, den: Figure, noise_cov: float = 0.0) -> Ratio:
    """Fieller's 95% interval for ``num / den`` from their joint normal uncertainty: noise (standard errors,
    with covariance ``noise_cov``) and evidence (loadings on shared inputs). Each part is scaled by the quantile
    its figures' own intervals use (:func:`t95` of each figure's noise degrees of freedom, :data:`Z95` for the
    evidence), so the interval is unbounded exactly when ``den``'s interval holds zero
    (``not den.excludes_zero()``), and bounded intervals agree with the figures' at the ends."""
    a, b = num.estimate, den.estimate
    if not (np.isfinite(a) and np.isfinite(b)) or b == 0:
        return Ratio(float("nan"), float("nan"), float("nan"), False)
    point = a / b
    ta, tb = t95(num.noise_df), t95(den.noise_df)
    se_a, se_b = num.noise_se, den.noise_se
    # each figure's noise half-width (t x se): without one (a single replication) the interval is unknown
    ha = 0.0 if se_a == 0 else ta * se_a
    hb = 0.0 if se_b == 0 else tb * se_b
    if not (np.isfinite(ha) and np.isfinite(hb)):
        return Ratio(point, float("nan"), float("nan"), False)
    ea, eb = _aligned(num, den)
    z2 = Z95 ** 2
    # squared 95% half-widths and their cross term: noise at t, evidence at 1.96
    vaa = ha ** 2 + z2 * (ea @ ea)
    vbb = hb ** 2 + z2 * (eb @ eb)
    vab = (ta * tb * noise_cov if noise_cov else 0.0) + z2 * (ea @ eb)
    # (a - r b)^2 <= vaa - 2 r vab + r^2 vbb: a quadratic in r
    qa = b * b - vbb
    qb = -2.0 * (a * b - vab)
    qc = a * a - vaa
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return Ratio(point, float("nan"), float("nan"), False)
    r1, r2 = sorted(((-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa)))
    return Ratio(point, float(r1), float(r2), True)


def noise_cov(scaled: np.ndarray, i: int, j: int) -> float:
    """Monte Carlo covariance of two estimates fitted together (columns ``i`` and ``j`` of :func:`fit_many`'s
    scaled residuals)."""
    return float(scaled[:, i] @ scaled[:, j])


def independent_difference(a: Figure, b: Figure) -> Figure:
    """``a - b`` for figures of two independent runs (no shared random numbers): the noise of both (Welch's t,
    Satterthwaite's degrees of freedom) and the evidence on each input counted once, as the difference of the
    two loadings (the inputs' true values are the same world for both runs), as :func:`separated` does."""
    ea, eb = _aligned(a, b)
    names = tuple(dict.fromkeys(a.inputs + b.inputs))
    sa, sb = (0.0 if not np.isfinite(x) else x for x in (a.noise_se, b.noise_se))
    se = float(np.hypot(sa, sb))
    if sa > 0 or sb > 0:
        terms = [s ** 4 / d for s, d in ((sa, a.noise_df), (sb, b.noise_df)) if s > 0 and d > 0]
        df = int(max(1, np.floor(se ** 4 / sum(terms)))) if terms else 0
    else:
        df = max(a.noise_df + b.noise_df, 1)
    if not (np.isfinite(a.noise_se) and np.isfinite(b.noise_se)):
        se = float("nan")
    return Figure(a.estimate - b.estimate, se, df, ea - eb, names, min(a.replications, b.replications))


def separated(a: Figure, b: Figure, noise_cov_ab: float = 0.0) -> bool:
    """Whether two figures of one run differ beyond their joint 95% uncertainty (their difference's interval
    leaves out zero): only then may a report rank them. The difference is a :class:`Figure` (noise from both
    standard errors and their covariance, at t with the fewer degrees of freedom; evidence as the difference of
    the loadings), so its interval is the one every other figure gets."""
    ea, eb = _aligned(a, b)
    names = tuple(dict.fromkeys(a.inputs + b.inputs))
    se_a, se_b = (0.0 if not np.isfinite(x) else x for x in (a.noise_se, b.noise_se))
    var = se_a ** 2 + se_b ** 2 - 2 * noise_cov_ab
    se = float(np.sqrt(max(var, 0.0)))
    if not (np.isfinite(a.noise_se) and np.isfinite(b.noise_se)):
        se = float("nan")
    diff = Figure(a.estimate - b.estimate, se, min(a.noise_df, b.noise_df), ea - eb, names,
                  min(a.replications, b.replications))
    return diff.excludes_zero()
