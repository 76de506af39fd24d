"""Detected text outlines -> rectified word crops, through ``stages.dataset.crops``.

A detector's polygon is an outline with no vertex order to rely on (a DBNet contour, a CRAFT box, an
annotated Total-Text polygon). ``band_polygon`` turns it into what ``crops.crop_instance`` reads:

* a 4-point polygon is kept (``crop_instance`` orders it and perspective-warps it);
* a polygon that fills most of its minimum-area rectangle (``STRAIGHT_FILL``) is straight text: the
  rectangle is warped (a contour's wobbles would only bend the crop);
* anything else is curved text: in the frame of the rectangle's long axis (the reading direction) the
  outline is cut by ``stations`` lines across the axis; the first and last crossing of each line give a
  top and a bottom point, and the two chains form a Total-Text layout polygon (top left to right, then
  bottom right to left) that ``crop_instance`` unrolls strip by strip. This follows text bent along an
  arc of up to about a right angle; a tighter spiral is cut across and comes out sheared.

Vertical text: ``crops.order_quad`` puts a word's long edge on top, so a tall detection comes out as a
wide crop. Whether that crop reads left to right or upside down depends on whether the word was turned
clockwise or counter-clockwise, which the outline cannot tell: ``is_vertical`` flags such detections so
the spotter reads them both ways (see ``spotter``).
"""
from __future__ import annotations

import cv2
import numpy as np

from stages.dataset.crops import crop_instance, order_quad

STRAIGHT_FILL = 0.85  # polygon area / min-area rectangle area at or above which text is taken as straight
TALL_RATIO = 1.5  # a detection whose upright bounding box is this much taller than wide is vertical text
MIN_STATIONS, MAX_STATIONS = 4, 16


def band_polygon(points: np.ndarray) -> np.ndarray:
    """The (4, 2) quad or (2n, 2) Total-Text layout polygon ``crop_instance`` should cut for an outline (k, 2)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) <= 4:
        return pts
    rect = cv2.minAreaRect(pts.astype(np.float32))
    quad = order_quad(cv2.boxPoints(rect).astype(np.float64))  # TL, TR, BR, BL along the reading direction
    rect_area = float(rect[1][0] * rect[1][1])
    if rect_area <= 0 or _area(pts) >= STRAIGHT_FILL * rect_area:
        return quad
    top, bottom = _sides(pts, quad)
    if top is None:
        return quad
    return np.concatenate([top, bottom[::-1]])


def _sides(pts: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Top and bottom chains (n, 2) of an outline, both left to right, sampled on lines across the long axis."""
    origin = quad[0]
    axis = quad[1] - quad[0]
    length = float(np.hypot(*axis))
    if length <= 0:
        return None, None
    axis /= length
    normal = np.array([-axis[1], axis[0]])  # points from the top edge towards the bottom one (y down)
    local = np.stack([(pts - origin) @ axis, (pts - origin) @ normal], axis=1)  # (k, 2): along, across
    n = int(np.clip(len(pts) // 2, MIN_STATIONS, MAX_STATIONS))
    lo, hi = local[:, 0].min(), local[:, 0].max()
    inset = (hi - lo) * 0.5 / n  # half a station in from each end: the very tip has no width
    stations = np.linspace(lo + inset, hi - inset, n)
    start, end = local, np.roll(local, -1, axis=0)  # edge k runs from vertex k to k + 1
    top, bottom = [], []
    for s in stations:
        crossing = (start[:, 0] - s) * (end[:, 0] - s) <= 0
        crossing &= start[:, 0] != end[:, 0]
        if not crossing.any():
            return None, None
        a, b = start[crossing], end[crossing]
        across = a[:, 1] + (s - a[:, 0]) / (b[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
        top.append((s, across.min()))
        bottom.append((s, across.max()))
    back = np.stack([axis, normal])  # local (along, across) -> image offset
    return (np.asarray(top) @ back + origin), (np.asarray(bottom) @ back + origin)


def is_vertical(points: np.ndarray) -> bool:
    """Whether an outline (k, 2) is upright-tall: its word runs up or down the image."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    width, height = np.ptp(pts[:, 0]), np.ptp(pts[:, 1])
    return bool(height > TALL_RATIO * width)


def rectified_crop(image: np.ndarray, points: np.ndarray) -> np.ndarray | None:
    """The upright crop (h, w, 3) of a detected outline in an RGB image; None when it is degenerate."""
    return crop_instance(image, [tuple(p) for p in band_polygon(points)])


def _area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0
