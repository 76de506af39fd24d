"""How the recognition predictor answers requests of its MLflow model (``models.pyfunc``).

Each request image is one word crop. Settings (recorded with every saved model): the architecture's
decode options (CTC: ``beam_width``, ``score``). Crops are batched only with crops of the same input
width (``Recognizer.recognize``), so a crop's result does not depend on which others share its request.

Result per image: ``{"text": str, "score": float}``.
"""
from __future__ import annotations

from typing import Any

from models.task import Serving

DEFAULTS: dict[str, Any] = {"beam_width": 1, "score": "mean"}


def predict(predictor: Any, images: list[Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"text", "score"}`` for each (H, W, 3) uint8 RGB crop."""
    return [{"text": text, "score": float(score)} for text, score in predictor.recognize(images, dict(settings))]


SERVING = Serving(defaults=DEFAULTS, predict=predict, output_example={"text": "word", "score": 0.9})
