"""The second target as an output (glw_sim.incomemetric; issue 21, step 4): the table's lookup, and a scenario
moving about 10,000 lone parents in private rent into 16-hour jobs, whose effect on the lowest fifth's median
is derived here from the table's own rows. About 20 s."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glw_sim import households as H
from glw_sim import income as I
from glw_sim import incomemetric as M
from glw_sim.model import GLWModel
from glw_sim.states import LabourState

TABLE = pd.read_parquet(I.income_dir() / "net_income_ahc.parquet")


def test_lookup_is_the_table_on_the_grid_and_linear_between():
    tab = M.load_table()
    rows = TABLE.sample(200, random_state=1)
    got = np.array([tab.lookup(int(r.year), np.array([int(r.unit)]), np.array([int(r.area)]),
                               np.array([r.earn1]), np.array([r.earn2]))[0] for r in rows.itertuples()])
    np.testing.assert_allclose(got, rows.net_ahc.to_numpy(), atol=1e-3)
    u, a = np.array([6]), np.array([8])
    lo, hi, mid = (tab.lookup(2026, u, a, np.array([e]), np.array([0.0]))[0] for e in (200.0, 225.0, 212.5))
    assert mid == pytest.approx((lo + hi) / 2, abs=1e-3)
    # years outside the table: its nearest year (rules after the last published year are held)
    assert tab.lookup(2031, u, a, np.array([200.0]), np.array([0.0]))[0] == pytest.approx(lo)


def test_policy_year_and_deflator():
    assert M.policy_year(date(2025, 3, 1)) == 2024 and M.policy_year(date(2025, 4, 1)) == 2025
    assert M.deflator(2024, None) == 1.0 and M.deflator(2030, None) == pytest.approx(1.03 ** 6)


def weighted_bottom_fifth(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """The lowest fifth's (median, mean), written out separately from glw_sim.incomemetric.bottom_fifth (pandas)."""
    df = pd.DataFrame({"v": values, "w": weights.astype(float)}).sort_values("v", kind="stable")
    df["share"] = df.w.cumsum() / df.w.sum()
    fifth = df.iloc[: int((df.share < 0.2).sum()) + 1]
    within = fifth.w.cumsum() / fifth.w.sum()
    return float(fifth.v.iloc[int((within < 0.5).sum())]), float(np.average(fifth.v, weights=fifth.w))


def test_the_lowest_bins_are_the_whole_distributions_below_the_fifth():
    """_lowest_binned (a coarse pass, then the fine bins only up to a coarse bin past the fifth) against _binned
    (every fine bin) on a skewed, weighted, million-value sample: the same fine bins where the fifth lies (to the
    last bits: summed by chunk), the same
    median and mean of the fifth (to the last bits of the total's sum), and the fifth's share in work the same as
    the residents' own mask (its boundary bin whole)."""
    rng = np.random.default_rng(8)
    v = np.concatenate([rng.lognormal(6.3, 0.6, 1_000_000) - 150, np.full(1000, -7.29), [2666.0]])
    w = rng.uniform(0.5, 2.0, len(v)).astype(np.float32)
    held = rng.random(len(v)) < 1 / (1 + np.exp(-(v - 300) / 100))
    wb, vb = M._binned(v, w, 0.01)
    lw, lv, lh, total = M._lowest_binned(v, w, 0.01, 0.2, held)
    assert len(lw) < len(wb) / 3
    np.testing.assert_allclose(lw, wb[:len(lw)], rtol=1e-12)  # (sums by chunk: equal to the last bits)
    np.testing.assert_allclose(lv, vb[:len(lv)], rtol=1e-12)
    assert total == pytest.approx(wb.sum(), rel=1e-12)
    np.testing.assert_allclose(M._fifth(lw, lv, 0.2, total)[:2], M._fifth(wb, vb, 0.2)[:2], rtol=1e-12)
    j = M._fifth(lw, lv, 0.2, total)[2]
    low = v < np.floor(v.min() / 0.01) * 0.01 + (j + 1) * 0.01
    assert lh[:j + 1].sum() / lw[:j + 1].sum() == pytest.approx(np.average(held[low], weights=w[low]), rel=1e-9)
    np.testing.assert_allclose(M.bottom_fifth(v, w), weighted_bottom_fifth(v, w), atol=0.01)


