"""Test-time views on top of the detection task's predictor: every polygon mapped to the original frame.

A *view* is a scale (times the configured longer side) and an optional horizontal flip. For each view,
every model's predictor (``models.detection.predictor.Detector.detect``) resizes the batch's images
(longer side ``round(image_size * scale)``), mirrors them when asked, and maps its polygons back onto
the originals.

The result for an image is one polygon set per *source*, sources ordered model-major:
``source = model_index * len(views) + view_index``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from stages.pseudo_label.fusion import Detection


@dataclass(frozen=True)
class View:
    """One test-time view: ``scale`` times the configured input size, mirrored left-right when ``flip``."""

    scale: float = 1.0
    flip: bool = False

    @property
    def name(self) -> str:
        """A short label, e.g. ``x1.25-flip``."""
        return f"x{self.scale:g}" + ("-flip" if self.flip else "")


def make_views(scales: Sequence[float], flip: bool) -> list[View]:
    """Every scale, each also flipped when ``flip``; the identity view first when scale 1 is listed."""
    if not scales:
        raise ValueError("test-time augmentation needs at least one scale")
    return [View(float(s), f) for s in scales for f in ((False, True) if flip else (False,))]


def input_size(image_size: int, view: View) -> int:
    """The longer side (px) a view resizes images to (at least 32)."""
    return max(32, int(round(image_size * view.scale)))


def detect(models: Sequence[Any], images: Sequence[np.ndarray], views: Sequence[View], image_size: int,
           post: dict[str, Any]) -> list[list[list[Detection]]]:
    """Detections ``[image][source][k]`` of every model (a task predictor) under every view.

    images: (H, W, 3) uint8 RGB originals; post: the decode settings (``unclip_ratio: None`` inverts each
    model's own training shrink).
    """
    out: list[list[list[Detection]]] = [[[] for _ in range(len(models) * len(views))] for _ in images]
    for v, view in enumerate(views):
        for m, model in enumerate(models):
            found = model.detect(list(images), input_size(image_size, view), post, flip=view.flip)
            for j, polys in enumerate(found):
                out[j][m * len(views) + v] = [Detection(poly, score) for poly, score in polys]
    return out
