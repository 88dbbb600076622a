"""A very large package under fixed vacancies and the cap on a chance into work.

    python tools/cap_loss.py [--seeds 1] [--mults 1.25 5 10] [--scale 0.05] [--months 12]

The set-up of tests/test_matching.py's displacement test: a fifth of residents (the same fifth at every size) get
``mult`` times their chance into work for a year under a fixed flow of new vacancies (``vacancy_response: 0``).
Each month matching sets each home borough's factor ``f`` on moves into work from the expected moves it is given,
the sum over residents not in work of ``w * p_e * mult`` (glw_sim.engine.matching.expected_moves), meaning
``f * expected`` moves; the month pass moves a resident into work with chance ``min(1, p_e * mult * f)``
(glw_sim.engine.month). Where ``p_e * mult * f`` passes 1 the moves matching meant cannot all happen, unless the
factor is raised for the others (glw_sim.engine.matching.capped_factors). This prints, summed over the year, the
moves matching meant, those the month pass could make at matching's own factors and at the factors applied, and
the package's net and gross gains (gross: its twin at the counterfactual's job factors, as
glw_sim.runner.simulate measures it).
"""

from __future__ import annotations

import argparse

import numpy as np

from glw_sim.engine import matching
from glw_sim.model import GLWModel


def one(seed: int, mult: float, scale: float, months: int) -> dict[str, float]:
    kw = dict(scale=scale, seed=seed, labour_demand={"vacancy_response": 0.0}, collect_groups=False,
              cache_population=True)
    base = GLWModel(**kw)
    helped = np.random.default_rng(0).random(len(base.population)) < 0.2
    scen, twin = GLWModel(**kw), GLWModel(follow=base, **kw)
    for m in (scen, twin):
        m.work_multiplier[helped] = mult
    sums = np.zeros(3)
    real = matching.capped_factors

    def counted(factor, desired, top, moves_at, **k):  # what the month's factors mean and what the pass can make
        raised = real(factor, desired, top, moves_at, **k)
        sums[:] += [(factor * desired).sum(), moves_at(factor)[0].sum(), moves_at(raised)[0].sum()]
        return raised

    for _ in range(months):
        matching.capped_factors = counted
        try:
            scen.step()
        finally:
            matching.capped_factors = real
        base.step()
        twin.step()
    gross = twin.records[-1]["employed"] - base.records[-1]["employed"]
    net = scen.records[-1]["employed"] - base.records[-1]["employed"]
    return {"seed": seed, "mult": mult, "meant": sums[0], "at_matching": sums[1], "applied": sums[2], "net": net,
            "gross": gross, "displaced_share": (gross - net) / gross}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--mults", type=float, nargs="+", default=[1.25, 5.0, 10.0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--months", type=int, default=12)
    a = ap.parse_args()
    for seed in a.seeds:
        for mult in a.mults:
            r = one(seed, mult, a.scale, a.months)
            short = 100 * (1 - r["at_matching"] / r["meant"])
            print(f"seed {seed}, x{mult:g}: moves into work matching meant {r['meant']:,.0f}; the month pass could "
                  f"make {r['at_matching']:,.0f} at matching's factors ({short:.1f}% short) and "
                  f"{r['applied']:,.0f} at those applied; net {r['net']:+,.0f}, gross {r['gross']:+,.0f}, "
                  f"displaced {100 * r['displaced_share']:.0f}%")


if __name__ == "__main__":
    main()