def test_the_coarse_pass_bins_as_numpy_does(income_model):
    """The lowest fifth's coarse pass (:func:`_coarse_pass`, by chunks): its least and greatest are numpy's, its
    weights numpy's bincount of the same bins (10 GBP from -5,000, the ends holding any beyond, a NaN the last),
    over a year's incomes."""
    pr, pop = income_model.pay, income_model.population
    eq = M.equivalised_ahc(pr, date(2026, 6, 1))
    least, most, wc = M._coarse_pass(eq, pop.weight)
    assert least == eq.min() and most == eq.max()
    k = np.clip(np.floor((eq - M.COARSE_FROM) / M.COARSE_WIDTH), 0, M.N_COARSE - 1).astype(int)
    np.testing.assert_allclose(wc, np.bincount(k, weights=pop.weight.astype(float), minlength=M.N_COARSE),
                               rtol=1e-12, atol=1e-9)
    v = np.array([-1e9, -5000.0, -4990.0, 24990.0, 1e300, np.nan])
    assert np.array_equal(np.flatnonzero(M._coarse_pass(v, np.ones(6, np.float32))[2]), [0, 1, M.N_COARSE - 1])


def test_lone_parents_into_16_hour_jobs_raise_the_bottom_fifth_by_what_the_table_says(fitted):
    """About 10,000 lone parents in private rent, out of work, take 16-hour jobs paying 200 GBP a week in 2025-26
    (a grid point of the table): each one's income becomes the table's row for their unit and rental area, and the
    lowest fifth's median and mean are those recomputed from the rows (other residents change only through
    partners' and 'other' households' adults' work, which follows the model's rates). Both rise: the movers below
    the fifth's middle leave the fifth, and the middle moves up by what the re-ranked incomes say."""
    m = GLWModel(scale=0.02, seed=7, fitted=fitted, income=True, collect_groups=False)
    pr, pop, hh = m.pay, m.population, m.pay.households
    when = date(2025, 6, 1)
    before = M.equivalised_ahc(pr, when)
    pool = np.flatnonzero((hh.type == H.LONE_PARENT) & (hh.tenure == H.PRIVATE) & (pop.state != LabourState.EMPLOYED))
    cw = np.cumsum(pop.weight[pool].astype(np.float64))
    movers = pool[: int(np.searchsorted(cw, 10_000)) + 1]
    assert 9_000 < pop.weight[movers].sum() < 11_000
    growth = 1 + M.P.value("pay_growth_per_year")
    pop.state[movers] = LabourState.EMPLOYED
    pr.jobs.held[movers], pr.jobs.hours[movers] = True, 16.0
    pr.jobs.hourly[movers] = 200.0 / 16 / growth  # 200 a week in 2025-26 pounds
    after = M.equivalised_ahc(pr, when)
    unit, area = M.unit_and_area(hh, pop.age)
    rows = TABLE[(TABLE.year == 2025) & (TABLE.earn1 == 200.0) & (TABLE.earn2 == 0.0)].set_index(["unit", "area"])
    scale = I.AHC_SCALE[0] + I.AHC_SCALE[2] * M.UNIT_CHILDREN[unit[movers]]
    expected_movers = rows.net_ahc.loc[list(zip(unit[movers], area[movers]))].to_numpy() / scale
    np.testing.assert_allclose(after[movers], expected_movers, atol=0.05)  # float32 pay: within 5p
    # everyone else changes only through partners and an 'other' household's adults, whose work follows the
    # model's rates (those rose a little)
    others = np.ones(len(pop), bool)
    others[movers] = False
    changed = others & (after != before)
    assert (hh.couple | (hh.type == H.OTHER))[changed].all() and changed.sum() < 0.02 * len(pop)
    derived = np.where(others, after, 0.0)
    derived[movers] = expected_movers
    want = np.subtract(weighted_bottom_fifth(derived, pop.weight), weighted_bottom_fifth(before, pop.weight))
    got = np.subtract(M.bottom_fifth(after, pop.weight), M.bottom_fifth(before, pop.weight))
    # the mean to 5p (float32 pay); the median to the incomes' spacing at the fifth's middle (the penny bins'
    # middle and the sorted residents' middle can be a resident apart: about 50 of the fifth's 1.3m weight)
    np.testing.assert_allclose(got[1], want[1], atol=0.05)
    tol = 0.01 + _spacing_at_the_fifths_middle(before, pop.weight) + _spacing_at_the_fifths_middle(derived, pop.weight)
    assert tol < 0.5 and abs(got[0] - want[0]) <= tol
    assert got[1] > 0.1 and want[0] > 1.0  # GBP a week per resident of the fifth


