"""`glw-sim validation`: the report's rows, its files, and the checks that hold at any scale."""

from __future__ import annotations

import pandas as pd

from glw_sim.validation import run_validation


def test_validation_report_small(tmp_path):
    folder, df = run_validation(tmp_path, scale=0.004, replications=2, months=12, seed=5, hindcast_scale=0.004,
                                hindcast_replications=2)
    csv = pd.read_csv(folder / "validation.csv")
    html = (folder / "validation.html").read_text()
    assert {"check", "published", "low", "high", "model", "model_low", "model_high", "within", "source",
            "fitted"} <= set(csv.columns)
    assert len(csv) == len(df) > 80
    assert csv["fitted"].any() and (~csv["fitted"]).any()  # targets and checks the model was not fitted to
    by = csv.set_index("check")
    # month 0 is exact at any scale: London's rate and the gap to 80% are re-centred on the drawn population
    assert by.loc["London employment rate 16-64, month 0", "within"]
    assert abs(by.loc["Gap to 80% (residents), month 0", "model"] - 327_000) < 500
    # every borough's month-0 rate is its estimate (exact in expectation) and inside its interval
    boroughs = csv[csv["check"].str.startswith("Employment rate, ") & (csv["kind"] == "target")]
    assert len(boroughs) == 33 and boroughs["within"].all()
    # the estimator beats the last single year in its backtest (shipped table)
    bt = csv[csv["kind"] == "backtest"]
    assert len(bt) == 4 and bt["within"].all() and (bt["model"] < 1).all()
    # every flow of the shipped fit is within 10% of the London rule
    assert csv[csv["check"].str.startswith("Flow ")]["within"].all()
    hc = csv[csv["kind"] == "hindcast"]  # the published points after the anchor; the last is fitted
    assert len(hc) == 2 and list(hc["fitted"]) == [False, True] and "Hindcast from 2020" in html
    # the second target's month 0 against HBAI (not fitted; reported as it falls: the model misses both)
    inc = csv[csv["kind"] == "income"].set_index("check")
    assert len(inc) == 2 and not inc["fitted"].any()
    assert set(inc["published"]) == {22.0, 51.0} and inc["model"].between(1, 99).all()
    assert "against HBAI" in html
    n_within = int(csv["within"].sum())
    assert f"{n_within} of {len(csv)} checks within" in html
    assert "not fitted" in html and "simulation noise" in html
