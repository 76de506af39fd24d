"""Validation during training: detect on a held-out set with the task's predictor and score it with a
detection protocol (``icdar15`` by default; ``deteval`` for curved text).

The set is read once; every validation runs the model in eval mode through
``models.detection.predictor.Detector`` (the same preprocessing, batching and decoding as the evaluate
stage) with the longer side resized to ``validation.size``, and matches against the ground truth
(``iscrowd`` = don't care).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.detection.protocols import score
from models.metrics.types import DetPoly, GtPoly
from stages.dataset.images import read_rgb
from stages.train.data import Sample, read_samples

_GROUP = 8  # images per forward pass


@dataclass
class ValImage:
    """One validation image (original pixels) with its ground truth."""

    image: np.ndarray  # (H0, W0, 3) uint8 RGB
    gts: list[GtPoly]


def load_validation(path: Path, max_images: int | None = None) -> list[ValImage]:
    """Read a validation set once (it is reused at every validation)."""
    samples = read_samples(path)
    return [ValImage(read_rgb(samples[i].image_path), _ground_truth(samples[i]))
            for i in range(min(len(samples), max_images or len(samples)))]


def _ground_truth(sample: Sample) -> list[GtPoly]:
    texts = sample.texts or [""] * len(sample.polygons)
    return [GtPoly(p.astype(np.float64), text=text, ignore=ign)
            for p, ign, text in zip(sample.polygons, sample.ignore, texts) if len(p) >= 3]


def evaluate(model: Any, model_config: dict[str, Any], images: list[ValImage], device: Any, long_side: int,
             options: dict[str, Any], protocol: str = "icdar15") -> dict[str, float]:
    """precision / recall / hmean of ``model`` on ``images`` under ``protocol``; ``options``: decode settings."""
    return evaluate_with_predictions(model, model_config, images, device, long_side, options, protocol)[0]


def evaluate_with_predictions(model: Any, model_config: dict[str, Any], images: list[ValImage], device: Any,
                              long_side: int, options: dict[str, Any],
                              protocol: str = "icdar15") -> tuple[dict[str, float], dict[int, list[DetPoly]]]:
    """The scores of ``evaluate`` and the detections they score (image index -> polygons)."""
    from models.tasks import task_of

    was_training = model.training
    model.eval()
    detector = task_of(model_config).predictor(model, model_config, device)
    preds: dict[int, list[DetPoly]] = {}
    try:
        for start in range(0, len(images), _GROUP):
            group = images[start:start + _GROUP]
            found = detector.detect([v.image for v in group], long_side, options)
            for k, polys in enumerate(found):
                preds[start + k] = [DetPoly(np.asarray(poly, np.float64), s) for poly, s in polys if len(poly) >= 3]
    finally:
        model.train(was_training)
    return score({i: v.gts for i, v in enumerate(images)}, preds, protocol), preds


def draw_samples(images: list[ValImage], preds: dict[int, list[DetPoly]], count: int) -> list[np.ndarray]:
    """The first ``count`` validation images (RGB, shrunk to ``RENDER_MAX_SIDE``) with ground truth, don't
    care and detections drawn and the colour legend under each: the same images at every validation, so
    MLflow can step through how the detections change."""
    from stages.dataset.drawing import (
        DONT_CARE_BGR,
        GROUND_TRUTH_LEGEND,
        GT_BGR,
        PRED_BGR,
        draw_polygons,
        to_rgb,
        with_legend,
    )
    from stages.dataset.report_files import RENDER_MAX_SIDE

    out = []
    for i, val in enumerate(images[:count]):
        s = min(1.0, RENDER_MAX_SIDE / max(val.image.shape[:2]))
        bgr = cv2.cvtColor(val.image, cv2.COLOR_RGB2BGR)
        if s < 1.0:
            bgr = cv2.resize(bgr, (round(bgr.shape[1] * s), round(bgr.shape[0] * s)), interpolation=cv2.INTER_AREA)
        draw_polygons(bgr, [g.points for g in val.gts if not g.ignore], GT_BGR, s)
        draw_polygons(bgr, [g.points for g in val.gts if g.ignore], DONT_CARE_BGR, s)
        draw_polygons(bgr, [d.points for d in preds.get(i, [])], PRED_BGR, s)
        out.append(to_rgb(with_legend(bgr, [*GROUND_TRUTH_LEGEND, ("detection", PRED_BGR)])))
    return out
