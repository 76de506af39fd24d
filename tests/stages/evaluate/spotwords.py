"""Scenes of rendered words at known places (straight, rotated, vertical, curved) and a recognizer test
double that reads a crop by finding the rendered word it looks like."""
from __future__ import annotations

import math

import cv2
import numpy as np

from models.metrics.types import GtPoly
from tests.stages.rec_words import render_word

TEMPLATE = (128, 32)  # (w, h) crops and words are compared at
HEIGHT = 28  # px: the words in the scenes and the ones crops are compared with


def word_image(word: str) -> np.ndarray:
    """The RGB picture of a word: dark ink on paper, with a paper margin (no letter touches its edge)."""
    return cv2.copyMakeBorder(render_word(word, height=HEIGHT)[0], 4, 4, 4, 4, cv2.BORDER_REPLICATE)


def _normalised(rgb: np.ndarray) -> np.ndarray:
    """Grey, TEMPLATE-sized, the ink's centre moved to the middle (a word turned half a turn sits lower in
    its box than the rendered one: the descender margin moves to the top), zero mean, unit variance."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # Dark regions touching the crop's edge are the black scene around the word (letters keep off the edge,
    # the paper has a margin): painted paper colour, so only the letters are compared.
    _, labels = cv2.connectedComponents((gray < 128).astype(np.uint8))
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, edge[edge > 0])
    paper = np.median(gray[gray >= 128]) if (gray >= 128).any() else 255
    gray = np.where(outside, paper, gray).astype(np.uint8)
    gray = cv2.resize(gray, TEMPLATE, interpolation=cv2.INTER_AREA).astype(np.float32)
    ink = np.clip(np.median(gray) - gray, 0, None)
    if ink.sum() > 0:
        ys, xs = np.mgrid[: gray.shape[0], : gray.shape[1]]
        dx = TEMPLATE[0] / 2 - (ink * xs).sum() / ink.sum()
        dy = TEMPLATE[1] / 2 - (ink * ys).sum() / ink.sum()
        gray = cv2.warpAffine(gray, np.float32([[1, 0, dx], [0, 1, dy]]), TEMPLATE, borderMode=cv2.BORDER_REPLICATE)
    return (gray - gray.mean()) / (gray.std() + 1e-6)


class LookupRecognizer:
    """Reads a crop as the rendered word it correlates best with (score: that correlation), or "" when
    no word correlates above ``min_score``: a crop cut wrongly (turned, sheared, off place) reads wrong."""

    def __init__(self, words: list[str], min_score: float = 0.6):
        self.templates = {w: _normalised(word_image(w)) for w in words}
        self.min_score = min_score
        self.calls: list[int] = []  # crops per call: the spotter reads a whole image batch at once

    def recognize(self, crops, options=None, batch_size: int = 64) -> list[tuple[str, float]]:
        self.calls.append(len(crops))
        out = []
        for crop in crops:
            x = _normalised(crop)
            word, score = max(((w, float((x * t).mean())) for w, t in self.templates.items()), key=lambda r: r[1])
            out.append((word, score) if score >= self.min_score else ("", score))
        return out


def rotated_sides(center: tuple[float, float], size: tuple[int, int], degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) edges (2, 2), left to right in the word's own frame, of a (w, h) word turned by
    ``degrees`` (clockwise on screen) about ``center``."""
    w, h = size
    a = math.radians(degrees)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ rot.T + center
    return corners[:2], corners[[3, 2]]


def arc_sides(center: tuple[float, float], radius: float, height: float, start: float, stop: float,
              n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) chains (n, 2) of a word bent along a circle arc (angles in degrees, 270 = straight up),
    its top on the outside."""
    angles = np.radians(np.linspace(start, stop, n))
    unit = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return center + unit * (radius + height), center + unit * radius


def paste(scene: np.ndarray, word: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> None:
    """Warp a word image (h, w, 3) onto the band between ``top`` and ``bottom`` (n, 2), strip by strip."""
    h, w = word.shape[:2]
    xs = np.linspace(0, w, len(top))
    size = (scene.shape[1], scene.shape[0])
    for i in range(len(top) - 1):
        src = np.float32([[xs[i], 0], [xs[i + 1], 0], [xs[i + 1], h], [xs[i], h]])
        dst = np.float32([top[i], top[i + 1], bottom[i + 1], bottom[i]])
        matrix = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(word, matrix, size, flags=cv2.INTER_LINEAR)
        strip = np.zeros((h, w), np.uint8)
        strip[:, int(np.floor(xs[i])): int(np.ceil(xs[i + 1]))] = 255  # this strip's columns only
        inside = cv2.warpPerspective(strip, matrix, size, flags=cv2.INTER_NEAREST) > 0
        scene[inside] = warped[inside]


def scene(layout: list[tuple[str, str, tuple]], size: tuple[int, int] = (320, 240)) -> tuple[np.ndarray, list[GtPoly]]:
    """A black (w, h) RGB scene with each (word, kind, where) of ``layout`` drawn, and its ground truth.

    kind "rotated": where = (center, degrees); kind "arc": where = (center, radius, start, stop).
    """
    image = np.zeros((size[1], size[0], 3), np.uint8)
    gts = []
    for word, kind, where in layout:
        rgb = word_image(word)
        h, w = rgb.shape[:2]
        if kind == "rotated":
            top, bottom = rotated_sides(where[0], (w, h), where[1])
        else:
            center, radius, start, stop = where
            top, bottom = arc_sides(center, radius, h, start, stop)
        paste(image, rgb, top, bottom)
        gts.append(GtPoly(np.concatenate([top, bottom[::-1]]), word))
    return image, gts


WORDS = ["hello", "rotated", "down", "upward", "curving"]
LAYOUTS = [
    [("hello", "rotated", ((80, 40), 0)), ("rotated", "rotated", ((200, 150), 25)),
     ("down", "rotated", ((290, 120), 90))],
    [("upward", "rotated", ((40, 130), -90)), ("curving", "arc", ((190, 300), 170, 243, 297))],
]
