"""The inputs and outputs of every detection metric.

Inputs are per-image lists keyed by an image id (any hashable, usually the file stem):
``gts: dict[image_id, list[GtPoly]]`` and ``preds: dict[image_id, list[DetPoly]]``.
An image present in ``gts`` but absent from ``preds`` has no detections; a ``preds`` key that is
not in ``gts`` is an error (the official scripts refuse such a submission too).

Outputs are a ``DetResult``: pooled precision / recall / hmean plus one ``ImageResult`` per image.
Every protocol reports its scores as numerator / denominator pairs so the pooled values are plain
sums: ICDAR 2015 counts matches (both numerators equal), DetEval accumulates fractional credits
(0.8 for a split or merge), Pascal counts true and false positives.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

import numpy as np

ImageId = Hashable


def as_points(points: Any) -> np.ndarray:
    """Validate a polygon and return it as a float64 (k, 2) array of (x, y) vertices, k >= 3.

    Accepts [(x, y), ...], a flat [x1, y1, x2, y2, ...] sequence or an (k, 2) array; any
    orientation. Raises ValueError on fewer than 3 vertices, an odd flat length or a non-finite value.
    """
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1:
        if arr.size % 2:
            raise ValueError(f"odd number of coordinates ({arr.size})")
        arr = arr.reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected (k, 2) vertices, got shape {arr.shape}")
    if arr.shape[0] < 3:
        raise ValueError(f"a polygon needs at least 3 vertices, got {arr.shape[0]}")
    if not np.isfinite(arr).all():
        raise ValueError("non-finite coordinate")
    return arr


@dataclass(eq=False)
class GtPoly:
    """One ground-truth region.

    points: (k, 2) float64 vertices (converted and checked by ``as_points``).
    text: the transcription ('' when unknown); used by end-to-end evaluation only.
    ignore: don't care (ICDAR ``###``, Total-Text ``#``, COCO ``iscrowd=1``).
    """

    points: np.ndarray
    text: str = ""
    ignore: bool = False

    def __post_init__(self) -> None:
        self.points = as_points(self.points)

    @classmethod
    def from_icdar(cls, points: Any, text: str) -> "GtPoly":
        """An ICDAR ground truth: the transcription ``###`` marks don't care."""
        return cls(points, text, text == "###")


@dataclass(eq=False)
class DetPoly:
    """One detection: (k, 2) vertices, a confidence score (1.0 when the method gives none) and, for
    end-to-end evaluation, its recognised text."""

    points: np.ndarray
    score: float = 1.0
    text: str = ""

    def __post_init__(self) -> None:
        self.points = as_points(self.points)
        self.score = float(self.score)


@dataclass
class ImageResult:
    """The outcome for one image.

    recall_num / recall_den, precision_num / precision_den: this image's share of the pooled sums.
    precision, recall, hmean: the per-image values, computed with the protocol's own per-image rule
        (ICDAR 2015: an image with no cared ground truth has recall 1 and precision 1 if it also has no
        cared detection, else 0; DetEval / Pascal: a zero denominator gives 0).
    pairs: matched (gt index, det index) pairs, indices into the image's input lists; DetEval lists
        every pair of a split or merge.
    gt_dont_care / det_dont_care: indices of ignored ground truths and of detections discarded as
        covering a don't-care region.
    """

    num_gt: int
    num_det: int
    num_gt_care: int
    num_det_care: int
    recall_num: float
    recall_den: float
    precision_num: float
    precision_den: float
    precision: float
    recall: float
    hmean: float
    pairs: list[tuple[int, int]] = field(default_factory=list)
    gt_dont_care: list[int] = field(default_factory=list)
    det_dont_care: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = dict(self.__dict__)
        d["pairs"] = [list(p) for p in self.pairs]
        return d


@dataclass
class DetResult:
    """Pooled detection metrics over a whole set.

    precision = precision_num / precision_den and recall = recall_num / recall_den (0 when the
    denominator is 0); hmean = 2PR / (P + R), 0 when P + R = 0.
    num_gt_care / num_det_care: ground truths that count and detections that were kept.
    params: the protocol's settings (thresholds...), echoed for the record.
    per_image: one ``ImageResult`` per ground-truth image id.
    """

    protocol: str
    precision: float
    recall: float
    hmean: float
    num_images: int
    num_gt_care: int
    num_det_care: int
    recall_num: float
    recall_den: float
    precision_num: float
    precision_den: float
    params: dict[str, Any] = field(default_factory=dict)
    per_image: dict[ImageId, ImageResult] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a JSON-ready dict (no per-image details)."""
        return {
            "protocol": self.protocol,
            "precision": self.precision,
            "recall": self.recall,
            "hmean": self.hmean,
            "num_images": self.num_images,
            "num_gt_care": self.num_gt_care,
            "num_det_care": self.num_det_care,
            "recall_num": self.recall_num,
            "recall_den": self.recall_den,
            "precision_num": self.precision_num,
            "precision_den": self.precision_den,
            "params": dict(self.params),
        }


def safe_div(num: float, den: float) -> float:
    """num / den, or 0.0 when den is 0."""
    return float(num) / float(den) if den else 0.0


def hmean_of(precision: float, recall: float) -> float:
    """Harmonic mean 2PR / (P + R), 0 when both are 0."""
    s = precision + recall
    return 2.0 * precision * recall / s if s else 0.0


def pooled_result(protocol: str, per_image: dict[ImageId, ImageResult], params: dict[str, Any]) -> DetResult:
    """Sum the per-image numerators and denominators into the pooled ``DetResult``."""
    imgs = list(per_image.values())
    rn = sum(r.recall_num for r in imgs)
    rd = sum(r.recall_den for r in imgs)
    pn = sum(r.precision_num for r in imgs)
    pd = sum(r.precision_den for r in imgs)
    p, r = safe_div(pn, pd), safe_div(rn, rd)
    return DetResult(
        protocol=protocol, precision=p, recall=r, hmean=hmean_of(p, r), num_images=len(imgs),
        num_gt_care=sum(i.num_gt_care for i in imgs), num_det_care=sum(i.num_det_care for i in imgs),
        recall_num=rn, recall_den=rd, precision_num=pn, precision_den=pd, params=params, per_image=per_image,
    )
