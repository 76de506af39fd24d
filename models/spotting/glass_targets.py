"""Training targets of the ``glass`` spotter: DBNet's maps, a reading-angle map and the words to read.

``GlassTargets(config)(h, w, polygons, ignore, weights, texts=...)`` -> float32 / int64 arrays:

    gt, mask, thresh_map, thresh_mask   (h, w)      DBNet's (``models.detection.db_targets``), from the
                                                    detector config's ``targets`` settings
    angle_target, angle_weight          (h/4, w/4)  each cared word's reading angle (degrees, from its
                                                    vertex order: ``polygon_to_rbox``) over its polygon,
                                                    and the word's loss weight there (0 elsewhere)
    word_boxes                          (K, 5)      (cx, cy, w, h, angle) of up to K = ``words.max_words``
    word_valid                          (K,)        the word's loss weight; 0 = empty slot
    word_labels, word_lengths           (K, L), (K,) the transcription as charset ids (``encode_label``)

A word is read in training when it is cared for (not don't care, weight > 0), its polygon has an even
number (>= 4) of vertices, its box is at least ``words.min_height`` px high and its text keeps at least
one character in the reader's charset; words past K are left out of recognition (they still train
detection and angle). ``h`` and ``w`` must be multiples of 4 (the training crop is a multiple of 32).
"""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from models.detection.db_targets import make_targets
from models.recognition.charset import charset_of
from models.recognition.targets import encode_label
from models.spotting.rotated_roi import polygon_to_rbox

STRIDE = 4  # the fused map's stride, where the angle map lives


class GlassTargets:
    """Picklable target maker (data-loader workers get a copy); see the module docstring."""

    needs_texts = True  # the training data passes each kept instance's transcription

    def __init__(self, config: Any):
        self.db_settings = config.detector.targets.model_dump()
        self.charset = charset_of(config.recognizer.charset)
        self.max_length = config.recognizer.max_length
        self.max_words = config.words.max_words
        self.min_height = config.words.min_height

    def __call__(self, height: int, width: int, polygons: Sequence[np.ndarray], ignore: Sequence[bool],
                 weights: Sequence[float], texts: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        if height % STRIDE or width % STRIDE:
            raise ValueError(f"glass targets: image size {width}x{height} must be a multiple of {STRIDE}")
        texts = list(texts) if texts is not None else [""] * len(polygons)
        out = make_targets(height, width, polygons, ignore, weights, **self.db_settings)
        angle = np.zeros((height // STRIDE, width // STRIDE), np.float32)
        angle_weight = np.zeros_like(angle)
        words = _WordSlots(self.max_words, self.max_length)
        for poly, ign, weight, text in zip(polygons, ignore, weights, texts):
            rbox = _rbox(poly)
            if ign or weight <= 0 or rbox is None:
                continue
            _fill(angle, angle_weight, poly, rbox[4], float(weight))
            label = encode_label(self.charset, text, self.max_length)
            if rbox[3] >= self.min_height and int(label["length"]) > 0:
                words.add(rbox, float(weight), label)
        return {**out, "angle_target": angle, "angle_weight": angle_weight, **words.arrays()}


class _WordSlots:
    """The fixed-size word arrays of one image, filled slot by slot."""

    def __init__(self, slots: int, max_length: int):
        self.boxes = np.zeros((slots, 5), np.float32)
        self.valid = np.zeros(slots, np.float32)
        self.labels = np.zeros((slots, max_length), np.int64)
        self.lengths = np.zeros(slots, np.int64)
        self.count = 0

    def add(self, rbox: tuple[float, ...], weight: float, label: dict[str, np.ndarray]) -> None:
        if self.count == len(self.valid):
            return  # past K words: detection and angle only
        k = self.count
        self.boxes[k], self.valid[k] = rbox, weight
        self.labels[k], self.lengths[k] = label["label"], label["length"]
        self.count += 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {"word_boxes": self.boxes, "word_valid": self.valid, "word_labels": self.labels,
                "word_lengths": self.lengths}


def _rbox(poly: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """The word's rotated box, or None for a polygon with no reading order (odd vertex count, degenerate)."""
    try:
        return polygon_to_rbox(np.asarray(poly, np.float64).reshape(-1, 2))
    except ValueError:
        return None


def _fill(angle: np.ndarray, weight_map: np.ndarray, poly: np.ndarray, degrees: float, weight: float) -> None:
    """Paint the word's polygon (at the map's stride) with its angle and weight."""
    inside = polygon_cells(poly, angle.shape)
    angle[inside], weight_map[inside] = degrees, weight


def polygon_cells(points: np.ndarray, shape: tuple[int, int], stride: int = STRIDE) -> np.ndarray:
    """(h, w) bool mask of the cells of a stride-``stride`` map covered by a polygon in input pixels; a
    polygon too small to cover a cell's centre still marks the cell under its centre. The angle targets
    and the predictor's angle read-out use the same cells."""
    pts = np.asarray(points, np.float64).reshape(-1, 2) / stride
    region = np.zeros(shape, np.uint8)
    cv2.fillPoly(region, [np.round(pts - 0.5).astype(np.int32)], 1)
    if not region.any():
        cx, cy = np.clip(pts.mean(0).astype(int), 0, [shape[1] - 1, shape[0] - 1])
        region[cy, cx] = 1
    return region > 0
