"""How the spotting predictor answers requests of its MLflow model (``models.pyfunc``).

Settings: the detection settings (``models.detection.serving``: ``image_size`` and the decode options).
Each image is spotted on its own. Result per image: ``polygons`` and ``scores`` as a detector's, plus
``texts`` and ``text_scores`` (one per polygon: the word read there and the reader's confidence).
"""
from __future__ import annotations

from typing import Any

from models.detection.serving import DEFAULTS
from models.task import Serving


def predict(predictor: Any, images: list[Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"polygons", "scores", "texts", "text_scores"}`` for each (H, W, 3) uint8 RGB image."""
    options = {k: v for k, v in settings.items() if k != "image_size"}
    results = []
    for rgb in images:
        (found,) = predictor.detect([rgb], settings["image_size"], options)
        (read,) = predictor.read_words([rgb], [[poly for poly, _ in found]], settings["image_size"])
        results.append({"polygons": [[[float(x), float(y)] for x, y in poly.reshape(-1, 2)] for poly, _ in found],
                        "scores": [float(score) for _, score in found],
                        "texts": [text for text, _ in read], "text_scores": [float(s) for _, s in read]})
    return results


SERVING = Serving(defaults=dict(DEFAULTS), predict=predict,
                  output_example={"polygons": [[[10.0, 10.0], [50.0, 10.0], [50.0, 30.0], [10.0, 30.0]]],
                                  "scores": [0.9], "texts": ["word"], "text_scores": [0.8]})
