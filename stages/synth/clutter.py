"""Cluttered word backgrounds: what a loose crop of a busy scene shows around a word.

Parts of neighbouring text lines, cut by the top and bottom edges, and a few strokes (poles, frame edges,
cables) are drawn over a procedural background before the word itself. The word's label and mask ignore
them: a recognizer has to tell the word from the clutter, which is what a text-segmentation branch
(BINet) is meant to help with.
"""
from __future__ import annotations

import cv2
import numpy as np

from stages.dataset.transforms.geometry import translation, warp_matrix
from stages.synth.colour import background_levels, pick_text_colour
from stages.synth.fonts import load_font
from stages.synth.render import render_sprite

_MIN_CONTRAST = 1.8  # distractors must show, but they need not be as legible as the word


def add_clutter(image: np.ndarray, words: tuple[str, ...], fonts: list[str], rng: np.random.Generator) -> None:
    """Draw distractor text lines above and below, and strokes, onto ``image`` ((H, W, 3) float32, in place)."""
    for side in ("above", "below"):
        if rng.random() < 0.8:
            _neighbour_line(image, words, fonts, side, rng)
    for _ in range(int(rng.integers(0, 3))):
        _stroke(image, rng)


def _neighbour_line(image: np.ndarray, words: tuple[str, ...], fonts: list[str], side: str, rng) -> None:
    """A line of 1-3 words whose glyphs show only partly: its centre lies beyond the image's edge."""
    height, width = image.shape[:2]
    text = " ".join(words[int(rng.integers(0, len(words)))] for _ in range(int(rng.integers(1, 4))))
    if rng.random() < 0.5:
        text = text.upper()
    font = load_font(fonts[int(rng.integers(0, len(fonts)))], max(6, int(round(height * rng.uniform(0.5, 1.0)))))
    sprite = render_sprite(text, font)
    if sprite is None:
        return
    lo, hi = sprite.polygon.min(axis=0), sprite.polygon.max(axis=0)
    ink_h = hi[1] - lo[1]
    # the line's ink centre sits just beyond the edge, so at most about half its height shows.
    centre_y = -rng.uniform(0.0, 0.35) * ink_h if side == "above" else height + rng.uniform(0.0, 0.35) * ink_h
    x = rng.uniform(-0.5 * (hi[0] - lo[0]), 0.5 * width)
    matrix = translation(x - lo[0], centre_y - (lo[1] + hi[1]) / 2.0)
    alpha = warp_matrix(sprite.fill, matrix, (width, height))
    under = image[alpha > 0.05]
    if len(under) == 0:
        return
    colour, _ = pick_text_colour(rng, background_levels(under), _MIN_CONTRAST)
    a = alpha[:, :, None]
    image *= 1.0 - a
    image += a * np.asarray(colour, dtype=np.float32)


def _stroke(image: np.ndarray, rng) -> None:
    """A straight line across the image in a random colour, 1-3 px wide."""
    height, width = image.shape[:2]
    points = rng.uniform(0, 1, size=(2, 2)) * (width, height)
    if rng.random() < 0.5:  # mostly near-vertical or near-horizontal, like poles and frame edges
        points[1, 0] = points[0, 0] + rng.uniform(-0.1, 0.1) * width
        points[:, 1] = (0, height)
    colour = tuple(float(v) for v in rng.integers(0, 256, size=3))
    p0 = tuple(int(round(v)) for v in points[0])
    p1 = tuple(int(round(v)) for v in points[1])
    cv2.line(image, p0, p1, colour, thickness=int(rng.integers(1, 4)), lineType=cv2.LINE_AA)
