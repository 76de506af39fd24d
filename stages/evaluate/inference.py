"""The evaluate stage's side of inference: test sets, the device, and submission-ready polygons.

Detection itself is the detection task's one predictor (``models.detection.predictor.Detector``).
Its polygons are then made submission-ready here: integer pixel coordinates (what the RRC evaluation
reads anyway), repeated vertices removed, clockwise as the RRC checker wants, degenerate ones dropped.
The metrics are computed on exactly these polygons, so the submission zip re-evaluates to the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.detection.predictor import ImageFile
from models.metrics.types import DetPoly, GtPoly
from stages.dataset.layout import read_detection_set

from .formats import image_id


@dataclass
class TestSet:
    """A detection test set read from ``annotations.json`` + ``images/``; ``gts`` keyed by image id."""

    name: str
    images: list[ImageFile]
    gts: dict[str, list[GtPoly]]


def load_testset(name: str, path: Path) -> TestSet:
    """Read a COCO detection set (a folder holding ``annotations.json`` and ``images/``, or the json)."""
    images, gts = [], {}
    for rec in read_detection_set(path):
        key = image_id(str(rec.image_path))
        if key in gts:
            raise ValueError(f"{path}: two images have the id {key!r} (file stem); image ids must be unique")
        try:
            gts[key] = [GtPoly(inst.polygon, inst.text, inst.ignore) for inst in rec.instances]
        except ValueError as exc:
            raise ValueError(f"{rec.source}: bad ground-truth polygon: {exc}") from None
        images.append(ImageFile(key, Path(rec.image_path), rec.width, rec.height))
    if not images:
        raise ValueError(f"test set {name!r}: {path} holds no images")
    return TestSet(name, images, gts)


def pick_device(num_gpus: float, logger: Any = None) -> Any:
    """``cuda`` when the stage was given GPUs and torch sees one, else ``cpu``."""
    import torch

    if num_gpus > 0:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if logger is not None:
            logger.warning("evaluate: %g GPU(s) requested but torch sees none; running on CPU", num_gpus)
    return torch.device("cpu")


def clean_polygon(points: np.ndarray) -> np.ndarray | None:
    """Integer, de-duplicated, clockwise (image coordinates, y down) polygon; None when degenerate."""
    pts = np.rint(np.asarray(points, np.float64)).astype(np.int64)
    keep = np.any(pts != np.roll(pts, 1, axis=0), axis=1)  # drop a vertex equal to its predecessor
    pts = pts[keep] if keep.any() else pts[:1]
    if len(pts) < 3:
        return None
    nxt = np.roll(pts, -1, axis=0)
    edge_sum = float(np.sum((nxt[:, 0] - pts[:, 0]) * (nxt[:, 1] + pts[:, 1])))
    if edge_sum == 0:  # zero signed area: a line, nothing to match
        return None
    # The RRC checker calls a polygon clockwise when sum (x2 - x1)(y2 + y1) < 0.
    return (pts[::-1] if edge_sum > 0 else pts).astype(np.float64)


def submission_polygons(found: list[tuple[np.ndarray, float]]) -> list[DetPoly]:
    """The predictor's polygons of one image as submission-ready detections (best score first kept)."""
    out = []
    for poly, score in found:
        clean = clean_polygon(poly)
        if clean is not None:
            out.append(DetPoly(clean, float(score)))
    return out


def predict(detector: Any, images: list[ImageFile], *, image_size: Any, batch_size: int, options: dict[str, Any],
            workers: int = 1, progress: Any = None) -> dict[str, list[DetPoly]]:
    """Submission-ready detections for every image, keyed by image id (best score first within an image)."""
    found = detector.predict(images, image_size=image_size, batch_size=batch_size, options=options,
                             workers=workers, progress=progress)
    return {key: submission_polygons(polys) for key, polys in found.items()}
