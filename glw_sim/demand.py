"""Labour demand and matching: who gets the jobs.

Moves into work compete for vacancies. Each month, in every workplace
borough ``d``:

* **seekers** ``S_d`` are the expected moves into work that residents would
  make at their calibrated hazards (so search intensity and employability, as
  the calibration sees them, weight each seeker), allocated to workplaces by
  the commuting shares ``c_od`` of the seeker's home borough;
* **matches** follow a constant-returns Cobb-Douglas matching function
  ``M_d = min(mu_d S_d^alpha V_d^(1-alpha), cap S_d, V_d)`` (Petrongolo and
  Pissarides 2001), with ``mu_d`` set so that at the June 2025 stocks the
  baseline's own flows are exactly met (times ``baseline_slack``, an
  assumption: 1.0 means the baseline's vacancies just allow its flows);
* each seeker's chance of a job is scaled by their home borough's average of
  ``M_d / S_d = min(mu_d (V_d/S_d)^(1-alpha), cap, V_d/S_d)`` over the workplaces they search: it falls below 1
  with fewer vacancies per seeker, so one group's extra search lowers others' chances (displacement), and rises
  above 1 with more, up to ``cap`` (``labour_demand.job_finding_cap``, 1.3: job-finding in the tightest UK market
  of 2001-2024 relative to 2024's; 1 is the one-way rule, computed exactly as before);
* vacancies then evolve as a stock: ``V <- V - M + R``, with replenishment
  ``R`` equal to the baseline's monthly matches times the demand level
  (growth and shocks from the scenario) times ``(S / S_0)^eta``: employers
  open more vacancies when more people search (``vacancy_response`` eta, an
  assumption between 0, a fixed number of jobs, and 1, free entry of
  vacancies as in Pissarides' model, where extra seekers displace no one in
  the long run).

Commuting is a gravity model on distance between borough centroids (an
assumption: no origin-destination table is shipped yet), with its distance
decay fitted so that the share of search outside the home borough matches
the Census 2011 fact that over 2 million of about 3.8 million working
Londoners worked in another borough (GLA, *Commuting in London*, 2014).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from glw_sim.months import add_months
from glw_sim.paths import targets_dir

#: Share of working Londoners who work outside their home borough (GLA CIS 2014-11: > 2.0m of ~3.8m).
OUTSIDE_HOME_SHARE = 2.0 / 3.8


def cobb_douglas_matches(seekers, vacancies, efficiency, elasticity, cap=1.0):
    """Matches ``min(mu S^a V^(1-a), cap S, V)`` (element-wise; zero where either side is empty): each seeker's
    factor ``M / S = min(mu (V/S)^(1-a), cap, V/S)``. ``cap = 1`` is the one-way rule (matching can only lower
    a seeker's calibrated chance); above 1, more vacancies per seeker raise it, up to ``cap`` times."""
    s = np.asarray(seekers, dtype=np.float64)
    v = np.asarray(vacancies, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = efficiency * np.power(s, elasticity) * np.power(v, 1.0 - elasticity)
    m = np.where((s > 0) & (v > 0), m, 0.0)
    return np.minimum(np.minimum(m, s if cap == 1.0 else cap * s), v)


def haversine_km(lon, lat) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    dlon = lon[:, None] - lon[None, :]
    dlat = lat[:, None] - lat[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


@dataclass(frozen=True)
class Workplaces:
    jobs: np.ndarray  # jobs by workplace borough, scaled to today's London total
    distance_km: np.ndarray  # 33 x 33, diagonal = typical distance within the borough
    grid: np.ndarray  # (33, 2) grid-map column and row (After The Flood layout)
    vacancies: float  # London vacancy stock at the start


@lru_cache(maxsize=4)
def load_workplaces(london_population: float, codes: tuple[str, ...]) -> Workplaces:
    d = targets_dir()
    w = pd.read_csv(d / "borough_workplace.csv").set_index("code").loc[list(codes)]
    dem = pd.read_csv(d / "london_demand.csv").set_index("metric")["value"].astype(float)
    jobs = w["jobs_2014"].to_numpy(float).copy()
    jobs *= dem["jobs_density"] * london_population / jobs.sum()
    dist = haversine_km(w["longitude"].to_numpy(float), w["latitude"].to_numpy(float))
    # within a borough: mean distance between two random points of a disc of the borough's area (0.905 r)
    radius = np.sqrt(w["area_hectares"].to_numpy(float) / 100.0 / np.pi)
    np.fill_diagonal(dist, 0.905 * radius)
    grid = w[["grid_col", "grid_row"]].to_numpy(int)
    return Workplaces(jobs, dist, grid, float(dem["vacancies"]))


def commuting_matrix(work: Workplaces, decay_km: float, transport_cost: float = 1.0) -> np.ndarray:
    """Row-stochastic search shares c[o, d] ~ jobs_d exp(-cost x distance / decay)."""
    k = work.jobs[None, :] * np.exp(-transport_cost * work.distance_km / decay_km)
    return k / k.sum(axis=1, keepdims=True)


def fit_decay(work: Workplaces, residents: np.ndarray, target_outside: float = OUTSIDE_HOME_SHARE) -> float:
    """Distance decay (km) at which the resident-weighted share searching outside home is ``target_outside``."""
    key = (id(work), residents.tobytes(), target_outside)
    if key not in _DECAY_CACHE:
        _DECAY_CACHE[key] = _fit_decay(work, residents, target_outside)
    return _DECAY_CACHE[key]


_DECAY_CACHE: dict = {}


def _fit_decay(work: Workplaces, residents: np.ndarray, target_outside: float) -> float:
    def outside(decay):
        c = commuting_matrix(work, decay)
        return float(np.dot(residents, 1 - np.diag(c)) / residents.sum()) - target_outside

    return brentq(outside, 0.2, 200.0)


@dataclass
class LabourMarket:
    """Vacancies by workplace borough and the monthly matching of seekers to them."""

    commute: np.ndarray  # (33, 33) c[o, d]
    vacancies0: np.ndarray  # (33,) starting vacancy stock (before any scenario level)
    elasticity: float
    slack: float
    level_path: callable  # month index -> demand level (1.0 = June 2025)
    vacancy_level: float = 1.0
    vacancy_response: float = 0.5
    enabled: bool = True
    cap: float = 1.0  # most matching raises a seeker's calibrated chance (1: only lowers it)
    vacancies: np.ndarray = None
    efficiency: np.ndarray = None
    seekers0: np.ndarray = None
    history: list = field(default_factory=list)
    last_factor: np.ndarray = None  # the factor of the latest month, by home borough

    def __post_init__(self):
        self.vacancies = self.vacancies0 * self.vacancy_level

    def calibrate(self, desired_by_origin: np.ndarray) -> None:
        """Set efficiency so the June 2025 seekers and vacancies give exactly the calibrated flows."""
        s0 = self.commute.T @ desired_by_origin
        self.seekers0 = s0
        with np.errstate(divide="ignore", invalid="ignore"):
            self.efficiency = self.slack * np.where(s0 > 0, (s0 / self.vacancies0) ** (1 - self.elasticity), 0.0)

    def unconstrained(self, month: int) -> np.ndarray:
        """Matching switched off (``enabled=False``): every seeker's calibrated chance of a job stands (a factor
        of 1 for every home borough); vacancies stay as they are and seekers and matches are not computed."""
        nan = np.full(len(self.vacancies), np.nan)
        self.history.append((month, self.vacancies.copy(), nan, nan))
        self.last_factor = np.ones(len(self.commute))
        return self.last_factor

    def job_factors(self, desired_by_origin: np.ndarray, month: int) -> np.ndarray:
        """Per home borough, the factor on each seeker's calibrated chance of a job this month."""
        if not self.enabled:
            return self.unconstrained(month)
        if self.seekers0 is None:
            self.calibrate(desired_by_origin)
        seekers = self.commute.T @ desired_by_origin
        matches = cobb_douglas_matches(seekers, self.vacancies, self.efficiency, self.elasticity, self.cap)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(seekers > 0, matches / seekers, 1.0)
        factor = self.commute @ f
        self.history.append((month, self.vacancies.copy(), seekers, matches))
        with np.errstate(divide="ignore", invalid="ignore"):
            supply = np.where(self.seekers0 > 0, seekers / self.seekers0, 1.0) ** self.vacancy_response
        replenish = self.seekers0 * self.vacancy_level * self.level_path(month) * supply
        self.vacancies = np.maximum(self.vacancies - matches + replenish, 0.0)
        self.last_factor = factor
        return factor


class Following:
    """A market that gives each month the job factors another model's market gave that month (``leader``, which
    must step first): the package's twin without competition for vacancies (:func:`glw_sim.runner.simulate`),
    whose residents keep the counterfactual's chances of a job, so its gain over the counterfactual is the
    package's gross gain before displacement."""

    def __init__(self, leader: LabourMarket):
        self.leader = leader
        self.enabled = leader.enabled
        self.history = leader.history  # (read for the month's vacancies, seekers and matches)
        self.vacancies = leader.vacancies

    def unconstrained(self, month: int) -> np.ndarray:
        return self.leader.last_factor

    def job_factors(self, desired_by_origin: np.ndarray, month: int) -> np.ndarray:
        return self.leader.last_factor


def level_path(start: date, growth_per_year: float, shocks: list[tuple[date, float]]):
    """Demand level by month index: compound growth times every shock that has started."""
    def level(month: int) -> float:
        now = add_months(start, month)
        x = (1.0 + growth_per_year) ** (month / 12.0)
        for when, change in shocks:
            if now >= when:
                x *= 1.0 + change
        return x

    return level
