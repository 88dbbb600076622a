"""The briefing opens correctly in a real browser: headless Chromium (Debian's ``chromium``), driven by Playwright.

`.ci/run` installs Chromium; on a machine without it this test is skipped, except under CI, where it fails.
The screenshot is saved as ``report-screenshot.png`` beside the report, for a person to look at.
"""


def test_report_renders_with_every_chart_and_the_headline(browser, runs):
    res, _, _ = runs
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((res.folder / "report.html").as_uri())
    page.wait_for_load_state("load")
    imgs = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    charts = list((res.folder / "charts").glob("*.png"))
    assert len(imgs) == len(charts) >= 7
    assert all(ok and w > 500 and h > 200 for ok, w, h in imgs), imgs
    # only the page itself was fetched: images are inline, nothing goes to the network
    assert [u for u in requests if not u.startswith("data:")] == [(res.folder / "report.html").as_uri()]
    h = res.headline()
    text = page.inner_text("body")
    for shown in (f"{100 * h['employment_rate']['mean']:.1f}%", f"{h['gap_to_80']['mean']:,.0f}",
                  f"{h['net_extra_employed']['mean']:,.0f}"):
        assert shown in text, shown
    assert page.inner_text("#net-extra .value") == f"{h['net_extra_employed']['mean']:,.0f}"
    # the headline cards are laid out side by side at desktop width, and the first chart fits the page
    boxes = [page.locator(f"#{i}").bounding_box() for i in ("employment-rate", "gap-to-80", "net-extra")]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"] and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    first = page.locator("figure img").first.bounding_box()
    assert first["width"] <= 1200
    page.screenshot(path=str(res.folder / "report-screenshot.png"), full_page=True)
    assert (res.folder / "report-screenshot.png").stat().st_size > 50_000
    page.close()


def test_comparison_renders(browser, runs, tmp_path):
    from glw_sim.compare import write_comparison

    res, base, _ = runs
    out = write_comparison([base.folder, res.folder], tmp_path / "cmp")
    page = browser.new_page()
    page.goto(out.as_uri())
    imgs = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
    assert imgs and all(imgs)
    assert page.locator("#comparison tr").count() >= 8
    page.close()
