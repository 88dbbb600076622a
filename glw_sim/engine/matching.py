"""Matching's input: the expected moves into work this month by home borough, at each resident's chance into work
(the hazard rule, :mod:`.hazards`, times programmes' and levers' multipliers, :func:`.programmes.with_levers`).

The labour market (:class:`glw_sim.demand.LabourMarket`) turns them, with vacancies and commuting, into each home
borough's factor on moves into work (``job_factor``), which the month's transition pass applies.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.hazards import resident_probabilities
from glw_sim.engine.layout import CHUNKS, E, N_BOROUGHS, chunk
from glw_sim.engine.programmes import with_levers


@nb.njit(cache=True, parallel=True)
def expected_moves(listing, this_birth_month, birthday, res, cached, hz, mo, ef):
    """Each resident's weighted chance into work summed by home borough (as ``np.bincount``) over the residents not
    in work: those the last monthly pass listed (``listing``), except this month's birthday residents
    (``birth_month == this_birth_month``), whose state may have changed since, and the ``birthday`` residents not
    in work. Also the greatest chance by home borough (:func:`capped_factors` needs it)."""
    acc = np.zeros((2 * CHUNKS, N_MEASURES, N_BOROUGHS))
    no_factor = np.zeros(0)
    for task in nb.prange(2 * CHUNKS):  # listed and birthday residents alternate, so threads share the work evenly
        _expected_task(task, listing, this_birth_month, birthday, res, cached, hz, mo, ef, no_factor, acc)
    out, top = np.zeros(N_BOROUGHS), np.zeros(N_BOROUGHS)
    for t in range(2 * CHUNKS):  # fixed order
        out += acc[t, 0]
        top = np.maximum(top, acc[t, 1])
    return out, top


#: what the tasks sum by home borough: the expected moves, the greatest chance, and at a trial factor ``f`` the
#: moves the month pass can make (each chance ``min(1, a f)``) and their slope in ``f``
N_MEASURES = 4


@nb.njit(cache=True, parallel=True)
def capped_moves(listing, this_birth_month, birthday, res, cached, hz, mo, ef, factor):
    """By home borough, at job factors ``factor``: the moves into work the month pass can make (each resident's
    chance ``min(1, a f)``, ``a`` their chance times their multipliers, as :func:`glw_sim.engine.month` caps it) and
    their slope in ``f`` (the weighted chances of those below the cap), over the same residents as
    :func:`expected_moves`."""
    acc = np.zeros((2 * CHUNKS, N_MEASURES, N_BOROUGHS))
    for task in nb.prange(2 * CHUNKS):  # (one parallel loop per kernel, as expected_moves: none nested)
        _expected_task(task, listing, this_birth_month, birthday, res, cached, hz, mo, ef, factor, acc)
    can, slope = np.zeros(N_BOROUGHS), np.zeros(N_BOROUGHS)
    for t in range(2 * CHUNKS):  # fixed order
        can += acc[t, 2]
        slope += acc[t, 3]
    return can, slope


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _expected_task(task, listing, this_birth_month, birthday, res, cached, hz, mo, ef, factor, acc):
    listed = task % 2 == 0
    at_factor = len(factor) > 0
    if listed:
        lo = chunk(len(res.state), task // 2)[0]
        hi = lo + listing.count[task // 2]
    else:
        lo, hi = chunk(len(birthday), task // 2)
    for j in range(lo, hi):
        if listed:
            i = listing.residents[j]
            if res.birth_month[i] == this_birth_month:
                continue
        else:
            i = birthday[j]
        if res.state[i] == E:
            continue
        pe, _, _ = resident_probabilities(i, res, cached, hz)
        w = np.float64(res.weight[i])
        x = w * pe  # (in this order: the expected moves as they always were)
        a = pe  # the chance the month pass multiplies by the factor and caps (engine.month)
        if mo.use_programmes or mo.use_levers:
            mult, _, _ = with_levers(i, res.state[i], mo, ef)
            x = x * mult
            a = pe * mult
        b = res.borough[i]
        acc[task, 0, b] += x
        if a > acc[task, 1, b]:
            acc[task, 1, b] = a
        if at_factor:
            c = a * factor[b]
            if c < 1.0:
                acc[task, 2, b] += w * c
                acc[task, 3, b] += w * a
            else:
                acc[task, 2, b] += w


def capped_factors(factor: np.ndarray, desired: np.ndarray, top: np.ndarray, moves_at, iterations: int = 30
                   ) -> np.ndarray:
    """Job factors with which the month pass makes the moves matching meant (``factor * desired`` by home borough)
    although it caps each chance into work at 1 (:func:`glw_sim.engine.month`): where a borough's greatest chance
    ``top`` times its factor passes 1, the factor is raised, by Newton's method on the capped moves
    (``moves_at(f)``: :func:`capped_moves`' (moves, slope), concave in ``f``, so the steps stay below the root),
    until the moves are made or everyone left is at the cap; elsewhere it is unchanged (bit for bit). Without
    this, a package of several times residents' chances loses moves matching counted on (12.5% of a year's at ten
    times: tools/cap_loss.py), which the market still takes from its vacancies."""
    capped = top * factor > 1.0
    if not capped.any():
        return factor
    target = factor * desired
    f = factor.copy()
    for _ in range(iterations):
        can, slope = moves_at(f)
        short = capped & (can < target * (1 - 1e-12)) & (slope > 0)
        if not short.any():
            break
        f = np.where(short, f + (target - can) / np.where(short, slope, 1.0), f)
    return np.where(capped, f, factor)
