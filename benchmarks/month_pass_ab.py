"""The month pass against the old engine's, on the same residents in one process: ``python
benchmarks/month_pass_ab.py OLD_CHECKOUT [SCALE] [ROUNDS]`` (OLD_CHECKOUT: a checkout of 5c2ab82 or earlier, whose
``glw_sim/kernels.py`` holds the old fused ``month_transitions``).

Builds this checkout's model, runs two months, then alternately times this engine's ``month.month_pass`` and the old
``kernels.month_transitions`` from the same state (restored before each call), ``ROUNDS`` times each, in CPU time
of one thread (``NUMBA_NUM_THREADS=1`` is set here), and checks that both give the same tally and the same states.
Alternating in one process on one copy of the data takes the machine's drift and the data's layout out of the
comparison, which separate processes on a busy machine cannot: it resolves a few per cent.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from glw_sim.engine import keyed, month  # noqa: E402
from glw_sim.model import GLWModel  # noqa: E402


def main() -> None:
    old_dir, scale = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.3
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    # a copy under a name of its own, imported the ordinary way (numba's cache finds a module by its name)
    copy = Path(tempfile.gettempdir()) / "glw_sim_old_engine"
    copy.mkdir(exist_ok=True)
    src = (Path(old_dir) / "glw_sim" / "kernels.py").read_bytes()
    if not (copy / "old_kernels.py").exists() or (copy / "old_kernels.py").read_bytes() != src:
        (copy / "old_kernels.py").write_bytes(src)
    sys.path.insert(0, str(copy))
    old_k = importlib.import_module("old_kernels")
    m = GLWModel(scale=scale, seed=1, collect_boroughs=False)
    m.run(2)
    res, c, hz, rs, jf = m.res, m.cached, m._hazard, m._reasons, np.ones(33)

    def new():
        return month.month_pass(m._month_inputs(True, jf), keyed.TRANSITIONS, res, c, hz, rs, m._r_feats,
                                m._programme_effects(), m._ring, m._listing)

    def old():
        mo = m._month_inputs(True, jf)
        return old_k.month_transitions(
            True, mo.key_seed, mo.month, keyed.TRANSITIONS, res.state, res.reason, res.months_in_state, res.borough,
            c.group, res.in_education, res.wants_job, res.weight, c.pi_e, c.pi_u, c.z, hz.k_eu, hz.k_ei, hz.k_ui,
            hz.cycle, hz.hbar, hz.h0, hz.profile, hz.edges, hz.exit_mult, np.ones(0), False,
            tuple(m._programme_effects())[:13], False, jf, rs.tables, rs.intercept, m._r_feats, rs.codes, rs.exit_mult,
            rs.wants_job_prob, rs.switch_rate, m._ring, m._listing.residents, m._listing.count, True)

    cols = ("state", "reason", "months_in_state", "wants_job")
    snap, ring = {k: getattr(res, k).copy() for k in cols}, m._ring.copy()

    def restore():
        for k in cols:
            getattr(res, k)[:] = snap[k]
        m._ring[:] = ring

    restore()
    a, sa = new(), res.state.copy()
    restore()
    b, sb = old(), res.state.copy()
    print(f"same tally: {np.array_equal(a, b)}, same states: {np.array_equal(sa, sb)}")
    times = {"this engine": [], "old engine": []}
    for _ in range(rounds):
        for name, f in (("this engine", new), ("old engine", old)):
            restore()
            t = time.process_time()
            f()
            times[name].append(time.process_time() - t)
    for name, v in times.items():
        print(f"{name}: median {np.median(v):.4f} s, 10th percentile {np.quantile(v, 0.1):.4f} s, least {min(v):.4f} s")
    q = [np.quantile(v, 0.1) for v in times.values()]
    print(f"this engine / old engine (10th percentiles): {q[0] / q[1]:.3f}")


if __name__ == "__main__":
    main()
