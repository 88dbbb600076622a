"""The residents, as columns.

A :class:`Population` is a struct of arrays: one typed numpy array per
attribute, declared once in :data:`COLUMNS` (Covasim's ``PeopleMeta`` pattern).
A London of 6.5 million residents is about 100 MB. Each resident carries a
``weight`` (how many Londoners it stands for), so a sampled population
(``scale < 1``) gives the same rates as a full one within sampling error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: name -> (dtype, meaning). The one place the resident attributes are declared.
COLUMNS: dict[str, tuple[np.dtype, str]] = {
    "borough": (np.dtype(np.uint8), "index into Geography (0..32), ONS-code order"),
    "age": (np.dtype(np.uint8), "age in whole years, 16..64"),
    "birth_month": (np.dtype(np.uint8), "calendar month (0=Jan) in which the resident turns a year older"),
    "sex": (np.dtype(np.uint8), "states.Sex"),
    "ethnicity": (np.dtype(np.uint8), "states.Ethnicity"),
    "qualification": (np.dtype(np.uint8), "states.Qualification (highest, RQF level)"),
    "health": (np.dtype(np.uint8), "states.Health (long-term condition / Equality Act disability)"),
    "young_children": (np.dtype(np.bool_), "parent of a child aged under 5 in the household"),
    "unpaid_carer": (np.dtype(np.bool_), "provides unpaid care to someone with a condition or disability"),
    "in_education": (np.dtype(np.bool_), "in education or training, full- or part-time (the official NEET definition)"),
    "state": (np.dtype(np.uint8), "states.LabourState"),
    "reason": (np.dtype(np.uint8), "states.InactivityReason (NONE unless inactive)"),
    "wants_job": (np.dtype(np.bool_), "inactive and would like a job (APS)"),
    "months_in_state": (np.dtype(np.uint16), "completed months in the current labour state"),
    "off_sick": (np.dtype(np.bool_), "employed, away from work through sickness (glw_sim.engine.health)"),
    "weight": (np.dtype(np.float32), "Londoners this resident stands for"),
}


@dataclass
class Population:
    """Residents aged 16-64 as typed columns of equal length.

    Build one with :func:`glw_sim.synthesis.synthesise`; the model mutates it
    in place each month. The set of columns is locked: assigning an unknown
    attribute raises ``AttributeError``.
    """

    borough: np.ndarray
    age: np.ndarray
    birth_month: np.ndarray
    sex: np.ndarray
    ethnicity: np.ndarray
    qualification: np.ndarray
    health: np.ndarray
    young_children: np.ndarray
    unpaid_carer: np.ndarray
    in_education: np.ndarray
    state: np.ndarray
    reason: np.ndarray
    wants_job: np.ndarray
    months_in_state: np.ndarray
    off_sick: np.ndarray
    weight: np.ndarray
    _locked: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.borough)
        for name, (dtype, _) in COLUMNS.items():
            arr = np.asarray(getattr(self, name))
            if arr.shape != (n,):
                raise ValueError(f"column {name!r} has shape {arr.shape}, expected ({n},)")
            object.__setattr__(self, name, arr.astype(dtype, copy=False))
        object.__setattr__(self, "_locked", True)

    def __setattr__(self, name: str, value) -> None:
        if getattr(self, "_locked", False) and name not in COLUMNS:
            raise AttributeError(f"Population has no column {name!r}; columns are declared in population.COLUMNS")
        object.__setattr__(self, name, value)

    @classmethod
    def empty(cls, n: int) -> Population:
        return cls(**{name: np.zeros(n, dtype=dtype) for name, (dtype, _) in COLUMNS.items()})

    def __len__(self) -> int:
        return len(self.borough)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, c).nbytes for c in COLUMNS)

    @property
    def total_weight(self) -> float:
        return float(self.weight.sum(dtype=np.float64))

    def copy(self) -> Population:
        return Population(**{c: getattr(self, c).copy() for c in COLUMNS})

    def subset(self, mask_or_index) -> Population:
        return Population(**{c: getattr(self, c)[mask_or_index] for c in COLUMNS})

    def to_frame(self) -> pd.DataFrame:
        """All columns as a DataFrame (for inspection and small populations)."""
        return pd.DataFrame({c: getattr(self, c) for c in COLUMNS})
