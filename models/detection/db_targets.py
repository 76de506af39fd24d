"""DBNet training targets from text polygons (numpy/cv2/pyclipper; no torch).

For each instance the offset is D = A (1 - r^2) / L (A area, L perimeter, r = ``shrink_ratio``):
- ``gt``: 1 inside the polygon shrunk by D, else 0;
- ``mask``: per-pixel loss weight for the probability and binary maps: 1 by default, the instance's
  ``weight`` over its whole (unshrunk) polygon, 0 for don't-care / weight-0 / too-small instances;
  where instances overlap the smaller weight wins;
- ``thresh_map``: thresh_min + (thresh_max - thresh_min) * (1 - d / D) near each polygon border,
  d = distance to the border, clipped to [0, 1]; thresh_min elsewhere;
- ``thresh_mask``: the instance's weight inside the polygon dilated by D (largest where they overlap).

Coordinates are pixel coordinates (x, y), the convention of ``cv2.fillPoly``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyclipper

from stages.dataset.transforms.geometry import fill_polygons

# pyclipper works on integers: coordinates are scaled up so offsets keep sub-pixel precision.
_CLIPPER_SCALE = 256.0


def polygon_area_perimeter(poly: np.ndarray) -> tuple[float, float]:
    """Shoelace area (absolute) and perimeter of a closed polygon (N, 2)."""
    x, y = poly[:, 0].astype(np.float64), poly[:, 1].astype(np.float64)
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    perimeter = float(np.linalg.norm(poly - np.roll(poly, -1, axis=0), axis=1).sum())
    return area, perimeter


def offset_polygon(poly: np.ndarray, distance: float, round_joins: bool = True) -> list[np.ndarray]:
    """Grow (distance > 0) or shrink (distance < 0) a polygon with round (else mitred) joins;
    the result may have 0 or 2+ parts."""
    clipper = pyclipper.PyclipperOffset()
    clipper.ArcTolerance = 0.25 * _CLIPPER_SCALE  # a quarter pixel, as unscaled clipper would use
    path = np.round(np.asarray(poly, np.float64) * _CLIPPER_SCALE).astype(np.int64).tolist()
    join = pyclipper.JT_ROUND if round_joins else pyclipper.JT_MITER
    clipper.AddPath(path, join, pyclipper.ET_CLOSEDPOLYGON)
    parts = clipper.Execute(distance * _CLIPPER_SCALE)
    return [np.asarray(p, dtype=np.float64).reshape(-1, 2) / _CLIPPER_SCALE for p in parts]


def make_targets(
    h: int,
    w: int,
    polygons: Sequence[np.ndarray],
    ignore: Sequence[bool],
    weights: Sequence[float],
    shrink_ratio: float = 0.4,
    thresh_min: float = 0.3,
    thresh_max: float = 0.7,
    min_text_size: float = 8,
) -> dict[str, np.ndarray]:
    """Build the DBNet targets of one (h, w) image.

    polygons: one (N_i, 2) float array of (x, y) vertices per instance, N_i >= 3.
    ignore: don't-care flags (``###``); such instances get weight 0 whatever ``weights`` says.
    weights: per-instance loss weight in [0, 1].
    min_text_size: instances whose bounding box is thinner than this (pixels) are treated as don't care.
    Returns float32 (h, w) arrays ``gt``, ``mask``, ``thresh_map``, ``thresh_mask``.
    """
    if not (len(polygons) == len(ignore) == len(weights)):
        raise ValueError(
            f"make_targets: {len(polygons)} polygons, {len(ignore)} ignore flags, {len(weights)} weights"
        )
    gt = np.zeros((h, w), np.float32)
    mask = np.ones((h, w), np.float32)
    canvas = np.zeros((h, w), np.float32)  # 1 - normalised distance to the nearest border
    thresh_mask = np.zeros((h, w), np.float32)
    for i, (poly, ign, weight) in enumerate(zip(polygons, ignore, weights)):
        poly = _check_polygon(poly, i)
        weight = _check_weight(weight, i)
        area, perimeter = polygon_area_perimeter(poly)
        extent = poly.max(axis=0) - poly.min(axis=0)
        distance = area * (1.0 - shrink_ratio**2) / perimeter if perimeter > 0 else 0.0
        shrunk = offset_polygon(poly, -distance) if distance > 0 else []
        if ign or weight == 0.0 or min(extent) < min_text_size or not shrunk:
            _fill_min(mask, poly, 0.0)
            continue
        _fill_min(mask, poly, weight)
        fill_polygons(gt, shrunk, 1.0)
        _draw_border(canvas, thresh_mask, poly, distance, weight)
    thresh_map = canvas * (thresh_max - thresh_min) + thresh_min
    return {"gt": gt, "mask": mask, "thresh_map": thresh_map.astype(np.float32), "thresh_mask": thresh_mask}


def _check_polygon(poly: np.ndarray, index: int) -> np.ndarray:
    poly = np.asarray(poly, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3 or not np.isfinite(poly).all():
        raise ValueError(f"make_targets: polygon {index} must be a finite (N>=3, 2) array, got shape {poly.shape}")
    return poly


def _check_weight(weight: float, index: int) -> float:
    weight = float(weight)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"make_targets: weight of instance {index} must be in [0, 1], got {weight}")
    return weight


def _fill_min(mask: np.ndarray, poly: np.ndarray, value: float) -> None:
    """mask = min(mask, value) inside the polygon (so overlapping lower weights and ignores win)."""
    region = np.zeros(mask.shape, np.uint8)
    fill_polygons(region, [poly], 1)
    inside = region.astype(bool)
    mask[inside] = np.minimum(mask[inside], value)


def _draw_border(canvas: np.ndarray, thresh_mask: np.ndarray, poly: np.ndarray, distance: float, weight: float) -> None:
    """Raise ``canvas`` to 1 - d/D around the polygon border and mark the dilated region in ``thresh_mask``."""
    grown = offset_polygon(poly, distance)
    if not grown:
        return
    grown_poly = max(grown, key=lambda p: polygon_area_perimeter(p)[0])
    region = np.zeros(canvas.shape, np.uint8)
    fill_polygons(region, [grown_poly], 1)
    inside = region.astype(bool)
    thresh_mask[inside] = np.maximum(thresh_mask[inside], weight)

    h, w = canvas.shape
    x0, y0 = np.clip(np.floor(grown_poly.min(axis=0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(grown_poly.max(axis=0)).astype(int), 0, [w - 1, h - 1])
    xs, ys = np.meshgrid(np.arange(x0, x1 + 1, dtype=np.float64), np.arange(y0, y1 + 1, dtype=np.float64))
    dist = np.full(xs.shape, np.inf)
    for a, b in zip(poly, np.roll(poly, -1, axis=0)):
        dist = np.minimum(dist, _segment_distance(xs, ys, a, b))
    closeness = 1.0 - np.clip(dist / distance, 0.0, 1.0)  # (y1-y0+1, x1-x0+1)
    window = canvas[y0 : y1 + 1, x0 : x1 + 1]
    np.maximum(window, closeness.astype(np.float32), out=window)


def _segment_distance(xs: np.ndarray, ys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance from every grid point (xs, ys) to the segment a-b."""
    ab = b - a
    length2 = float(ab @ ab)
    if length2 == 0.0:
        return np.hypot(xs - a[0], ys - a[1])
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / length2, 0.0, 1.0)
    return np.hypot(xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1]))
