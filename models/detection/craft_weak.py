"""CRAFT weak supervision: pseudo character boxes for a word from the current model's region score.

Only word boxes are annotated, so the region (character) and affinity targets are guessed from what
the model already predicts inside each word (the CRAFT paper's scheme):

1. the word's 4-point box is warped to an upright crop of the region score map (reading direction
   left to right);
2. the crop's column profile (highest score per column) has one hump per character the model sees;
   humps are counted and the word is cut at the lowest point between neighbouring humps;
3. with ``l`` the transcription length and ``n`` the count found, the split is trusted with
   ``s = (l - min(l, |l - n|)) / l``; below 0.5 the word is instead cut into ``l`` equal parts and
   ``s = 0.5``.

Coordinates are pixel-corner coordinates (pixel ``i`` covers ``[i, i + 1)``) of the score map; boxes
are (4, 2) float32 ordered top-left, top-right, bottom-right, bottom-left along the reading direction.
Pure numpy / cv2, no torch.
"""
from __future__ import annotations

import cv2
import numpy as np

MIN_CONFIDENCE = 0.5  # the paper: a split trusted less than this falls back to the even split


def order_box(polygon: np.ndarray) -> np.ndarray:
    """The minimum-area rectangle of ``polygon`` (N, 2) as a (4, 2) float32 box, clockwise (image
    axes, y down) from the corner where the polygon's reading direction starts.

    The reading direction is the polygon's first edge (vertex 0 -> 1), which is the top edge read
    left to right in the ICDAR / COCO convention and survives rotations of the image.
    """
    pts = np.asarray(polygon, np.float32).reshape(-1, 2)
    box = cv2.boxPoints(cv2.minAreaRect(pts)).astype(np.float32)
    if _signed_area(box) < 0:
        box = box[::-1].copy()
    reading = pts[1] - pts[0] if len(pts) > 1 else np.zeros(2, np.float32)
    if float(np.hypot(*reading)) < 1e-6:
        reading = np.array([1.0, 0.0], np.float32)
    edges = np.roll(box, -1, axis=0) - box  # edge k runs from corner k to corner k+1
    start = int(np.argmax(edges @ reading / (np.linalg.norm(edges, axis=1) + 1e-9)))
    return np.roll(box, -start, axis=0)


def _signed_area(box: np.ndarray) -> float:
    """Shoelace sum; positive when the corners run clockwise on screen (y axis pointing down)."""
    x, y = box[:, 0], box[:, 1]
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) / 2.0


def box_size(box: np.ndarray) -> tuple[float, float]:
    """(width along the reading direction, height) of a (4, 2) box: its longer opposite sides."""
    width = max(np.linalg.norm(box[1] - box[0]), np.linalg.norm(box[2] - box[3]))
    height = max(np.linalg.norm(box[3] - box[0]), np.linalg.norm(box[2] - box[1]))
    return float(width), float(height)


def word_crop(score: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upright crop (h, w) of ``score`` under ``box`` and the 3x3 transform from the crop's
    pixel-corner frame back to the map's."""
    width, height = box_size(box)
    w, h = max(1, int(np.ceil(width))), max(1, int(np.ceil(height)))
    upright = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    # cv2 puts pixel centres on integers: shift corner coordinates by half a pixel both ways
    to_crop = cv2.getPerspectiveTransform(box.astype(np.float32) - 0.5, upright - 0.5)
    crop = cv2.warpPerspective(score.astype(np.float32), to_crop, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    to_map = cv2.getPerspectiveTransform(upright, box.astype(np.float32))
    return crop, to_map


def split_columns(crop: np.ndarray, min_peak: float = 0.2, valley_ratio: float = 0.85) -> list[tuple[float, float]]:
    """Cut an upright word crop (h, w) into character intervals ``[(x0, x1), ...]`` along its width.

    One character per hump of the column profile whose peak reaches ``min_peak``; two humps count as
    one when the lowest point between them stays above ``valley_ratio`` x the lower peak (a ripple on
    one blob, not two characters). Returns [] when no hump reaches ``min_peak``.
    """
    profile = crop.max(axis=0).astype(np.float64)
    if profile.size >= 5:  # a light smoothing so one-pixel noise makes no extra hump
        profile = np.convolve(np.pad(profile, 1, mode="edge"), np.ones(3) / 3.0, mode="valid")
    peaks = _humps(profile, min_peak, valley_ratio)
    if not peaks:
        return []
    cuts = [_valley(profile, a, b) for a, b in zip(peaks, peaks[1:])]
    edges = [0.0, *cuts, float(crop.shape[1])]
    return list(zip(edges[:-1], edges[1:]))


def _valley(profile: np.ndarray, start: int, stop: int) -> float:
    """Where to cut between humps at ``start`` and ``stop``: the middle of the lowest columns (two
    equal lowest columns on either side of a boundary put the cut on the boundary itself)."""
    span = profile[start:stop + 1]
    lowest = np.flatnonzero(span <= span.min() + 1e-4)
    return float(start + (lowest[0] + lowest[-1]) / 2.0) + 0.5


def _humps(profile: np.ndarray, min_peak: float, valley_ratio: float) -> list[int]:
    """Indices of the profile's separate humps (left to right)."""
    left = np.concatenate([[-np.inf], profile[:-1]])
    right = np.concatenate([profile[1:], [-np.inf]])
    candidates = np.flatnonzero((profile > left) & (profile >= right) & (profile >= min_peak))
    kept: list[int] = []
    for i in candidates:
        if kept:
            prev = kept[-1]
            valley = profile[prev:i + 1].min()
            if valley > valley_ratio * min(profile[prev], profile[i]):
                if profile[i] > profile[prev]:
                    kept[-1] = int(i)  # same hump: keep its highest point
                continue
        kept.append(int(i))
    return kept


def even_split(width: float, count: int) -> list[tuple[float, float]]:
    """``count`` equal intervals over ``[0, width]``."""
    edges = np.linspace(0.0, width, count + 1)
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def confidence(length: int, found: int) -> float:
    """The paper's trust in a split: ``(l - min(l, |l - n|)) / l`` for transcription length ``l`` and
    ``n`` characters found (1 when they agree, 0 when off by ``l`` or more)."""
    if length < 1:
        raise ValueError(f"a word's transcription length must be >= 1, got {length}")
    return (length - min(length, abs(length - found))) / length


def pseudo_char_boxes(score: np.ndarray, box: np.ndarray, length: int) -> tuple[np.ndarray, float]:
    """Pseudo character boxes of one word: ((k, 4, 2) float32 boxes in ``score``'s frame, in reading
    order; confidence). ``score`` (H, W) is the region score map, ``box`` the word's ordered (4, 2) box,
    ``length`` its transcription length. k is the count found, or ``length`` after the even split."""
    crop, to_map = word_crop(score, box)
    width, height = box_size(box)
    # crop columns are box units; the crop is rounded up to whole pixels, so clip to the box's width
    intervals = [(min(a, width), min(b, width)) for a, b in split_columns(crop)]
    conf = confidence(length, len(intervals))
    if conf < MIN_CONFIDENCE:
        intervals, conf = even_split(width, length), MIN_CONFIDENCE
    quads = np.array([[[a, 0], [b, 0], [b, height], [a, height]] for a, b in intervals], np.float32)
    boxes = cv2.perspectiveTransform(quads.reshape(1, -1, 2), to_map).reshape(-1, 4, 2)
    return boxes.astype(np.float32), float(conf)
