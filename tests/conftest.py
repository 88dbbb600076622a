import os
import shutil

import numpy as np
import pytest

from pathlib import Path

from glw_sim.fitted import load_fitted
from glw_sim.model import GLWModel
from glw_sim.results import load_results
from glw_sim.pipeline import run_scenario
from glw_sim.scenario import load_scenario
from glw_sim.targets import load_targets


@pytest.fixture(scope="session")
def targets():
    return load_targets()


@pytest.fixture(scope="session")
def fitted():
    return load_fitted()


@pytest.fixture(scope="session")
def model_12(fitted):
    """A 2% baseline (about 130,000 agents) run for 12 months, shared by the dynamics tests."""
    m = GLWModel(scale=0.02, seed=7, fitted=fitted)
    m.run(12)
    return m


def weighted_rate(pop, mask, num_mask):
    w = pop.weight.astype(np.float64)
    return w[mask & num_mask].sum() / w[mask].sum()


SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PACKAGE = """extends: {base}
name: tiny-package
description: Two programmes from July 2025.
horizon: {{months: 6}}
population: {{scale: 0.002, seed: 11}}
replications: 2
interventions:
  - type: workwell
    areas: {{all: true}}
    start: 2025-07
    places_per_year: 40000
  - type: restart
    start: 2025-07
"""


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A two-programme package and a plain baseline, tiny, written by the real runner (with report)."""
    d = tmp_path_factory.mktemp("briefing")
    (d / "package.yaml").write_text(PACKAGE.format(base=SCENARIOS / "baseline.yaml"))
    package = run_scenario(load_scenario(d / "package.yaml"), d / "results")
    base = run_scenario(load_scenario(SCENARIOS / "baseline.yaml", {
        "name": "tiny-baseline", "horizon": {"months": 4}, "population": {"scale": 0.002, "seed": 11},
        "replications": 2}), d / "results")
    return load_results(package.folder), load_results(base.folder), d


# ---------------------------------------------------------------------------- a real browser
#: Debian's chromium, driven by Playwright (.ci/run installs it; playwright's own browser download is never used)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a closed network and a root user (as in the machine notes): no sandbox, no background traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the report and explorer tests: skipped without it, except under CI, where it fails."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
