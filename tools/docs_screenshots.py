"""Refresh the README's pictures under ``docs/`` (development time only; the tests never write there).

- ``docs/map.png``: the borough map as a run's ``report.html`` shows it, a screenshot taken with headless
  Chromium (Debian's ``chromium``, driven by Playwright). By default from a run made here: route-to-80 at scale
  0.02 with 4 replications (precision off, no attribution runs: the map needs the package and no new policy only);
  ``--run FOLDER`` takes an existing results folder instead.
- ``docs/explorer.png``: taken by the explorer's browser test when asked,
  ``GLW_REFRESH_DOCS=1 python -m pytest tests/test_explore.py -k two_sessions``.

Both are reduced to 256 colours to keep the repository small.

Usage::

    python tools/docs_screenshots.py [--run results/route-to-80/<run-id>] [--scale 0.02] [--replications 4]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_run(scale: float, replications: int, results: Path) -> Path:
    from glw_sim.pipeline import run_scenario
    from glw_sim.scenario import load_scenario

    sc = load_scenario(REPO / "scenarios" / "route-to-80.yaml", {
        "population": {"scale": scale}, "replications": replications, "precision": None,
        "outputs": {"attribution": False}})
    return run_scenario(sc, results).folder


def shoot(report: Path, out: Path) -> None:
    """The report's map figure (image and caption), as Chromium draws it, to ``out`` in 256 colours."""
    from playwright.sync_api import sync_playwright
    from PIL import Image

    from glw_sim.report import CHART_CAPTIONS

    alt = CHART_CAPTIONS["borough_map"]  # the map's <img> in the report carries its caption

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=chromium, args=args, headless=True)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(report.resolve().as_uri())
        figure = page.locator("figure", has=page.locator(f'img[alt="{alt}"]'))
        figure.scroll_into_view_if_needed()
        raw = Path(tmp) / "map.png"
        figure.screenshot(path=str(raw))
        browser.close()
        Image.open(raw).convert("RGB").quantize(256).save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size / 1000:.0f} kB) from {report}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, help="an existing results folder (default: make a run in a tmp folder)")
    ap.add_argument("--scale", type=float, default=0.02, help="share of residents simulated for the run made here")
    ap.add_argument("--replications", type=int, default=4, help="replications of the run made here")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "map.png", help="where the map's picture goes")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.run or make_run(a.scale, a.replications, Path(tmp) / "results")
        shoot(folder / "report.html", a.out)


if __name__ == "__main__":
    main()
