"""``glw-sim explore`` in a real browser: headless Chromium (Debian's ``chromium``), driven by Playwright.

The server runs as ``glw-sim explore --port N --no-browser`` in a subprocess on a free port. One tab loads the
shipped ``health-package-2030`` scenario, shortens it to 6 months at scale 0.002 (2 replications, precision off;
a bad start month on the way shows a one-line message), switches Restart on with its places set, runs it, and
finds the headline numbers of the run's own ``summary.csv`` in the page; downloads the scenario YAML (which
``glw-sim validate`` accepts) and the results zip. A second tab, with a session folder of its own, starts a
ten-year run at the same time and cancels it once it is under way: nothing of it is kept, and the first tab's run
is whole. The first tab then runs again with the same seed, more Restart places and three times its referrals:
while it runs the first run's figures are dimmed and said to be the previous run's; then the net extra shown
and every chart change to the second run's own (and the path it draws differs), the opening paragraph describes
the package as edited, and the page says Restart's places never ran short. Every request the pages make goes
to this machine. The first tab's screenshot goes to the test's tmp folder; with ``GLW_REFRESH_DOCS=1`` it also
refreshes ``docs/explorer.png`` (the README's).

The settings' own tests (no browser) run everywhere. On a machine without Chromium the browser test is skipped,
except under CI, where it fails.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from glw_sim.results import NO_GAIN

REPO = Path(__file__).resolve().parent.parent
#: set to 1 to refresh the README's screenshot, docs/explorer.png, from this test's page (otherwise: tmp only)
REFRESH_DOCS = "GLW_REFRESH_DOCS"
RUN_TIMEOUT = 150_000  # ms: a tiny run takes about 35 s on two cores (a first run also compiles the model)


# ---------------------------------------------------------------------------- settings (no browser)
@pytest.mark.parametrize("file", sorted(p.name for p in (REPO / "scenarios").glob("*.yaml")))
def test_every_shipped_scenario_round_trips_through_the_settings_and_its_yaml(file, tmp_path):
    from glw_sim.explore import edit_scenario, scenario_yaml, settings_from
    from glw_sim.scenario import load_scenario

    path = REPO / "scenarios" / file
    sc = load_scenario(path)
    s = settings_from(path)
    assert edit_scenario(s) == sc  # unchanged settings give the scenario itself
    (tmp_path / "out.yaml").write_text(scenario_yaml(sc))
    assert load_scenario(tmp_path / "out.yaml") == sc


def test_areas_levers_and_bad_inputs(tmp_path):
    from glw_sim.explore import (ALL_LONDON, areas_to_choices, choices_to_areas, edit_scenario, scenario_yaml,
                                 settings_from, text_to_who, who_to_text)
    from glw_sim.scenario import ScenarioError, load_scenario

    for areas in ({"all": True}, {"boroughs": ["Brent", "Hackney"]}, {"srp": ["Local London"], "icb": [
            "North West London"], "boroughs": ["Brent"]}):
        assert choices_to_areas(areas_to_choices(areas)) == areas
    assert choices_to_areas(["Brent", ALL_LONDON]) == {"all": True}
    who = {"health": "disabled", "state": ["inactive", "unemployed"]}
    assert text_to_who(who_to_text(who)) == who
    with pytest.raises(ScenarioError, match="expected attribute=value"):
        text_to_who("health disabled")

    s = settings_from(REPO / "scenarios" / "health-package-2030.yaml")
    restart = next(p for p in s.programmes if p.spec["type"] == "restart")
    assert not restart.on
    restart.on, restart.places_per_year = True, 20000
    sc = edit_scenario(s)
    assert [(p.type, p.places_per_year) for p in sc.interventions][-1] == ("restart", 20000)
    # the description the report quotes is the edited package's, and the YAML keeps it
    assert sc.description.startswith("edited in the explorer from health-package-2030.yaml: WorkWell with 15,600 "
                                     "places a year, in all London, from 2026-04; Connect to Work with 29,400 "
                                     "places a year, referrals x2, in all London")
    assert sc.description.endswith("; Restart with 20,000 places a year, in all London, from 2025-06.")
    (tmp_path / "edited.yaml").write_text(scenario_yaml(sc))
    assert load_scenario(tmp_path / "edited.yaml") == sc
    s.hubs.on = True  # no areas yet: one line naming the field
    with pytest.raises(ScenarioError, match=r"^health-package-2030.yaml \(as edited\): integration_hubs.0.areas"):
        edit_scenario(s)
    s.hubs.areas = ["Brent"]
    s.levers[-1].on, s.levers[-1].who = True, "health=disabld"
    with pytest.raises(ScenarioError) as err:
        edit_scenario(s)
    assert "employability.0.who" in str(err.value) and "\n" not in str(err.value)
    s.levers[-1].who = "health=disabled"
    s.run.precision, s.run.scale, s.run.replications = "off", 0.002, 2
    sc = edit_scenario(s)
    assert sc.precision is None and sc.population.scale == 0.002 and sc.replications == 2
    assert sc.integration_hubs[0].areas.boroughs == ["Brent"] and sc.employability[0].multiplier == 1.5
    s.run.precision, s.run.relative = "custom", 0.2
    assert edit_scenario(s).precision.relative == 0.2
    s.run.name = "../x"
    with pytest.raises(ScenarioError, match="name: expected letters"):
        edit_scenario(s)


def test_places_to_spare_names_a_programme_only_when_no_one_ever_waited(tmp_path):
    from glw_sim.explore import places_to_spare
    from glw_sim.pipeline import run_scenario
    from glw_sim.results import load_results
    from glw_sim.scenario import load_scenario

    def run(places: int):
        sc = load_scenario(REPO / "scenarios" / "restart-today.yaml", {
            "name": f"restart-{places}", "horizon": {"months": 3}, "population": {"scale": 0.002, "seed": 4},
            "replications": 1, "precision": None, "interventions": [{"type": "restart", "start": "2025-06",
                                                                     "places_per_year": places}]})
        return load_results(run_scenario(sc, tmp_path / "results", charts=False).folder)

    plenty, few = run(500_000), run(200)
    used = plenty.london("programme.restart.participants").to_numpy().max()
    assert 0 < used < 0.5 * 500_000  # far more places than referrals
    assert few.london("programme.restart.waiting").to_numpy().max() > 100  # a queue formed
    [line] = places_to_spare(plenty)
    assert line == (f"Restart: its places never ran short (at most {used:,.0f} of its 500,000 places in use in any "
                    f"month, {100 * used / 500_000:.0f}%). Its referrals set how many start, so more places change "
                    "nothing here; a higher referral multiplier, wider areas or a longer run would.")
    assert places_to_spare(few) == []


def test_a_cancel_that_lands_in_a_compiled_pass_is_a_cancel():
    """A cancel is a SIGTERM raised as KeyboardInterrupt; when it lands while a compiled pass calls back into
    Python, numba reports it as a SystemError caused by it (seen in CI): still a cancel, not a failed run. A real
    error, with or without a cause, is not."""
    from glw_sim.explore import _interrupted

    def raised(make):
        try:
            make()
        except BaseException as exc:  # noqa: BLE001
            return exc

    def chained():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as k:
            raise SystemError("returned a result with an exception set") from k

    def bug():
        try:
            raise KeyError("x")
        except KeyError as k:
            raise ValueError("y") from k

    assert _interrupted(raised(chained)) and _interrupted(KeyboardInterrupt())
    assert not _interrupted(raised(bug)) and not _interrupted(SystemError("z"))


def test_explore_help_describes_every_option(capsys):
    from glw_sim.cli import main

    with pytest.raises(SystemExit):
        main(["explore", "--help"])
    out = capsys.readouterr().out
    for opt in ("--port", "--no-browser", "--results"):
        assert len(out.split(opt, 2)[-1].split("\n")[0].strip()) > 5 or opt in out.split("options:")[1], opt
    assert "127.0.0.1" in out and "zip" in out


# ---------------------------------------------------------------------------- in the browser
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    results = tmp_path_factory.mktemp("explore")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    log = open(results / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "glw_sim.cli", "explore", "--port", str(port), "--no-browser",
                             "--results", str(results)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, (results / "server.log").read_text()
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("glw-sim explore did not start listening within 60 s")
    yield f"http://127.0.0.1:{port}/", results, proc
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def expect(locator):
    from playwright.sync_api import expect as _expect

    return _expect(locator)


def _local(url: str) -> bool:
    """A request to this machine: http(s)/ws to 127.0.0.1 or localhost, or a data:/blob: URL of the page."""
    if url.startswith("data:"):
        return True
    if url.startswith("blob:"):
        url = url[len("blob:"):]
    return urlparse(url).hostname in ("127.0.0.1", "localhost")


def _open(browser, url, requests):
    page = browser.new_page(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    page.on("request", lambda r: requests.append(r.url))
    page.on("websocket", lambda ws: requests.append(ws.url))
    page.goto(url)
    page.wait_for_selector("#session-folder", timeout=30_000)
    page.wait_for_selector(".prog-restart-on input", timeout=30_000)
    return page


def _set(page, css: str, value) -> None:
    box = page.locator(f"{css} input")
    box.fill(str(value))
    box.press("Enter")


def _tiny(page, months: int) -> None:
    """Precision off, scale 0.002, 2 replications, ``months`` months."""
    page.get_by_text("Off: the scale and replications below").click()
    _set(page, ".run-scale", 0.002)
    _set(page, ".run-replications", 2)
    _set(page, ".run-months", months)


def _wait_state(page, states: tuple[str, ...], timeout: int = RUN_TIMEOUT) -> str:
    """Wait for the run's state (the ``#run-state`` element) to be one of ``states``; returns it."""
    page.locator("#run-state", has_text=re.compile(f"^({'|'.join(states)})$")).wait_for(timeout=timeout)
    return page.locator("#run-state").inner_text()


