"""The 33 authorities' boundaries, and a choropleth of them on a matplotlib axes. Presentation only.

The boundaries are ONS's (Local Authority Districts, December 2024, generalised and clipped; Open Government
Licence v3.0), simplified once by ``tools/make_boundaries.py`` into ``calibration/boundaries/
london_boroughs.geojson`` (see the README there). Plain matplotlib paths: no GIS library at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from glw_sim.paths import boundaries_path

#: for the chart's footnote
BOUNDARY_SOURCE = ("Boundaries: ONS Local Authority Districts (December 2024) BGC, Open Government Licence v3.0; "
                   "contains OS data © Crown copyright and database right 2024")
LAT0 = 51.5
#: a degree of longitude in London is cos(51.5°) of a degree of latitude: the map's aspect ratio
ASPECT = 1 / np.cos(np.radians(LAT0))


@dataclass(frozen=True)
class Boundary:
    """One authority: its polygons (each a list of closed rings, outer ring first; lon/lat) and label point."""

    code: str
    name: str
    polygons: tuple[tuple[np.ndarray, ...], ...]
    label: tuple[float, float]

    @property
    def area_km2(self) -> float:
        return sum(_ring_area_km2(p[0]) - sum(_ring_area_km2(h) for h in p[1:]) for p in self.polygons)


def _ring_area_km2(ring: np.ndarray) -> float:
    x = ring[:, 0] * 111.320 / ASPECT
    y = ring[:, 1] * 110.574
    return abs(0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))


@lru_cache(maxsize=2)
def load_boundaries(path: Path | None = None) -> dict[str, Boundary]:
    """The shipped boundaries by ONS code (a MultiPolygon per authority)."""
    path = Path(path) if path is not None else boundaries_path()
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for f in data["features"]:
        p, g = f["properties"], f["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        out[p["code"]] = Boundary(p["code"], p["name"],
                                  tuple(tuple(np.asarray(r, dtype=float) for r in poly) for poly in polys),
                                  tuple(p["label"]))
    return out


def boundary_path(b: Boundary):
    """A compound matplotlib Path of every ring of the authority (holes stay holes: they wind the other way)."""
    from matplotlib.path import Path as MPath

    rings = [MPath(r, closed=True) for poly in b.polygons for r in poly]
    return MPath.make_compound_path(*rings)


def draw_choropleth(ax, codes, colours, *, edge: str = "white", lw: float = 0.7) -> list:
    """One PathPatch per authority, filled with its colour; each patch's gid is the authority's ONS code."""
    from matplotlib.patches import PathPatch

    bounds = load_boundaries()
    patches = []
    for code, colour in zip(codes, colours):
        patch = PathPatch(boundary_path(bounds[code]), facecolor=colour, edgecolor=edge, lw=lw, joinstyle="round")
        patch.set_gid(code)
        ax.add_patch(patch)
        patches.append(patch)
    xy = np.vstack([r for code in codes for poly in bounds[code].polygons for r in poly])
    pad = 0.012
    ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
    ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    ax.set_aspect(ASPECT)
    ax.axis("off")
    return patches
