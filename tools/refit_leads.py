"""Refit the hazards' age leads (``calibration/fitted/baseline.json``, ``hazard_leads``) with the model's defaults,
leaving the rest of the fitted baseline as it is: the leads are the calibration's last step
(:func:`glw_sim.calibration.fit_hazard_leads`, from the stored leads, on more and larger runs than the first
fit's two at scale 0.05, whose noise, about 0.05 points, is as large as the drift left), and they hold the no-change baseline still
only for the dynamics they were fitted under. Issue 18 made health a monthly process by default; its onset,
recovery and sickness absence move residents between health levels at rates set to keep prevalence, which
shifts each age band's stationary employment a little, so the leads are refitted with it on.

    python tools/refit_leads.py            # prints the drift before and after, writes the leads and the report
    python tools/refit_leads.py --check    # the drift with the stored leads only
"""

from __future__ import annotations

import argparse

import numpy as np

from glw_sim.calibration import baseline_drift, fit_hazard_leads
from glw_sim.fitted import FittedModel, default_fitted_path
from glw_sim.targets import load_targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="measure the stored leads' drift and stop")
    ap.add_argument("--scale", type=float, default=0.1, help="each run's scale (default 0.1)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[11, 12, 13, 14], help="common seeds (default 11-14)")
    args = ap.parse_args()
    kw = dict(scale=args.scale, months=120, seeds=tuple(args.seeds))
    path = default_fitted_path()
    fitted, targets = FittedModel.load(path), load_targets()
    before = baseline_drift(fitted, targets, **kw)
    print(f"stored leads {np.round(fitted.hazard_leads, 3).tolist()}: London {before[0]:+.3f} pp, "
          f"bands {np.round(before[1], 3).tolist()}")
    if args.check:
        return
    leads, drift, bands = fit_hazard_leads(fitted, targets, iterations=6, start=fitted.hazard_leads, **kw)
    print(f"refitted leads {np.round(leads, 3).tolist()}: London {drift:+.3f} pp, bands {np.round(bands, 3).tolist()}")
    fitted.report.update({"hazard_leads": [float(x) for x in leads], "london_drift_pp_after_lead_fit": drift,
                          "band_drift_pp_after_lead_fit": [float(x) for x in bands],
                          "hazard_leads_refit": f"tools/refit_leads.py --scale {args.scale:g} --seeds "
                          f"{' '.join(map(str, args.seeds))}, with the health process on (issue 18)"})
    fitted.save(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
