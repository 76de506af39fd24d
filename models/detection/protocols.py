"""The detection protocols, in one place: the evaluate stage's ``protocol`` choices, ``eval-det``'s
``--protocol`` choices and train validation are all derived from ``PROTOCOLS``."""
from __future__ import annotations

from typing import Any

from models.metrics import evaluate_deteval, evaluate_icdar15, evaluate_pascal

# name -> fn(gts: {image_id: [GtPoly]}, preds: {image_id: [DetPoly]}) -> DetResult; the first is the default
PROTOCOLS = {
    "icdar15": evaluate_icdar15,  # ICDAR 2015 hmean-IoU (straight text, quads)
    "deteval": evaluate_deteval,  # Total-Text DetEval (curved text)
    "pascal": evaluate_pascal,  # Total-Text Pascal VOC IoU
}


def score(gts: dict[Any, list], preds: dict[Any, list], protocol: str) -> dict[str, float]:
    """precision / recall / hmean of ``preds`` under ``protocol``."""
    if protocol not in PROTOCOLS:
        raise KeyError(f"unknown detection protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
    result = PROTOCOLS[protocol](gts, preds)
    return {"precision": result.precision, "recall": result.recall, "hmean": result.hmean}


def sweep(gts: dict[Any, list], preds: dict[Any, list], protocol: str,
          thresholds: list[float]) -> list[dict[str, float]]:
    """precision / recall / hmean of the detections scoring at least each threshold, one row per threshold."""
    if not thresholds:
        return []
    if protocol == "icdar15":  # computes the geometry once for every threshold
        return PROTOCOLS["icdar15"](gts, preds, score_threshold=thresholds).params["sweep"]
    rows = []
    for t in thresholds:
        r = PROTOCOLS[protocol](gts, {k: [d for d in dets if d.score >= t] for k, dets in preds.items()})
        rows.append({"score_threshold": t, "precision": r.precision, "recall": r.recall, "hmean": r.hmean})
    return rows
