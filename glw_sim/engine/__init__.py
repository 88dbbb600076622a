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

**The compiled cache follows the whole engine.** Numba checks only a cached function's own file, not the files of
the functions it calls: after an edit of ``tallies.count_one``, ``month.month_pass`` would load its old compiled
code (with the old rule) from the cache. So the engine's kernels are cached in a folder named after a hash of all
its sources and numba's version (``$XDG_CACHE_HOME/glw-sim/numba/<hash>``; a ``NUMBA_CACHE_DIR`` set by the user
wins): any change to any engine module compiles everything afresh.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

# OpenMP threads that spin while waiting at a barrier lose a whole time slice whenever another process
# holds one of the cores (10x slower months on a shared 2-core machine): wait passively instead. Read when
# the OpenMP runtime loads, i.e. at the first parallel kernel call; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# ...but a thread that sleeps at once after each parallel kernel takes about a millisecond to wake for the next one
# (measured: the 200k-resident monthly pass took 3.3 ms on two threads against 1.7 ms on one): GNU OpenMP's
# workers spin for about 0.1 ms (10,000 spins) first, which covers the gaps between one month's kernels and still
# yields the core at once to other processes on a busy machine.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")


def source_hash() -> str:
    """A hash of what the compiled code is made from: numba's version, the engine's sources, and the population
    and states modules its records and layout are built from (the first-run note of ``glw-sim run`` uses it too)."""
    import numba

    from glw_sim import population, states

    h = hashlib.sha256(numba.__version__.encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    for mod in (population, states):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()[:16]


def _cache_dir() -> str | None:
    """The compiled cache's folder for these sources (None: numba's own default, if the folder cannot be made)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glw-sim" / "numba"
    folder = root / source_hash()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return None
    return str(folder)


def _use_cache_dir() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = _cache_dir()
    if folder is not None:
        import numba.core.config

        numba.core.config.CACHE_DIR = folder


_use_cache_dir()


def _allow_noalias() -> None:
    """Let a compiled function declare its arrays distinct: ``@nb.njit(_noalias=True)`` sets numba's own ``noalias``
    flag (LLVM's ``noalias`` on every pointer argument), which numba sets itself on the body of a parallel loop
    that it finds free of aliases, but offers no decorator option for.

    Without it, a write to one array may change any other as far as the compiler knows, so it reloads what it read
    before (the month's chunk function ran 10 to 15% slower than the same code as a parallel loop's body, measured
    on the same data in one process). A function compiled with it must not write to memory that another of its
    arguments also reaches (``tests/test_month_passes.py`` checks this for the month pass)."""
    from numba.core.cpu import CPUTargetOptions
    from numba.core.options import TargetOptions

    if not hasattr(CPUTargetOptions, "_noalias"):
        CPUTargetOptions._noalias = TargetOptions.Mapping("noalias")


_allow_noalias()
