"""CRAFT post-processing: region + affinity score maps -> word boxes / polygons with scores (numpy/cv2).

1. text mask = region > ``low_text`` OR affinity > ``link_threshold``; its 8-connected components are
   word candidates (affinity joins the characters of a word into one component);
2. a candidate survives with at least ``MIN_PIXELS`` pixels and a peak region score >= ``text_threshold``;
3. its segmentation is its pixels minus the *link-only* ones (affinity above the link threshold where
   the region score is not above ``low_text``): those lie between words as often as inside them, and
   a stray link reaching into a neighbour would otherwise drag the box along;
4. the segmentation is dilated by a kernel growing with the word's thickness (region scores are peaked
   at character centres, so the thresholded blob is thinner than the glyphs):
   niter = int(sqrt(size * min(w, h) / (w * h)) * 2), a (1 + niter)^2 square kernel;
5. ``quad``: its minimum-area rectangle as 4 points (clockwise from the top-left); a near-square
   rectangle (side ratio within 10%) becomes the axis-aligned bounding box, whose orientation is
   unambiguous where the min-area angle of a blob is not;
   ``poly``: a polygon following the word along its main axis: the dilated segmentation is cut into
   slices across that axis, each slice gives one point on the upper and one on the lower outline;
6. score = the component's peak region score; detections under ``box_thresh`` are dropped.
Coordinates are mapped from score-map pixels to original-image pixels by ``scale`` (map pixels per
original pixel) and clipped to the image.
"""
from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from models.detection.db_postprocess import order_quad

Detection = tuple[np.ndarray, float]  # (polygon (N, 2) float32 in original-image pixels, score)

MIN_PIXELS = 10  # smaller components are noise
SQUARE_RATIO = 0.1  # |w / h - 1| under which a rectangle's orientation is ambiguous
POLY_SLICES = 8  # at most this many cuts along a word (poly mode): 2 * (cuts + 1) vertices


def postprocess(region: np.ndarray, affinity: np.ndarray, *, out_shape: tuple[int, int] | None = None,
                scale: float | tuple[float, float] = 1.0, mode: Literal["poly", "quad"] = "quad",
                text_threshold: float = 0.7, link_threshold: float = 0.4, low_text: float = 0.4,
                box_thresh: float = 0.0) -> list[Detection]:
    """Word detections from one image's (H, W) region and affinity maps, best score first.

    out_shape: (H0, W0) of the original image (results are clipped to it; None: no clipping beyond
        the map's own extent); scale: (sx, sy) map pixels per original pixel (CRAFT's maps are at half
        the network input, so sx = 0.5 * input width / original width).
    mode: "quad" 4-point boxes, "poly" polygons following curved words.
    text_threshold: a word's minimum peak region score; link_threshold: affinity joining characters;
    low_text: the region score that bounds a word; box_thresh: minimum score of a kept detection.
    """
    if region.ndim != 2 or region.shape != affinity.shape:
        raise ValueError(f"craft postprocess: region and affinity must be (H, W) maps of one shape, got "
                         f"{region.shape} and {affinity.shape}")
    if mode not in ("poly", "quad"):
        raise ValueError(f"craft postprocess: mode must be 'poly' or 'quad', got {mode!r}")
    region = region.astype(np.float32, copy=False)
    text = region > low_text
    link = affinity > link_threshold
    count, labels, stats, _ = cv2.connectedComponentsWithStats((text | link).astype(np.uint8), connectivity=8)
    sx, sy = (scale, scale) if np.isscalar(scale) else scale
    clip_h, clip_w = out_shape if out_shape is not None else (region.shape[0] / sy, region.shape[1] / sx)

    detections = []
    for k in range(1, count):
        x, y, w, h, size = (int(v) for v in stats[k, :5])
        if size < MIN_PIXELS:
            continue
        niter = int(math.sqrt(size * min(w, h) / (w * h)) * 2)
        # Work inside the component's box grown by the dilation's reach (cheap on large maps).
        y0, y1 = max(0, y - niter), min(region.shape[0], y + h + niter + 1)
        x0, x1 = max(0, x - niter), min(region.shape[1], x + w + niter + 1)
        component = labels[y0:y1, x0:x1] == k
        score = float(region[y0:y1, x0:x1][component].max())
        if score < text_threshold or score < box_thresh:
            continue
        link_only = link[y0:y1, x0:x1] & ~text[y0:y1, x0:x1]
        segmentation = _dilate(component & ~link_only, niter)
        outline = _outline(segmentation, mode)
        if outline is None:
            continue
        outline = (outline + [x0, y0]) / np.array([sx, sy])
        outline[:, 0] = np.clip(outline[:, 0], 0, clip_w - 1)
        outline[:, 1] = np.clip(outline[:, 1], 0, clip_h - 1)
        detections.append((outline.astype(np.float32), score))
    detections.sort(key=lambda d: d[1], reverse=True)
    return detections


