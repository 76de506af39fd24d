"""Scale and rotation analysis (GLASS style): where in text height and orientation a detector fails.

Every cared ground truth falls into one height bin and one angle bin; recall per bin = matched / cared
ground truths in it. Every cared detection falls into the bins of its own geometry; precision per
bin = matched / cared detections in it. "Matched" = the polygon appears in a pair of the protocol's
``ImageResult.pairs`` (for DetEval a split / merge pair counts as matched; its 0.8 credit is not
reflected per bin). Don't-care ground truths and detections discarded over them are not counted.

Geometry (numpy + cv2, no torch):

* height: the thickness of the polygon seen as a band of length L and thickness t, from its area A
  and perimeter P (A = L t, P = 2 (L + t)): t = (P - sqrt(P^2 - 16 A)) / 4. Exact for a rectangle at
  any rotation; for a curved word it gives the stroke band's height where the bounding rectangle
  would give the arc's span. Capped by the short side of the minimum-area rectangle.
* angle: the direction of the long side of the minimum-area rectangle, folded into [0, 90] degrees
  (0 = horizontal, 90 = vertical; reading direction is unknown for arbitrary polygons).

Bins are given by their lower edges ``[e0, e1, ..., ek]``: bin i is [e_i, e_{i+1}), the last bin is
[e_k, inf) and a value below e0 falls into the first bin.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Hashable, Sequence

import cv2
import numpy as np

from models.metrics.types import DetPoly, DetResult, GtPoly

DEFAULT_HEIGHT_BINS = (0.0, 8.0, 16.0, 32.0, 64.0, 128.0)  # px
DEFAULT_ANGLE_BINS = (0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0)  # degrees
AXES = ("height", "angle")


def _min_area_box(points: np.ndarray) -> np.ndarray:
    """(4, 2) corners of the minimum-area rectangle around ``points`` (k, 2)."""
    return cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))).astype(np.float64)


def _box_sides(box: np.ndarray) -> np.ndarray:
    """(2, 2) the two edge vectors of a rectangle from its (4, 2) corners."""
    return np.stack([box[1] - box[0], box[2] - box[1]])


def text_height(points: np.ndarray) -> float:
    """Text height (band thickness) of a (k, 2) polygon, in pixels; see the module docstring."""
    pts = np.asarray(points, np.float64)
    x, y = pts[:, 0], pts[:, 1]
    area = abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0
    perimeter = float(np.linalg.norm(np.roll(pts, -1, axis=0) - pts, axis=1).sum())
    short = float(np.linalg.norm(_box_sides(_min_area_box(pts)), axis=1).min())
    disc = perimeter * perimeter - 16.0 * area
    if disc < 0:  # squarer than a square (e.g. a circle): no band reading, the rectangle decides
        return short
    return min(short, (perimeter - math.sqrt(disc)) / 4.0)


def text_angle(points: np.ndarray) -> float:
    """Orientation of a (k, 2) polygon in degrees, folded into [0, 90]; see the module docstring."""
    sides = _box_sides(_min_area_box(np.asarray(points, np.float64)))
    dx, dy = sides[int(np.argmax(np.linalg.norm(sides, axis=1)))]
    angle = abs(math.degrees(math.atan2(dy, dx))) % 180.0
    angle = 180.0 - angle if angle > 90.0 else angle
    # minAreaRect works in float32: round so a 45-degree box reads 45, not 44.99997.
    return round(angle, 2)


def check_edges(edges: Sequence[float], what: str) -> list[float]:
    """Validate lower bin edges: non-empty, finite, >= 0, strictly increasing."""
    values = [float(e) for e in edges]
    if not values:
        raise ValueError(f"{what}: at least one bin edge is needed")
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"{what}: edges must be finite and >= 0, got {values}")
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{what}: edges must be strictly increasing, got {values}")
    return values


def bin_index(value: float, edges: Sequence[float]) -> int:
    """Index of the bin holding ``value`` (lower edges; see the module docstring)."""
    return max(0, int(np.searchsorted(np.asarray(edges, np.float64), value, side="right")) - 1)


def bin_labels(edges: Sequence[float]) -> list[str]:
    """'lo-hi' per bin, 'lo+' for the open last one."""
    fmt = lambda v: f"{v:g}"  # noqa: E731 - a one-line formatter
    return [f"{fmt(lo)}-{fmt(hi)}" for lo, hi in zip(edges, edges[1:])] + [f"{fmt(edges[-1])}+"]


@dataclass
class BinStats:
    """One bin of one axis: cared ground truths / detections in it and how many of each matched.
    recall / precision are None for an empty bin (nothing to measure, not a score of 0)."""

    label: str
    lo: float
    hi: float | None
    gt: int = 0
    gt_matched: int = 0
    det: int = 0
    det_matched: int = 0

    @property
    def recall(self) -> float | None:
        return self.gt_matched / self.gt if self.gt else None

    @property
    def precision(self) -> float | None:
        return self.det_matched / self.det if self.det else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, recall and precision included."""
        return {**asdict(self), "recall": self.recall, "precision": self.precision}


def _empty_bins(edges: Sequence[float]) -> list[BinStats]:
    his = list(edges[1:]) + [None]
    return [BinStats(label, lo, hi) for label, lo, hi in zip(bin_labels(edges), edges, his)]


def _measures(points: np.ndarray) -> dict[str, float]:
    return {"height": text_height(points), "angle": text_angle(points)}


def breakdown(gts: dict[Hashable, list[GtPoly]], preds: dict[Hashable, list[DetPoly]], result: DetResult,
              height_bins: Sequence[float] = DEFAULT_HEIGHT_BINS,
              angle_bins: Sequence[float] = DEFAULT_ANGLE_BINS) -> dict[str, list[BinStats]]:
    """Recall per ground-truth bin and precision per detection bin, for each axis.

    ``result`` must come from evaluating exactly ``gts`` / ``preds`` (its pair indices index them).
    Returns ``{"height": [BinStats, ...], "angle": [...]}``.
    """
    edges = {"height": check_edges(height_bins, "height_bins"), "angle": check_edges(angle_bins, "angle_bins")}
    bins = {axis: _empty_bins(edges[axis]) for axis in AXES}
    for image_id, img in result.per_image.items():
        matched_gt = {g for g, _ in img.pairs}
        matched_det = {d for _, d in img.pairs}
        gt_dc, det_dc = set(img.gt_dont_care), set(img.det_dont_care)
        for g, gt in enumerate(gts.get(image_id, [])):
            if gt.ignore or g in gt_dc:
                continue
            for axis, value in _measures(gt.points).items():
                stats = bins[axis][bin_index(value, edges[axis])]
                stats.gt += 1
                stats.gt_matched += g in matched_gt
        for d, det in enumerate(preds.get(image_id, [])):
            if d in det_dc:
                continue
            for axis, value in _measures(det.points).items():
                stats = bins[axis][bin_index(value, edges[axis])]
                stats.det += 1
                stats.det_matched += d in matched_det
    return bins


def breakdown_json(bins: dict[str, list[BinStats]]) -> dict[str, list[dict[str, Any]]]:
    """The breakdown as plain data: ``{axis: [bin dict, ...]}``."""
    return {axis: [b.to_dict() for b in stats] for axis, stats in bins.items()}


def breakdown_rows(bins: dict[str, list[BinStats]]) -> list[dict[str, Any]]:
    """The breakdown as flat table rows (one per axis and bin), for a CSV."""
    return [{"axis": axis, **b.to_dict()} for axis, stats in bins.items() for b in stats]
