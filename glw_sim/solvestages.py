"""The solve's second stage (``search: {coarse: ..., refine: N}``): the packages the coarse search found, re-evaluated
at the default precision (a bisection along the coarse frontier for the cheapest that reaches the target, then
near-misses within noise), each stored in ``refine.json`` as it finishes so the stage resumes without repeating
work. The first stage, the study, the scoring and the evaluations of a search as it stands
(:func:`glw_sim.solve.evaluations`, ``deciding``, ``best_so_far``) are :mod:`glw_sim.solve`."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Callable

import numpy as np

from glw_sim import uncertainty as U
from glw_sim.io import atomic_write_text
from glw_sim.scenario import Scenario
from glw_sim.solve import (Evaluator, Study, _jsonable, _refine_file, best_so_far, candidate, evaluations, feasible,
                           finished, goal_of, rank_key, refined, score, stage_settings, values_of)
from glw_sim.solvefile import Solve


def paired(a: list[float], b: list[float]) -> U.Figure:
    """``a - b`` for two packages' replications (same seeds and draws: the pairs share their random numbers)."""
    return U.fit(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))


# ----------------------------------------------------------------------------- the second stage

def within_noise_of(a, b) -> bool:
    """Whether ``a``'s cost and net extra cannot be told from ``b``'s: paired differences (the same stage: the same
    seeds and draws) both within their 95% interval of zero."""
    ra, rb = a.user_attrs["outcome"]["reps"], b.user_attrs["outcome"]["reps"]
    return not paired(ra["cost"], rb["cost"]).excludes_zero() and not paired(ra["net"], rb["net"]).excludes_zero()


def _may_reach(t) -> bool:
    """An evaluation that misses the target (within the budget) but not beyond its noise: the margin reached in
    the target's share of the draws, raised by the margin's upper half-interval, is at or above zero."""
    o, cons = t.user_attrs["outcome"], t.user_attrs["constraints"]
    if feasible(t) or cons[-1] > 0 or any(c > 0 for c in cons[1:-1]):
        return False
    m = o["margin"]
    return o["robust_margin"] + max(0.0, m["high_95"] - m["mean"]) >= 0


def ladder(done: list, solve: Solve) -> list:
    """The coarse frontier of least cost against the margin reached in the target's share of the draws: the
    packages within the other constraints, by cost, each reaching more than every cheaper one. Reaching the
    target at the default precision is then (up to noise) monotone along it."""
    ok = sorted((t for t in done if all(c <= 0 for c in t.user_attrs["constraints"][1:])),
                key=lambda t: (t.user_attrs["outcome"]["cost"]["mean"], t.number))
    out, most = [], -math.inf
    for t in ok:
        m = t.user_attrs["outcome"]["robust_margin"]
        if m > most:
            out.append(t)
            most = m
    return out


def next_refine(st: Study, fine: dict):
    """The next package the second stage re-evaluates (None: none left), from the coarse stage and the
    re-evaluations so far (``fine``) only, so a resumed solve asks the same ones.

    Least cost: a bisection along the coarse :func:`ladder` for its cheapest package that reaches the target at
    the default precision (about log2 of the ladder's length re-evaluations: the coarse stage cannot tell
    packages near the target apart, so its cheapest "reaching" one may not); then the packages that cannot be
    told from the best at the default precision's reach: cheaper ones whose coarse margin misses the target by
    less than its noise (the likeliest first), and the next along the ladder; if none re-evaluated reaches it,
    those that reach the most at the coarse precision. Most net extra (or income): the
    coarse best, those within noise of it (paired: cost and net extra), then the rest, best first."""
    solve = st.solve
    done = sorted(evaluations(st, "coarse"), key=lambda t: rank_key(t, solve))
    left = [t for t in done if t.number not in fine]
    if not left:
        return None
    if solve.objective != "least_cost":
        best = done[0]
        noise = [t for t in done[1:] if within_noise_of(t, best)]
        return next(t for t in [best] + noise + done if t.number not in fine)
    lad = ladder(done, solve)
    lo, hi = 0, len(lad)  # the cheapest re-evaluated reaching package's place on the ladder: in [lo, hi]
    for i, t in enumerate(lad):
        if t.number in fine:
            if all(c <= 0 for c in fine[t.number]["constraints"]):
                hi = min(hi, i)
            else:
                lo = max(lo, i + 1)
    if lo < hi:
        mid = (lo + hi) // 2
        if lad[mid].number not in fine:
            return lad[mid]
    reached = [t for t in done if t.number in fine and all(c <= 0 for c in fine[t.number]["constraints"])]
    if reached:
        cost = min(fine[t.number]["outcome"]["cost"]["mean"] for t in reached)
        near = sorted((t for t in left if (feasible(t) or _may_reach(t))
                       and t.user_attrs["outcome"]["cost"]["mean"] < cost),
                      key=lambda t: (-t.user_attrs["outcome"]["robust_margin"], t.number))
        if near:
            return near[0]
        rest = [t for t in lad[hi + 1:] if t.number not in fine]
        return rest[0] if rest else left[0]
    return left[0]  # nothing re-evaluated reaches it: the packages that reach the most at the coarse precision


def run_refine(st: Study, evaluator: Evaluator, progress: Callable[[int, dict], None] | None = None) -> Study:
    """The second stage: re-evaluate :func:`next_refine`'s packages at the default precision (each stored in
    ``refine.json`` as it finishes: a killed solve run again re-evaluates only the rest). Nothing in a
    one-stage solve."""
    if not st.settings.get("coarse"):
        return st
    solve, goal = st.solve, goal_of(st.solve, st.scenario)
    path = st.folder / "refine.json"
    n = len(finished(st.study))
    fine = refined(st)
    while len(fine) < st.settings["refine"]:
        t = next_refine(st, fine)
        if t is None:
            break
        rec = _refine_file(st)
        old = rec["evaluations"].get(str(t.number))
        if old is None:  # (else: re-evaluated before, when the search had fewer packages: the same figures)
            data = candidate(solve, st.scenario, values_of(t.params, solve), stage_settings(st.settings, "fine"))
            out = evaluator(Scenario.model_validate(data), goal)
            value, cons = score(solve, out)
            old = {"outcome": _jsonable(asdict(out)), "constraints": cons, "value": value}
            st.evaluated += 1
        rec["evaluations"][str(t.number)] = {**old, "after": n}
        atomic_write_text(path, json.dumps({"settings": stage_settings(st.settings, "fine"),
                                            "evaluations": rec["evaluations"]}, indent=1, default=float))
        fine = refined(st)
        if progress is not None:
            progress(n + len(fine), best_so_far(st))
    return st
