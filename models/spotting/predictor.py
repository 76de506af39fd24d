"""The spotting predictor: a ``Detector`` (same preprocessing, batching and decoding of word polygons)
that also reads its own detections with the model's recognition branch.

    spotter = task.predictor(module, config, device)
    found = spotter.detect(images, 1280, options)                      # [[(polygon, score)]] per image
    texts = spotter.read_words(images, [[p for p, _ in f] for f in found], 1280)   # [[(text, score)]]

``read_words`` runs the shared backbone once per batch of images, turns each polygon (original pixels)
into the rotated box GLASS reads: the minimum-area rectangle around it, along its long side (either side
for a near-square one), turned to the side the predicted reading-angle map points to (its (cos, sin)
averaged over the polygon). The word is read that way and turned half round, and the reading the reader
is surer of is kept: the angle head proposes, the reader's confidence settles a word upside down (a
safeguard for an angle head that has not learned orientation yet: see the README's measurements). Words
are read in one forward pass per image batch; CTC decoding is greedy.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import cv2
import numpy as np

from models.detection.predictor import Detector, normalise, pad_batch, resize_for_input
from models.recognition.charset import charset_of
from models.recognition.ctc import decode_batch
from models.spotting.glass_targets import polygon_cells

Reading = tuple[str, float]
_GROUP = 8  # images per forward pass of read_words
SQUARE = 1.5  # a rectangle this many times longer than wide reads along its long side


class GlassSpotter(Detector):
    """A ``glass`` model ready for inference: ``detect`` / ``predict`` (inherited) and ``read_words``."""

    def __init__(self, module: Any, config: Any, arch: Any, device: Any, **identity: Any):
        super().__init__(module, config, arch, device, **identity)
        self.charset = charset_of(config.recognizer.charset)

    def read_words(self, images: Sequence[np.ndarray], polygons: Sequence[Sequence[np.ndarray]],
                   image_size: int | Sequence[int]) -> list[list[Reading]]:
        """The text and score of each polygon (one list per (H, W, 3) uint8 RGB image, original pixels),
        the image resized as for detection (``image_size``). A degenerate polygon reads ("", 0.0)."""
        out: list[list[Reading]] = []
        for start in range(0, len(images), _GROUP):
            out += self._read_group(images[start:start + _GROUP], polygons[start:start + _GROUP], image_size)
        return out

    def _read_group(self, images: Sequence[np.ndarray], polygons: Sequence[Sequence[np.ndarray]],
                    image_size: Any) -> list[list[Reading]]:
        import torch

        resized = [resize_for_input(rgb, image_size) for rgb in images]
        tensor = normalise(torch.from_numpy(pad_batch(resized, image_size)).to(self.device))
        with torch.inference_mode():
            fused = self.module.features(tensor)
            angle = self.module.angle(fused).float().cpu().numpy()  # (B, 2, H/4, W/4)
            rows, slots = [], []
            for j, (rgb, img) in enumerate(zip(images, resized)):
                scale = (img.shape[1] / rgb.shape[1], img.shape[0] / rgb.shape[0])
                mine = []
                for poly in polygons[j]:
                    box = reading_box(np.asarray(poly, np.float64).reshape(-1, 2) * scale, angle[j])
                    mine.append(len(rows) if box is not None else None)
                    if box is not None:  # the proposed reading direction, then the opposite one
                        rows += [[float(j), *box], [float(j), *box[:4], (box[4] + 180.0) % 360.0]]
                slots.append(mine)
            if not rows:
                return [[("", 0.0)] * len(p) for p in polygons]
            logits = self.module.read(tensor, fused, tensor.new_tensor(rows)).float().cpu().numpy()
        readings = [(self.charset.decode(ids), float(score)) for ids, score in decode_batch(logits)]
        best = [max(readings[k], readings[k + 1], key=lambda r: r[1]) for k in range(0, len(readings), 2)]
        return [[best[k // 2] if k is not None else ("", 0.0) for k in mine] for mine in slots]


def reading_box(points: np.ndarray, angle_map: np.ndarray, stride: int = 4) -> tuple[float, ...] | None:
    """(cx, cy, w, h, angle) of the word at ``points`` (input pixels): its minimum-area rectangle, with
    the reading direction the one closest to the angle map's (2, h, w) (cos, sin) mean over the polygon,
    among the directions along the rectangle's long side (all four edge directions when it is less than
    ``SQUARE`` times longer than wide: a short word may stand either way); None when the rectangle is under
    1 px a side."""
    corners = cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32))).astype(np.float64)
    edge_a, edge_b = corners[1] - corners[0], corners[2] - corners[1]
    len_a, len_b = float(np.hypot(*edge_a)), float(np.hypot(*edge_b))
    if min(len_a, len_b) < 1.0:
        return None
    predicted = _mean_angle(points, angle_map, stride)
    candidates = []
    sides = ((edge_a, len_a, len_b), (edge_b, len_b, len_a))
    if max(len_a, len_b) >= SQUARE * min(len_a, len_b):
        sides = tuple(side for side in sides if side[1] >= side[2])  # along the long side only
    for edge, length, across in sides:
        for sign in (1.0, -1.0):
            d = sign * edge / length
            candidates.append((math.degrees(math.atan2(-d[1], d[0])) % 360.0, length, across))
    if predicted is None:  # no angle evidence: read along the longer side, left to right
        candidates.sort(key=lambda c: (-c[1], _gap(c[0], 0.0)))
    else:
        candidates.sort(key=lambda c: _gap(c[0], predicted))
    angle, width, height = candidates[0]
    cx, cy = corners.mean(axis=0)
    return float(cx), float(cy), width, height, angle


def _mean_angle(points: np.ndarray, angle_map: np.ndarray, stride: int) -> float | None:
    """Degrees of the mean (cos, sin) of the map over the polygon (the cell under its centre when it
    covers no cell's centre); None when the mean vector vanishes."""
    inside = polygon_cells(points, angle_map.shape[1:], stride)
    vec = angle_map[:, inside]  # (2, n) raw (cos, sin)
    norms = np.linalg.norm(vec, axis=0).clip(1e-6)
    c, s = (vec / norms).mean(axis=1)
    if math.hypot(c, s) < 1e-6:
        return None
    return math.degrees(math.atan2(s, c)) % 360.0


def _gap(a: float, b: float) -> float:
    """Absolute angular distance in degrees."""
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)
