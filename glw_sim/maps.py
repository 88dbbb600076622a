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


#: at most this many authorities are named together as "lowest" or "highest" when their intervals overlap
MAX_TIED = 3


def _ends(order, rate, low, high, names) -> tuple[str, bool]:
    """The authorities that cannot be told from the end of ``order`` (the first one): those whose 95% interval
    overlaps its interval. One: its name with its rate and interval; two or three: their names; more: ''.
    Returns (text, clear)."""
    first = order[0]
    lo_end, hi_end = low[first], high[first]
    if not (np.isfinite(lo_end) and np.isfinite(hi_end)):
        return "", False
    tied = [j for j in order[1:] if not (low[j] > hi_end or high[j] < lo_end)]
    if not tied:
        return f"{names[first]} ({rate[first]:.1f}%, 95% interval {lo_end:.1f} to {hi_end:.1f})", True
    if len(tied) < MAX_TIED:
        named = [names[first]] + [names[j] for j in tied]
        return ", ".join(named[:-1]) + " or " + named[-1], False
    return "", False


def extremes_title(names, rate, low, high) -> str:
    """The map's title: which authority's employment rate is lowest and which highest, stated only beyond noise.

    ``rate``, ``low``, ``high``: each authority's rate and 95% interval (%). An authority is named alone, with
    its rate and interval, only when its interval overlaps no other's; two or three whose intervals overlap are
    named together without a figure ("X, Y or Z"); more, or no interval, and none is named."""
    rate, low, high = (np.asarray(a, dtype=float) for a in (rate, low, high))
    up = [int(i) for i in np.argsort(rate, kind="stable")]
    low_text, low_clear = _ends(up, rate, low, high, names)
    high_text, high_clear = _ends(up[::-1], rate, low, high, names)
    if not low_text and not high_text:
        return ("No authority's employment rate is clearly the lowest or the highest: the 95% intervals at both "
                "ends overlap")

    def end(text: str, clear: bool, word: str) -> str:
        return f"{word} in {text}" + ("" if clear else " (their 95% intervals overlap)")

    if low_text and high_text:
        return f"Employment is {end(low_text, low_clear, 'lowest')} and {end(high_text, high_clear, 'highest')}"
    if low_text:
        return f"Employment is {end(low_text, low_clear, 'lowest')}; no authority is clearly highest"
    return f"Employment is {end(high_text, high_clear, 'highest')}; no authority is clearly lowest"
