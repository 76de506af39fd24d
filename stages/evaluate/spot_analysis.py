"""Spotting analysis (GLASS style): recognition accuracy and end-to-end recall per word height and per
reading angle, from the ICDAR 2015 end-to-end (generic) matching of read detections to ground truth.

Every cared ground-truth word falls in exactly one height bin and one angle bin. Per bin:

* ``gt``: cared ground truths in it; ``matched``: those geometrically matched (the e2e protocol's
  pairs: IoU > 0.5, greedy); ``correct``: matched ones whose detection's text passes the generic e2e
  transcription rule (``models.metrics.e2e.transcription_match``: case-insensitive, the ground truth may
  carry one special character at each end);
* ``e2e_recall`` = correct / gt, ``det_recall`` = matched / gt and ``accuracy`` = correct / matched (the
  recognizer's accuracy on the words the detector found). An empty denominator gives None, not 0.

Summed over the bins of one axis, ``gt`` is the protocol's cared ground truths and ``correct`` its
recall numerator: the bins split ``<set>.e2e_recall`` without losing or double-counting a word.

Geometry of a ground-truth polygon (numpy, no torch):

* height: ``analysis.text_height`` (the band thickness; exact for a rectangle at any rotation);
* reading angle, in [0, 360) degrees, counter-clockwise on screen (the synth stage's ``rotation_deg``
  convention): 0 = read left to right, 90 = bottom to top, 180 = upside down, 270 = top to bottom.
  The reading direction comes from the vertex order of the annotation: a polygon of 2N points is the
  top side in reading order then the bottom side back (synth, Total-Text, CTW1500; an ICDAR quad is the
  case N = 2, starting at the word's top-left corner), so the direction runs from the middle of the
  start edge (first and last vertex) to the middle of the end edge (vertices N-1 and N). A polygon with
  an odd vertex count reads along its first edge. Datasets that do not keep reading order in their
  vertex order (some start at the top-most vertex) give angles in their own convention.

Angle bins are circular: lower edges in [0, 360), the last bin wraps past 360 to the first edge, so the
default bins are centred on 0, 30, ..., 330 degrees (``345-15`` holds horizontal text either side of 0).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Hashable, Sequence

import numpy as np

from models.metrics.e2e import transcription_match
from models.metrics.types import DetPoly, DetResult, GtPoly

from .analysis import bin_index, bin_labels, check_edges, text_height

DEFAULT_READING_ANGLE_BINS = tuple(float(a) for a in range(15, 360, 30))  # 12 bins centred on multiples of 30
AXES = ("height", "angle")
COLUMNS = ("axis", "label", "lo", "hi", "gt", "matched", "correct", "det_recall", "accuracy", "e2e_recall")


def reading_angle(points: np.ndarray) -> float:
    """Reading direction of a (k, 2) ground-truth polygon in [0, 360) degrees; see the module docstring."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    k = len(pts)
    if k % 2:
        start, end = pts[0], pts[1]
    else:
        half = k // 2
        start, end = (pts[0] + pts[-1]) / 2.0, (pts[half - 1] + pts[half]) / 2.0
    dx, dy = end - start
    # y points down on screen: negate it so angles turn counter-clockwise as seen
    angle = round(math.degrees(math.atan2(-dy, dx)) % 360.0, 2)
    return 0.0 if angle >= 360.0 else angle


def check_angle_edges(edges: Sequence[float], what: str = "reading_angle_bins") -> list[float]:
    """Validate circular lower edges: non-empty, strictly increasing, within [0, 360)."""
    values = check_edges(edges, what)
    if values[-1] >= 360.0:
        raise ValueError(f"{what}: edges must lie in [0, 360), got {values}")
    return values


def angle_bin_index(angle: float, edges: Sequence[float]) -> int:
    """Bin of an angle in [0, 360) for circular lower edges: below the first edge is the wrapping last bin."""
    return len(edges) - 1 if angle < edges[0] else bin_index(angle, edges)


def angle_bin_labels(edges: Sequence[float]) -> list[str]:
    """'lo-hi' per bin; the last runs to the first edge (or to 360 when the first edge is 0)."""
    fmt = lambda v: f"{v:g}"  # noqa: E731 - a one-line formatter
    wrap_end = 360.0 if edges[0] == 0 else edges[0]
    return [f"{fmt(lo)}-{fmt(hi)}" for lo, hi in zip(edges, list(edges[1:]) + [wrap_end])]


