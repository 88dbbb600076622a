"""The month's fused pass: every resident's move and the month's tally, in one pass over the residents.

For resident ``i``: the hazard rule (:func:`.hazards.resident_probabilities`), the programmes' and levers'
multipliers (:func:`.programmes.with_levers`) and matching's ``job_factor`` of their home borough give the chances;
:func:`.transitions.move` draws the move; :func:`.tallies.count_one` counts them; residents not in work are listed
for next month's expected moves (:mod:`.matching`). Fused because one pass over 6.5 million residents reads
each resident's columns once.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.engine.hazards import resident_probabilities
from glw_sim.engine.health import after_move, leave_chance
from glw_sim.engine.keyed import bases as keyed_bases
from glw_sim.engine.layout import B_SIZE, CHUNKS, E, N_GROUPS, N_STATES, RING_MONTHS, X_SIZE, chunk
from glw_sim.engine.programmes import retain, with_levers
from glw_sim.engine.records import Tally
from glw_sim.engine.tallies import count_one, tally_from_groups
from glw_sim.engine.transitions import move


@nb.njit(cache=True, parallel=True)
def month_pass(mo, purposes, res, cached, hz, rs, r_feats, ef, ring, listing):
    """Moves for everyone (unless ``mo.do_moves`` is False: the tally only) and the month's tally. ``ring``
    (``mo.month % RING_MONTHS``) holds each resident's state three months ago and is overwritten with the new state. Each
    chunk ``c`` lists its residents not in work after the month, in index order, from
    ``listing.residents[chunk(n, c)[0]]`` on, and their number in ``listing.count[c]``. Returns the flat tally
    (:func:`.tallies.tally_from_groups`); without ``mo.by_group``, only the counts by borough, state and reason
    (the others are left at 0 and ``ring`` as it was)."""
    bases = keyed_bases(mo.key_seed, mo.month, purposes)
    tally = Tally(np.zeros((CHUNKS, N_GROUPS * N_STATES)), np.zeros((CHUNKS, B_SIZE)), np.zeros((CHUNKS, X_SIZE)),
                  np.empty((CHUNKS, rs.tables.shape[1])))
    extras = mo.use_programmes or mo.use_levers or mo.use_retention
    for ch in nb.prange(CHUNKS):
        if extras:
            _month_chunk(ch, bases, mo, res, cached, hz, rs, r_feats, ef, ring, listing, tally)
        elif mo.use_absence:
            _month_chunk_absence(ch, bases, mo, res, cached, hz, rs, r_feats, ef, ring, listing, tally)
        else:
            _month_chunk_plain(ch, bases, mo, res, cached, hz, rs, r_feats, ef, ring, listing, tally)
    g_out = np.zeros(N_GROUPS * N_STATES)
    b_out = np.zeros(B_SIZE)
    x_out = np.zeros(X_SIZE)
    for ch in range(CHUNKS):  # fixed order
        g_out += tally.groups[ch]
        b_out += tally.boroughs[ch]
        x_out += tally.extra[ch]
    return tally_from_groups(g_out, b_out, x_out)


@nb.njit(cache=True, inline="always")
def _month_body(ch, bases, mo, res, cached, hz, rs, r_feats, ef, outs, extras, absence_only):
    """:func:`month_pass` over chunk ``ch``, writing ``outs`` (ring, listing, tally); ``extras`` (a constant of the
    compiled caller): the programmes', levers' and sickness absence's hooks may act (each still under its own flag
    in ``mo``); ``absence_only`` (a constant): only sickness absence's (no programme or lever acts: their
    multipliers would all be 1)."""
    ring, listing, tally = outs
    lo, hi = chunk(len(res.state), ch)
    g_acc, b_acc, x_acc = tally.groups[ch], tally.boroughs[ch], tally.extra[ch]
    slot = mo.month % RING_MONTHS
    listed = 0
    scratch = tally.scratch[ch]
    for i in range(lo, hi):
        if mo.do_moves:
            old = res.state[i]
            p_e, p_u, p_i = resident_probabilities(i, res, cached, hz)
            mult = 1.0
            months = 0
            if absence_only:
                if old == E:
                    p_i = leave_chance(i, p_i, res, hz)  # sickness absence (engine.health)
                    months = res.months_in_state[i]
            elif extras:
                if mo.use_absence and old == E:
                    p_i = leave_chance(i, p_i, res, hz)  # sickness absence (engine.health)
                mult, m_u, m_i = with_levers(i, old, mo, ef)
                if mo.use_programmes or mo.use_levers:
                    p_u = p_u * m_u
                    p_i = p_i * m_i
                if mo.use_retention or mo.use_absence:
                    months = res.months_in_state[i]
            a = p_e * mult * mo.job_factor[res.borough[i]]
            if a > 1.0:
                a = 1.0
            move(i, old, a, p_u, p_i, bases, res, rs, r_feats, scratch)
            if absence_only:
                after_move(i, old, months, res, hz, mo)  # sickness absence (engine.health)
            elif extras:
                if mo.use_retention and old == E and res.state[i] != E:
                    retain(i, months, res, mo)  # the retention levers (engine.programmes)
                if mo.use_absence:
                    after_move(i, old, months, res, hz, mo)  # sickness absence (engine.health)
        if res.state[i] != E:
            listing.residents[lo + listed] = i
            listed += 1
        count_one(i, res, cached.group, ring, slot, g_acc, b_acc, x_acc, mo.by_group)
    listing.count[ch] = listed


# Three compilations of the one body: a month with none of the programmes', levers' or sickness absence's hooks
# runs a loop without their branches, which costs about a sixth of the pass even when the flags are off
# (benchmarks/month_pass_ab.py); one with sickness absence alone (the no-change baseline with the health process)
# runs only its hooks
@nb.njit(cache=True, _nrt=False, _noalias=True)  # no reference counting; arrays distinct (engine/__init__.py)
def _month_chunk(ch, bases, mo, res, cached, hz, rs, r_feats, ef, ring, listing, tally):
    """:func:`month_pass` over chunk ``ch``, with the hooks."""
    _month_body(ch, bases, mo, res, cached, hz, rs, r_feats, ef, (ring, listing, tally), True, False)


@nb.njit(cache=True, _nrt=False, _noalias=True)
def _month_chunk_absence(ch, bases, mo, res, cached, hz, rs, r_feats, ef, ring, listing, tally):
    """:func:`month_pass` over chunk ``ch``, with sickness absence's hooks only."""
    _month_body(ch, bases, mo, res, cached, hz, rs, r_feats, ef, (ring, listing, tally), False, True)


@nb.njit(cache=True, _nrt=False, _noalias=True)
def _month_chunk_plain(ch, bases, mo, res, cached, hz, rs, r_feats, ef, ring, listing, tally):
    """:func:`month_pass` over chunk ``ch``, without the hooks."""
    _month_body(ch, bases, mo, res, cached, hz, rs, r_feats, ef, (ring, listing, tally), False, False)
