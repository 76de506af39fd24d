"""How the detection predictor answers requests of its MLflow model (``models.pyfunc``).

Settings (recorded with every saved model): ``image_size`` (the longer side the image is resized to,
aspect kept, padded to x32) and the decode options of ``models.detection.db_postprocess``; the defaults
are the evaluate stage's. Each image is detected on its own (a batch of one), so an image's result does
not depend on which other images share its request.

Result per image: ``polygons`` ([[x, y], ...] per text, original-image pixels, stored pixel frame) and
``scores`` (one per polygon), best first.
"""
from __future__ import annotations

from typing import Any

from models.task import Serving

DEFAULTS: dict[str, Any] = {"image_size": 1280, "mode": "poly", "thresh": 0.3, "box_thresh": 0.5,
                            "unclip_ratio": 1.5, "min_size": 3.0}


def predict(predictor: Any, images: list[Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"polygons": [[[x, y], ...], ...], "scores": [...]}`` for each (H, W, 3) uint8 RGB image."""
    options = {k: v for k, v in settings.items() if k != "image_size"}
    results = []
    for rgb in images:
        (found,) = predictor.detect([rgb], settings["image_size"], options)
        results.append({"polygons": [[[float(x), float(y)] for x, y in poly.reshape(-1, 2)] for poly, _ in found],
                        "scores": [float(score) for _, score in found]})
    return results


SERVING = Serving(defaults=DEFAULTS, predict=predict,
                  output_example={"polygons": [[[10.0, 10.0], [50.0, 10.0], [50.0, 30.0], [10.0, 30.0]]],
                                  "scores": [0.9]})
