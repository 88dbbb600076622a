"""Choose a run's scale and replications to reach a stated precision.

A scenario's ``precision`` block (or ``glw-sim run --precision REL,ABS``) asks that London's net extra
residents in work and each part's contribution (each programme, the integration hubs) be estimated to a 95%
half-width of simulation noise of at most ``max(relative x |figure|, absolute)``: by default +/-10% or +/-300
residents, whichever is larger. The evidence part of an interval is not a matter of precision (no amount of
computing shrinks it) and is reported beside it.

The noise variance of a replication's paired difference falls about as 1 / scale (binomial noise over about
scale x 6.5m residents), so the estimate's variance is about ``c / (scale x replications)``. A pilot at a small
scale, at the evidence's central values (so its spread is noise alone), measures ``c`` for every figure; the run
then takes at least enough replications to carry the evidence
draws as control variates (twice the drawn inputs + 8) and the smallest scale on a fixed grid that reaches the precision
with them, or, at the largest scale allowed, more replications. If the pilot's estimate was optimistic, one
top-up adds replications (same seeds as a larger run would have had) until the precision is met or the limit
is reached, and the record says which. Everything is seeded: the same scenario and seed choose the same run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from glw_sim.draws import drawn_inputs, labels
from glw_sim.results import Results
from glw_sim.runner import draws_table, replicate, replication_seeds
from glw_sim.scenario import Scenario
from glw_sim.uncertainty import t95

#: scales a chosen run may take: a short grid keeps runs comparable with each other
SCALE_GRID = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0)
PILOT_SCALE = 0.02
#: the pilot's replications: at the evidence's central values, so their spread is simulation noise alone
PILOT_REPLICATIONS = 4
#: key of the pilot's seeds (apart from the run's own replications)
PILOT_KEY = 0x70696C6F  # "pilo"


@dataclass
class Choice:
    scenario: object  # the scenario with its chosen scale and replications
    pilot_scale: float
    pilot_replications: int
    pilot_seconds: float
    needed: dict[str, dict] = field(default_factory=dict)  # figure -> its estimate, target half-width, scale x reps
    achieved: dict[str, dict] = field(default_factory=dict)
    met: bool | None = None
    run_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def record(self) -> dict:
        sc = self.scenario
        return {"relative": sc.precision.relative, "absolute": sc.precision.absolute,
                "chosen_scale": sc.population.scale, "chosen_replications": sc.replications,
                "pilot": {"scale": self.pilot_scale, "replications": self.pilot_replications,
                          "seconds": round(self.pilot_seconds, 1)},
                "needed": self.needed, "achieved": self.achieved, "met": self.met,
                "seconds": round(time.perf_counter() - self.started, 1)}


def target_half_width(estimate: float, precision) -> float:
    return max(precision.relative * abs(estimate), precision.absolute)


def _results(scenario, parts: list[pd.DataFrame], drawn: list):
    ts = pd.concat(parts, ignore_index=True)
    return Results(Path("."), ts, None, {"scenario": scenario.model_dump(mode="json")},
                   draws_table(drawn, labels(scenario)))


def _with(scenario, scale: float, replications: int, evidence: str | None = None):
    data = scenario.model_dump(mode="json")
    data["population"]["scale"] = scale
    data["replications"] = replications
    if evidence is not None:
        data["uncertainty"]["evidence"] = evidence
    return Scenario.model_validate(data)


def min_replications(scenario) -> int:
    """Replications a run with evidence draws needs: two per drawn input plus 8, so the regression that
    separates the inputs' effects from noise has at least p + 7 residual degrees of freedom (with p + 6, two
    runs of one package at different seeds estimated a programme's evidence part at 70 and 345 residents)."""
    p = len(drawn_inputs(scenario))
    return 2 * p + 8 if p else 8