@dataclass
class SpotBin:
    """One bin of one axis; see the module docstring for the counts and ratios."""

    label: str
    lo: float
    hi: float | None
    gt: int = 0
    matched: int = 0
    correct: int = 0

    @property
    def det_recall(self) -> float | None:
        return self.matched / self.gt if self.gt else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.matched if self.matched else None

    @property
    def e2e_recall(self) -> float | None:
        return self.correct / self.gt if self.gt else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, ratios included."""
        return {**asdict(self), "det_recall": self.det_recall, "accuracy": self.accuracy,
                "e2e_recall": self.e2e_recall}


def _empty(height_edges: list[float], angle_edges: list[float]) -> dict[str, list[SpotBin]]:
    heights = [SpotBin(label, lo, hi) for label, lo, hi in
               zip(bin_labels(height_edges), height_edges, list(height_edges[1:]) + [None])]
    wrap_end = 360.0 if angle_edges[0] == 0 else angle_edges[0] + 360.0
    angles = [SpotBin(label, lo, hi) for label, lo, hi in
              zip(angle_bin_labels(angle_edges), angle_edges, list(angle_edges[1:]) + [wrap_end])]
    return {"height": heights, "angle": angles}


def spot_breakdown(gts: dict[Hashable, list[GtPoly]], read: dict[Hashable, list[DetPoly]], result: DetResult,
                   height_bins: Sequence[float], angle_bins: Sequence[float] = DEFAULT_READING_ANGLE_BINS,
                   ) -> dict[str, list[SpotBin]]:
    """Per-bin counts of cared ground truths, matched and correctly read ones, for each axis.

    ``result`` must be ``evaluate_e2e(gts, read)`` (generic): its pairs index ``gts`` / ``read``.
    Returns ``{"height": [SpotBin, ...], "angle": [...]}``.
    """
    h_edges, a_edges = check_edges(height_bins, "height_bins"), check_angle_edges(angle_bins)
    bins = _empty(h_edges, a_edges)
    for image_id, img in result.per_image.items():
        found = dict(img.pairs)  # gt index -> det index
        dont_care = set(img.gt_dont_care)
        dets = read.get(image_id, [])
        for g, gt in enumerate(gts.get(image_id, [])):
            if gt.ignore or g in dont_care:
                continue
            matched = g in found
            correct = matched and transcription_match(gt.text, dets[found[g]].text)
            for stats in (bins["height"][bin_index(text_height(gt.points), h_edges)],
                          bins["angle"][angle_bin_index(reading_angle(gt.points), a_edges)]):
                stats.gt += 1
                stats.matched += matched
                stats.correct += correct
    return bins


def spot_rows(bins: dict[str, list[SpotBin]], axis: str) -> list[dict[str, Any]]:
    """One axis as CSV rows (``COLUMNS``)."""
    return [{"axis": axis, **b.to_dict()} for b in bins[axis]]


def spot_table(bins: dict[str, list[SpotBin]]) -> dict[str, list[Any]]:
    """Both axes as table columns (one row per axis and bin), for MLflow's table view."""
    rows = spot_rows(bins, "height") + spot_rows(bins, "angle")
    return {c: [r[c] for r in rows] for c in COLUMNS}


COMPARE_COLUMNS = ("axis", "label", "gt", "det_recall", "baseline_det_recall", "accuracy", "baseline_accuracy",
                   "e2e_recall", "baseline_e2e_recall", "e2e_recall_gain")


def spot_comparison(model: dict[str, list[SpotBin]], baseline: dict[str, list[SpotBin]]) -> list[dict[str, Any]]:
    """The model's and the baseline's bins side by side, one row per axis and bin (both were binned on the same
    ground truth with the same edges); ``e2e_recall_gain`` is model - baseline (None for an empty bin)."""
    rows = []
    for axis in ("height", "angle"):
        for mine, theirs in zip(model[axis], baseline[axis]):
            gain = None if mine.e2e_recall is None else mine.e2e_recall - theirs.e2e_recall
            rows.append({"axis": axis, "label": mine.label, "gt": mine.gt,
                         "det_recall": mine.det_recall, "baseline_det_recall": theirs.det_recall,
                         "accuracy": mine.accuracy, "baseline_accuracy": theirs.accuracy,
                         "e2e_recall": mine.e2e_recall, "baseline_e2e_recall": theirs.e2e_recall,
                         "e2e_recall_gain": gain})
    return rows
