"""Polygon and image checks applied to every record before it is written.

Rules, in the order they are applied to each text instance (each outcome is tallied under its reason):

1. fewer than 3 points                       -> drop, ``too_few_points``
2. a NaN or infinite coordinate              -> drop, ``non_finite``
3. all points collinear / coincident         -> drop, ``zero_area``
4. self-intersecting (shapely ``is_valid`` false):
   - a 4-point polygon whose convex hull still has 4 corners is a quad given in the wrong vertex order
     (a "bow tie"): it is replaced by that hull, ``self_intersecting_repaired``;
   - otherwise ``shapely.make_valid`` splits it; the largest polygon's exterior is kept,
     ``self_intersecting_repaired``; when the repair has no polygon left, drop, ``self_intersecting_dropped``
5. a coordinate outside the image ``[0, width] x [0, height]`` -> clamp it to the bounds, ``clipped``;
   when the clamped polygon has no area left (it lay wholly outside), drop, ``outside_image``

Clamping (rather than intersecting with the image box) keeps the vertex count and order, so a quad stays a
quad and a curved polygon keeps its top-side-then-bottom-side layout that cropping relies on.
The bounds step is skipped when the record's size is unknown (width or height 0).

An image that cannot be read or decoded makes the whole record a ``Skipped`` (``missing_image`` /
``unreadable_image``; ``truncated_image`` for a JPEG cut short, which decoders would pad with grey).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
from shapely import make_valid
from shapely.geometry import MultiPoint, Polygon

from stages.dataset import images
from stages.dataset.records import ImageRecord, Skipped, TextInstance

Point = tuple[float, float]

# Reasons that remove an instance; a record that lost one counts as a bad item in the convert stage.
DROP_REASONS = ("too_few_points", "non_finite", "zero_area", "self_intersecting_dropped", "outside_image")
# Reasons that change an instance but keep it.
REPAIR_REASONS = ("self_intersecting_repaired", "clipped")

# Areas at or below this (in px^2) are treated as zero: float noise of collinear points.
_AREA_EPS = 1e-6


def validate_record(rec: ImageRecord, counts: Counter) -> ImageRecord:
    """Return a copy of ``rec`` with every instance checked, repaired or dropped by the module's rules.

    Tallies each drop or repair in ``counts`` under its reason.
    """
    kept = []
    for inst in rec.instances:
        clean = validate_instance(inst, rec.width, rec.height, counts)
        if clean is not None:
            kept.append(clean)
    return replace(rec, instances=kept)


def validate_instance(inst: TextInstance, width: int, height: int, counts: Counter) -> TextInstance | None:
    """Check one instance against an image of ``width`` x ``height`` (0 = unknown); None when dropped."""
    pts = [(float(x), float(y)) for x, y in inst.polygon]
    if len(pts) < 3:
        counts["too_few_points"] += 1
        return None
    if not all(math.isfinite(v) for p in pts for v in p):
        counts["non_finite"] += 1
        return None
    if MultiPoint(pts).convex_hull.area <= _AREA_EPS:
        counts["zero_area"] += 1
        return None
    if not Polygon(pts).is_valid:
        pts = repair_self_intersection(pts)
        if pts is None:
            counts["self_intersecting_dropped"] += 1
            return None
        counts["self_intersecting_repaired"] += 1
    if width > 0 and height > 0:
        clamped = clip_to_image(pts, width, height)
        if clamped != pts:
            if polygon_area(clamped) <= _AREA_EPS:
                counts["outside_image"] += 1
                return None
            counts["clipped"] += 1
            pts = clamped
    return replace(inst, polygon=pts)


def repair_self_intersection(pts: list[Point]) -> list[Point] | None:
    """Turn a self-intersecting polygon into a simple one (see rule 4); None when no area survives."""
    if len(pts) == 4:
        hull = MultiPoint(pts).convex_hull
        if isinstance(hull, Polygon) and len(hull.exterior.coords) == 5:
            # Same four corners, only the order was wrong: keep them, in the right order.
            return _ring_points(hull, pts[0])
    fixed = make_valid(Polygon(pts))
    parts = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon) and g.area > _AREA_EPS]
    if not parts:
        return None
    return _ring_points(max(parts, key=lambda g: g.area), pts[0])


def _ring_points(poly: Polygon, start: Point) -> list[Point]:
    """The exterior ring, clockwise on screen (y down, as ICDAR quads are), from the vertex nearest ``start``."""
    ring = [(float(x), float(y)) for x, y in list(poly.exterior.coords)[:-1]]  # shapely repeats the first point
    if _signed_area(ring) < 0:
        ring.reverse()
    first = min(range(len(ring)), key=lambda i: (ring[i][0] - start[0]) ** 2 + (ring[i][1] - start[1]) ** 2)
    return ring[first:] + ring[:first]


def _signed_area(pts: list[Point]) -> float:
    """Shoelace sum; positive when the ring turns clockwise on screen (y axis pointing down)."""
    xy = np.asarray(pts, dtype=np.float64)  # (N, 2)
    return float(np.dot(xy[:, 0], np.roll(xy[:, 1], -1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], -1))) / 2.0


def clip_to_image(pts: list[Point], width: int, height: int) -> list[Point]:
    """Clamp every vertex into ``[0, width] x [0, height]`` (continuous pixel coordinates)."""
    return [(min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))) for x, y in pts]


def polygon_area(pts: list[Point]) -> float:
    """Absolute shoelace area of a simple polygon given as a vertex list."""
    return abs(_signed_area(pts))


def read_image(path: Path, source: str) -> tuple[bytes, np.ndarray] | Skipped:
    """Read and fully decode an image file: (encoded bytes, HxWx3 BGR array in the stored pixel frame), or a
    Skipped naming why not."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return Skipped("missing_image", source, str(path))
    except OSError as exc:
        return Skipped("unreadable_image", source, f"{path}: {exc}")
    if images.is_truncated_jpeg(data):
        return Skipped("truncated_image", source, f"{path}: JPEG ends before its end-of-image marker")
    image = images.decode_image(data)  # the stored pixel frame: the one annotations are drawn in
    if image is None:
        return Skipped("unreadable_image", source, f"{path}: not a decodable image")
    return data, image

