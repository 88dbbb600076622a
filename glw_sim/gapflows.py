"""The gap as flows: for each main flow of the labour market, the change in its monthly rate that alone would
close a solve's remaining gap by the target date.

What the model records (and so what this reads from the chosen package's own run): each month, London's
stocks of residents 16-64 employed, unemployed and inactive, the inactive by reason (``inactivity_rate_<reason>``
x ``population``), and, from month 3, the quarterly transition shares ``quarterly_<from>_to_<to>`` between E, U
and I (of the residents in each state three months earlier, the share in each state now). It records no
monthly flows by reason.

The method (:func:`decompose`), with its approximations stated:

1. **The package's monthly chain.** The quarterly shares are averaged over the months from the first month any
   part of the package acts (plus three) to the date, per replication; the monthly matrix ``P`` is the real cube
   root of that quarterly matrix (:func:`monthly`): the homogeneous three-state Markov chain whose quarter
   matches the package's own. Residents differ (a mover-stayer population's quarter is not its average month
   cubed): the chain is London's average, not any resident's.
2. **Reasons.** Inactivity is split into its reasons as the model splits it: a reason ``r``'s exit to E and to U
   is the inactive's rate times ``m_r / m̄`` (its exit multiplier ``exit_mult_<r>``, the scenario's assumption,
   over the stock-weighted mean ``m̄``), and new spells (from E and U) take reason ``r`` in proportion to
   ``s_r m_r`` (its stock share times its multiplier, the model's draw of a new spell's reason weighted by the
   multipliers). This keeps every reason's stock in balance when the whole is (at the three-state chain's
   stationary stocks the chain by reason is stationary too: a test). Switches between reasons are left out. The reasons' rates are
   therefore split by the model's rule, not measured: ``gap_flows.csv`` says so in ``source``.
3. **Turnover.** Residents also enter and leave 16-64 and London (ageing, migration), which the transition
   shares do not count; a constant monthly turnover vector ``v`` (residents entering less leaving each state)
   is fitted so the chain, ``x(t+1) = x(t) P + v``, reaches the run's own stocks at the date exactly
   (:func:`turnover_of`). It is held fixed when a rate changes (the change does not alter who ages in or out).
   Without it the flows alone overstate a package's path (``projected_rate``; route-to-80: 77.0% against the
   run's 75.3% by 2030).
4. **The change.** Starting from the stocks at that first month, the chain is run to the date (``n`` months).
   One rate is changed by ``d`` for all ``n`` months (the stayers'
   probability takes up the difference), and ``d`` is solved exactly (Brent's method) so the residents in work
   at the date rise by the gap: ``x0 P(d)^n [E] - x0 P^n [E] = gap``. A rate that cannot close it alone within
   its range (an exit cut to zero, or a rate raised until nobody stays) is marked so, with the most it could
   close. Beside it, the linearised change ``gap / (d/dd x0 P(d)^n [E])`` and the long-run (steady-state) one:
   the change that raises the stationary employed stock (``x = x P(d) + v``) by ``gap``.

What it leaves out: feedback (more seekers fill vacancies others would have: matching and displacement), how
turnover would respond, residents' differences and the package's own change of the flows over time (the rates
are the window's mean). Read the changes as sizes, not a forecast. The report sets the flows' own employment
rate at the date, without turnover (:func:`projected_rate`), beside the run's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

STATES = ("employed", "unemployed", "inactive")
E, U = 0, 1


def window(data: dict, by: str) -> tuple[str, int]:
    """The first month any part of a package (a scenario's dict) acts, else its run's start, and the months from
    it to the date ``by`` (at least 1)."""
    from glw_sim.months import parse_month

    starts = [p.get("start") for p in data.get("interventions", []) + data.get("levers", [])
              + data.get("integration_hubs", [])]
    first = min([x for x in starts if x] or [data["horizon"]["start"]])
    first = max(first, data["horizon"]["start"])
    a, b = parse_month(by), parse_month(first)
    return first, max(1, (a.year - b.year) * 12 + a.month - b.month)


def first_month(data: dict, month: int) -> int:
    """:func:`window`'s first month as a month of the run (0: its start), for a date at run month ``month``."""
    from glw_sim.months import add_months, parse_month

    by = add_months(parse_month(data["horizon"]["start"]), month).isoformat()[:7]
    return max(0, month - window(data, by)[1])


def record(res, month: int, first: int) -> dict | None:
    """From a run's :class:`glw_sim.results.Results`: per replication, the stocks at month ``first`` (employed,
    unemployed, inactive by reason), the mean quarterly transition shares over months ``first + 3`` (at least 3)
    to ``month`` and the residents 16-64 at ``month``; the reasons and their exit multipliers (the scenario's
    assumptions). None when the run recorded no quarterly flows (a model without counts by group)."""
    from glw_sim import parameters as P
    from glw_sim.metrics import REASON_NAMES

    if not res.has("quarterly_employed_to_unemployed") or month < 3:
        return None
    first = max(0, min(first, month - 1))
    lo = min(max(first + 3, 3), month)
    shares = {}
    for i, a in enumerate(STATES):
        for j, b in enumerate(STATES):
            if i != j:
                shares[(i, j)] = res.london(f"quarterly_{a}_to_{b}").loc[lo:month].mean()
    reps = list(shares[(0, 1)].index)
    q = np.zeros((len(reps), 3, 3))
    for (i, j), s in shares.items():
        q[:, i, j] = s.reindex(reps).to_numpy(dtype=float)
    for i in range(3):
        q[:, i, i] = 1.0 - q[:, i].sum(axis=1)
    reasons = [r for r in REASON_NAMES if res.has(f"inactivity_rate_{r}")]

    def stocks_at(t: int) -> list:
        n = res.at("population", t).reindex(reps).to_numpy(dtype=float)
        out = [res.at("employed", t).reindex(reps).to_numpy(dtype=float),
               res.at("unemployed", t).reindex(reps).to_numpy(dtype=float)]
        return out + [res.at(f"inactivity_rate_{r}", t).reindex(reps).to_numpy(dtype=float) * n for r in reasons]

    stocks = stocks_at(first)
    assumptions = (res.scenario or {}).get("assumptions") or {}
    mult = [P.value(f"exit_mult_{r}", dict(assumptions)) for r in reasons]
    return {"first": int(first), "month": int(month), "reasons": reasons, "exit_mult": mult,
            "stocks": np.column_stack(stocks).tolist(), "stocks_end": np.column_stack(stocks_at(month)).tolist(),
            "quarterly": q.tolist(),
            "population": res.at("population", month).reindex(reps).to_numpy(dtype=float).tolist()}


def monthly(q: np.ndarray) -> np.ndarray:
    """The monthly transition matrix whose cube is the quarterly ``q`` (rows: from; the real principal cube
    root, through the eigen-decomposition); negative entries (a quarter no monthly chain gives exactly) are set
    to 0 and each row renormalised to 1."""
    q = np.asarray(q, dtype=float)
    w, v = np.linalg.eig(q)
    if np.abs(np.imag(w)).max() < 1e-12:
        root = np.real(v @ np.diag(np.cbrt(np.real(w))) @ np.linalg.inv(v))
    else:  # (complex eigenvalues: the principal root)
        from scipy.linalg import fractional_matrix_power

        root = np.real(fractional_matrix_power(q, 1.0 / 3.0))
    root = np.clip(root, 0.0, None)
    return root / root.sum(axis=1, keepdims=True)


def chain(p3: np.ndarray, shares: np.ndarray, mult: np.ndarray) -> np.ndarray:
    """The monthly chain over E, U and each reason of inactivity from the three-state ``p3``, the reasons'
    shares of the inactive stock and their exit multipliers (see the module docstring, step 2)."""
    shares = np.asarray(shares, dtype=float)
    mult = np.asarray(mult, dtype=float)
    k = len(shares)
    mbar = float(shares @ mult)
    w = shares * mult / mbar if mbar > 0 else shares
    rel = mult / mbar if mbar > 0 else np.ones(k)
    K = np.zeros((2 + k, 2 + k))
    K[E, E], K[E, U], K[E, 2:] = p3[0, 0], p3[0, 1], p3[0, 2] * w
    K[U, E], K[U, U], K[U, 2:] = p3[1, 0], p3[1, 1], p3[1, 2] * w
    for r in range(k):
        a, b = p3[2, 0] * rel[r], p3[2, 1] * rel[r]
        if a + b > 1.0:  # (as the model: scaled down together if they pass 1)
            a, b = a / (a + b), b / (a + b)
        K[2 + r, E], K[2 + r, U], K[2 + r, 2 + r] = a, b, 1.0 - a - b
    return K


def employed_at(K: np.ndarray, x0: np.ndarray, n: int, turnover: np.ndarray | None = None) -> float:
    """Residents in work after ``n`` months of the chain ``K`` from stocks ``x0``, each month's stocks plus the
    constant ``turnover`` (residents entering less leaving each state: ageing, migration; none: a closed
    population)."""
    x = np.asarray(x0, dtype=float)
    if turnover is None:
        return float((x @ np.linalg.matrix_power(K, n))[E])
    for _ in range(n):
        x = x @ K + turnover
    return float(x[E])


def turnover_of(K: np.ndarray, x0: np.ndarray, n: int, x_end: np.ndarray) -> np.ndarray:
    """The constant monthly turnover ``v`` (a vector over the chain's states) with which the chain from ``x0``
    reaches the run's own stocks ``x_end`` after ``n`` months: ``x0 K^n + v (I + K + ... + K^(n-1)) = x_end``
    (least squares where that sum is singular)."""
    S = np.zeros_like(K)
    Kk = np.eye(len(K))
    for _ in range(n):
        S += Kk
        Kk = Kk @ K
    r = np.asarray(x_end, dtype=float) - np.asarray(x0, dtype=float) @ Kk
    return np.linalg.lstsq(S.T, r, rcond=None)[0]


def stationary(K: np.ndarray, turnover: np.ndarray | None = None, residents: float = 1.0) -> np.ndarray:
    """The chain's stationary stocks for ``residents`` (shares for 1): ``x = x K + turnover`` with the stocks
    summing to ``residents`` (without turnover, the left eigenvector of eigenvalue 1)."""
    n = len(K)
    A = np.vstack([K.T - np.eye(n), np.ones(n)])
    b = np.zeros(n + 1)
    if turnover is not None:
        b[:n] = -np.asarray(turnover, dtype=float)
    b[-1] = residents
    return np.linalg.lstsq(A, b, rcond=None)[0]


def flows(reasons: list[str]) -> list[dict]:
    """The flows whose change is solved for: (name, from, to, reason, cells, direction): ``cells`` the chain's
    (row, column) the change acts on (a flow of all reasons: every reason's row or column, in proportion to
    its rate), ``direction`` +1 for a flow into work or search (raised), -1 for one out of work (cut)."""
    rows = lambda c: [(2 + r, c) for r in range(len(reasons))]  # noqa: E731
    cols = lambda f: [(f, 2 + r) for r in range(len(reasons))]  # noqa: E731
    out = [dict(flow="employed -> unemployed", origin="employed", to="unemployed", reason="", cells=[(E, U)],
                direction=-1),
           dict(flow="employed -> inactive", origin="employed", to="inactive", reason="all", cells=cols(E),
                direction=-1)]
    out += [dict(flow=f"employed -> inactive ({r})", origin="employed", to="inactive", reason=r,
                 cells=[(E, 2 + k)], direction=-1) for k, r in enumerate(reasons)]
    out += [dict(flow="unemployed -> employed", origin="unemployed", to="employed", reason="", cells=[(U, E)],
                 direction=1),
            dict(flow="unemployed -> inactive", origin="unemployed", to="inactive", reason="all", cells=cols(U),
                 direction=-1),
            dict(flow="inactive -> employed", origin="inactive", to="employed", reason="all", cells=rows(E),
                 direction=1)]
    out += [dict(flow=f"inactive -> employed ({r})", origin="inactive", to="employed", reason=r,
                 cells=[(2 + k, E)], direction=1) for k, r in enumerate(reasons)]
    out += [dict(flow="inactive -> unemployed (into search)", origin="inactive", to="unemployed", reason="all",
                 cells=rows(U), direction=1)]
    out += [dict(flow=f"inactive -> unemployed (into search, {r})", origin="inactive", to="unemployed", reason=r,
                 cells=[(2 + k, U)], direction=1) for k, r in enumerate(reasons)]
    return out


def _rate(K: np.ndarray, x: np.ndarray, cells) -> float:
    """The flow's monthly rate: its moves over its origin's stock (``x``: the stocks it is weighted by)."""
    origin = sorted({i for i, _ in cells})
    moves = sum(x[i] * K[i, j] for i, j in cells)
    stock = sum(x[i] for i in origin)
    return float(moves / stock) if stock > 0 else math.nan


def changed(K: np.ndarray, cells, d: float, x: np.ndarray) -> np.ndarray:
    """``K`` with the flow's rate changed by ``d`` (each of its cells by ``d`` times its share of the flow, so
    the flow's rate over its origin moves by ``d``); the stayers' diagonal takes up the difference."""
    K = K.copy()
    base = np.array([K[i, j] for i, j in cells])
    rows = sorted({i for i, _ in cells})
    if len(rows) == 1:  # one origin, several destinations (reasons): in proportion to each rate
        tot = base.sum()
        parts = base / tot if tot > 0 else np.full(len(cells), 1.0 / len(cells))
    else:  # several origins (the reasons), one destination: each row's rate moves by d times its relative rate
        rate = _rate(K, x, cells)
        parts = base / rate if rate > 0 else np.ones(len(cells))
    for (i, j), p in zip(cells, parts):
        K[i, j] += d * p
        K[i, i] -= d * p
    return K


def _range(K: np.ndarray, cells, direction: int, x: np.ndarray) -> float:
    """The largest change in the flow's direction that keeps every probability in [0, 1]."""
    base = np.array([K[i, j] for i, j in cells])
    rows = sorted({i for i, _ in cells})
    if len(rows) == 1:
        tot = base.sum()
        parts = base / tot if tot > 0 else np.full(len(cells), 1.0 / len(cells))
    else:
        rate = _rate(K, x, cells)
        parts = base / rate if rate > 0 else np.ones(len(cells))
    lim = []
    for (i, j), p in zip(cells, parts):
        if p <= 0:
            continue
        lim.append((K[i, i] if direction > 0 else K[i, j]) / p)
    return min(lim) if lim else 0.0


def solve_change(K: np.ndarray, x0: np.ndarray, n: int, gap: float, cells, direction: int,
                 steady: bool = False, turnover: np.ndarray | None = None) -> tuple[float, bool, float]:
    """(change ``d`` in the flow's monthly rate, whether it closes ``gap`` alone, the most it closes at its
    range's end): ``d`` solves ``employed_at(changed(K, d), x0, n) - employed_at(K, x0, n) = gap`` (or, with
    ``steady``, the stationary employed share times the residents). ``gap`` at or below 0: 0 (none needed)."""
    from scipy.optimize import brentq

    x0 = np.asarray(x0, dtype=float)
    if steady:
        N = x0.sum()
        base = stationary(K, turnover, N)[E]

        def gain(d):
            return stationary(changed(K, cells, d, x0), turnover, N)[E] - base
    else:
        base = employed_at(K, x0, n, turnover)

        def gain(d):
            return employed_at(changed(K, cells, d, x0), x0, n, turnover) - base
    if not gap > 0:
        return 0.0, True, 0.0
    top = _range(K, cells, direction, x0) * (1 - 1e-9)
    if top <= 0:
        return math.nan, False, 0.0
    most = gain(direction * top)
    if most < gap:
        return math.nan, False, float(most)
    d = brentq(lambda t: gain(direction * t) - gap, 0.0, top, xtol=1e-12, rtol=1e-10)
    return float(direction * d), True, float(most)


def linearised(K: np.ndarray, x0: np.ndarray, n: int, gap: float, cells, turnover: np.ndarray | None = None) -> float:
    """``gap`` over the derivative of the residents in work at the date in the flow's rate (central difference)."""
    h = 1e-6
    x0 = np.asarray(x0, dtype=float)
    deriv = (employed_at(changed(K, cells, h, x0), x0, n, turnover)
             - employed_at(changed(K, cells, -h, x0), x0, n, turnover)) / (2 * h)
    return float(gap / deriv) if deriv != 0 else math.nan


def projected_rate(rec: dict) -> float:
    """The chain's own employed share at the date from the record's mean stocks and flows, without turnover
    (set beside the run's employment rate, it says how much of the run's path the flows alone do not carry:
    residents entering and leaving 16-64 and migrating, which the turnover term carries)."""
    q = np.asarray(rec["quarterly"], dtype=float)
    x0 = np.asarray(rec["stocks"], dtype=float).mean(axis=0)
    inactive = x0[2:].sum()
    K = chain(monthly(q.mean(axis=0)), x0[2:] / inactive, np.asarray(rec["exit_mult"], dtype=float))
    return employed_at(K, x0, int(rec["month"] - rec["first"])) / float(x0.sum())


def decompose(rec: dict, gap: float, gap_low: float, gap_high: float, months: int | None = None) -> pd.DataFrame:
    """One row per flow (:func:`flows`): its monthly rate now (mean over replications, with the 95% interval of
    the replications' mean), the change that alone closes ``gap`` (residents in work at the date) by the date,
    at ``gap_low`` and ``gap_high`` (the gap's interval, ``gap_low <= gap_high``: NaN where the flow cannot
    close that end alone), as a share of the rate, the rate needed, the extra
    moves a month it means (the change times the origin's mean stock over the months), the linearised and
    long-run changes (NaN where they leave the rate's range), and whether the flow can close it alone. ``months``: from the stocks' month to the date
    (default: the record's)."""
    from glw_sim.uncertainty import fit

    q = np.asarray(rec["quarterly"], dtype=float)
    stocks = np.asarray(rec["stocks"], dtype=float)
    mult = np.asarray(rec["exit_mult"], dtype=float)
    n = int(months if months is not None else rec["month"] - rec["first"])
    x0 = stocks.mean(axis=0)
    inactive = x0[2:].sum()
    shares = x0[2:] / inactive if inactive > 0 else np.full(len(mult), 1.0 / max(len(mult), 1))
    K = chain(monthly(q.mean(axis=0)), shares, mult)
    ends = rec.get("stocks_end")
    turnover = turnover_of(K, x0, n, np.asarray(ends, dtype=float).mean(axis=0)) if ends is not None else None
    per_rep = []
    for r in range(len(q)):
        xr = stocks[r]
        ir = xr[2:].sum()
        per_rep.append((chain(monthly(q[r]), xr[2:] / ir if ir > 0 else shares, mult), xr))
    path = [x0]
    for _ in range(max(n - 1, 0)):
        path.append(path[-1] @ K + (turnover if turnover is not None else 0.0))
    mean_stock = np.mean(path, axis=0)
    rows = []
    for f in flows(rec["reasons"]):
        cells, direction = f["cells"], f["direction"]
        rate = _rate(K, x0, cells)
        reps = np.array([_rate(Kr, xr, cells) for Kr, xr in per_rep])
        fig = fit(reps) if len(reps) >= 2 and np.isfinite(reps).all() else None
        d, alone, most = solve_change(K, x0, n, gap, cells, direction, turnover=turnover)
        lo = solve_change(K, x0, n, gap_low, cells, direction, turnover=turnover)[0]
        hi = solve_change(K, x0, n, gap_high, cells, direction, turnover=turnover)[0]
        ss = solve_change(K, x0, n, gap, cells, direction, steady=True, turnover=turnover)[0]
        lin = linearised(K, x0, n, gap, cells, turnover) if gap > 0 else 0.0
        origin = sorted({i for i, _ in cells})
        stock = float(sum(mean_stock[i] for i in origin))
        rows.append({"flow": f["flow"], "from": f["origin"], "to": f["to"], "reason": f["reason"],
                     "source": "split by the model's exit multipliers" if f["reason"] not in ("", "all")
                     else "measured (the run's quarterly flows)",
                     "rate_now": rate, "rate_now_low_95": fig.low if fig else math.nan,
                     "rate_now_high_95": fig.high if fig else math.nan,
                     "change_needed": d, "change_low_95": lo if direction > 0 else hi,
                     "change_high_95": hi if direction > 0 else lo,
                     "relative_change": d / rate if rate > 0 and np.isfinite(d) else math.nan,
                     "rate_needed": rate + d if np.isfinite(d) else math.nan,
                     "extra_moves_per_month": d * stock if np.isfinite(d) else math.nan,
                     "linearised_change": lin if 0.0 <= rate + lin <= 1.0 else math.nan,
                     "steady_state_change": ss, "closes_alone": bool(alone),
                     "most_it_closes": most if not alone else math.nan})
    return pd.DataFrame(rows)
