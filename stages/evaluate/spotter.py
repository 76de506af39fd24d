"""The two-stage spotter: a detector finds words, a recognizer reads their rectified crops.

    spotter = Spotter(detector, recognizer, image_size=1280, options={"box_thresh": 0.5})
    for spots in spotter.spot(images):            # images: (H, W, 3) uint8 RGB arrays
        for s in spots: print(s.polygon, s.det_score, s.text, s.rec_score)

detect: the detection predictor (``Detector.detect``) on batches of ``batch_size`` images, its polygons
    made submission-ready (``inference.submission_polygons``: integer, clockwise, degenerate ones dropped),
    exactly what the evaluate stage and ``infer`` score;
cut: each polygon as an upright crop (``rectify``: quads by perspective warp, curved outlines strip by
    strip);
read: every crop of the whole image batch through the recognizer (``Recognizer.recognize``, which groups
    crops by input width into batches of ``rec_batch_size``).

Vertical text (a detection whose upright box is more than 1.5 x taller than wide): the cut turns it
horizontal, but a word turned clockwise then reads left to right and one turned counter-clockwise
upside down, and the outline cannot say which. Such a crop is read as cut and turned half a turn; the
reading with the higher recognizer score is kept. Stacked characters (one above the other, upright)
are not handled: no recognizer of the project reads them.

A detection whose crop is degenerate (under 2 px a side) keeps its polygon with text "" and score 0.
The detector and recognizer are anything with the predictors' methods (``detect`` / ``recognize``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from models.metrics.types import DetPoly
from models.tasks import task_of

from .inference import submission_polygons
from .rectify import is_vertical, rectified_crop


@dataclass
class Spot:
    """One read word: its polygon (k, 2) in image pixels, the detector's score, the text and its score."""

    polygon: np.ndarray
    det_score: float
    text: str
    rec_score: float

    def as_det(self) -> DetPoly:
        """The spot as an end-to-end detection (the metrics' input)."""
        return DetPoly(self.polygon, self.det_score, self.text)


class Spotter:
    """Detector + recognizer; see the module docstring.

    image_size: the detector's input size (longer side, or a (w, h) box); options: its decode settings;
    rec_options: the recognizer's decode settings; rec_batch_size: crops per recognizer forward pass.
    """

    def __init__(self, detector: Any, recognizer: Any, *, image_size: int | Sequence[int] = 1280,
                 options: dict[str, Any] | None = None, rec_options: dict[str, Any] | None = None,
                 rec_batch_size: int = 64):
        if rec_batch_size < 1:
            raise ValueError(f"rec_batch_size must be >= 1, got {rec_batch_size}")
        self.detector, self.recognizer = detector, recognizer
        self.image_size = image_size
        self.options = dict(options or {})
        self.rec_options = dict(rec_options or {})
        self.rec_batch_size = rec_batch_size

    def spot(self, images: Sequence[np.ndarray], batch_size: int = 4) -> list[list[Spot]]:
        """The spots of each (H, W, 3) uint8 RGB image, in order (detector batches of ``batch_size``)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        dets: list[list[DetPoly]] = []
        for start in range(0, len(images), batch_size):
            found = self.detector.detect(list(images[start: start + batch_size]), self.image_size, self.options)
            dets += [submission_polygons(polys) for polys in found]
        return self.read(images, dets)

    def read(self, images: Sequence[np.ndarray], dets: Sequence[Sequence[DetPoly]]) -> list[list[Spot]]:
        """Read the given detections (one list per image, image pixels) off their images, all in one pass."""
        crops: list[np.ndarray] = []
        slots: list[list[list[int]]] = []  # image -> detection -> indices of its crops (one, or two for vertical)
        for image, image_dets in zip(images, dets):
            mine = []
            for det in image_dets:
                crop = rectified_crop(image, det.points)
                first = len(crops)
                if crop is not None:
                    crops.append(crop)
                    if is_vertical(det.points):
                        crops.append(np.ascontiguousarray(crop[::-1, ::-1]))  # the half turn
                mine.append(list(range(first, len(crops))))
            slots.append(mine)
        readings = self.recognizer.recognize(crops, self.rec_options, self.rec_batch_size) if crops else []
        out = []
        for image_dets, mine in zip(dets, slots):
            spots = []
            for det, indices in zip(image_dets, mine):
                text, score = max((readings[k] for k in indices), key=lambda r: r[1], default=("", 0.0))
                spots.append(Spot(det.points, det.score, text, float(score)))
            out.append(spots)
        return out


def is_spotter(model: Any) -> bool:
    """Whether a loaded predictor is a spotting model (it reads its own detections with ``read_words``)."""
    config = getattr(model, "config", None)
    return config is not None and task_of(config).name == "spotting"


def read_spots(reader: Any, images: Sequence[np.ndarray], dets: Sequence[Sequence[DetPoly]], *,
               rec_batch_size: int = 64, image_size: int | Sequence[int] = 1280) -> list[list[Spot]]:
    """The given detections read by ``reader``: a recognizer reads each rectified crop (``Spotter.read``);
    a spotting model (one with ``read_words``) reads them with its own recognition branch, on each image
    resized to ``image_size`` as it was for detection."""
    if not is_spotter(reader):
        return Spotter(None, reader, rec_batch_size=rec_batch_size).read(images, dets)
    readings = reader.read_words(images, [[d.points for d in found] for found in dets], image_size)
    return [[Spot(d.points, d.score, text, float(score)) for d, (text, score) in zip(found, texts)]
            for found, texts in zip(dets, readings)]
