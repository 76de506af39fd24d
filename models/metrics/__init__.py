"""Scene-text evaluation metrics: numpy + shapely, no torch.

Detection: ``evaluate_icdar15`` (ICDAR 2015 hmean-IoU), ``evaluate_deteval`` (Total-Text DetEval),
``evaluate_pascal`` (Total-Text Pascal VOC); end-to-end: ``evaluate_e2e`` (ICDAR 2015 generic / word
spotting); recognition: ``recognition_metrics``. All detection functions take
``gts: dict[image_id, list[GtPoly]]`` and ``preds: dict[image_id, list[DetPoly]]`` and return a
``DetResult``. The detection task names its protocols in ``models.detection.protocols``.
"""
from .deteval import evaluate_deteval, evaluate_pascal, sigma_tau
from .e2e import evaluate_e2e
from .icdar15 import evaluate_icdar15
from .recognition import RECOGNITION_MODES, normalize_text, recognition_metrics
from .types import DetPoly, DetResult, GtPoly, ImageResult

__all__ = [
    "RECOGNITION_MODES", "DetPoly", "DetResult", "GtPoly", "ImageResult",
    "evaluate_deteval", "evaluate_e2e", "evaluate_icdar15", "evaluate_pascal", "normalize_text",
    "recognition_metrics", "sigma_tau",
]
