"""The compiled engine: one module per mechanism of the month, each holding its rule once.

A month (:meth:`glw_sim.model.GLWModel.step`) is this sequence of passes over the residents:

=================  =================================  ===================================================
mechanism          module                             pass
=================  =================================  ===================================================
demography         :mod:`glw_sim.engine.demography`   birthdays: ageing, life events, leaving education,
                                                      65-year-olds replaced by 16-year-olds; net migration
hazard inputs      :mod:`glw_sim.engine.hazards`      refresh of the cached stationary shares (in the
                                                      birthday pass, for those whose attributes changed)
programmes         :mod:`glw_sim.engine.programmes`   referral, waiting lists' re-check, discharge; then
                                                      the providers start residents (Python, mesa.Agent)
matching           :mod:`glw_sim.engine.matching`     expected moves into work by home borough
transitions        :mod:`glw_sim.engine.transitions`  E/U/I moves, new spells' reason, reason switches
tallies            :mod:`glw_sim.engine.tallies`      the month's weighted counts for the metrics
=================  =================================  ===================================================

The month's transitions, programme effects and tallies run fused in one pass (:mod:`glw_sim.engine.month`),
as a composition of the mechanisms' own inline functions. Sizes and codes come from
:mod:`glw_sim.engine.layout`; the arrays travel as the named tuples of :mod:`glw_sim.engine.records`. Random
numbers are keyed uniforms (:mod:`glw_sim.engine.keyed`: common random numbers) or come from the model's numpy
Generator. Sums run in fixed chunks in a fixed order, so results do not depend on the number of threads.

Parallel kernels are only called from Python: a cached compiled function calling a parallel one crashed when
loaded from numba's cache.
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting at a barrier lose a whole time slice whenever another process
# holds one of the cores (10x slower months on a shared 2-core machine): wait passively instead. Read when
# the OpenMP runtime loads, i.e. at the first parallel kernel call; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# ...but a thread that sleeps at once after each parallel kernel takes about a millisecond to wake for the next one
# (measured: the 200k-resident monthly pass took 3.3 ms on two threads against 1.7 ms on one): GNU OpenMP's
# workers spin for about 0.1 ms (10,000 spins) first, which covers the gaps between one month's kernels and still
# yields the core at once to other processes on a busy machine.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