def choose(scenario, *, workers: int | None = None, progress: Callable[[], None] | None = None,
           report: Callable[[str, int | None], None] | None = None) -> Choice:
    """Run the pilot and choose the scale and replications (see the module docstring)."""
    spec = scenario.precision
    r_min = min(max(min_replications(scenario), PILOT_REPLICATIONS), spec.max_replications)
    pilot_scale = min(PILOT_SCALE, spec.max_scale)
    pilot = _with(scenario, pilot_scale, PILOT_REPLICATIONS, evidence="off")
    say = report or (lambda msg, total=None: None)
    say(f"precision: a pilot of {PILOT_REPLICATIONS} replications at scale {pilot_scale:g} measures the noise",
        PILOT_REPLICATIONS * scenario.horizon.months)
    t0 = time.perf_counter()
    seeds = replication_seeds(int(np.random.SeedSequence([scenario.population.seed, PILOT_KEY]).generate_state(1)[0]),
                              PILOT_REPLICATIONS)
    parts, drawn = replicate(pilot, seeds, progress=progress, workers=workers)
    pilot_seconds = time.perf_counter() - t0
    res = _results(pilot, parts, drawn)
    need = 0.0
    needed = {}
    for name, f in res.figures().items():  # net extra in work and each part's contribution
        if not np.isfinite(f.noise_se) or f.noise_df <= 0:
            continue
        t = t95(max(r_min - 1 - len(drawn_inputs(scenario)), 1))  # at the run's residual df, as its intervals
        sd_rep = f.noise_se * math.sqrt(f.replications)  # one replication's noise at the pilot's scale
        h = target_half_width(f.estimate, spec)
        k = (t * sd_rep / h) ** 2 * pilot_scale  # scale x replications needed
        needed[name] = {"pilot_estimate": round(f.estimate, 1), "target_half_width": round(h, 1),
                        "scale_x_replications": round(k, 4)}
        need = max(need, k)
    scale = next((s for s in SCALE_GRID if s <= spec.max_scale and s * r_min >= need), None)
    if scale is None:
        scale = max([s for s in SCALE_GRID if s <= spec.max_scale] or [spec.max_scale])
    reps = int(min(max(r_min, math.ceil(need / scale - 1e-9)), spec.max_replications))
    chosen = _with(scenario, scale, reps)
    say(f"precision: chose scale {scale:g} and {reps} replications (pilot took {pilot_seconds:.0f} s)",
        reps * scenario.horizon.months)
    return Choice(chosen, pilot_scale, PILOT_REPLICATIONS, pilot_seconds, needed)


def check(choice: Choice, res) -> tuple[bool, int]:
    """Whether ``res`` meets the precision, and the replications it would need at its scale."""
    spec = choice.scenario.precision
    ok, need = True, 0
    choice.achieved = {}
    for name, f in res.figures().items():  # net extra in work and each part's contribution
        h = target_half_width(f.estimate, spec)
        hw = f.noise_half_width
        choice.achieved[name] = {"estimate": round(f.estimate, 1), "noise_half_width": round(hw, 1),
                                 "target_half_width": round(h, 1), "met": bool(np.isfinite(hw) and hw <= h)}
        if not (np.isfinite(hw) and hw <= h):
            ok = False
            n = f.replications
            need = max(need, math.ceil(n * (hw / h) ** 2) if np.isfinite(hw) else 2 * n)
    return ok, need


def top_up(choice: Choice, scenario, seeds, parts, drawn, *, workers=None, progress=None, report=None):
    """After the chosen run: add replications once if the precision is not met (up to the limit)."""
    say = report or (lambda msg, total=None: None)
    ok, need = check(choice, _results(scenario, parts, drawn))
    limit = scenario.precision.max_replications
    if not ok and len(seeds) < limit:
        more = min(max(need, len(seeds) + 1), limit)
        all_seeds = replication_seeds(scenario.population.seed, more)
        say(f"precision: not met with {len(seeds)} replications; adding {more - len(seeds)}",
            (more - len(seeds)) * scenario.horizon.months)
        extra, extra_drawn = replicate(scenario, all_seeds[len(seeds):], first=len(seeds), progress=progress,
                                       workers=workers)
        parts, drawn, seeds = parts + extra, drawn + extra_drawn, all_seeds
        scenario = _with(scenario, scenario.population.scale, more)
        choice.scenario = scenario
        ok, _ = check(choice, _results(scenario, parts, drawn))
    choice.met = ok
    if not ok:
        say(f"precision: not met within {limit} replications at scale {scenario.population.scale:g} (the report "
            "says which figures fall short)", None)
    return scenario, seeds, parts, drawn
