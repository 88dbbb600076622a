"""Small-area estimates of each borough's employment and inactivity rate (issue 15, items 1-2).

A single APS year gives each borough's rate with +-5 to +-9 points of sampling error (95%), so the extremes
of one year are mostly noise. This module combines twenty APS years (calendar 2004-2023) in the
spatio-temporal Fay-Herriot model of Rao and Yu (1994, *Canadian Journal of Statistics* 22:511-528; the
model of R's ``sae::eblupSTFH``, Marhuenda, Molina and Morales 2013, *CSDA* 58:308-325), on the percentage
scale, one model per rate:

    y[i,t]     = theta[i,t] + e[i,t],        e ~ N(0, psi[i,t])    direct APS estimate, psi from its 95% limits
    theta[i,t] = x[i,t]' beta + v[i] + u[i,t]                      the borough's true rate
    v[i] ~ N(0, s2v)                                               lasting borough difference
    u[i,t] = rho u[i,t-1] + w[i,t],  Var(u) = s2u                  stationary AR(1): slowly fading deviations

``x`` holds a dummy per year (London's common level that year). ``s2v``, ``s2u`` and ``rho`` are estimated
by REML (scipy), ``beta`` by GLS, ``theta`` by its empirical best linear unbiased predictor (EBLUP); its
mean squared error is the Prasad-Rao g1 + g2 (the random effects' and ``beta``'s uncertainty). The g3 term
(estimated variance components) is left out: on data simulated from the model the 95% intervals cover
94.7% (last year) and 94.1% (two years on) of the true rates (tests/test_smallarea.py).

Why this model: it nests the single-year Fay-Herriot model with a borough effect (rho = 0) and comes close
to a borough local level (rho -> 1), lets the data choose between them (REML gives rho 0.97, s2v -> 0:
borough differences persist for years, a single year's 8-10 point swing is mostly sampling error), weighs
every year by its own sampling variance (the 2020-2023 limits are wider: smaller APS samples), and carries
the estimate forward with an honest widening of the interval. The backtest (:func:`backtest`, fitted on
years <= Y, predicting Y + 1, Y = 2012..2022) prefers it to the last single year and to the three-year mean
for both rates. Covariates were tried: inner/outer London and the claimant count (the one borough series
reaching 2025) make the backtest worse (the claimant count's relation to employment broke in 2020, when
claims doubled under furlough and eased conditionality, and at Universal Credit's roll-out), so the
shipped estimate has none, and 2023 is carried to 2025 by the model alone (AR(1) decay, interval widened).

Why percentages, not logits: ONS publishes symmetric limits on the percentage scale (normal approximation),
so ``psi`` is known there without a delta-method step, and the rates (55-89%) are far from 0 and 1. The
estimates and the ends of their intervals are then moved to London's 2025 totals on the logit scale
(``glw_sim.targets``): one common offset moves the point and both limits, which keeps the interval's
coverage because the transform is monotone.

City of London: ONS publishes no limits and suppresses it in many years (no employment rate 2011-2014 and
2020-2023), so it is not in the model. It gets the Inner London estimate (population-weighted mean of the
other 13 inner authorities) with the interval of an authority the survey does not see: +-1.96 sqrt(s2v +
s2u + the mean's own MSE), about +-9 to +-10 points.

Unemployment: ONS's model-based unemployment rate of 2023 (itself a small-area estimate from the APS and the
claimant count, +-1 to +-2 points) times the estimated activity rate, not 100 - employment - inactivity,
whose borough differences are mostly the two rates' sampling noise (the two correlate 0.31 across the 32
boroughs). ``glw_sim.targets`` shifts it to London's 4.9% and inactivity is the rest, as before.

``python -m glw_sim.smallarea`` writes ``calibration/targets/borough_rates.csv`` and
``calibration/fitted/borough_backtest.csv`` (deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, logit

from glw_sim.paths import fitted_dir, targets_dir

APS_FILE = "aps_borough_rates_2004_2023.csv"
MBU_FILE = "modelled_unemployment_borough_2004_2023.csv"
CLAIMANT_FILE = "claimant_count_borough_2001_2025.csv"
INDICATORS = {"employment": "employment_rate_16_64", "inactivity": "inactivity_rate_16_64"}
CITY = "E09000001"
Z95 = 1.959963984540054
TARGET_YEAR = 2025  # the plan's year: 2023 carried forward by the model (AR(1) decay, wider interval)
BACKTEST_YEARS = tuple(range(2012, 2023))  # fit on years <= Y, predict Y + 1


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Panel:
    """One indicator for the 32 boroughs (City of London aside), years along the second axis."""

    indicator: str
    codes: tuple[str, ...]
    names: tuple[str, ...]
    years: np.ndarray  # [T]
    y: np.ndarray  # [n, T] direct APS estimate, %
    psi: np.ndarray  # [n, T] sampling variance, %^2, from the 95% limits
    inner: np.ndarray  # [n] 1.0 for inner London
    claimant_years: np.ndarray  # [Tc]
    claimant: np.ndarray  # [n, Tc] claimant count, % of residents 16-64

    def claimant_at(self, years) -> np.ndarray:
        idx = [int(np.flatnonzero(self.claimant_years == yr)[0]) for yr in np.atleast_1d(years)]
        return self.claimant[:, idx]

    def upto(self, year: int) -> "Panel":
        k = self.years <= year
        return Panel(self.indicator, self.codes, self.names, self.years[k], self.y[:, k], self.psi[:, k],
                     self.inner, self.claimant_years, self.claimant)


def load_panel(indicator: str = "employment", directory: Path | None = None) -> Panel:
    d = Path(directory) if directory is not None else targets_dir()
    geo = pd.read_csv(d / "geography.csv").sort_values("code")
    geo = geo[geo["code"] != CITY]
    codes = list(geo["code"])
    aps = pd.read_csv(d / APS_FILE)
    aps = aps[aps["indicator"] == INDICATORS[indicator]]
    val = aps.pivot(index="area_code", columns="year", values="value_pct").loc[codes]
    lo = aps.pivot(index="area_code", columns="year", values="lci_95").loc[codes]
    hi = aps.pivot(index="area_code", columns="year", values="uci_95").loc[codes]
    if val.isna().any().any() or lo.isna().any().any():
        raise ValueError(f"{d / APS_FILE}: a borough (City of London aside) lacks a rate or its limits")
    psi = ((hi - lo).to_numpy(float) / (2 * Z95)) ** 2
    cc = pd.read_csv(d / CLAIMANT_FILE).pivot(index="area_code", columns="year",
                                             values="claimant_count_pct_of_16_64").loc[codes]
    return Panel(indicator, tuple(codes), tuple(geo["name"]), val.columns.to_numpy(int), val.to_numpy(float), psi,
                 (geo["inner_outer"] == "inner").to_numpy(float), cc.columns.to_numpy(int), cc.to_numpy(float))


# --------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Fit:
    panel: Panel
    covariates: tuple[str, ...]
    s2v: float
    s2u: float
    rho: float
    beta: np.ndarray
    X: np.ndarray  # [n, T, p]
    Vinv: np.ndarray  # [n, T, T]
    Ainv: np.ndarray  # [p, p] covariance of beta-hat
    reml: float


def _design(panel: Panel, years, year_effect_of, covariates: tuple[str, ...]) -> np.ndarray:
    """[n, len(years), p]: a dummy per fitted year (``year_effect_of`` maps a year to the fitted year whose
    level it takes), then the covariates."""
    years = np.atleast_1d(years)
    n, T = panel.y.shape[0], len(panel.years)
    cols = []
    dummies = np.zeros((n, len(years), T))
    for k, yr in enumerate(years):
        dummies[:, k, int(np.flatnonzero(panel.years == year_effect_of(yr))[0])] = 1.0
    cols.append(dummies)
    for c in covariates:
        if c == "inner":
            cols.append(np.repeat(panel.inner[:, None, None], len(years), axis=1))
        elif c == "claimant":
            cols.append(panel.claimant_at(years)[:, :, None])
        elif c == "claimant_rel":  # relative to the boroughs' mean that year (national rule changes cancel)
            cc = panel.claimant_at(years)
            cols.append((cc / cc.mean(axis=0, keepdims=True))[:, :, None])
        else:
            raise ValueError(f"unknown covariate {c!r}")
    return np.concatenate(cols, axis=2)


def _cov(s2v: float, s2u: float, rho: float, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    return s2v + s2u * rho ** np.abs(np.subtract.outer(t1, t2))


def _components(th) -> tuple[float, float, float]:
    """(log total random-effect variance, the lasting effect's share of it, rho) -> (s2v, s2u, rho)."""
    total = float(np.exp(th[0]))
    return total * float(th[1]), total * (1.0 - float(th[1])), float(th[2])


def _reml(th, y, psi, X, t) -> float:
    """-2 x the restricted log-likelihood (up to a constant)."""
    s2v, s2u, rho = _components(th)
    V = _cov(s2v, s2u, rho, t, t)[None] + psi[:, :, None] * np.eye(len(t))[None]
    L = np.linalg.cholesky(V)
    W = np.linalg.solve(L, np.concatenate([X, y[:, :, None]], axis=2))  # L^-1 [X y], borough by borough
    Wx, Wy = W[:, :, :-1].reshape(-1, X.shape[2]), W[:, :, -1].ravel()
    A = Wx.T @ Wx
    beta = np.linalg.solve(A, Wx.T @ Wy)
    r = Wy - Wx @ beta
    return float(2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum() + r @ r + np.linalg.slogdet(A)[1])


STARTS = ((np.log(14.0), 0.3, 0.5), (np.log(14.0), 0.05, 0.9), (np.log(14.0), 0.8, 0.1))


def fit(panel: Panel, covariates: tuple[str, ...] = (), starts: int = len(STARTS)) -> Fit:
    """REML fit of the Rao-Yu model to every year of ``panel`` (the best of ``starts`` local optimisations over
    the log total random-effect variance, the lasting effect's share of it in [0, 1] and rho in [0, 0.98])."""
    t = panel.years.astype(float)
    X = _design(panel, panel.years, lambda yr: yr, covariates)

    def f(th):
        try:
            return _reml(th, panel.y, panel.psi, X, t)
        except np.linalg.LinAlgError:
            return 1e12

    bounds = [(-5.0, 8.0), (0.0, 1.0), (0.0, 0.98)]
    best = None
    for start in STARTS[:starts]:
        res = minimize(f, np.array(start), method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun - 1e-9:
            best = res
    s2v, s2u, rho = _components(best.x)
    V = _cov(s2v, s2u, rho, t, t)[None] + panel.psi[:, :, None] * np.eye(len(t))[None]
    Vinv = np.linalg.inv(V)
    A = np.einsum("ntp,nts,nsq->pq", X, Vinv, X)
    Ainv = np.linalg.inv(A)
    beta = Ainv @ np.einsum("ntp,nts,ns->p", X, Vinv, panel.y)
    return Fit(panel, tuple(covariates), s2v, s2u, rho, beta, X, Vinv, Ainv, float(best.fun))


def predict(fit: Fit, year: int) -> tuple[np.ndarray, np.ndarray]:
    """EBLUP of every borough's true rate in ``year`` (a fitted year or a later one) and its MSE (g1 + g2).

    A later year takes the last fitted year's London level (the common level is what the shift to London's
    totals replaces) and its own claimant count; the AR(1) part decays towards the borough's lasting level.
    """
    p = fit.panel
    last = int(p.years.max())
    t = p.years.astype(float)
    xs = _design(p, [year], lambda yr: min(yr, last), fit.covariates)[:, 0, :]  # [n, p]
    c = _cov(fit.s2v, fit.s2u, fit.rho, np.array([float(year)]), t)[0]  # [T] Cov(v + u_year, y_t)
    r = p.y - fit.X @ fit.beta
    Vic = fit.Vinv @ c  # [n, T]
    est = xs @ fit.beta + np.einsum("nt,nt->n", Vic, r)
    d = xs - np.einsum("ntp,nt->np", fit.X, Vic)
    g1 = fit.s2v + fit.s2u - Vic @ c
    g2 = np.einsum("np,pq,nq->n", d, fit.Ainv, d)
    return est, g1 + g2


# ------------------------------------------------------------------------------------------ backtest


BACKTEST_METHODS = ("last_year", "three_year_mean", "rao_yu", "rao_yu_claimant")


def backtest(years=BACKTEST_YEARS, directory: Path | None = None, methods=BACKTEST_METHODS,
             indicators=tuple(INDICATORS), starts: int = len(STARTS)) -> pd.DataFrame:
    """Fit on years <= Y, predict Y + 1 for every borough; score against the direct estimates of Y + 1.

    ``mse`` is the mean over boroughs of (direct - prediction)^2; ``mse_minus_sampling_var`` subtracts the
    mean sampling variance of the direct estimates, an unbiased estimate of the prediction's MSE against the
    true rate (the sampling error of Y + 1 is independent of anything fitted on years <= Y). ``scale`` "level"
    scores the rates themselves; "relative" their differences from the boroughs' mean that year, i.e. without
    London's common change from Y to Y + 1, which no method here predicts and which the shift to London's
    totals replaces (this is the part the model uses). Rows for each indicator, scale, method and Y, and an
    ``all`` row per indicator, scale and method (means over Y).
    """
    rows = []
    for ind in indicators:
        full = load_panel(ind, directory)
        for Y in years:
            k = int(np.flatnonzero(full.years == Y + 1)[0])
            truth, psi = full.y[:, k], full.psi[:, k]
            sub = full.upto(Y)
            make = {
                "last_year": lambda: sub.y[:, -1],
                "three_year_mean": lambda: sub.y[:, -3:].mean(axis=1),
                "rao_yu": lambda: predict(fit(sub, starts=starts), Y + 1)[0],
                # with the claimant count of Y + 1 (published before the APS year) and inner/outer London
                "rao_yu_claimant": lambda: predict(fit(sub, ("inner", "claimant"), starts=starts), Y + 1)[0],
            }
            n = len(truth)
            for m in methods:
                pr = make[m]()
                err = truth - pr
                # relative: both centred on the boroughs' mean that year (the common level, which the shift to
                # London's totals replaces); E[(e_i - mean e)^2] = psi_i (1 - 2/n) + mean(psi) / n
                rel = err - err.mean()
                for scale, sq, sv in (("level", err ** 2, psi.mean()),
                                      ("relative", rel ** 2, np.mean(psi * (1 - 2 / n)) + psi.mean() / n)):
                    mse = float(np.mean(sq))
                    rows.append({"indicator": ind, "scale": scale, "method": m, "Y": Y, "mse": mse,
                                 "mse_minus_sampling_var": mse - float(sv), "n": n})
    df = pd.DataFrame(rows)
    allrows = (df.groupby(["indicator", "scale", "method"], sort=False)[["mse", "mse_minus_sampling_var", "n"]]
               .agg({"mse": "mean", "mse_minus_sampling_var": "mean", "n": "sum"}).reset_index())
    allrows["Y"] = "all"
    cols = ["indicator", "scale", "method", "Y", "mse", "mse_minus_sampling_var", "n"]
    return pd.concat([df, allrows], ignore_index=True)[cols]


# --------------------------------------------------------------------------------------------- table

PERIOD = f"{TARGET_YEAR} (small-area estimate from APS 2004-2023)"
SOURCE = ("Small-area estimate (Rao-Yu spatio-temporal Fay-Herriot model, glw_sim/smallarea.py) from ONS Annual "
          "Population Survey employment and inactivity rates 16-64, calendar years 2004-2023, with their 95% "
          "limits (ONS LI01 via ONSdigital/explore-local-statistics-data, source date 16 Apr 2024; "
          f"calibration/targets/{APS_FILE}); predicted two years on to {TARGET_YEAR}, before the shift to "
          "London's 2025 totals. Unemployed share: ONS model-based unemployment rate 2023 (ages 16+, with 95% "
          f"limits; calibration/targets/{MBU_FILE}) x the estimated activity rate")
CITY_SOURCE = ("City of London: suppressed by ONS in most years and published without limits, so not modelled: the "
               "population-weighted mean of the other 13 inner authorities' estimates, with the interval of an "
               "authority the survey does not see (between-borough variance plus the mean's MSE). ") + SOURCE


@dataclass(frozen=True)
class Estimate:
    est: np.ndarray  # [33] %, geography order
    mse: np.ndarray  # [33]
    fit: Fit


def _borough_weights(directory: Path) -> pd.Series:
    return pd.read_csv(directory / "borough_population.csv").set_index("code")["pop_16_64"].astype(float)


def estimate(indicator: str, directory: Path | None = None, year: int = TARGET_YEAR) -> Estimate:
    """Every authority's rate in ``year`` (%) and its MSE, City of London as stated in the module notes."""
    d = Path(directory) if directory is not None else targets_dir()
    panel = load_panel(indicator, d)
    f = fit(panel)
    est, mse = predict(f, year)
    geo = pd.read_csv(d / "geography.csv").sort_values("code").set_index("code")
    inner = [k for k, c in enumerate(panel.codes) if geo.loc[c, "inner_outer"] == "inner"]
    w = _borough_weights(d).loc[[panel.codes[k] for k in inner]].to_numpy()
    w = w / w.sum()
    city = float(w @ est[inner])
    city_mse = f.s2v + f.s2u + float(w ** 2 @ mse[inner])
    e = pd.Series(est, index=panel.codes)
    m = pd.Series(mse, index=panel.codes)
    e[CITY], m[CITY] = city, city_mse
    order = list(geo.index)
    return Estimate(e.loc[order].to_numpy(), m.loc[order].to_numpy(), f)


def build_table(directory: Path | None = None) -> pd.DataFrame:
    """``borough_rates.csv``: the estimate, its 95% interval (and half-width) per authority, before the shift."""
    d = Path(directory) if directory is not None else targets_dir()
    geo = pd.read_csv(d / "geography.csv").sort_values("code").reset_index(drop=True)
    out = pd.DataFrame({"code": geo["code"], "name": geo["name"]})
    for ind in INDICATORS:
        e = estimate(ind, d)
        hw = Z95 * np.sqrt(e.mse)
        out[f"{ind}_rate"] = e.est
        out[f"{ind}_ci"] = hw
        out[f"{ind}_low"] = e.est - hw
        out[f"{ind}_high"] = e.est + hw
    # unemployed share of residents 16-64: ONS model-based unemployment rate (of the active) x the estimated
    # activity rate; its limits likewise (City of London: the Inner London mean, limits doubled)
    mbu = model_based_unemployment(d).reindex(out["code"])
    act = (100.0 - out["inactivity_rate"].to_numpy()) / 100.0
    out["unemployed_share"] = mbu["rate"].to_numpy() * act
    out["unemployed_ci"] = mbu["ci"].to_numpy() * act
    out["unemployed_low"] = out["unemployed_share"] - out["unemployed_ci"]
    out["unemployed_high"] = out["unemployed_share"] + out["unemployed_ci"]
    out["imputed"] = out["code"] == CITY
    out["period"] = PERIOD
    out["source"] = np.where(out["imputed"], CITY_SOURCE, SOURCE)
    num = [c for c in out.columns if out[c].dtype.kind == "f"]
    out[num] = out[num].round(2)
    cols = ["code", "name", "employment_rate", "employment_ci", "inactivity_rate", "inactivity_ci", "imputed",
            "period", "source", "employment_low", "employment_high", "inactivity_low", "inactivity_high",
            "unemployed_share", "unemployed_ci", "unemployed_low", "unemployed_high"]
    return out[cols]


def model_based_unemployment(directory: Path | None = None, year: int = 2023) -> pd.DataFrame:
    """ONS model-based unemployment rate (% of the economically active, 16+) of ``year`` and its 95% half-width
    per authority; City of London (not published) gets the population-weighted Inner London mean with twice
    the mean half-width."""
    d = Path(directory) if directory is not None else targets_dir()
    m = pd.read_csv(d / MBU_FILE)
    m = m[m["year"] == year].set_index("area_code")
    geo = pd.read_csv(d / "geography.csv").sort_values("code").set_index("code")
    out = pd.DataFrame({"rate": m["modelled_unemployment_rate_pct"],
                        "ci": (m["uci_95"] - m["lci_95"]) / 2}).reindex(geo.index)
    inner = [c for c in geo.index if geo.loc[c, "inner_outer"] == "inner" and c != CITY]
    w = _borough_weights(d).loc[inner]
    w = w / w.sum()
    if out.loc[[c for c in geo.index if c != CITY]].isna().any().any():
        raise ValueError(f"{d / MBU_FILE}: a borough (City of London aside) lacks a {year} rate or its limits")
    out.loc[CITY, "rate"] = float(w @ out.loc[inner, "rate"])
    out.loc[CITY, "ci"] = 2 * float(w @ out.loc[inner, "ci"])
    return out


# ---------------------------------------------------------------------------------------------- draws


def draw_borough_rates(targets, rng: np.random.Generator) -> np.ndarray:
    """One plausible set of borough rates [33, 3] (shares in E, U, I) from the estimates' uncertainty.

    Employment and the unemployed share are drawn independently on the logit scale (two separate estimates:
    the APS small-area model and ONS's model-based unemployment), centred on the harmonised rates with the
    harmonised 95% intervals (``targets.borough_rate_interval``) as +-1.96 sd; each is re-shifted by one common
    logit offset so London's totals hold (75.0% employment, 4.9% unemployed), and inactivity is the rest, so
    it totals 20.1%, as in :func:`glw_sim.targets.load_targets`.
    """
    from glw_sim.targets import shift_to_total

    iv = targets.borough_rate_interval  # [33, 3 (E, U, I), 2 (low, high)]
    if iv is None:
        raise ValueError("the targets carry no borough intervals")
    centre = logit(targets.borough_rates[:, :2])
    sd = (logit(iv[:, :2, 1]) - logit(iv[:, :2, 0])) / (2 * Z95)
    draw = expit(centre + sd * rng.standard_normal(centre.shape))
    w = targets.borough_population
    e = shift_to_total(draw[:, 0], w, targets.employment_rate)
    u = shift_to_total(draw[:, 1], w, targets.unemployed_share)
    u = np.minimum(u, 1.0 - e - 1e-4)
    return np.column_stack([e, u, 1.0 - e - u])


# ----------------------------------------------------------------------------------------------- main


def main(argv=None) -> None:
    d = targets_dir()
    table = build_table(d)
    table.to_csv(d / "borough_rates.csv", index=False)
    bt = backtest(directory=d)
    out = fitted_dir() / "borough_backtest.csv"
    bt.to_csv(out, index=False, float_format="%.4f")
    summ = bt[bt["Y"].astype(str) == "all"]
    print(f"wrote {d / 'borough_rates.csv'} and {out}")
    print(summ.to_string(index=False))


if __name__ == "__main__":
    main()
