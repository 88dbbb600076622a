"""Employment programmes: eligibility, referral, providers (mesa agents) with capacity, effects, costs.

Each programme type is a :class:`ProgrammeSpec` with evidence-based defaults
(:data:`DEFAULTS`, cited in ``calibration/SOURCES.md``); a scenario lists the
programmes it runs and may override any field. At run time a
:class:`Programme` refers eligible residents, queues them at its providers
(one :class:`Provider` ``mesa.Agent`` per borough, sub-region or ICB, as the
programme is organised), starts them as places free up, supports them for a
set number of months and books the spending. Programmes act on residents
through one channel for now: a multiplier on the monthly chance of moving
into work while supported, fading out over ``after_months`` afterwards.
"""

from glw_sim.interventions.base import DEFAULTS, Programme, ProgrammeSpec, Provider
from glw_sim.interventions.fit import load_fitted_effects

load_fitted_effects()

__all__ = ["DEFAULTS", "Programme", "ProgrammeSpec", "Provider"]