def _chart_sources(page) -> list[str]:
    """The ``src`` of each chart image in the results (data: URLs of the run's PNGs), in page order."""
    imgs = page.locator(".results img")
    return [imgs.nth(i).get_attribute("src") or "" for i in range(imgs.count())]


def _png_of(src: str) -> bytes:
    import base64

    head, _, data = src.partition(",")
    assert head == "data:image/png;base64", head[:40]
    return base64.b64decode(data)


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("£", "").rstrip("%"))


def _shows(page, card: str, mean: float, low: float, high: float, unit: float = 1) -> None:
    """The headline card ``card`` shows ``mean`` and its 95% interval ``low`` to ``high``, to within one unit of
    its rounding (summary.csv keeps six significant figures)."""
    value = page.locator(f"{card} .value").inner_text()
    detail = page.locator(f"{card} .detail").inner_text()
    ends = re.match(r"95% interval (-?[\d,.]+)%? to (-?[\d,.]+)%?", detail)
    assert ends, detail
    assert [_number(value), *map(_number, ends.groups())] == pytest.approx([mean, low, high], abs=unit), (
        card, value, detail)


def _summary(folder: Path) -> pd.Series:
    d = pd.read_csv(folder / "summary.csv")
    return d[(d["area"] == "London") & (d["group"] == "all")].set_index("metric")


