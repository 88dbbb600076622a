"""Month 0 of the second target against HBAI's London figures (issue 21, item 4): rows for the validation report.

Each replication's month-0 residents are rebuilt with pay, hours and households on (``GLWModel(income=True)``
with the baseline's scale and seed: the same residents, since income changes no labour-market result), and
their benefit units' equivalised income after housing costs (:func:`glw_sim.incomemetric.equivalised_ahc`) gives:

* **working-age poverty after housing costs**: the weighted share of residents below 60% of the residents' own
  weighted median. HBAI's line is 60% of the *UK* median of *all* individuals (children and pensioners too),
  which the model has neither of, so this is a proxy line (the two lines differ by an amount not known here, so
  part of any miss may be the line's);
* **the share of residents in poverty who are in work** (HBAI: of Londoners aged 16 and over in poverty after
  housing costs, 51% employed; the model's residents are 16-64).

Published: London working-age poverty after housing costs about 22% (GLA, "In-work poverty in London", from HBAI
2020/21-2022/23), band +-3 points (a three-year average, "about"); 51% of adults in poverty employed (Trust for
London from HBAI 2022/23), band +-5 points. Neither is fitted (README, "Pay, hours and income": 'other' households pool their adults' incomes
under an assumed make-up; council tax and mortgage interest, which HBAI deducts, are not in the model).
"""

from __future__ import annotations

import numpy as np

SOURCE_POVERTY = ("GLA, 'In-work poverty in London 1996-2023' (HBAI 2020/21-2022/23): working-age poverty after "
                  "housing costs about 22%; band +-3 pp. The model's line is 60% of its own working-age residents' "
                  "median (HBAI's: 60% of the UK median of all individuals, which the model has not): a proxy")
SOURCE_IN_WORK = ("Trust for London from HBAI 2022/23: of Londoners 16+ in poverty after housing costs, 51% "
                  "employed, 44% inactive, 5% unemployed; band +-5 pp. Model: residents 16-64 in a job, below its "
                  "proxy line")


def poverty(pay_run, when) -> tuple[float, float]:
    """(share of residents below 60% of the weighted median equivalised income after housing costs, share of those
    in work) in month ``when``."""
    from glw_sim import incomemetric as M

    eq = M.equivalised_ahc(pay_run, when, pay_run.assumptions)
    w = pay_run.population.weight.astype(np.float64)
    poor = eq < 0.6 * M.weighted_median(eq, w)
    return float(w[poor].sum() / w.sum()), float(np.average(pay_run.jobs.held[poor], weights=w[poor]))


def month0(scale: float, seed: int) -> tuple[float, float]:
    """:func:`poverty` at month 0 of the baseline of ``scale`` and ``seed``, rebuilt with income on."""
    from glw_sim.model import GLWModel

    m = GLWModel(scale=scale, seed=seed, income=True, collect_groups=False, collect_boroughs=False)
    return poverty(m.pay, m.current_month)


def checks(models: list, mean_ci) -> list[tuple]:
    """The validation report's rows (``add``'s arguments, kind ``income``) from the baseline ``models``' scales
    and seeds; ``mean_ci``: the report's mean and 95% interval over replications."""
    vals = np.array([month0(m.scale, m._seed) for m in models])
    return [("Working-age residents below 60% of the median income after housing costs (proxy line), month 0",
             "income", 22.0, 19.0, 25.0, tuple(100 * x for x in mean_ci(vals[:, 0])), "%", SOURCE_POVERTY, False),
            ("Residents in poverty after housing costs who are in work, month 0", "income", 51.0, 46.0, 56.0,
             tuple(100 * x for x in mean_ci(vals[:, 1])), "%", SOURCE_IN_WORK, False)]
