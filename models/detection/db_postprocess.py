"""DBNet post-processing: probability map -> text polygons with scores (numpy/cv2/pyclipper; no torch).

binarise at ``thresh`` -> contours -> (poly mode) simplified contour / (quad mode) its minimum-area
rectangle -> score = mean probability inside it -> drop low scores -> grow ("unclip") the kernel back
to the text outline -> drop tiny ones -> map to original image coordinates.

Growing: the DBNet rule offsets by D' = A' * unclip_ratio / L' (A', L' the kernel's area and
perimeter). With ``unclip_ratio=None`` the offset instead inverts the training shrink exactly
(``models.detection.db_targets``: D = A (1 - r^2) / L with r = ``shrink_ratio``), which recovers the annotated
outline of thin text much more faithfully than the fixed ratio does.
"""
from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from models.detection.db_targets import offset_polygon, polygon_area_perimeter
from stages.dataset.transforms.geometry import fill_polygons

Detection = tuple[np.ndarray, float]  # (polygon (N, 2) float32 in original-image pixels, score)


def postprocess(
    prob: np.ndarray,
    *,
    out_shape: tuple[int, int] | None = None,
    scale: float | tuple[float, float] | None = None,
    mode: Literal["poly", "quad"] = "poly",
    thresh: float = 0.3,
    box_thresh: float = 0.6,
    unclip_ratio: float | None = 1.5,
    shrink_ratio: float = 0.4,
    min_size: float = 3.0,
    max_candidates: int = 1000,
    epsilon_ratio: float = 0.002,
) -> list[Detection]:
    """Text detections from one probability map, best score first.

    prob: (H, W) float map in [0, 1] (the model's ``prob`` output for one image).
    out_shape: (H0, W0) of the original image; results are clipped to it and, when ``scale`` is not
        given, mapped by the factors W0/W and H0/H (the map covers the whole resized image).
    scale: the resize factor(s) (sx, sy) that turned the original into the network input
        (input = original * scale); use it when the input was padded, so only the resize is undone.
    mode: "poly" gives arbitrary-shape polygons, "quad" 4-point boxes (clockwise from top-left) for
        ICDAR 2015 style output.
    thresh: binarisation threshold; box_thresh: minimum mean probability of a kept detection.
    unclip_ratio: DBNet growth ratio, or None to invert the training shrink made with ``shrink_ratio``.
    min_size: minimum short side (pixels of ``prob``) of a kernel's and a grown text's bounding box.
    max_candidates: at most this many (largest) connected regions are examined.
    epsilon_ratio: contour simplification tolerance, as a fraction of the contour's perimeter (poly mode).
    """
    if prob.ndim != 2:
        raise ValueError(f"postprocess: prob must be (H, W), got shape {prob.shape}")
    if mode not in ("poly", "quad"):
        raise ValueError(f"postprocess: mode must be 'poly' or 'quad', got {mode!r}")
    prob = prob.astype(np.float32, copy=False)
    bitmap = (prob > thresh).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    contours = sorted(contours, key=cv2.contourArea, reverse=True)[:max_candidates]
    sx, sy, clip_w, clip_h = _mapping(prob.shape, out_shape, scale)

    detections = []
    for contour in contours:
        kernel = _kernel_polygon(contour.reshape(-1, 2).astype(np.float64), mode, epsilon_ratio)
        if kernel is None or _short_side(kernel) < min_size:
            continue
        score = polygon_mean(prob, kernel)
        if score < box_thresh:
            continue
        text = _unclip(kernel, unclip_ratio, shrink_ratio)
        if text is None or _short_side(text) < min_size + 2:
            continue
        if mode == "quad":
            text = order_quad(cv2.boxPoints(cv2.minAreaRect(text.astype(np.float32))))
        text = text / np.array([sx, sy])
        text[:, 0] = np.clip(text[:, 0], 0, clip_w - 1)
        text[:, 1] = np.clip(text[:, 1], 0, clip_h - 1)
        detections.append((text.astype(np.float32), score))
    detections.sort(key=lambda d: d[1], reverse=True)
    return detections


