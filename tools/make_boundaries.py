"""Make ``calibration/boundaries/london_boroughs.geojson`` from ONS's LAD boundaries (development time only).

Input: ONS Open Geography Portal, *Local Authority Districts (December 2024) Boundaries UK BGC* (generalised to
20 m, clipped to the coastline), as a TopoJSON with ``AREACD``/``AREANM`` per district, kept by
github.com/henryjameslau/geoportal-boundaries-as-topojson (``outputs/Local_Authority_Districts_December_2024_
Boundaries_UK_BGC.json``). Open Government Licence v3.0; contains OS data (c) Crown copyright and database right.

What it does, in numpy only:

1. keeps the 33 London authorities (E09000001..E09000033) and checks them against ``calibration/targets/
   geography.csv``;
2. simplifies each TopoJSON *arc* (a stretch of boundary shared by two authorities, or on London's edge) with
   Douglas-Peucker at ``--tolerance`` metres, ends fixed, so neighbours still meet exactly (no slivers or gaps);
3. drops parts smaller than ``--min-part`` square kilometres (slivers and islets; an authority's largest part is
   always kept), rebuilds every ring from its arcs, closes it and orients it as RFC 7946 asks (outer rings
   anticlockwise, holes clockwise);
4. adds a label point per authority (the interior point farthest from its boundary, on a 150 m grid) and writes
   GeoJSON (RFC 7946, WGS84 longitude/latitude, 5 decimals).

Usage::

    python tools/make_boundaries.py /path/to/Local_Authority_Districts_December_2024_Boundaries_UK_BGC.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "calibration" / "boundaries" / "london_boroughs.geojson"
LAT0 = 51.5  # metres per degree near London: a local equirectangular plane is accurate to well under 1%
M_LON, M_LAT = 111_320 * np.cos(np.radians(LAT0)), 110_574


def decode_arcs(topo: dict) -> list[np.ndarray]:
    """TopoJSON arcs (quantised, delta-encoded) as float arrays of (lon, lat)."""
    t = topo.get("transform")
    out = []
    for arc in topo["arcs"]:
        a = np.asarray(arc, dtype=float)
        if t:
            a = np.cumsum(a, axis=0) * t["scale"] + t["translate"]
        out.append(a)
    return out


def plane(lonlat: np.ndarray) -> np.ndarray:
    return np.column_stack([lonlat[:, 0] * M_LON, lonlat[:, 1] * M_LAT])


def douglas_peucker(xy: np.ndarray, tol: float) -> np.ndarray:
    """Indices kept by Douglas-Peucker (first and last always kept); iterative, on plane coordinates in metres."""
    n = len(xy)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    if np.allclose(xy[0], xy[-1]):  # a closed arc: split at the point farthest from its start
        far = int(np.argmax(np.hypot(*(xy - xy[0]).T)))
        keep[far] = True
        stack = [(0, far), (far, n - 1)]
    else:
        stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = xy[i], xy[j]
        seg = b - a
        pts = xy[i + 1:j] - a
        length = np.hypot(*seg)
        if length == 0:
            d = np.hypot(*pts.T)
        else:
            d = np.abs(seg[0] * pts[:, 1] - seg[1] * pts[:, 0]) / length
        k = int(np.argmax(d))
        if d[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return np.flatnonzero(keep)


def ring_from_arcs(refs: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """A ring's points from its arc references (a negative reference ~i is arc i reversed)."""
    parts = []
    for r in refs:
        a = arcs[r] if r >= 0 else arcs[~r][::-1]
        parts.append(a if not parts else a[1:])
    ring = np.vstack(parts)
    if not np.allclose(ring[0], ring[-1]):
        ring = np.vstack([ring, ring[:1]])
    ring[-1] = ring[0]
    return ring


def area_km2(ring: np.ndarray) -> float:
    x, y = plane(ring).T
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])) / 1e6


