"""The borough map: the shipped ONS boundaries (33 authorities, valid closed rings) and the chart drawn from them."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import PathPatch

from glw_sim import charts as C
from glw_sim.geography import load_geography
from glw_sim.maps import load_boundaries
from glw_sim.paths import boundaries_path


def _signed_area(ring):
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def test_boundary_file_has_the_33_authorities_with_valid_closed_rings():
    path = boundaries_path()
    assert path.stat().st_size < 300_000
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and "Open Government Licence" in data["source"]
    geo = load_geography()
    codes = [f["properties"]["code"] for f in data["features"]]
    assert sorted(codes) == sorted(geo.codes) == [f"E09{i:06d}" for i in range(1, 34)]
    for f in data["features"]:
        p, g = f["properties"], f["geometry"]
        assert p["name"] == geo.names[geo.index(p["code"])]
        assert g["type"] == "MultiPolygon" and g["coordinates"]
        for poly in g["coordinates"]:
            for k, ring in enumerate(poly):
                r = np.asarray(ring, dtype=float)
                assert r.ndim == 2 and r.shape[1] == 2 and np.isfinite(r).all()
                assert len(r) >= 4 and (r[0] == r[-1]).all(), p["code"]  # closed, at least a triangle
                assert len(np.unique(r[:-1], axis=0)) >= 3
                assert (r[:, 0] > -0.6).all() and (r[:, 0] < 0.4).all()  # Greater London
                assert (r[:, 1] > 51.25).all() and (r[:, 1] < 51.72).all()
                assert (_signed_area(r) > 0) == (k == 0)  # RFC 7946: outer anticlockwise, holes clockwise
    # the map's label points are inside their authority
    from glw_sim.maps import boundary_path

    for code, b in load_boundaries().items():
        assert boundary_path(b).contains_point(b.label), code
    by_name = {b.name: b for b in load_boundaries().values()}
    for name, xy in C.MAP_LABEL_AT.items():  # the chart's moved labels too
        assert boundary_path(by_name[name]).contains_point(xy), name


def test_areas_are_those_of_the_boroughs():
    """Simplification keeps each authority's area (against the GLA's inland hectares) and London's total."""
    b = load_boundaries()
    ha = pd.read_csv(Path(__file__).resolve().parents[1] / "calibration" / "targets" / "borough_workplace.csv")
    for code, hectares in zip(ha["code"], ha["area_hectares"]):
        assert b[code].area_km2 == pytest.approx(hectares / 100, rel=0.12), code
    assert sum(x.area_km2 for x in b.values()) == pytest.approx(1572, rel=0.03)  # Greater London, km2


class _Res:
    """Just what the map reads from a run's results."""

    horizon = 12
    run_id = "test-run"

    def __init__(self, compared: bool, half_width: float = 0.002):
        self.compared, self.half_width = compared, half_width

    def boroughs(self, targets):
        geo = targets.geography
        rate = np.linspace(0.66, 0.84, geo.n)[::-1]  # the first authority highest, the last lowest
        d = pd.DataFrame({"code": geo.codes, "employment_rate": rate, "low_95": rate - self.half_width,
                          "high_95": rate + self.half_width})
        if self.compared:
            d["net_extra_employed"] = np.linspace(-200, 2400, geo.n)
        return d


