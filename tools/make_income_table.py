"""Make the weekly household net income after housing costs table: ``python tools/make_income_table.py``.

Development time only (a run reads the committed table, ``calibration/income/net_income_ahc.parquet``). Writes one
row per policy year x benefit unit x tenure and rental area x gross weekly earnings of the first adult x of the
partner (couples), with Universal Credit, net income before and after housing costs, from either engine:

* ``--engine glw`` (the default): the in-repository calculator, :mod:`glw_sim.income` (its rules and sources:
  ``calibration/income/rules.csv``);
* ``--engine policyengine``: PolicyEngine UK as a household calculator (AGPL-3.0: not a dependency of the
  package; install it apart, ``pip install .[incometable]`` in a separate environment, and run this script there
  with the repository on ``PYTHONPATH``).

``--check`` asks PolicyEngine UK for the hand-chosen households of :data:`CHECKS` and writes what it says beside
the in-repository calculator's figures (``calibration/income/policyengine_check.csv``), which the tests compare.

The committed table was made with ``--engine glw`` (see calibration/SOURCES.md, "Net income after housing costs":
PolicyEngine UK ran for the check households only).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glw_sim import income as I  # noqa: E402  (pure numpy and pandas: runs where PolicyEngine UK is installed)

YEARS = (2024, 2025, 2026)
#: benefit units: (name, couple, children, adult age, LHA category)
UNITS = (("single_under_25", False, 0, 22, 0), ("single_25_34", False, 0, 30, 0), ("single_35_plus", False, 0, 40, 1),
         ("other_under_25", False, 0, 22, 0), ("other_25_plus", False, 0, 40, 0),
         ("lone_parent_1", False, 1, 30, 2), ("lone_parent_2", False, 2, 30, 2), ("lone_parent_3", False, 3, 30, 3),
         ("couple", True, 0, 30, 1), ("couple_1", True, 1, 30, 2), ("couple_2", True, 2, 30, 2),
         ("couple_3", True, 3, 30, 3))
#: 'other' units are a resident living with adults who are not a partner (parents, sharers): their own benefit
#: unit; sharers renting privately pay the shared-room LHA, the rest no housing costs of their own (ASSUMPTION);
#: the household's other adults are the table's couple or single adult 35+ rows, pooled at run time
#: (glw_sim.incomemetric.OTHER_PARENTS_BELOW)
#: tenure and rental area: private renters in each of the 14 BRMAs, then social renters, then owners
N_AREAS = 16
SOCIAL_AREA, OWNER_AREA = 14, 15
EARN1 = np.concatenate([np.arange(0, 1001, 25), np.arange(1100, 2001, 100)]).astype(np.float64)
EARN2 = np.concatenate([np.arange(0, 1001, 100), [1500, 2000]]).astype(np.float64)
TABLE = I.income_dir() / "net_income_ahc.parquet"
CHECK = I.income_dir() / "policyengine_check.csv"
PE_TENURE = {0: "RENT_FROM_COUNCIL", 1: "RENT_PRIVATELY", 2: "OWNED_OUTRIGHT"}


def grid() -> pd.DataFrame:
    """Every row of the table (its keys and the unit's inputs)."""
    lha_week = I.lha_monthly() * I.WEEKS_PER_MONTH
    rows = []
    for year in YEARS:
        for u, (_, couple, children, age, cat) in enumerate(UNITS):
            for area in range(N_AREAS):
                tenure = 1 if area < 14 else (0 if area == SOCIAL_AREA else 2)
                rent = lha_week[area, cat] if tenure == 1 else (I.SOCIAL_RENT_WEEK[cat] if tenure == 0 else 0.0)
                if UNITS[u][0].startswith("other") and tenure != 1:
                    # living in another adult's social or owned home: no housing costs of their own (ASSUMPTION;
                    # as tenure 0 with no rent, so no UC housing element either)
                    tenure, rent = 0, 0.0
                lha = lha_week[area, cat] if tenure == 1 else 0.0
                e2 = EARN2 if couple else np.zeros(1)
                e1g, e2g = np.meshgrid(EARN1, e2, indexing="ij")
                rows.append(pd.DataFrame({"year": year, "unit": u, "area": area, "earn1": e1g.ravel(),
                                          "earn2": e2g.ravel(), "couple": couple, "children": children, "age": age,
                                          "tenure": tenure, "rent_week": rent, "lha_week": lha}))
    return pd.concat(rows, ignore_index=True)


def glw_engine(df: pd.DataFrame) -> pd.DataFrame:
    out = []
    for year, part in df.groupby("year", sort=True):
        u = I.Units(part.couple.to_numpy(), part.children.to_numpy(), part.age.to_numpy(), part.tenure.to_numpy(),
                    part.rent_week.to_numpy(), part.lha_week.to_numpy(), part.earn1.to_numpy(), part.earn2.to_numpy())
        r = I.net_income(u, int(year))
        out.append(pd.DataFrame({k: r[k] for k in ("uc", "net_bhc", "housing_cost", "net_ahc")}, index=part.index))
    return pd.concat(out).loc[df.index]


def policyengine_engine(df: pd.DataFrame, batch: int = 500) -> pd.DataFrame:
    """The same households through PolicyEngine UK (weekly figures: its yearly amounts / 52). Council tax is set to
    zero and children are 3, 5 and 7 (all under 14, born after April 2017), as the in-repository calculator assumes."""
    from policyengine_uk import Simulation

    brma_names = I.brmas()
    out = []
    for year, part in df.groupby("year", sort=True):
        y = str(int(year))
        for lo in range(0, len(part), batch):
            chunk = part.iloc[lo:lo + batch]
            people, benunits, hh = {}, {}, {}
            for j, r in enumerate(chunk.itertuples()):
                members = [f"a{j}"]
                people[f"a{j}"] = {"age": {y: int(r.age)}, "employment_income": {y: float(r.earn1) * 52}}
                if r.couple:
                    members.append(f"p{j}")
                    people[f"p{j}"] = {"age": {y: int(r.age)}, "employment_income": {y: float(r.earn2) * 52}}
                for c in range(int(r.children)):
                    members.append(f"c{j}_{c}")
                    people[f"c{j}_{c}"] = {"age": {y: 3 + 2 * c}}
                benunits[f"b{j}"] = {"members": members}
                area = int(r.area) if r.tenure == 1 else 0
                hh[f"h{j}"] = {"members": members, "rent": {y: float(r.rent_week) * 52},
                               "tenure_type": {y: PE_TENURE[int(r.tenure)]}, "region": {y: "LONDON"},
                               "brma": {y: brma_names[area]}, "council_tax": {y: 0.0}}
            sim = Simulation(situation={"people": people, "benunits": benunits, "households": hh})
            res = {"uc": sim.calculate("universal_credit", int(year)) / 52,
                   "net_bhc": sim.calculate("hbai_household_net_income", int(year)) / 52,
                   "net_ahc": sim.calculate("hbai_household_net_income_ahc", int(year)) / 52}
            res["housing_cost"] = res["net_bhc"] - res["net_ahc"]
            out.append(pd.DataFrame({k: np.asarray(v, float) for k, v in res.items()}, index=chunk.index))
    return pd.concat(out).loc[df.index]


#: hand-chosen households for the PolicyEngine UK check: (year, unit, area, earn1, earn2); areas 8 = Outer North
#: East London, 0 = Central London, 11 = Outer South London, 14 = social rent, 15 = owner
NLW = {2024: 11.44, 2025: 12.21, 2026: 12.71}
CHECKS = [(y, u, a, e1, e2) for y in (2024, 2026) for (u, a, e1, e2) in (
    (2, 8, 0.0, 0.0), (2, 8, 35 * NLW[y], 0.0), (2, 8, 35 * 14.80, 0.0), (1, 0, 16 * NLW[y], 0.0),
    (6, 8, 0.0, 0.0), (6, 8, 16 * NLW[y], 0.0), (6, 8, 35 * NLW[y], 0.0), (7, 11, 0.0, 0.0),
    (10, 8, 35 * NLW[y], 0.0), (10, 14, 35 * NLW[y], 16 * NLW[y]), (8, 15, 600.0, 300.0), (5, 14, 250.0, 0.0))]


def check_frame() -> pd.DataFrame:
    g = grid()
    rows = []
    for y, u, a, e1, e2 in CHECKS:
        base = g[(g.year == y) & (g.unit == u) & (g.area == a) & (g.earn1 == 0) & (g.earn2 == 0)].iloc[0].copy()
        base["earn1"], base["earn2"] = e1, e2
        rows.append(base)
    return pd.DataFrame(rows).reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("glw", "policyengine"), default="glw")
    ap.add_argument("--check", action="store_true", help="write the PolicyEngine UK check households")
    args = ap.parse_args()
    t = time.time()
    if args.check:
        df = check_frame()
        ours, pe = glw_engine(df), policyengine_engine(df)
        out = df[["year", "unit", "area", "earn1", "earn2"]].copy()
        out.insert(2, "unit_name", [UNITS[u][0] for u in df.unit])
        for k in ("uc", "net_bhc", "net_ahc"):
            out[f"{k}_glw"], out[f"{k}_policyengine"] = ours[k].round(2), pe[k].round(2)
        import importlib.metadata as md

        out["policyengine_uk"] = md.version("policyengine-uk")
        out.to_csv(CHECK, index=False)
        print(out.to_string(), f"\n{CHECK} ({time.time() - t:.0f} s)")
        return
    df = grid()
    res = glw_engine(df) if args.engine == "glw" else policyengine_engine(df)
    table = df[["year", "unit", "area", "earn1", "earn2"]].astype({"year": np.int16, "unit": np.int8,
                                                                   "area": np.int8})
    for k in ("uc", "net_bhc", "housing_cost", "net_ahc"):
        table[k] = res[k].astype(np.float32)
    table.attrs["engine"] = args.engine
    table.to_parquet(TABLE, index=False, compression="zstd")
    print(f"{TABLE}: {len(table)} rows ({args.engine}, {time.time() - t:.1f} s)")


if __name__ == "__main__":
    main()