def label_point(polygons: list[list[np.ndarray]], step: float = 150.0) -> tuple[float, float]:
    """The point inside the largest part farthest from any edge of the authority (a grid search)."""
    from matplotlib.path import Path as MPath

    outer = max((p[0] for p in polygons), key=lambda r: abs(area_km2(r)))
    xy = plane(outer)
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    gx, gy = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    inside = MPath(xy).contains_points(pts)
    for p in polygons:  # not in a hole
        for hole in p[1:]:
            inside &= ~MPath(plane(hole)).contains_points(pts)
    pts = pts[inside] if inside.any() else xy[:1]
    edges = np.vstack([np.column_stack([plane(r)[:-1], plane(r)[1:]]) for p in polygons for r in p])
    a, b = edges[:, :2], edges[:, 2:]
    best, where = -1.0, pts[0]
    for chunk in np.array_split(pts, max(1, len(pts) // 2000)):
        ab = b - a
        t = np.clip(((chunk[:, None, :] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)
        near = a + t[..., None] * ab
        d = np.hypot(*(chunk[:, None, :] - near).transpose(2, 0, 1)).min(axis=1)
        k = int(np.argmax(d))
        if d[k] > best:
            best, where = float(d[k]), chunk[k]
    return round(where[0] / M_LON, 5), round(where[1] / M_LAT, 5)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("topojson", type=Path)
    ap.add_argument("--tolerance", type=float, default=40.0, help="Douglas-Peucker tolerance, metres")
    ap.add_argument("--min-part", type=float, default=0.05, help="drop parts smaller than this, km2")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    topo = json.loads(args.topojson.read_text())
    (obj,) = topo["objects"].values()
    geoms = {g["properties"]["AREACD"]: g for g in obj["geometries"] if g["properties"]["AREACD"].startswith("E09")}
    geo = pd.read_csv(REPO / "calibration" / "targets" / "geography.csv").set_index("code")
    assert sorted(geoms) == sorted(geo.index), "the 33 London codes differ from geography.csv"

    raw = decode_arcs(topo)
    used = {r if r >= 0 else ~r for g in geoms.values() for poly in _polys(g) for ring in poly for r in ring}
    simple = {i: raw[i][douglas_peucker(plane(raw[i]), args.tolerance)] for i in sorted(used)}

    features, n_points = [], 0
    for code in sorted(geoms):
        g = geoms[code]
        polys = []
        for poly in _polys(g):
            rings = [ring_from_arcs(refs, simple) for refs in poly]
            full = [ring_from_arcs(refs, raw) for refs in poly]
            # a ring that simplification collapsed keeps its full detail
            rings = [r if len(np.unique(r[:-1], axis=0)) >= 3 and abs(area_km2(r)) > 0.5 * abs(area_km2(f)) else f
                     for r, f in zip(rings, full)]
            polys.append((abs(area_km2(full[0])), rings))
        biggest = max(a for a, _ in polys)
        kept = [rings for a, rings in polys if a >= args.min_part or a == biggest]
        kept = [[r if (area_km2(r) > 0) == (k == 0) else r[::-1] for k, r in enumerate(rings)] for rings in kept]
        label = label_point(kept)
        coords = [[[[round(float(x), 5), round(float(y), 5)] for x, y in ring] for ring in rings] for rings in kept]
        n_points += sum(len(r) for p in coords for r in p)
        features.append({
            "type": "Feature",
            "properties": {"code": code, "name": geo.loc[code, "name"], "ons_name": g["properties"]["AREANM"],
                           "label": list(label)},
            "geometry": {"type": "MultiPolygon", "coordinates": coords},
        })
    out = {
        "type": "FeatureCollection",
        "name": "London local authorities (ONS LAD December 2024 BGC, simplified)",
        "source": "Office for National Statistics, Local Authority Districts (December 2024) Boundaries UK BGC; "
                  "Open Government Licence v3.0; contains OS data (c) Crown copyright and database right 2024. "
                  f"Simplified by tools/make_boundaries.py (Douglas-Peucker on shared arcs, {args.tolerance:g} m; "
                  f"parts under {args.min_part:g} km2 dropped).",
        "features": features,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(out, separators=(",", ":"), ensure_ascii=False)
    text = text.replace('{"type":"Feature"', '\n{"type":"Feature"')  # one authority a line: readable diffs
    args.out.write_text(text + "\n")
    print(f"{args.out}: {len(features)} authorities, {n_points} points, {args.out.stat().st_size / 1000:.0f} kB")


def _polys(g: dict) -> list[list[list[int]]]:
    return g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]


if __name__ == "__main__":
    main()