def test_explore_runs_cancels_and_downloads_in_two_sessions(browser, server, tmp_path):
    url, results, proc = server
    requests: list[str] = []
    page = _open(browser, url, requests)
    other = _open(browser, url, requests)  # a second tab: its own session and results folder
    mine, theirs = Path(page.locator("#session-folder").inner_text()), Path(other.locator("#session-folder").inner_text())
    assert mine != theirs and mine.parent == theirs.parent == results / "explore"
    assert page.locator(".scenario-pick select").input_value() == "health-package-2030.yaml"

    _tiny(page, 6)
    # WorkWell starts in April 2026, after a 6-month run ends: one line in the page, and nothing can run
    error = page.locator(".input-error")
    error.get_by_text("after the horizon ends").wait_for(timeout=10_000)
    assert "\n" not in error.inner_text().strip() and "Traceback" not in error.inner_text()
    expect(page.locator(".run-button button")).to_be_disabled(timeout=10_000)
    _set(page, ".prog-workwell-start", "2025-07")
    error.wait_for(state="hidden", timeout=10_000)
    # switch Restart on, with 60,000 places a year
    page.locator(".prog-restart-on input").check()
    _set(page, ".prog-restart-places", 60000)
    expect(page.locator(".run-button button")).to_be_enabled(timeout=10_000)

    # the other tab sets a ten-year run going at the same time, and cancels it once it is under way
    _tiny(other, 120)
    _set(other, ".prog-workwell-start", "2025-07")
    expect(other.locator(".run-button button")).to_be_enabled(timeout=10_000)
    page.locator(".run-button button").click()
    other.locator(".run-button button").click()
    page.locator("progress.run-progress").wait_for(timeout=10_000)
    other.locator(".run-status", has_text=re.compile(r"running: [1-9]")).wait_for(timeout=RUN_TIMEOUT)
    t0 = time.monotonic()
    other.locator(".cancel-button button").click()
    assert _wait_state(other, ("cancelled", "done", "failed"), timeout=30_000) == "cancelled"
    assert time.monotonic() - t0 < 15
    expect(other.locator(".run-button button")).to_be_enabled(timeout=10_000)
    expect(other.locator(".cancel-button button")).to_be_disabled(timeout=10_000)

    assert _wait_state(page, ("done", "failed", "cancelled")) == "done", page.locator(".run-status").inner_text()
    folder = Path(page.locator("#run-folder").inner_text())
    assert folder.parent.parent == mine and folder.parent.name == "health-package-2030"
    # the cancelled run kept nothing, not even a half-written folder; the first tab's run is whole
    assert [p for p in theirs.rglob("*") if p.is_dir() and p.parent.parent == theirs] == []
    assert not list(theirs.rglob(".partial*")) and not list(mine.rglob(".partial*"))
    sc = json.loads((folder / "manifest.json").read_text())["scenario"]
    assert {p["type"]: p["places_per_year"] for p in sc["interventions"]} == {
        "workwell": 15600, "connect_to_work": 29400, "restart": 60000}
    assert sc["population"]["scale"] == 0.002 and sc["replications"] == 2 and sc["horizon"]["months"] == 6

    # the page's headline numbers are the run's summary.csv, each with its interval
    s = _summary(folder)
    page.locator("#net-extra .value").wait_for(timeout=30_000)
    net = s.loc["net_extra_employed"]
    assert net["mean"] != 0
    _shows(page, "#net-extra", net["mean"], net["low_95"], net["high_95"])
    rate = s.loc["employment_rate"]
    _shows(page, "#employment-rate", 100 * rate["mean"], 100 * rate["low_95"], 100 * rate["high_95"], unit=0.1)
    assert _number(page.locator("#gap-to-80 .value").inner_text()) == pytest.approx(s.loc["gap_to_80", "mean"], abs=1)
    cost = s.loc["cost_per_net_extra_job"]
    if np.isfinite(cost["mean"]):
        assert page.locator("#cost-per-job .value").inner_text() == f"£{cost['mean']:,.0f}"
    else:  # a tiny run's net extra can be at or below zero: no cost per net job is shown (results.NO_GAIN)
        assert net["mean"] <= 0
        assert page.locator("#cost-per-job .value").inner_text() == "n/a"
        assert NO_GAIN in page.locator("#cost-per-job .detail").inner_text()
    assert page.locator("#cost-per-employment-year .value").is_visible()
    # the contributions table carries each part's interval; who gains has a row per group level
    assert "Restart" in page.locator("#costs").inner_text()
    contrib = s.loc["contribution.restart"]
    row = page.locator("#costs tr", has_text="Restart").inner_text()
    shown = re.search(r"(-?[\d,]+) to (-?[\d,]+)", row)
    assert shown and [_number(x) for x in shown.groups()] == pytest.approx([contrib["low_95"], contrib["high_95"]],
                                                                              abs=1), row
    assert page.locator("#who-gains tr").count() > 10
    # the run's own charts: employment path, route, map, cost per job, who gains
    imgs = page.locator(".results img")
    assert imgs.count() == 5
    assert all(imgs.nth(i).evaluate("i => i.complete && i.naturalWidth > 500") for i in range(5))

    # a second run, same seed, with more Restart places and three times its referrals: the page's net extra and
    # charts become the new run's own; Restart's places (far more than its referrals) are said not to bind
    first = {"net": page.locator("#net-extra .value").inner_text(), "charts": _chart_sources(page)}
    _set(page, ".prog-restart-places", 240000)
    _set(page, ".prog-restart-referral", 3)
    expect(page.locator(".run-button button")).to_be_enabled(timeout=10_000)
    page.locator(".run-button button").click()
    assert _wait_state(page, ("running",), timeout=30_000) == "running"
    # meanwhile the first run's figures are dimmed, with a line saying whose they are
    expect(page.locator("#stale-note")).to_be_visible(timeout=10_000)
    assert float(page.locator(".results").first.evaluate("e => getComputedStyle(e).opacity")) < 0.5
    assert _wait_state(page, ("done", "failed", "cancelled")) == "done", page.locator(".run-status").inner_text()
    expect(page.locator("#stale-note")).to_be_hidden(timeout=10_000)
    assert float(page.locator(".results").first.evaluate("e => getComputedStyle(e).opacity")) == 1
    second = Path(page.locator("#run-folder").inner_text())
    assert second != folder and second.parent == folder.parent
    net2 = _summary(second).loc["net_extra_employed"]
    page.locator("#net-extra .value").filter(has_not_text=re.compile(f"^{re.escape(first['net'])}$")).wait_for(timeout=30_000)
    _shows(page, "#net-extra", net2["mean"], net2["low_95"], net2["high_95"])  # the figure changed, to the new run's
    charts = _chart_sources(page)
    assert len(charts) == 5 and all(a != b for a, b in zip(charts, first["charts"]))
    # the path chart shown is the new run's own PNG, and the numbers it draws are not the first run's
    assert _png_of(charts[0]) == (second / "charts" / "employment_rate_trajectory.png").read_bytes()
    from glw_sim.chartdata import trajectory
    from glw_sim.results import load_results

    paths = [trajectory(load_results(f)).filter(like="Employment rate: ") for f in (folder, second)]
    assert paths[0].shape == paths[1].shape and not np.allclose(paths[0].to_numpy(), paths[1].to_numpy())
    sc2 = json.loads((second / "manifest.json").read_text())["scenario"]
    restart2 = next(p for p in sc2["interventions"] if p["type"] == "restart")
    assert restart2["places_per_year"] == 240000 and restart2["referral_multiplier"] == 3
    assert sc2["population"]["seed"] == sc["population"]["seed"]
    assert "Restart: its places never ran short" in page.locator("#places-to-spare").inner_text()
    # the opening paragraph quotes the package as edited, not the shipped scenario's description
    about = page.locator(".results p.glw-note").first.inner_text()
    assert "edited in the explorer from health-package-2030.yaml" in about
    assert "Restart with 240,000 places a year, referrals x3, in all London, from 2025-06" in about
    folder = second

    # downloads: the scenario as edited, which glw-sim validate accepts, and the results folder
    with page.expect_download() as d:
        page.locator(".yaml-download button").click()
    yaml_path = tmp_path / "edited.yaml"
    d.value.save_as(yaml_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "glw_sim.cli", "validate", str(yaml_path)], capture_output=True,
                         text=True, env=env, cwd=REPO)
    assert out.returncode == 0 and "ok (health-package-2030, 6 months" in out.stdout, out.stderr
    from glw_sim.scenario import load_scenario

    edited = load_scenario(yaml_path)
    assert [p.places_per_year for p in edited.interventions] == [15600, 29400, 240000]
    assert edited.interventions[-1].referral_multiplier == 3
    with page.expect_download() as d:
        page.locator(".zip-download button").click()
    zip_path = tmp_path / "results.zip"
    d.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        assert {f"{folder.name}/summary.csv", f"{folder.name}/report.html", f"{folder.name}/manifest.json",
                f"{folder.name}/charts/borough_map.png"} <= names
        assert z.read(f"{folder.name}/summary.csv") == (folder / "summary.csv").read_bytes()

    page.locator(".scenario-pick").scroll_into_view_if_needed()
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 50_000
    if os.environ.get(REFRESH_DOCS) == "1":  # the README's picture, only when asked: a test leaves the repo clean
        from PIL import Image  # (matplotlib's dependency) 256 colours keep the README's picture small

        Image.open(shot).convert("RGB").quantize(256).save(REPO / "docs" / "explorer.png", optimize=True)
    # nothing left this machine: Panel's and Bokeh's scripts and styles came from the server, charts are inline
    assert requests and all(_local(u) for u in requests), [u for u in requests if not _local(u)]
    page.close()
    other.close()
    assert proc.poll() is None  # the server is still up