def _spacing_at_the_fifths_middle(values: np.ndarray, weights: np.ndarray, k: int = 3) -> float:
    """The largest gap between the sorted incomes within ``k`` residents of the lowest fifth's weighted middle."""
    order = np.argsort(values, kind="stable")
    v, cw = values[order], np.cumsum(weights[order].astype(np.float64))
    j = int(np.searchsorted(cw, 0.1 * cw[-1]))
    return float(np.diff(v[max(j - k, 0):j + k + 1]).max())


@pytest.fixture(scope="module")
def income_model(fitted):
    return GLWModel(scale=0.01, seed=3, fitted=fitted, income=True, collect_groups=False)


def _twin(model):
    """A copy of a model's pay run (population, households and jobs): a scenario on the same residents."""
    import copy

    return copy.deepcopy(model.pay)


def _change(sc, cf, when):
    a, b = M.income_records(sc, when), M.income_records(cf, when)
    return {k: a[k] - b[k] for k in M.DECOMPOSED}


def test_decomposition_of_a_scenario_with_only_entries_is_all_entry(income_model):
    """About 20,000 residents out of work enter it (new jobs drawn as any entrant's): nobody in work in both runs
    changes hours or pay, so hours and pay are exactly zero and entry is the whole change (the mean rises)."""
    cf, sc = income_model.pay, _twin(income_model)
    when = date(2026, 6, 1)
    pop = sc.population
    out = np.flatnonzero(pop.state != LabourState.EMPLOYED)
    movers = out[: int(np.searchsorted(np.cumsum(pop.weight[out].astype(np.float64)), 20_000)) + 1]
    pop.state[movers], pop.months_in_state[movers] = LabourState.EMPLOYED, 0
    M.pay_mod.draw_jobs(sc.jobs, pop, movers, sc.model, sc.key_seed, 12)
    d = M.decomposition(sc, cf, when)
    total = _change(sc, cf, when)
    for k in M.DECOMPOSED:
        assert d[f"{k}_change_hours"] == 0.0 and d[f"{k}_change_pay"] == 0.0
        assert d[f"{k}_change_entry"] == pytest.approx(total[k], abs=1e-9)
    assert d["income.bottom_fifth_mean_ahc_real_change_entry"] > 0.1


def test_decomposition_attributes_hours_and_pay_and_its_parts_add_to_the_total(income_model):
    """Only hours change (part-time jobs 4 hours longer): all hours. Only pay (every job 10% better paid): all pay.
    Entries, longer hours and better pay together: three non-zero parts adding to the change (to rounding)."""
    cf = income_model.pay
    when = date(2026, 6, 1)
    held = cf.jobs.held
    pt = held & cf.jobs.part_time

    hours = _twin(income_model)
    hours.jobs.hours[pt] += 4.0
    d = M.decomposition(hours, cf, when)
    total = _change(hours, cf, when)
    for k in M.DECOMPOSED:
        assert d[f"{k}_change_entry"] == 0.0 and d[f"{k}_change_pay"] == 0.0
        assert d[f"{k}_change_hours"] == pytest.approx(total[k], abs=1e-9)
    assert d["income.bottom_fifth_mean_ahc_real_change_hours"] > 0

    pay = _twin(income_model)
    pay.jobs.hourly[held] *= np.float32(1.1)
    d = M.decomposition(pay, cf, when)
    total = _change(pay, cf, when)
    for k in M.DECOMPOSED:
        assert d[f"{k}_change_entry"] == 0.0 and d[f"{k}_change_hours"] == 0.0
        assert d[f"{k}_change_pay"] == pytest.approx(total[k], abs=1e-9)
    assert d["income.bottom_fifth_mean_ahc_real_change_pay"] > 0

    both = _twin(income_model)
    both.jobs.hours[pt] += 4.0
    both.jobs.hourly[held] *= np.float32(1.1)
    pop = both.population
    out = np.flatnonzero(pop.state != LabourState.EMPLOYED)[::7]
    pop.state[out], pop.months_in_state[out] = LabourState.EMPLOYED, 0
    M.pay_mod.draw_jobs(both.jobs, pop, out, both.model, both.key_seed, 12)
    d = M.decomposition(both, cf, when)
    total = _change(both, cf, when)
    k = "income.bottom_fifth_mean_ahc_real"
    assert all(d[f"{k}_change_{p}"] > 0 for p in M.PARTS)
    for k in M.DECOMPOSED:
        assert sum(d[f"{k}_change_{p}"] for p in M.PARTS) == pytest.approx(total[k], abs=1e-9)
    # a run passes the two records it already has as the end states: the same parts
    ends = (M.income_records(cf, when), M.income_records(both, when))
    quick = M.decomposition(both, cf, when, ends=ends)
    assert quick.keys() == d.keys() and all(quick[k] == pytest.approx(d[k], abs=1e-9) for k in d)


