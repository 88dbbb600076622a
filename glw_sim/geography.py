"""The 33 local authorities of Greater London and the groupings the plan uses.

Each authority has an ONS code, an inner/outer London flag (ONS statistical
definition), a Sub-Regional Partnership (SRP: the employment-and-skills
partnerships that deliver Connect to Work) and an NHS Integrated Care Board
(ICB: the five London ICBs of 2022-25, which host WorkWell).
Source: ``calibration/targets/geography.csv`` (see ``calibration/SOURCES.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from glw_sim.paths import targets_dir
from glw_sim.states import N_BOROUGHS


@dataclass(frozen=True)
class Geography:
    """Lookup tables for the authorities; index ``i`` is the borough code stored in a Population."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    inner: np.ndarray  # bool[33]
    srp: tuple[str, ...]
    icb: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def srps(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.srp)))

    @property
    def icbs(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.icb)))

    def index(self, name_or_code: str) -> int:
        """Index of an authority given its name or ONS code (case-insensitive)."""
        key = name_or_code.strip().lower()
        for i, (c, n) in enumerate(zip(self.codes, self.names)):
            if key in (c.lower(), n.lower()):
                return i
        raise KeyError(f"unknown borough {name_or_code!r}")

    def unknown(self, name: str) -> str:
        """The one-line refusal of an unknown borough, with the nearest names ("did you mean ...?")."""
        import difflib

        near = difflib.get_close_matches(str(name).strip().lower(), [n.lower() for n in self.names], n=2, cutoff=0.6)
        named = [n for n in self.names if n.lower() in near]
        hint = f"did you mean {' or '.join(repr(n) for n in named)}? " if named else ""
        return f"unknown borough {name!r}; {hint}expected one of the 33 London authorities (e.g. 'Newham')"

    def members(self, *, srp: str | None = None, icb: str | None = None) -> np.ndarray:
        """Boolean mask over authorities belonging to an SRP or an ICB."""
        if srp is not None:
            if srp not in self.srp:
                raise KeyError(f"unknown sub-regional partnership {srp!r}; expected one of: {', '.join(self.srps)}")
            return np.array([s == srp for s in self.srp])
        if icb is not None:
            if icb not in self.icb:
                raise KeyError(f"unknown integrated care board {icb!r}; expected one of: {', '.join(self.icbs)}")
            return np.array([s == icb for s in self.icb])
        return np.ones(self.n, dtype=bool)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"code": self.codes, "name": self.names, "inner": self.inner, "srp": self.srp, "icb": self.icb}
        )


@lru_cache(maxsize=4)
def load_geography(path: Path | None = None) -> Geography:
    """Read the authorities table (ordered by ONS code)."""
    path = Path(path) if path is not None else targets_dir() / "geography.csv"
    df = pd.read_csv(path).sort_values("code").reset_index(drop=True)
    expected = {"code", "name", "inner_outer", "srp", "icb"}
    missing = expected - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if len(df) != N_BOROUGHS:
        raise ValueError(f"{path}: expected {N_BOROUGHS} authorities, found {len(df)}")
    return Geography(
        codes=tuple(df["code"]),
        names=tuple(df["name"]),
        inner=(df["inner_outer"] == "inner").to_numpy(),
        srp=tuple(df["srp"]),
        icb=tuple(df["icb"]),
    )
