"""Hostile inputs (issue 14): each case is one line of YAML or one command line and the message fragment it must
give. Every case must end with exit code 2, at most one line on stderr naming the file (and the field), no
traceback, and nothing simulated (the cases run in this process; a failure found after simulating would take
seconds, not milliseconds)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glw_sim import runner
from glw_sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"

#: one line replacing (or adding) one top-level key of a valid scenario, and the fragment the message must hold
SCENARIO_LINES = [
    ("horizn: {months: 12}", "horizn: unknown key (did you mean 'horizon'?)"),
    ("labour_demand: {growth_per_yr: 0.01}", "labour_demand.growth_per_yr: unknown key (did you mean 'growth_per_year'?)"),
    ("interventions: [{type: workwel}]", "(got 'workwel') (did you mean 'workwell'?)"),
    ("interventions: [{type: restart, places_per_yer: 3}]",
     "interventions.0.places_per_yer: unknown key (did you mean 'places_per_year'?)"),
    ("interventions: [{type: restart, zzz: 3}]", "interventions.0.zzz: unknown key"),
    ("milestones: [2030-6]", "milestones.0: expected a month as YYYY-MM"),
    ("milestones: [2030-06, 2036-06]", "milestones.1: 2036-06 is outside the run (the horizon runs 2025-06 to 2035-06)"),
    ("milestones: [2024-06]", "milestones.0: 2024-06 is outside the run"),
    ("milestones: 2030-06", "milestones"),
    ("horizon: {start: 9999-06}", "horizon.start: 9999-06 is outside the calibration's reach"),
    ("horizon: {start: 1900-01}", "horizon.start"),
    ("horizon: {start: 2014-12}", "horizon.start"),
    ("horizon: {months: 300}", "horizon: months: 300 months from 2025-06 end in 2050-06"),
    ("horizon: {start: 2045-12, months: 1}", "after 2045-12"),
    ("horizon: {months: 0}", "horizon.months"),
    ("horizon: {months: 2.5}", "horizon.months"),
    ("horizon: {start: June}", "horizon.start: expected a month as YYYY-MM"),
    ("name: '..'", "name: expected letters"),
    ("name: '.'", "name: expected letters"),
    ("name: .hidden", "name: expected letters"),
    ("name: a/b", "name: expected letters"),
    ("name: ../../etc", "name: expected letters"),
    (r"name: 'a\\b'", "name: expected letters"),
    ("name: ''", "name: expected letters"),
    ("name: " + "n" * 101, "name: expected letters"),
    ("description: " + "x" * 10_001, "description: String should have at most 10000 characters"),
    ("population: {scale: .inf}", "population.scale"),
    ("population: {scale: .nan}", "population.scale"),
    ("population: {scale: 0}", "population.scale"),
    ("population: {seed: -1}", "population.seed"),
    ("population: {seed: 1.5}", "population.seed"),
    ("replications: 0", "replications"),
    ("replications: 2.5", "replications"),
    ("labour_demand: {vacancy_level: 1e300}", "labour_demand.vacancy_level: Input should be less than or equal to 100"),
    ("labour_demand: {vacancy_level: .inf}", "labour_demand.vacancy_level"),
    ("labour_demand: {vacancy_level: .nan}", "labour_demand.vacancy_level: Input should be a finite number"),
    ("labour_demand: {growth_per_year: .nan}", "labour_demand.growth_per_year"),
    ("labour_demand: {shocks: [{month: 2026-04, change: .inf}]}", "labour_demand.shocks.0.change"),
    ("labour_demand: {shocks: [{month: 2026-04, change: 1e12}]}", "labour_demand.shocks.0.change"),
    ("labour_demand: {shocks: [{month: 2044-01, change: -0.1}]}", "labour_demand.shocks.0.month: 2044-01 is after the horizon ends"),
    ("interventions: [{type: restart, places_per_year: .inf}]", "interventions.0.places_per_year"),
    ("interventions: [{type: restart, places_per_year: 1e12}]", "interventions.0.places_per_year: Input should be less than or equal to 1000000"),
    ("interventions: [{type: restart, cost_per_start: .inf}]", "interventions.0.cost_per_start"),
    ("interventions: [{type: restart, cost_per_start: -5}]", "interventions.0.cost_per_start"),
    ("interventions: [{type: restart, start: 2040-01}]", "interventions.0.start: 2040-01 is after the horizon ends"),
    ("interventions: [{type: restart, start: 2020-01, end: 2024-12}]", "interventions.0.end: 2024-12 is before the horizon starts"),
    ("interventions: [{type: restart, start: 0000-01}]", "interventions.0.start: 0000-01 is outside the calibration's reach"),
    ("interventions: [{type: restart, end: 9999-12}]", "interventions.0.end: 9999-12 is outside"),
    ("employability: [{multiplier: 2, start: 1066-10}]", "employability.0.start: 1066-10 is outside"),
    ("labour_demand: {shocks: [{month: 0000-01, change: -0.1}]}", "labour_demand.shocks.0.month: 0000-01 is outside"),
    ("interventions: [{type: restart, effect: {into_work: .nan}}]", "interventions.0.effect.into_work"),
    ("interventions: [{type: restart, referral_multiplier: 1e12}]", "interventions.0.referral_multiplier"),
    ("interventions: [{type: restart, support_months: 1.5}]", "interventions.0.support_months"),
    ("interventions: [{type: nonsense}]", "interventions"),
    ("interventions: [{type: restart, eligibility: {age: [40, 20]}}]", "interventions.0.eligibility.age: [40, 20] would select nobody"),
    ("interventions: [{type: restart, eligibility: {age: [-5, 200]}}]", "interventions.0.eligibility.age"),
    ("interventions: [{type: restart, name: a.b}]", "interventions.0.name"),
    ("interventions: [{type: restart, name: " + "r" * 101 + "}]", "interventions.0.name"),
    ("integration_hubs: [{areas: {all: true}, cost_per_borough_year: .inf}]", "integration_hubs.0.cost_per_borough_year"),
    ("integration_hubs: [{areas: {all: true}, start: 2040-01}]", "integration_hubs.0.start: 2040-01 is after the horizon"),
    ("employability: [{multiplier: 1e12}]", "employability.0.multiplier"),
    ("employability: [{multiplier: 2, start: 2040-01}]", "employability.0.start: 2040-01 is after the horizon"),
    ("assumptions: {cycle_share: .inf}", "assumptions.cycle_share"),
    ("assumptions: {min_agents_per_borough: 500}", "is fixed at 400"),
    # (issue 16) an assumption a run does not read is refused by name, whatever its value
    ("assumptions: {min_agents_per_borough: 400}", "assumptions.min_agents_per_borough: not read from a scenario"),
    ("assumptions: {cycle_share: 0.5}", "assumptions.cycle_share: not read by a run (fitted in calibration/fitted; "
                                        "it cannot be set or swept)"),
    ("assumptions: {prior_lts_disabled: 1.0}", "assumptions.prior_lts_disabled: acts only when the baseline is "
                                               "fitted (glw-sim calibrate), not in a run"),
    ("assumptions: {no_such: 1}", "assumptions.no_such: unknown assumption 'no_such'; expected one a run reads"),
    ("assumptions: {duration_ratio_24m: .nan}", "assumptions.duration_ratio_24m"),
    ("assumptions: {duration_ratio_24m: 0.9}", "outside its plausible range"),
    ("extends: /no/such/parent.yaml", "extends: /no/such/parent.yaml: file not found"),
    ("extends: .", "is a folder; expected a scenario YAML file"),
    ("extends: [a, b]", "extends: expected the path of a parent scenario file"),
    ("outputs: {boroughs: [Narnia]}", "outputs.boroughs: unknown borough 'Narnia'"),
    ("horizn: {months: 3}", "horizn: unknown key"),
]

#: whole files (not one key)
RAW_FILES = [
    (b"name: a\nname: b\n", "YAML syntax error (line 2, column 1): duplicate key 'name' (first given on line 1)"),
    (b"name: a\nhorizon: {months: 3, months: 4}\n", "duplicate key 'months'"),
    (b"name: a\nlabour_demand:\n  vacancy_level: 1\n  vacancy_level: 2\n", "line 4"),
    (b"name: \x91\x92 caf\xe9\n", "not a text file (byte 0x91 at offset 6 is not UTF-8)"),
    (b"\x00\x01\x02\xff\xfe", "not a text file"),
    (b"- a\n- b\n", "expected a mapping of keys"),
    (b"name: x\nhorizon: {months: 3\n", "YAML syntax error"),
    (b"name: x\n\tbad: 1\n", "YAML syntax error"),
]

#: a valid sweep is four keys plus inputs and outputs; each line replaces one of them
SWEEP_LINES = [
    ("outputs: [{metric: employment_rate, area: Narnia}]", "outputs.0.area: unknown area 'Narnia'"),
    ("outputs: [{metric: no_such_metric}]", "outputs.0.metric: no metric 'no_such_metric' for London"),
    ("outputs: [{metric: employment_rate, group: sex=robot}]", "outputs.0.group: unknown group 'sex=robot'"),
    ("outputs: [{metric: employment_rate, group: shoe=left}]", "outputs.0.group"),
    ("outputs: [{metric: net_extra_employed}]", "outputs.0.metric: no metric 'net_extra_employed'"),
    ("outputs: [{metric: disability_employment_gap, area: Newham}]", "outputs.0.metric: no metric 'disability_employment_gap' for area Newham"),
    ("outputs: [{metric: employment_rate, area: Newham, group: sex=female}]", "outputs.0.group"),
    ("outputs: []", "outputs"),
    ("inputs: [{path: labour_demand.matching_elasticity, bounds: [0.5, 1.2]}]", "inputs.0.bounds: the design gives labour_demand.matching_elasticity values from 0.5 to 1.2"),
    ("inputs: [{path: labour_demand.matching_elasticity, bounds: [-0.5, 0.6]}]", "inputs.0.bounds"),
    ("inputs: [{path: labour_demand.matching_elasticity, bounds: [0.5, -0.1], dist: norm}]", "the standard deviation must be above 0"),
    ("inputs: [{path: labour_demand.matching_elasticity, bounds: [0.5, 0.6], dist: norm}]", "inputs.0.bounds"),
    ("inputs: [{path: replications, bounds: [1, 4]}]", "inputs.0.path: replications: a sweep's runs take their "
                                                       "replications from the sweep file"),
    ("inputs: [{path: population.seed, bounds: [1, 4]}]", "inputs.0.path: population.seed: a sweep's runs take "
                                                          "their random numbers from the sweep file's seed"),
    ("inputs: [{path: assumptions.cycle_share, bounds: [0.2, 0.8]}]", "inputs.0.path: assumptions.cycle_share: not "
                                                                      "read by a run"),
    ("inputs: [{path: assumptions.prior_family_carer, bounds: [1, 2]}]", "inputs.0.path: "
        "assumptions.prior_family_carer: acts only when the baseline is fitted (glw-sim calibrate)"),
    ("inputs: [{path: assumptions.no_such, bounds: [0, 1]}]", "inputs.0.path: assumptions.no_such: unknown "
                                                              "assumption"),
    ("inputs: [{path: population.scale, bounds: [0.001, 1.5]}]", "inputs.0.bounds: the design gives "
                                                                 "population.scale values from 0.001 to 1.5"),
    ("outputs: [{metric: seekers, change: true}]", "outputs.0.change: seekers has no value at month 0"),
    ("inputs: [{path: horizon.months, bounds: [1, 3]}]", "inputs.0.path: horizon.months takes whole numbers"),
    ("inputs: [{path: assumptions.min_agents_per_borough, bounds: [300, 500]}]", "is fixed at 400"),
    ("inputs: [{path: no_such.key, bounds: [0, 1]}]", "inputs.0.path"),
    ("inputs: [{path: labour_demand.matching_elasticity, bounds: [.nan, 1]}]", "inputs.0.bounds"),
    ("inputs: [{path: labour_demand.matching_elasticity, bounds: [0.9, 0.1]}]", "low < high"),
    ("inputs: [{path: labour_demand.vacancy_level, bounds: [0.5, 1.5], dist: triang}]", "a triangular input needs [low, high, peak]"),
    ("inputs: [{path: labour_demand.vacancy_level, bounds: [0.5, 1e12]}]", "labour_demand.vacancy_level"),
    ("name: '..'", "name: expected letters"),
    ("name: a/b", "name: expected letters"),
    ("method: fast", "samples: FAST (M=4) needs more than 64 samples"),
    ("samples: 2", "samples"),
    ("method: annealing", "method"),
    ("scenario: .", "is a folder; expected a scenario YAML file"),
    ("scenario: nope.yaml", "nope.yaml: file not found"),
    ("months: 300", "horizon: months: 300 months"),
    ("scale: 5", "scale"),
]


def _compose(lines: dict[str, str], line: str) -> str:
    key = line.split(":", 1)[0].strip()
    return "\n".join({**lines, key: line}.values()) + "\n"


@pytest.fixture
def tiny(tmp_path):
    """A valid tiny scenario (two months, one replication) beside the cases."""
    p = tmp_path / "tiny.yaml"
    p.write_text(f"extends: {BASELINE}\nname: tiny\nhorizon: {{months: 2}}\npopulation: {{scale: 0.002, seed: 4}}\n"
                 "replications: 1\n")
    return p


@pytest.fixture(autouse=True)
def nothing_simulated(monkeypatch):
    """A hostile case must be refused before any replication runs."""
    def refuse(*a, **k):
        raise AssertionError("simulated before refusing a hostile input")

    monkeypatch.setattr(runner, "run_replication", refuse)
    monkeypatch.setattr(runner, "simulate", refuse)
    from glw_sim import validation

    monkeypatch.setattr(validation, "simulate_baseline", refuse)


def check(capsys, argv, *fragments):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert str(f) in lines[0], (f, lines[0])
    return lines[0]


@pytest.mark.parametrize("line,fragment", SCENARIO_LINES, ids=[c[0][:50] for c in SCENARIO_LINES])
def test_scenario_line(tmp_path, capsys, line, fragment):
    p = tmp_path / "hostile.yaml"
    p.write_text(_compose({"extends": f"extends: {BASELINE}", "name": "name: h"}, line))
    check(capsys, ["validate", p], p, fragment)


@pytest.mark.parametrize("data,fragment", RAW_FILES, ids=[repr(c[0][:30]) for c in RAW_FILES])
def test_raw_file(tmp_path, capsys, data, fragment):
    p = tmp_path / "hostile.yaml"
    p.write_bytes(data)
    check(capsys, ["validate", p], p, fragment)


def test_extends_names_child_and_parent(tmp_path, capsys):
    (tmp_path / "parent.yaml").write_bytes(b"name: a\nname: b\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\nname: c\n")
    check(capsys, ["validate", child], child, tmp_path / "parent.yaml", "extends:", "duplicate key 'name'")


@pytest.mark.parametrize("line,fragment", SWEEP_LINES, ids=[c[0][:50] for c in SWEEP_LINES])
def test_sweep_line(tmp_path, tiny, capsys, line, fragment):
    base = {"name": "name: hs", "scenario": f"scenario: {tiny.name}", "method": "method: morris",
            "samples": "samples: 4", "inputs": "inputs: [{path: labour_demand.matching_elasticity, bounds: [0.4, 0.7]}]",
            "outputs": "outputs: [{metric: employment_rate}]"}
    p = tmp_path / "hostile-sweep.yaml"
    p.write_text(_compose(base, line))
    check(capsys, ["sweep", p, "--out", tmp_path / "out", "--quiet"], p, fragment)
    assert not list((tmp_path / "out").rglob("sweep.json")), "a refused sweep must not start its store"


def test_sweep_duplicate_key_and_binary(tmp_path, tiny, capsys):
    p = tmp_path / "dup.yaml"
    p.write_text(f"name: a\nscenario: {tiny}\nscenario: {tiny}\n")
    check(capsys, ["sweep", p, "--out", tmp_path / "out", "--quiet"], p, "duplicate key 'scenario'")
    p.write_bytes(b"\x91\x00")
    check(capsys, ["sweep", p, "--out", tmp_path / "out", "--quiet"], p, "not a text file")


# command lines: {dir} a folder, {file} an existing file, {tiny} the valid scenario, {sweep} a valid sweep
COMMANDS = [
    ("validate {dir}", "{dir}", "is a folder"),
    ("run {dir} --quiet", "{dir}", "is a folder"),
    ("validate {dir}/missing.yaml", "{dir}/missing.yaml", "file not found"),
    ("run {tiny} --results {file} --quiet", "{file}", "is a file, not a folder"),
    ("run {tiny} --results {file}/sub --quiet", "{file}", "is a file, not a folder"),
    ("run {tiny} --results /dev/null --quiet", "/dev/null", "is a file, not a folder"),
    ("run {tiny} --months 300 --quiet", "{tiny}", "horizon: months"),
    ("run {tiny} --scale 0 --quiet", "{tiny}", "population.scale"),
    ("run {tiny} --scale inf --quiet", "{tiny}", "population.scale"),
    ("run {tiny} --replications 0 --quiet", "{tiny}", "replications"),
    ("run {tiny} --seed -3 --quiet", "{tiny}", "population.seed"),
    ("report {file}", "{file}", "is a file, not a folder"),
    ("report {dir}/nothing", "{dir}/nothing", "no such results folder"),
    ("report {dir}", "{dir}", "no runs"),
    ("compare {dir}", "", "at least two"),
    ("sweep {dir} --quiet", "{dir}", "is a folder"),
    ("sweep {sweep} --workers 0 --quiet", "--workers", "expected a whole number above 0"),
    ("sweep {sweep} --scheduler nonsense://x --out {dir} --quiet", "--scheduler nonsense://x", "cannot connect"),
    ("run {tiny} --months three --quiet", "--months", "invalid int value: 'three'"),
    ("run {tiny} --no-such-option", "--no-such-option", "unrecognized arguments"),
    ("compare {dir}/x {dir}/y", "{dir}/x", "no such results folder"),
    ("sweep {sweep} --out {file} --quiet", "{file}", "is a file, not a folder"),
    ("sweep {sweep} --out {file}/deeper --quiet", "{file}", "is a file, not a folder"),
    ("validation --results {file} --quiet", "{file}", "is a file, not a folder"),
    ("validation --scale 2 --quiet", "--scale", "expected a share of residents in (0, 1]"),
    ("validation --replications 0 --quiet", "--replications", "expected a whole number above 0"),
    ("validation --months 601 --quiet", "--months", "expected at most 600 months"),
]


@pytest.mark.parametrize("command,named,fragment", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_command_line(tmp_path, tiny, capsys, command, named, fragment):
    d = tmp_path / "a-folder"
    d.mkdir()
    f = tmp_path / "a-file"
    f.write_text("not a folder\n")
    sweep = tmp_path / "ok-sweep.yaml"
    sweep.write_text(f"name: ok\nscenario: {tiny}\nmethod: morris\nsamples: 4\n"
                     "inputs: [{path: labour_demand.matching_elasticity, bounds: [0.4, 0.7]}]\n"
                     "outputs: [{metric: employment_rate}]\n")
    subs = {"dir": d, "file": f, "tiny": tiny, "sweep": sweep}
    argv = [a.format(**subs) for a in command.split()]
    check(capsys, argv, named.format(**subs), fragment)


def test_cases_are_many():
    assert len(SCENARIO_LINES) + len(RAW_FILES) + len(SWEEP_LINES) + len(COMMANDS) + 2 >= 60


def test_results_path_that_is_a_file_refused_quickly_by_the_real_command(tmp_path, tiny):
    # the installed command in a fresh process: one line on stderr, exit 2, no traceback, well under 15 s
    f = tmp_path / "results-file"
    f.write_text("x")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.time()
    r = subprocess.run([sys.executable, "-m", "glw_sim.cli", "run", str(tiny), "--results", str(f)],
                       env=env, capture_output=True, text=True, timeout=60)
    took = time.time() - t0
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and str(f) in r.stderr and "Traceback" not in r.stderr
    assert took < 15, took
