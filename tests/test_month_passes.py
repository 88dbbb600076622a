"""The monthly passes' shortcuts give the sums a full pass over the residents gives.

Matching needs each borough's expected moves into work, summed over the residents not in work; the monthly pass
lists them for next month (plus that month's birthday residents, whose state may change), and net migration reads
each cell's weight from last month's pass moved by the birthdays. These tests compare both with full passes.
"""

import numpy as np
import pytest

from glw_sim.engine import layout as L
from glw_sim.engine.demography import cell_totals
from glw_sim.model import GLWModel
from glw_sim.scenario import Scenario


def capture_desired(model: GLWModel) -> list[tuple[np.ndarray, np.ndarray]]:
    """(desired the month used, the full pass over every resident at that moment), month by month."""
    seen = []
    job_factors = model.market.job_factors

    def spy(desired, month):
        seen.append((desired.copy(), model._desired_moves_into_work()))
        return job_factors(desired, month)

    model.market.job_factors = spy
    return seen


@pytest.mark.parametrize("migration", ["none", "balance"])
def test_expected_moves_from_the_list_equal_the_full_pass(fitted, migration):
    """Over 14 months (every birth month, entrants and education leavers included), with a programme and a lever:
    the listed residents' sum equals the sum over everyone. (With net migration the full pass is taken after the
    weights are scaled: a programme makes the model scale them before the month's programmes.)"""
    sc = Scenario.model_validate({"name": "t", "employability": [{"who": {"health": "disabled"}, "multiplier": 1.3}],
                                  "interventions": [{"type": "restart", "start": "2025-06", "referral_rate": 0.2}]})
    m = GLWModel(scale=0.01, seed=4, fitted=fitted, migration=migration, interventions=sc.interventions,
                 employability=sc.employability)
    seen = capture_desired(m)
    m.run(14)
    assert len(seen) == 14
    for used, full in seen:
        assert used.sum() > 0
        np.testing.assert_allclose(used, full, rtol=1e-12)


def test_net_migration_cell_totals_follow_the_residents(fitted):
    """The cell weights the migration factors start from (last month's pass moved by the birthdays) equal a fresh
    sum over the residents, and the factors bring every cell back to its start total."""
    m = GLWModel(scale=0.01, seed=4, fitted=fitted)
    pop = m.population
    for _ in range(13):
        m.step()
        np.testing.assert_allclose(m._cells, cell_totals(pop.weight, pop.borough, pop.sex, pop.age), rtol=1e-9)
        # every borough x sex x age band holds its start total (a single year that has emptied at this small
        # scale is carried by the band's other years) and so does London
        band = np.bincount(L.CELL_BAND, weights=m._cells, minlength=L.N_CELL_BANDS)
        np.testing.assert_allclose(band, np.bincount(L.CELL_BAND, weights=m._cell_target), rtol=1e-5)  # float32
        full = m._cells > 0
        np.testing.assert_allclose(m._cells.sum(), m._cell_target.sum(), rtol=1e-6)
        assert full.mean() > 0.97
    idx = m._birthdays[m.current_month.month % 12]  # next month's birthdays
    m._birthdays_pass(idx, np.empty(len(idx), dtype=bool))
    moved = m._cells + m._cell_change.sum(axis=0)
    np.testing.assert_allclose(moved, cell_totals(pop.weight, pop.borough, pop.sex, pop.age), rtol=1e-9)
    assert not np.allclose(moved, m._cells)  # birthdays did move weight between ages


@pytest.mark.parametrize("migration", ["none", "balance"])
def test_collecting_fewer_counts_changes_nothing_else(fitted, migration):
    # collect_groups=False only skips counts: the same residents move, and every rate that needs only borough, state
    # and reason counts is identical; the rest are NaN, not zero
    full = GLWModel(scale=0.01, seed=5, fitted=fitted, migration=migration)
    lean = GLWModel(scale=0.01, seed=5, fitted=fitted, migration=migration, collect_groups=False)
    full.run(6)
    lean.run(6)
    assert np.array_equal(full.population.state, lean.population.state)
    assert np.array_equal(full.population.weight, lean.population.weight)
    for rf, rl in zip(full.records, lean.records):
        for k in ("employment_rate", "health_related_inactivity_rate", "inactivity_rate_student", "gap_to_80",
                  "borough_employment_spread", "vacancies", "seekers", "matches"):
            np.testing.assert_equal(rl[k], rf[k], err_msg=k)  # (NaN == NaN: seekers in month 0)
        for k in ("disability_employment_gap", "ethnicity_employment_gap", "female_employment_rate", "neet_rate_16_24",
                  "inactive_want_job", "long_term_unemployed_share"):
            assert np.isnan(rl[k]) and not np.isnan(rf[k]), k
        assert not any(k.startswith("quarterly_") for k in rl)
    assert np.array_equal(full._borough_now, lean._borough_now)
    assert lean.group_records[-1][1] == {} and len(full.group_records[-1][1]) > 0


def test_matching_off_skips_the_expected_moves(fitted):
    # enabled=False: every chance into work stands (factor exactly 1), so the expected moves are never summed
    m = GLWModel(scale=0.01, seed=5, fitted=fitted, labour_demand={"enabled": False})
    m.run(3)
    assert m.market.seekers0 is None  # never calibrated
    assert all(np.isnan(r["seekers"]) and np.isnan(r["matches"]) for r in m.records[1:])
    assert len({r["vacancies"] for r in m.records}) == 1  # the vacancy stock is not run down


def _arrays(x, name):
    """(name, array) for every array in ``x`` (an array, a record, or a tuple of them)."""
    if isinstance(x, np.ndarray):
        yield name, x
    elif isinstance(x, tuple):
        fields = getattr(x, "_fields", None) or [str(k) for k in range(len(x))]
        for f, v in zip(fields, x):
            yield from _arrays(v, f"{name}.{f}")


#: What the month pass writes (engine/month.py and the functions it inlines: transitions.move, programmes.retain,
#: health.after_move, tallies.count_one).
WRITTEN = {"res.state", "res.months_in_state", "res.reason", "res.wants_job", "res.off_sick", "ring",
           "listing.residents", "listing.count"}


def test_the_month_pass_writes_no_memory_another_argument_reads(fitted):
    """The month's chunk function is compiled with ``noalias`` (engine/__init__.py: every pointer argument
    distinct), so no array it writes may share memory with another of its arguments, as the views of population
    columns that the log-linear models read (``r_feats``) could; with programmes and a lever, whose records join."""
    sc = Scenario.model_validate({"name": "t", "employability": [{"who": {"health": "disabled"}, "multiplier": 1.3}],
                                  "interventions": [{"type": "restart", "start": "2025-06", "referral_rate": 0.2}]})
    m = GLWModel(scale=0.002, seed=4, fitted=fitted, interventions=sc.interventions, employability=sc.employability)
    m.run(2)
    args = {"mo": m._month_inputs(True, np.ones(L.N_BOROUGHS)), "res": m.res, "cached": m.cached,
            "hz": m._hazard, "rs": m._reasons, "r_feats": m._r_feats, "ef": m._programme_effects(), "ring": m._ring,
            "listing": m._listing}
    arrays = [a for k, v in args.items() for a in _arrays(v, k)]
    assert WRITTEN <= {name for name, _ in arrays}
    assert len(arrays) > 40
    for name, w in arrays:
        if name in WRITTEN:
            for other, a in arrays:
                if other != name and a.size and w.size:
                    assert not np.shares_memory(w, a), f"{name} shares memory with {other}"
