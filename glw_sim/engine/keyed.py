"""Keyed uniforms: common random numbers.

Every per-resident draw is addressed by (seed, month, purpose, resident), so two runs with the same seed give
resident ``i`` the same draw for the same purpose in the same month, whatever else differs between them: a
scenario and its baseline differ only where the policy acts (splitmix64 finaliser over the combined key; Steele,
Lea and Flood 2014). The purposes are :class:`Purpose`.
"""

from __future__ import annotations

import zlib
from enum import IntEnum

import numba as nb
import numpy as np


class Purpose(IntEnum):
    """What a keyed draw decides (a draw's key: never renumber; add new purposes at the end)."""

    MOVE = 0
    REASON = 1
    WANT = 2
    SWITCH = 3
    EDU_LEAVE = 4
    REDRAW_STATE = 5
    REDRAW_REASON = 6
    REDRAW_WANT = 7
    ENTRANT_SEX = 8
    SWITCH_REASON = 9
    SWITCH_WANT = 10
    LIFE_HEALTH = 11
    LIFE_CHILDREN = 12
    LIFE_CARE = 13
    ENTRANT_ETHNICITY = 14
    ENTRANT_QUALIFICATION = 15
    ENTRANT_HEALTH = 16
    ENTRANT_CHILDREN = 17
    ENTRANT_CARE = 18
    ENTRANT_EDUCATION = 19


#: DEMOGRAPHY: the purposes of the birthday pass (:func:`glw_sim.engine.demography.birthdays`), in its order
DEMOGRAPHY = np.array([Purpose.EDU_LEAVE, Purpose.REDRAW_STATE, Purpose.REDRAW_REASON, Purpose.REDRAW_WANT,
                       Purpose.ENTRANT_SEX, Purpose.LIFE_HEALTH, Purpose.LIFE_CHILDREN, Purpose.LIFE_CARE,
                       Purpose.ENTRANT_ETHNICITY, Purpose.ENTRANT_QUALIFICATION, Purpose.ENTRANT_HEALTH,
                       Purpose.ENTRANT_CHILDREN, Purpose.ENTRANT_CARE, Purpose.ENTRANT_EDUCATION], dtype=np.int64)
#: the purposes of the month's transitions (:func:`glw_sim.engine.month.month_pass`), in its order
TRANSITIONS = np.array([Purpose.MOVE, Purpose.REASON, Purpose.WANT, Purpose.SWITCH, Purpose.SWITCH_REASON,
                        Purpose.SWITCH_WANT], dtype=np.int64)


@nb.njit(cache=True, inline="always")
def mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def key_base(seed, month, purpose):
    return mix64(np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(month) * np.uint64(0xD1B54A32D192ED03)
                  + np.uint64(purpose) * np.uint64(0xABC98388FB8FAC03))


@nb.njit(cache=True, inline="always")
def keyed(base, i):
    z = mix64(base ^ (np.uint64(i) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019)))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@nb.njit(cache=True, parallel=True)
def keyed_uniforms(seed, month, purpose, idx):
    """Uniform [0, 1) numbers addressed by (seed, month, purpose, resident) for residents ``idx``."""
    out = np.empty(len(idx))
    base = key_base(seed, month, purpose)
    for j in nb.prange(len(idx)):
        out[j] = keyed(base, idx[j])
    return out



@nb.njit(cache=True)
def bases(seed, month, purposes):
    """The key bases of ``purposes`` this month (one per purpose: a pass reads its draws from them)."""
    out = np.empty(len(purposes), dtype=np.uint64)
    for k in range(len(purposes)):
        out[k] = key_base(seed, month, purposes[k])
    return out


def named_purpose(name: str) -> int:
    """A keyed-draw purpose for a mechanism of its own, from its name (stable across runs and machines, above every
    number :class:`Purpose` and the programmes use): a new mechanism draws without editing this module."""
    return (1 << 32) + zlib.crc32(name.encode())