def _dilate(pixels: np.ndarray, niter: int) -> np.ndarray:
    """The segmentation grown by a (1 + niter)^2 square kernel: a uint8 mask."""
    mask = pixels.astype(np.uint8)
    if niter == 0:
        return mask
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter, 1 + niter)))


def _outline(mask: np.ndarray, mode: str) -> np.ndarray | None:
    """The segmentation's box (quad) or word-following polygon (poly) in mask pixels, or None.

    Vertices are pixel-centre coordinates of the mask's pixels, as in the original CRAFT code (the
    public weights' thresholds and dilation were tuned with that convention)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 3:
        return None
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    box = _box(points)
    if mode == "quad":
        return box
    return _curved_polygon(points, box)


def _box(points: np.ndarray) -> np.ndarray:
    """Min-area rectangle of the points, clockwise from the top-left; near-square: axis-aligned."""
    rect = cv2.minAreaRect(points)
    (rw, rh) = rect[1]
    if rw > 0 and rh > 0 and abs(rw / rh - 1.0) <= SQUARE_RATIO:
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
    return order_quad(cv2.boxPoints(rect))


def _curved_polygon(points: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A polygon following a (possibly curved) word: upper outline left to right, lower right to left.

    The word's main axis is the box's long side; the pixels are cut into slices across it, and each
    slice's extent across the axis (min, max of the across-coordinate of its pixels) gives one upper
    and one lower vertex at the slice's centre, plus the two ends of the word. Short words (fewer
    than two slices of at least two pixels each) keep the box.
    """
    top_left, top_right, _, bottom_left = box
    axis = top_right - top_left
    across = bottom_left - top_left
    if np.linalg.norm(axis) < np.linalg.norm(across):  # a vertical word: reading axis along the long side
        axis, across = across, -axis
    length = float(np.linalg.norm(axis))
    slices = min(POLY_SLICES, int(length // 2))
    if slices < 2:
        return box
    u, v = axis / length, across / np.linalg.norm(across)
    along, side = (points - top_left) @ u, (points - top_left) @ v
    lo, hi = along.min(), along.max()
    edges = np.linspace(lo, hi, slices + 1)
    stations, extents = [], []  # (position along the axis, (min, max) across it) per non-empty slice
    for a, b in zip(edges[:-1], edges[1:]):
        inside = (along >= a) & (along <= b)
        if inside.any():
            stations.append((a + b) / 2)
            extents.append((side[inside].min(), side[inside].max()))
    if len(stations) < 2:
        return box
    # The word's two ends take the extents of the slices next to them.
    stations = [lo, *stations, hi]
    extents = [extents[0], *extents, extents[-1]]
    upper = [top_left + t * u + e[0] * v for t, e in zip(stations, extents)]
    lower = [top_left + t * u + e[1] * v for t, e in zip(stations, extents)]
    return np.array(upper + lower[::-1], np.float64)