@pytest.mark.parametrize("compared", [True, False])
def test_map_draws_one_patch_or_more_per_authority(targets, monkeypatch, tmp_path, compared):
    seen = {}
    real = C._finish

    def spy(fig, path, run_id, note=None, source=C.SOURCE):
        ax = fig.axes[0]
        seen["patches"] = [p for p in ax.patches if isinstance(p, PathPatch)]
        seen["texts"] = [t.get_text() for t in ax.texts]
        seen["source"] = source
        seen["title"] = fig._suptitle.get_text()
        real(fig, path, run_id, note, source)

    monkeypatch.setattr(C, "_finish", spy)
    with C.style():
        C.borough_map(_Res(compared), tmp_path / "map.png", targets)
    patches = seen["patches"]
    geo = targets.geography
    assert len(patches) == 33  # one boundary (a compound path of its rings) per authority
    assert sorted(p.get_gid() for p in patches) == sorted(geo.codes)
    for p in patches:  # filled, with the rings of the shipped file
        assert p.get_facecolor()[3] > 0 and len(p.get_path().vertices) >= 4
    assert len(seen["texts"]) == 33 and all("%" in t for t in seen["texts"])
    assert all(("k" in t.split("\n")[-1]) == compared for t in seen["texts"])
    # intervals of +-0.2 points, rates 0.56 points apart: the ends are named, each with its interval
    lo, hi = geo.names[-1], geo.names[0]
    assert seen["title"] == (f"Employment is lowest in {lo} (66.0%, 95% interval 65.8 to 66.2) and highest in "
                             f"{hi} (84.0%, 95% interval 83.8 to 84.2)")
    assert "Source: glw-sim" in seen["source"] and "Open Government Licence" in seen["source"]
    assert "Crown copyright" in seen["source"]
    png = (tmp_path / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_map_title_ranks_no_authority_within_noise(targets, monkeypatch, tmp_path):
    """Intervals of +-2 points (rates 0.56 points apart) overlap at both ends: the drawn title names no end."""
    titles = []
    monkeypatch.setattr(C, "_finish", lambda fig, *a, **k: titles.append(fig._suptitle.get_text()))
    with C.style():
        C.borough_map(_Res(True, half_width=0.02), tmp_path / "map.png", targets)
        C.borough_map(_Res(True, half_width=0.02), tmp_path / "grid.png", targets, style="grid")
    assert len(titles) == 2 and titles[0] == titles[1]
    assert titles[0].startswith("No authority's employment rate is clearly the lowest or the highest")
    assert not any(name in titles[0] for name in targets.geography.names)


def test_extremes_title_names_an_end_only_beyond_its_interval():
    from glw_sim.maps import extremes_title

    names = ["A", "B", "C", "D", "E"]
    rate = [70.0, 72.0, 74.0, 76.0, 80.0]
    # every interval apart: both ends named, with their figures
    assert extremes_title(names, rate, [r - 0.5 for r in rate], [r + 0.5 for r in rate]) == (
        "Employment is lowest in A (70.0%, 95% interval 69.5 to 70.5) and highest in E (80.0%, 95% interval "
        "79.5 to 80.5)")
    # A and B overlap (B's low 70.9 < A's high 71.0); C does not reach A: "A or B", without a figure
    low, high = [69.0, 70.9, 73.5, 75.5, 79.5], [71.0, 73.1, 74.5, 76.5, 80.5]
    t = extremes_title(names, rate, low, high)
    assert t == ("Employment is lowest in A or B (their 95% intervals overlap) and highest in E (80.0%, 95% "
                 "interval 79.5 to 80.5)")
    # the lowest overlaps three others: none named lowest; the highest still is
    low, high = [69.0, 71.5, 73.5, 75.9, 79.5], [76.0, 72.5, 74.5, 76.5, 80.5]
    assert extremes_title(names, rate, low, high) == (
        "Employment is highest in E (80.0%, 95% interval 79.5 to 80.5); no authority is clearly lowest")
    low, high = [69.5, 71.5, 73.5, 75.5, 75.0], [70.5, 72.5, 74.5, 76.5, 85.0]  # E overlaps only D
    assert extremes_title(names, rate, low, high) == (
        "Employment is lowest in A (70.0%, 95% interval 69.5 to 70.5) and highest in E or D (their 95% "
        "intervals overlap)")
    # no intervals (a single replication): nothing is ranked
    nan = [float("nan")] * 5
    assert extremes_title(names, rate, nan, nan).startswith("No authority's employment rate is clearly")


def test_grid_style_is_kept(targets, tmp_path):
    with C.style():
        C.borough_map(_Res(True), tmp_path / "grid.png", targets, style="grid")
        with pytest.raises(ValueError, match="unknown map style"):
            C.borough_map(_Res(True), tmp_path / "x.png", targets, style="hex")
    assert (tmp_path / "grid.png").stat().st_size > 20_000


def test_readme_shows_the_explorer_and_the_map_kept_small():
    from PIL import Image

    repo = Path(__file__).resolve().parents[1]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    for name in ("explorer.png", "map.png"):
        path = repo / "docs" / name
        assert f"](docs/{name})" in readme, name
        assert 20_000 < path.stat().st_size < 250_000, name
        with Image.open(path) as im:
            assert im.mode == "P" and 700 <= im.width <= 1600, (name, im.mode, im.size)  # 256 colours, legible


def test_the_route_charts_gap_title_gives_no_verdict_within_noise():
    """The route chart's lower title: still needed (with its interval) only when the whole interval of the net extra
    falls short of the gap, 'more than needed' only when all of it exceeds it, and otherwise says it spans it."""
    from glw_sim.charts import _still_needed

    gap = 327_000
    assert _still_needed(gap, {"mean": 100_000, "low_95": 90_000, "high_95": 110_000}) == \
        "227k still needed at the horizon (217k to 237k)"
    assert _still_needed(gap, {"mean": 400_000, "low_95": 380_000, "high_95": 420_000}) == \
        "The net extra is more than the 327k needed, by 53k to 93k"
    spans = _still_needed(gap, {"mean": 338_000, "low_95": 319_000, "high_95": 358_000})
    assert spans == "The net extra's interval spans the 327k needed: from 8k short to 31k more than needed"
