"""Validation of a spotter during training: the detection scores of ``validate`` plus end to end.

The model detects on the validation images exactly as a detector is validated (``validate``), then
reads its own detections (``read_words`` of the spotting predictor); ICDAR 2015 end-to-end (generic, no
lexicon) scores the read detections against the ground-truth transcriptions: ``e2e_hmean``,
``e2e_precision``, ``e2e_recall`` beside ``hmean``, ``precision``, ``recall``.
"""
from __future__ import annotations

from typing import Any

from models.metrics import evaluate_e2e
from models.metrics.types import DetPoly
from stages.train.validate import ValImage, evaluate_with_predictions


def evaluate_spotting(model: Any, model_config: dict[str, Any], images: list[ValImage], device: Any,
                      long_side: int, options: dict[str, Any],
                      protocol: str = "icdar15") -> tuple[dict[str, float], dict[int, list[DetPoly]]]:
    """Detection and end-to-end scores of a spotting model, and its read detections (image index -> polygons)."""
    from models.tasks import task_of

    scores, preds = evaluate_with_predictions(model, model_config, images, device, long_side, options, protocol)
    was_training = model.training
    model.eval()
    try:
        spotter = task_of(model_config).predictor(model, model_config, device)
        readings = spotter.read_words([v.image for v in images],
                                      [[d.points for d in preds.get(i, [])] for i in range(len(images))], long_side)
    finally:
        model.train(was_training)
    read = {i: [DetPoly(d.points, d.score, text) for d, (text, _) in zip(preds.get(i, []), readings[i])]
            for i in range(len(images))}
    e2e = evaluate_e2e({i: v.gts for i, v in enumerate(images)}, read)
    return {**scores, "e2e_hmean": e2e.hmean, "e2e_precision": e2e.precision, "e2e_recall": e2e.recall}, read
