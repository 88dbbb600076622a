"""Employment programmes: eligibility, referral, providers (mesa agents) with capacity, effects, costs.

Each programme type is a :class:`ProgrammeSpec` (:mod:`glw_sim.interventions.specs`) with evidence-based
defaults (:data:`DEFAULTS`, :mod:`glw_sim.interventions.defaults`, cited in ``calibration/SOURCES.md``; each
type's fitted effect read from ``calibration/fitted/programmes.json`` by :mod:`glw_sim.interventions.fitted`); a
scenario lists the programmes it runs and may override any field. At run time a :class:`Programme`
(:mod:`glw_sim.interventions.base`) refers eligible residents, queues them at its providers (one
:class:`Provider` ``mesa.Agent`` per borough, sub-region or ICB, as the programme is organised), starts them as
places free up, supports them for a set number of months and books the spending. Programmes act on residents'
monthly chances of moving into work, into search (inactive to unemployed) and out of work while supported, the
effect fading out over ``after_months`` afterwards; adult skills also raise the qualification held.
"""

from glw_sim.interventions.base import DEFAULTS, Programme, ProgrammeSpec, Provider

__all__ = ["DEFAULTS", "Programme", "ProgrammeSpec", "Provider"]