def _mapping(
    shape: tuple[int, int], out_shape: tuple[int, int] | None, scale: float | tuple[float, float] | None
) -> tuple[float, float, int, int]:
    """(sx, sy) dividing map coordinates into original ones, and the (width, height) to clip to."""
    h, w = shape
    if scale is not None:
        sx, sy = (scale, scale) if np.isscalar(scale) else scale
    elif out_shape is not None:
        sx, sy = w / out_shape[1], h / out_shape[0]
    else:
        sx = sy = 1.0
    if out_shape is not None:
        clip_h, clip_w = out_shape
    else:
        clip_h, clip_w = math.ceil(h / sy), math.ceil(w / sx)
    return float(sx), float(sy), int(clip_w), int(clip_h)


def _kernel_polygon(points: np.ndarray, mode: str, epsilon_ratio: float) -> np.ndarray | None:
    """The kernel outline to score and grow: simplified contour (poly) or min-area rectangle (quad)."""
    if len(points) < 3:
        return None
    if mode == "quad":
        return order_quad(cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))))
    eps = epsilon_ratio * cv2.arcLength(points.astype(np.float32).reshape(-1, 1, 2), True)
    approx = cv2.approxPolyDP(points.astype(np.float32).reshape(-1, 1, 2), eps, True).reshape(-1, 2)
    return approx.astype(np.float64) if len(approx) >= 4 else None


def polygon_mean(prob: np.ndarray, poly: np.ndarray) -> float:
    """Mean of ``prob`` over the pixels inside ``poly``, rasterised only within its bounding box."""
    h, w = prob.shape
    x0, y0 = np.clip(np.floor(poly.min(axis=0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(poly.max(axis=0)).astype(int), 0, [w - 1, h - 1])
    region = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    fill_polygons(region, [poly - [x0, y0]], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask=region)[0])


def _unclip(kernel: np.ndarray, unclip_ratio: float | None, shrink_ratio: float) -> np.ndarray | None:
    """Grow the kernel back to the text outline; the largest part if the offset splits it."""
    area, perimeter = polygon_area_perimeter(kernel)
    if perimeter <= 0:
        return None
    if unclip_ratio is not None:
        parts = offset_polygon(kernel, area * unclip_ratio / perimeter)  # the DBNet rule, round joins
    else:
        # cv2.fillPoly (used by make_targets) fills every pixel the outline touches, so the centres
        # of the kernel's boundary pixels lie on the kernel outline on average: no pixel correction.
        distance = inverse_shrink_distance(area, perimeter, shrink_ratio)
        parts = offset_polygon(kernel, distance, round_joins=False)  # mitred, as the inversion assumes
    if not parts:
        return None
    return max(parts, key=lambda p: polygon_area_perimeter(p)[0])


def inverse_shrink_distance(area: float, perimeter: float, shrink_ratio: float) -> float:
    """Offset D that undoes a DBNet shrink, from the shrunk kernel's area A' and perimeter L'.

    The original had A = A' + L'D + 4D^2 and L = L' + 8D (a quadrilateral-like outline: its four
    corners add the D^2 terms) and was shrunk by D = c A / L, c = 1 - r^2; substituting gives
    (8 - 4c) D^2 + (1 - c) L' D - c A' = 0, whose positive root is returned.
    """
    c = 1.0 - shrink_ratio**2
    qa, qb, qc = 8.0 - 4.0 * c, (1.0 - c) * perimeter, -c * area
    return (-qb + math.sqrt(qb * qb - 4.0 * qa * qc)) / (2.0 * qa)


def _short_side(poly: np.ndarray) -> float:
    """Shorter side of the polygon's minimum-area rectangle."""
    (_, _), (rw, rh), _ = cv2.minAreaRect(poly.astype(np.float32))
    return float(min(rw, rh))


def order_quad(points: np.ndarray) -> np.ndarray:
    """Order 4 points clockwise on screen (y down), starting with the one nearest the top-left."""
    points = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    points = points[np.argsort(angles)]  # increasing angle = clockwise when y points down
    start = int(np.argmin(points.sum(axis=1)))
    return np.roll(points, -start, axis=0)
