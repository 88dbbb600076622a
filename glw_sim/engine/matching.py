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
    in work."""
    acc = np.zeros((2 * CHUNKS, N_BOROUGHS))
    for task in nb.prange(2 * CHUNKS):  # listed and birthday residents alternate, so threads share the work evenly
        _expected_task(task, listing, this_birth_month, birthday, res, cached, hz, mo, ef, acc)
    out = np.zeros(N_BOROUGHS)
    for t in range(2 * CHUNKS):  # fixed order
        out += acc[t]
    return out


@nb.njit(cache=True, _nrt=False)  # no reference counting (engine/records.py)
def _expected_task(task, listing, this_birth_month, birthday, res, cached, hz, mo, ef, acc):
    listed = task % 2 == 0
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
        w = np.float64(res.weight[i]) * pe
        if mo.use_programmes or mo.use_levers:
            mult, _, _ = with_levers(i, res.state[i], mo, ef)
            w = w * mult
        acc[task, res.borough[i]] += w