def test_an_other_households_income_is_its_adults_pooled_as_hbai_counts_it(income_model):
    """A resident living with adults who are not a partner: under 30, with parents (a couple, each in work at the
    model's rate for their sex in the parents' age band), else with a sharer of their own sex and band; the
    household's income after housing costs is the resident's own unit's (the table) plus the other adults' (the
    table's couple or single adult 35+ in the same tenure and area), over HBAI's scale for its adults (0.58 +
    0.42 each other adult). Worked here from the table's lookup, resident by resident."""
    pr, pop, hh = income_model.pay, income_model.population, income_model.pay.households
    when = date(2026, 6, 1)
    eq = M.equivalised_ahc(pr, when)
    tab, year = M.load_table(), M.policy_year(when)
    growth = float(M.uprate(np.ones(1), year, None)[0])
    rate = H.employment_rate_by_sex_band(pop)
    floor = M.pay_mod.wage_floor(np.arange(65), year)
    unit, area = M.unit_and_area(hh, pop.age)
    band = M.age_band_of(pop.age).astype(int)
    other = np.flatnonzero(hh.type == H.OTHER)
    parents = other[pop.age[other] < M.OTHER_PARENTS_BELOW][:300]
    sharers = other[pop.age[other] >= M.OTHER_PARENTS_BELOW][:300]
    assert len(parents) == len(sharers) == 300
    for i in np.concatenate([parents, sharers]):
        a = int(pop.age[i])
        own = (max(pr.jobs.hourly[i] * growth, floor[a]) * pr.jobs.hours[i]) if pr.jobs.held[i] else 0.0
        mine = tab.lookup(year, unit[i:i + 1], area[i:i + 1], np.array([own]), np.array([0.0]))[0]
        if a < M.OTHER_PARENTS_BELOW:
            b = 2 if a < 20 else 3
            dad = pr.partner_weekly[i] * growth if hh.partner_rank[i] < rate[0, b] else 0.0
            mum = pr.parent2_weekly[i] * growth if pr.parent2_rank[i] < rate[1, b] else 0.0
            theirs = tab.lookup(year, np.array([8]), area[i:i + 1], np.array([dad]), np.array([mum]))[0]
            scale = 0.58 + 2 * 0.42
        else:
            mate = pr.partner_weekly[i] * growth if hh.partner_rank[i] < rate[pop.sex[i], band[i]] else 0.0
            theirs = tab.lookup(year, np.array([2]), area[i:i + 1], np.array([mate]), np.array([0.0]))[0]
            scale = 0.58 + 0.42
        assert eq[i] == pytest.approx((mine + theirs) / scale, abs=0.01), i
    # the other adults are paid at least the adult floor, and the parents' second adult is a woman's pay draw
    assert (pr.partner_weekly[other] >= M.pay_mod.wage_floor(np.array([30]))[0] * 18.0 - 1e-3).all()  # (April 2024)
    assert (pr.parent2_weekly[parents] > 0).all() and (pr.parent2_weekly[sharers] == 0).all()


def test_records_report_the_second_target_each_year(fitted):
    m = GLWModel(scale=0.005, seed=5, fitted=fitted, income=True, collect_groups=False, cache_population=True)
    m.run(12)
    keys = [k for k in m.records[0] if k.startswith("income.")]
    assert {"income.bottom_fifth_median_ahc_real", "income.bottom_fifth_mean_ahc_real"} <= set(keys)
    assert all(k in m.records[12] for k in keys) and not any(k in m.records[6] for k in keys)
    r = m.records[0]
    assert 0 < r["income.bottom_fifth_median_ahc"] <= r["income.bottom_fifth_mean_ahc"] * 1.5


