"""Sizes, codes and array layouts the compiled passes use, all derived from :mod:`glw_sim.states`.

No kernel types a borough count, an age-band edge, a reason code or a tally offset: they read them here (numba
freezes module-level integers and arrays as constants, so this costs nothing at run time).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from glw_sim.states import (AGE_BANDS, MAX_AGE, MIN_AGE, N_BOROUGHS, Ethnicity, Health, InactivityReason,
                            LabourState, Qualification, Sex)

E, U, I = int(LabourState.EMPLOYED), int(LabourState.UNEMPLOYED), int(LabourState.INACTIVE)
N_STATES = len(LabourState)
NO_REASON = int(InactivityReason.NONE)
STUDENT = int(InactivityReason.STUDENT)
LONG_TERM_SICK = int(InactivityReason.LONG_TERM_SICK)
N_REASONS = len(InactivityReason)
N_SEXES = len(Sex)
FEMALE = int(Sex.FEMALE)
N_HEALTH = len(Health)
NO_CONDITION, CONDITION, DISABLED = int(Health.NONE), int(Health.LONG_TERM_CONDITION), int(Health.DISABLED)
N_ETHNICITY = len(Ethnicity)
N_QUALIFICATIONS = len(Qualification)
N_BANDS = len(AGE_BANDS)
N_AGES = MAX_AGE - MIN_AGE + 1  # single years of age 16..64
AGE_CODES = MAX_AGE + 1  # ages are indexed by their value, 0..MAX_AGE
RING_MONTHS = 3  # each resident's state is kept for the last three months (quarterly flows, as the LFS)
UNKNOWN_STATE = 255  # a resident's state in an earlier month, when not known (e.g. an entrant's slot)
MAX_MONTHS = 65535  # months in state are counted in uint16
LONG_TERM_MONTHS = 12  # long-term unemployment: a year or more
YOUNG_BAND = 0  # the 16-24 band (NEET is counted in it)

#: index of states.AGE_BANDS by age (a table: ages are in random order); ages past the last band stay in it
BAND_OF_AGE = np.array([min(sum(a > hi for _, hi in AGE_BANDS[:-1]), N_BANDS - 1) for a in range(256)],
                       dtype=np.int64)

# ------------------------------------------------------------------ borough x sex x single year of age cells
N_CELLS = N_BOROUGHS * N_SEXES * N_AGES
#: each cell's borough x sex x age band (N_CELL_BANDS of them): net migration holds the band totals even where a
#: single year has emptied
CELL_BAND = np.arange(N_CELLS) // N_AGES * N_BANDS + BAND_OF_AGE[np.arange(N_CELLS) % N_AGES + MIN_AGE]
N_CELL_BANDS = N_BOROUGHS * N_SEXES * N_BANDS

# ------------------------------------------------------------------ tally groups
#: sex x age band x health x ethnic group x qualification x in education or training
N_GROUPS = N_SEXES * N_BANDS * N_HEALTH * N_ETHNICITY * N_QUALIFICATIONS * 2

# ------------------------------------------------------------------ the flat tally (tallies.split_tally)
T_BOROUGH = 0  # borough x state
T_REASON = T_BOROUGH + N_BOROUGHS * N_STATES  # reasons
T_SEX = T_REASON + N_REASONS  # sex x state
T_BAND = T_SEX + N_SEXES * N_STATES  # age band x state
T_HEALTH = T_BAND + N_BANDS * N_STATES  # health x state
T_ETHNICITY = T_HEALTH + N_HEALTH * N_STATES  # ethnic group x state
T_QUALIFICATION = T_ETHNICITY + N_ETHNICITY * N_STATES  # qualification x state
T_YOUNG = T_QUALIFICATION + N_QUALIFICATIONS * N_STATES  # 16-24s, and those NEET
T_WANT = T_YOUNG + 2  # inactive wanting a job
T_LTU = T_WANT + 1  # unemployed a year or more
T_LTS_BOROUGH = T_LTU + 1  # long-term sick by borough
T_FLOWS = T_LTS_BOROUGH + N_BOROUGHS  # state three months ago x state now
T_SIZE = T_FLOWS + N_STATES * N_STATES
#: the monthly pass's counts: borough x state x reason, group x state, and the extras below
B_SIZE = N_BOROUGHS * N_STATES * N_REASONS
X_WANT, X_LTU, X_FLOWS = 0, 1, 2
X_SIZE = X_FLOWS + N_STATES * N_STATES

# ------------------------------------------------------------------ programmes
#: a resident's status in a programme (glw_sim.interventions.base.Programme): none, waiting, supported, after
NOT_IN, WAITING, SUPPORTED, AFTER = 0, 1, 2, 3
#: residents' programme statuses are read 8 programmes at a time, as one 64-bit word
PROGRAMMES_PER_WORD = 8
#: a model runs at most this many programmes: the monthly pass holds a resident's eligibility as 64-bit masks
MAX_PROGRAMMES = 64

# ------------------------------------------------------------------ chunks
CHUNKS = 8  # fixed, so sums (and results) do not depend on the number of threads


@nb.njit(cache=True, inline="always")
def chunk(n, c):
    """Bounds of chunk ``c`` of ``CHUNKS`` over ``range(n)`` (scratch arrays are made once per chunk)."""
    step = (n + CHUNKS - 1) // CHUNKS
    lo = min(n, c * step)
    return lo, min(n, lo + step)


@nb.njit(cache=True, inline="always")
def age_band(a):
    """Index of states.AGE_BANDS for an age (0-255)."""
    return BAND_OF_AGE[a]


@nb.njit(cache=True, inline="always")
def cell(borough, sex, age):
    """A resident's borough x sex x single-year-of-age cell (net migration keeps each cell's total, so the age
    structure within the bands holds too)."""
    return (np.int64(borough) * N_SEXES + np.int64(sex)) * N_AGES + min(max(np.int64(age) - MIN_AGE, 0), N_AGES - 1)
