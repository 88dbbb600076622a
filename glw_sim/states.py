"""Labour states, APS inactivity reasons and attribute codes.

Every categorical column of :class:`glw_sim.population.Population` stores one of
these integer codes. They are declared once, here, so that the synthesis, the
hazards, the metrics and the results all agree on what a code means.
"""

from __future__ import annotations

from enum import IntEnum


class LabourState(IntEnum):
    """ILO labour-market status (ONS Labour Force Survey definitions)."""

    EMPLOYED = 0
    UNEMPLOYED = 1
    INACTIVE = 2


class InactivityReason(IntEnum):
    """Main reason for economic inactivity, as the APS asks it (ONS INECAC05 groups).

    ``NONE`` is the code for residents who are not inactive.
    """

    NONE = 0
    STUDENT = 1
    FAMILY_HOME = 2
    TEMP_SICK = 3
    LONG_TERM_SICK = 4
    DISCOURAGED = 5
    RETIRED = 6
    OTHER = 7


class Sex(IntEnum):
    MALE = 0
    FEMALE = 1


class Ethnicity(IntEnum):
    """Ethnic groups as the GLA Economic Fairness measures report them."""

    WHITE = 0
    MIXED = 1
    INDIAN = 2
    PAKISTANI_BANGLADESHI = 3
    BLACK = 4
    OTHER = 5


class Qualification(IntEnum):
    """Highest qualification, Regulated Qualifications Framework level (APS)."""

    NONE = 0
    RQF1 = 1
    RQF2 = 2
    RQF3 = 3
    RQF4_PLUS = 4
    OTHER = 5


class Health(IntEnum):
    """Long-term health condition and disability (APS / Equality Act 2010 core definition).

    ``LONG_TERM_CONDITION`` is a condition lasting 12 months or more that does
    not meet the Equality Act core definition of disability; ``DISABLED`` does.
    """

    NONE = 0
    LONG_TERM_CONDITION = 1
    DISABLED = 2


#: London's local authorities: the 32 boroughs and the City of London (:mod:`glw_sim.geography` reads them and
#: refuses a file with another number).
N_BOROUGHS = 33

#: Age bands used by the APS tables the model is calibrated to (inclusive bounds).
AGE_BANDS: tuple[tuple[int, int], ...] = ((16, 24), (25, 34), (35, 49), (50, 64))
AGE_BAND_LABELS: tuple[str, ...] = tuple(f"{lo}-{hi}" for lo, hi in AGE_BANDS)
MIN_AGE = 16
MAX_AGE = 64


def age_band_of(age):
    """Index into :data:`AGE_BANDS` for an age or an array of ages."""
    import numpy as np

    edges = np.array([hi for _, hi in AGE_BANDS[:-1]])
    return np.searchsorted(edges, age, side="left").astype(np.uint8)


def label(enum_cls: type[IntEnum], code: int) -> str:
    """Lower-case name of a code, as used in CSV files and scenario YAML."""
    return enum_cls(code).name.lower()


def parse(enum_cls: type[IntEnum], name: str) -> int:
    """Code of a lower-case name; raises ``KeyError`` naming the valid choices."""
    try:
        return int(enum_cls[name.upper()])
    except KeyError:
        choices = ", ".join(m.name.lower() for m in enum_cls)
        raise KeyError(f"unknown {enum_cls.__name__} {name!r}; expected one of: {choices}") from None
