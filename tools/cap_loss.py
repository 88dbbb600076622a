"""Why a very large package under fixed vacancies displaces more than its gross gain: the cap on a chance into work.

    python tools/cap_loss.py [--seeds 1] [--mults 1.25 5 10] [--scale 0.05] [--months 12]

The set-up of tests/test_matching.py's displacement test: a fifth of residents (the same fifth at every size) get
``mult`` times their chance into work for a year under a fixed flow of new vacancies (``vacancy_response: 0``).
Each month matching sets each home borough's factor ``f`` on moves into work from the expected moves it is given,
the sum over residents not in work of ``w * p_e * mult`` (glw_sim.engine.matching.expected_moves); the month pass
then moves a resident into work with chance ``min(1, p_e * mult * f)`` (glw_sim.engine.month). Where
``p_e * mult * f`` passes 1, the moves matching counted on cannot happen: this prints, summed over the year, the
moves into work the factor expects and those the cap lets happen, and the package's net and gross gains (gross:
its twin at the counterfactual's job factors, as glw_sim.runner.simulate measures it). A development tool: it
reads the engine's per-resident functions and nothing of it runs in a model.
"""

from __future__ import annotations

import argparse

import numba as nb
import numpy as np

from glw_sim.engine.hazards import resident_probabilities
from glw_sim.engine.layout import E
from glw_sim.engine.programmes import with_levers
from glw_sim.model import GLWModel


@nb.njit
def _expected_and_realisable(res, cached, hz, mo, ef, factor):
    want = got = 0.0
    for i in range(len(res.state)):
        if res.state[i] == E:
            continue
        pe, _, _ = resident_probabilities(i, res, cached, hz)
        mult, _, _ = with_levers(i, res.state[i], mo, ef)
        a = pe * mult * factor[res.borough[i]]
        w = np.float64(res.weight[i])
        want += w * a
        got += w * min(a, 1.0)
    return want, got


def one(seed: int, mult: float, scale: float, months: int) -> dict[str, float]:
    kw = dict(scale=scale, seed=seed, labour_demand={"vacancy_response": 0.0}, collect_groups=False,
              cache_population=True)
    base = GLWModel(**kw)
    helped = np.random.default_rng(0).random(len(base.population)) < 0.2
    scen, twin = GLWModel(**kw), GLWModel(follow=base, **kw)
    for m in (scen, twin):
        m.work_multiplier[helped] = mult
    sums = [0.0, 0.0]
    factors = scen.market.job_factors

    def counted(desired, month):  # the month's factors, and what they expect and what the cap allows
        f = factors(desired, month)
        w, g = _expected_and_realisable(scen.res, scen.cached, scen._hazard, scen._month_inputs(False, None, True),
                                        scen._programme_effects(), np.asarray(f, np.float64))
        sums[0] += w
        sums[1] += g
        return f

    scen.market.job_factors = counted
    for _ in range(months):
        scen.step()
        base.step()
        twin.step()
    gross = twin.records[-1]["employed"] - base.records[-1]["employed"]
    net = scen.records[-1]["employed"] - base.records[-1]["employed"]
    return {"seed": seed, "mult": mult, "expected": sums[0], "realisable": sums[1], "lost": sums[0] - sums[1],
            "net": net, "gross": gross, "displaced_share": (gross - net) / gross}


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
            print(f"seed {seed}, x{mult:g}: moves into work the factors expect {r['expected']:,.0f}, the cap lets "
                  f"{r['realisable']:,.0f} happen (lost {r['lost']:,.0f}, {100 * r['lost'] / r['expected']:.1f}%); "
                  f"net {r['net']:+,.0f}, gross {r['gross']:+,.0f}, displaced {100 * r['displaced_share']:.0f}%")


if __name__ == "__main__":
    main()
