"""Log-linear (multinomial logit) models over resident attributes, fitted by raking.

The synthesis needs P(labour state | attributes) and P(inactivity reason |
attributes) that reproduce many published margins at once: each borough's
employment, unemployment and inactivity rates, and London's rates by sex, age
band, disability, ethnicity and qualification. A main-effects multinomial
logit fitted by iterative proportional fitting (raking, Deming & Stephan 1940;
equivalently generalised iterative scaling, Darroch & Ratcliff 1972) is the
maximum-entropy model with exactly those margins: it adds no structure the
data do not support. Priors (fixed log-odds, labelled assumptions) carry the
structure that no published margin pins down, e.g. retirement only from 50.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glw_sim.engine import logits, sampling
from glw_sim.population import Population


@dataclass
class Margin:
    """A published margin: target counts of outcome groups within attribute groups.

    ``groups[level]`` maps each level of ``column`` to a margin group (``-1``:
    not constrained). ``partition`` splits the outcomes into cells; the target
    gives counts per (group, cell). A margin of employment rates alone is the
    partition ``[[E], [U, I]]``.
    """

    name: str
    column: str
    groups: np.ndarray
    partition: list[list[int]]
    target: np.ndarray  # (n_groups, n_cells) weighted counts
    #: (levels, functions) smooth functions of the level that carry the margin's adjustments (``None``: one
    #: constant per group). With a basis, each raking step adds to every level the combination of the
    #: functions whose weighted mean over each group is that group's step, so an age profile raked to age-band
    #: margins stays continuous instead of jumping at the band edges.
    basis: np.ndarray | None = None


@dataclass
class LogLinearModel:
    """P(outcome k | resident) = softmax_k(intercept_k + sum_f table_f[k, x_f]).

    ``tables`` are fitted; ``priors`` are fixed log-odds (assumptions). A prior
    of ``-inf`` makes an outcome impossible for that level.
    """

    outcomes: list[str]
    columns: dict[str, int]  # column -> number of levels
    tables: dict[str, np.ndarray] = field(default_factory=dict)
    priors: dict[str, np.ndarray] = field(default_factory=dict)
    intercept: np.ndarray | None = None

    def __post_init__(self) -> None:
        k = len(self.outcomes)
        for col, n in self.columns.items():
            self.tables.setdefault(col, np.zeros((k, n)))
            self.priors.setdefault(col, np.zeros((k, n)))
        if self.intercept is None:
            self.intercept = np.zeros(k)

    @property
    def k(self) -> int:
        return len(self.outcomes)

    def logits(self, pop: Population, index: np.ndarray | None = None) -> np.ndarray:
        """(k, n) log-odds for the residents in ``index`` (all if None)."""
        n = len(pop) if index is None else len(index)
        out = np.empty((self.k, n), dtype=np.float64)
        out[:] = self.intercept[:, None]
        for col in self.columns:
            x = getattr(pop, col)
            x = x if index is None else x[index]
            out += (self.tables[col] + self.priors[col])[:, x.astype(np.intp)]
        return out

    def stacked(self) -> np.ndarray:
        """Tables plus priors stacked as (features, k, max levels), for the compiled kernel."""
        cols = list(self.columns)
        lmax = max(self.columns.values())
        out = np.full((len(cols), self.k, lmax), -np.inf)
        for f, c in enumerate(cols):
            out[f, :, : self.columns[c]] = self.tables[c] + self.priors[c]
        return out

    def probabilities(self, pop: Population, index: np.ndarray | None = None) -> np.ndarray:
        """(k, n) probabilities (columns sum to 1), by a compiled kernel."""
        idx = np.arange(len(pop)) if index is None else np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        feats = tuple(np.ascontiguousarray(getattr(pop, c)).view(np.uint8) for c in self.columns)
        return logits.loglinear_probs_columns(self.stacked(), self.intercept.astype(np.float64), feats,
                                         idx.astype(np.int64, copy=False))

    def probabilities_numpy(self, pop: Population, index: np.ndarray | None = None) -> np.ndarray:
        """Reference numpy implementation of :meth:`probabilities`."""
        lg = self.logits(pop, index)
        lg -= lg.max(axis=0, keepdims=True)
        np.exp(lg, out=lg)
        lg /= lg.sum(axis=0, keepdims=True)
        return lg

    def rake(
        self,
        pop: Population,
        margins: list[Margin],
        *,
        index: np.ndarray | None = None,
        tol: float = 1e-7,
        max_sweeps: int = 500,
    ) -> dict[str, float]:
        """Fit the tables so the weighted expected counts hit every margin.

        Returns the worst relative error per margin after fitting.
        """
        if len(margins) == 1:
            return self._rake_one(pop, margins[0], index=index, tol=tol, max_sweeps=max_sweeps)
        w = pop.weight.astype(np.float64)
        if index is not None:
            w = w[index]
        codes = {m.column: getattr(pop, m.column) if index is None else getattr(pop, m.column)[index]
                 for m in margins}
        errors: dict[str, float] = {}
        spread = {}  # margin -> (levels, groups) matrix turning group steps into level steps
        for m in margins:
            if m.basis is not None:
                lw = np.bincount(codes[m.column].astype(np.intp), weights=w, minlength=len(m.groups))
                ng = m.target.shape[0]
                avg = np.zeros((ng, m.basis.shape[1]))
                for gi in range(ng):
                    sel = m.groups == gi
                    avg[gi] = lw[sel] @ m.basis[sel] / lw[sel].sum()
                spread[m.name] = m.basis @ np.linalg.pinv(avg)
        for _ in range(max_sweeps):
            worst = 0.0
            for m in margins:
                p = self.probabilities(pop, index)
                g = m.groups[codes[m.column].astype(np.intp)]
                ok = g >= 0
                ng = m.target.shape[0]
                current = np.empty_like(m.target, dtype=np.float64)
                for c, cell in enumerate(m.partition):
                    current[:, c] = np.bincount(g[ok], weights=(w * p[cell].sum(axis=0))[ok], minlength=ng)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(current > 0, m.target / current, 1.0)
                ratio = np.where(m.target > 0, ratio, np.where(current > 0, 1e-12, 1.0))
                rel = np.abs(ratio - 1.0)
                errors[m.name] = float(np.nanmax(np.where(m.target > 0, rel, 0.0)))
                worst = max(worst, errors[m.name])
                delta = np.log(np.clip(ratio, 1e-12, 1e12))
                table = self.tables[m.column]
                if m.name in spread:
                    level_delta = spread[m.name] @ delta  # (levels, cells)
                    for c, cell in enumerate(m.partition):
                        for kk in cell:
                            table[kk] += level_delta[:, c]
                    continue
                levels = np.nonzero(m.groups >= 0)[0]
                for c, cell in enumerate(m.partition):
                    for kk in cell:
                        table[kk, levels] += delta[m.groups[levels], c]
            if worst < tol:
                break
        return errors

    def _rake_one(self, pop: Population, m: Margin, *, index, tol: float, max_sweeps: int) -> dict[str, float]:
        """Fast path for one margin: the other features' log-odds are computed once."""
        table = self.tables[m.column]
        x = getattr(pop, m.column)
        x = (x if index is None else x[index]).astype(np.intp)
        w = pop.weight.astype(np.float64)
        if index is not None:
            w = w[index]
        idx = np.arange(len(pop)) if index is None else np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        feats = tuple(np.ascontiguousarray(getattr(pop, c)).view(np.uint8) for c in self.columns)
        rest = logits.rake_rest(self.stacked(), self.intercept.astype(np.float64), feats, idx.astype(np.int64, copy=False),
                           list(self.columns).index(m.column), np.ascontiguousarray(self.priors[m.column]))
        cell_of = np.full(self.k, -1, dtype=np.int64)
        for c, cell in enumerate(m.partition):
            cell_of[cell] = c
        target = np.nan_to_num(np.asarray(m.target, dtype=np.float64), nan=0.0)
        err = sampling.rake_one(np.ascontiguousarray(rest), x, table, w, m.groups.astype(np.int64), target, cell_of,
                         tol, max_sweeps)
        return {m.name: err}

    def to_dict(self) -> dict:
        return {
            "outcomes": self.outcomes,
            "columns": self.columns,
            "intercept": self.intercept.tolist(),
            "tables": {c: t.tolist() for c, t in self.tables.items()},
            "priors": {c: np.where(np.isinf(t), -1e9, t).tolist() for c, t in self.priors.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> LogLinearModel:
        def arr(x):
            a = np.array(x, dtype=np.float64)
            return np.where(a <= -1e8, -np.inf, a)

        return cls(
            outcomes=list(d["outcomes"]),
            columns={k: int(v) for k, v in d["columns"].items()},
            tables={c: arr(t) for c, t in d["tables"].items()},
            priors={c: arr(t) for c, t in d["priors"].items()},
            intercept=np.array(d["intercept"], dtype=np.float64),
        )

    def copy(self) -> LogLinearModel:
        return LogLinearModel.from_dict(self.to_dict())