def test_a_scenario_reports_its_second_target_against_the_counterfactual(tmp_path):
    """outputs.income: every replication carries the lowest fifth's change against its counterfactual in the
    reported years, and the console summary prints it with its interval. Every resident three times as likely to
    move into work for a year (tiny population, 3 replications): the mean of the lowest fifth rises."""
    from pathlib import Path

    from glw_sim.pipeline import run_scenario
    from glw_sim.results import console_summary, load_results
    from glw_sim.scenario import load_scenario

    scenarios = Path(__file__).resolve().parent.parent / "scenarios"
    sc = load_scenario(scenarios / "baseline.yaml", {
        "name": "boost-income", "horizon": {"months": 12}, "replications": 3, "population": {"scale": 0.003, "seed": 5},
        "employability": [{"who": {}, "multiplier": 3.0}], "outputs": {"income": True}})
    res = load_results(run_scenario(sc, tmp_path / "results", charts=False).folder)
    ts = res.timeseries
    change = ts[(ts.metric == "income.bottom_fifth_mean_ahc_real_change") & (ts.area == "London") & (ts.group == "all")]
    assert sorted(change.month.unique()) == [0, 12] and (change[change.month == 0].value == 0).all()
    assert (change[change.month == 12].value > 0).all()
    # the decomposition: each replication's parts add to its change (the same residents in both runs)
    for fig in M.DECOMPOSED:
        lon = ts[(ts.area == "London") & (ts.group == "all") & (ts.month == 12)].pivot_table(
            index="replication", columns="metric", values="value")
        parts = sum(lon[f"{fig}_change_{p}"] for p in M.PARTS)
        np.testing.assert_allclose(parts, lon[f"{fig}_change"], atol=1e-9)
    text = console_summary(res)
    assert "Second target: lowest fifth's mean AHC, GBP/wk" in text
    assert all(f"of which {w}" in text for w in ("entry into work", "hours", "pay"))


def test_scenarios_accept_the_income_assumptions_only_with_income_on():
    from pathlib import Path

    from glw_sim.scenario import load_scenario

    path = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    sc = load_scenario(path, {"outputs": {"income": True}, "assumptions": {"entrant_pay_top": 0.4}})
    assert sc.assumptions["entrant_pay_top"] == 0.4
    with pytest.raises(Exception, match="entrant_pay_top: acts only with pay"):
        load_scenario(path, {"assumptions": {"entrant_pay_top": 0.4}})


def test_sweeps_vary_the_income_assumptions_and_read_the_yearly_figures(tmp_path):
    """A sweep over a scenario with outputs.income may vary an income assumption and ask for the second target's
    figures, at a whole number of years only; without outputs.income both are refused by name."""
    from glw_sim.sweep import SweepError, load_sweep

    base = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    text = base.read_text()
    (tmp_path / "with.yaml").write_text(text.replace("outputs:\n", "outputs:\n  income: true\n", 1))
    (tmp_path / "without.yaml").write_text(text)

    def sweep(scenario, months, metric="income.bottom_fifth_mean_ahc_real",
              path="assumptions.entrant_pay_top", bounds="[0.3, 1.0]"):
        f = tmp_path / f"s-{scenario}-{months}.yaml"
        f.write_text(f"name: s\nscenario: {scenario}.yaml\nmethod: morris\nsamples: 4\n"
                     f"replications: 1\nseed: 1\nscale: 0.002\nmonths: {months}\n"
                     f"inputs:\n  - {{path: {path}, bounds: {bounds}}}\noutputs:\n  - {{metric: {metric}}}\n")
        return f

    sw, _ = load_sweep(sweep("with", 24))
    assert sw.inputs[0].path == "assumptions.entrant_pay_top"
    with pytest.raises(SweepError, match="reported each year only"):
        load_sweep(sweep("with", 18))
    with pytest.raises(SweepError, match="acts only with pay"):
        load_sweep(sweep("without", 24))
    with pytest.raises(SweepError, match="no metric 'income.bottom_fifth_mean_ahc_real'"):
        load_sweep(sweep("without", 24, path="assumptions.reason_switch_rate", bounds="[0.0, 0.03]"))


def test_available_metrics_with_income_match_what_a_run_records():
    """The sweep's up-front check knows exactly the metrics a run with outputs.income records (as
    tests/test_failsafe.py checks without it)."""
    from glw_sim import runner
    from glw_sim.scenario import load_scenario
    from glw_sim.sweep import available_metrics

    base = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
    sc = load_scenario(base, {"name": "m", "horizon": {"months": 12}, "population": {"scale": 0.002},
                              "interventions": [{"type": "restart", "start": "2025-07"}], "outputs": {"income": True}})
    m = runner.simulate(sc, 3, collect_groups=False)
    london = set().union(*(r.keys() for r in m.records)) - {"month", "date"}
    assert available_metrics(sc, False)["london"] == london
