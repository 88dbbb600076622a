"""The shipped baseline and route-to-80 reproduce their committed snapshots (tests/snapshots/make.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent / "snapshots"
_spec = importlib.util.spec_from_file_location("snapshots_make", HERE / "make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


@pytest.mark.parametrize("name", sorted(make.CASES))
def test_reproduces_snapshot(name):
    want = pd.read_parquet(HERE / f"{name}.parquet")
    got = make.table(name)
    keys = ["replication", "month", "date", "area", "group", "metric"]
    assert got[keys].equals(want[keys]), f"{name}: the rows (months, areas, groups, metrics) differ"
    a, b = got["value"].to_numpy(), want["value"].to_numpy()
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: missing values differ"
    ok = np.isnan(b) | np.isclose(a, b, rtol=1e-12, atol=0)
    bad = np.flatnonzero(~ok)
    assert not len(bad), (f"{name}: {len(bad)} values differ from the snapshot, e.g. "
                          f"{want.iloc[bad[0]][keys].to_dict()}: {a[bad[0]]!r} vs {b[bad[0]]!r}")
