"""Residents' contacts with services, the routes by which programmes find their participants.

Each month a resident meets each service (GP / primary care, Jobcentre, council, voluntary sector, on-site
community outreach) with a probability that depends on their labour state, health and age band:
``rate = base[service, state] x health_factor[service, health] x age_factor[service, band]``, from
``calibration/targets/service_contacts.csv`` (sources and ranges there; most values are labelled assumptions).
A programme names its pathways (service -> chance that an eligible resident is referred at a contact); its
monthly referral chance for a resident is ``1 - prod_s (1 - rate_s x referral_s)``, plus any direct
(self-)referral rate. Integration hubs multiply the referral chances in their boroughs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from glw_sim.paths import targets_dir
from glw_sim.states import AGE_BAND_LABELS, Health, LabourState, age_band_of

SERVICES: tuple[str, ...] = ("gp", "jobcentre", "council", "voluntary", "community")


@dataclass(frozen=True)
class ContactRates:
    """Monthly contact probabilities: base by service x state, factors by service x health and service x age band."""

    base: np.ndarray  # (services, 3 states)
    health: np.ndarray  # (services, 3 health codes)
    age: np.ndarray  # (services, 4 age bands)

    def rate(self, service: str, state: np.ndarray, health: np.ndarray, age: np.ndarray) -> np.ndarray:
        s = SERVICES.index(service)
        r = self.base[s, state] * self.health[s, health] * self.age[s, age_band_of(age)]
        return np.minimum(r, 1.0)

    def rate_by_band(self, service: str) -> np.ndarray:
        """:meth:`rate` for every (state, health, age band): shape (3, 3, 4), the same arithmetic."""
        s = SERVICES.index(service)
        r = self.base[s][:, None, None] * self.health[s][None, :, None] * self.age[s][None, None, :]
        return np.minimum(r, 1.0)


@lru_cache(maxsize=1)
def load_contacts() -> ContactRates:
    """The contact-rate table shipped in ``calibration/targets/service_contacts.csv``."""
    df = pd.read_csv(targets_dir() / "service_contacts.csv")
    levels = {
        "state": [s.name.lower() for s in LabourState],
        "health": [h.name.lower() for h in Health],
        "age_band": list(AGE_BAND_LABELS),
    }
    out = {k: np.full((len(SERVICES), len(v)), np.nan) for k, v in levels.items()}
    for row in df.itertuples(index=False):
        if row.service not in SERVICES:
            raise ValueError(f"service_contacts.csv: unknown service {row.service!r}; expected one of {SERVICES}")
        out[row.dimension][SERVICES.index(row.service), levels[row.dimension].index(str(row.level))] = row.value
    for k, arr in out.items():
        if np.isnan(arr).any():
            raise ValueError(f"service_contacts.csv: missing {k} rows for some service")
    return ContactRates(out["state"], out["health"], out["age_band"])
