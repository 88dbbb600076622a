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

    def __init__(self, compared: bool):
        self.compared = compared

    def boroughs(self, targets):
        geo = targets.geography
        d = pd.DataFrame({"code": geo.codes, "employment_rate": np.linspace(0.66, 0.84, geo.n)})
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
    assert len(patches) >= 33
    assert {p.get_gid() for p in patches} == set(geo.codes)
    for p in patches:  # filled, with the rings of the shipped file
        assert p.get_facecolor()[3] > 0 and len(p.get_path().vertices) >= 4
    assert len(seen["texts"]) == 33 and all("%" in t for t in seen["texts"])
    assert all(("k" in t.split("\n")[-1]) == compared for t in seen["texts"])
    assert "Employment is lowest in" in seen["title"]
    assert "Source: glw-sim" in seen["source"] and "Open Government Licence" in seen["source"]
    assert "Crown copyright" in seen["source"]
    png = (tmp_path / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_grid_style_is_kept(targets, tmp_path):
    with C.style():
        C.borough_map(_Res(True), tmp_path / "grid.png", targets, style="grid")
        with pytest.raises(ValueError, match="unknown map style"):
            C.borough_map(_Res(True), tmp_path / "x.png", targets, style="hex")
    assert (tmp_path / "grid.png").stat().st_size > 20_000
