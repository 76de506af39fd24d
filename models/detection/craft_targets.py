"""CRAFT's training targets from word annotations, made in the DataLoader workers (no model here).

Character-level targets need the model's current region score, so they are drawn in the loss
(``models.detection.craft_loss``). Here each training crop gets:

- ``words``: (max_words, 11) float32, one row per word: its box (min-area rectangle of the polygon,
  4 corners clockwise from where reading starts, x/y interleaved, in the coordinates of the
  half-resolution score maps), its transcription length, its loss weight and a valid flag (1);
  rows past the last word are all zero;
- ``mask``: (H/2, W/2) float32, 0 over words left out of the loss, 1 elsewhere.

Left out (masked, never trained as background): don't-care words, words whose transcription is empty
or ``###`` (their character count is unknown, so not even an even split can be made), words too thin
to split, and words beyond ``max_words``.
"""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np

from models.detection.craft_config import TargetsConfig
from models.detection.craft_weak import box_size, order_box

STRIDE = 2  # CRAFT's score maps are at half the input resolution
BOX, LENGTH, WEIGHT, VALID = slice(0, 8), 8, 9, 10
WORD_COLUMNS = 11
UNKNOWN_TEXTS = ("", "###")
MIN_SIDE = 1.0  # score-map pixels: a thinner word box has no room for a character split


class CraftTargets:
    """Picklable target maker: ``(height, width, polygons, ignore, weights, texts) -> {"words", "mask"}``."""

    needs_texts = True  # the training dataset passes each instance's transcription

    def __init__(self, cfg: TargetsConfig):
        self.max_words = cfg.max_words

    def __call__(self, height: int, width: int, polygons: Sequence[np.ndarray], ignore: Sequence[bool],
                 weights: Sequence[float], texts: Sequence[str]) -> dict[str, Any]:
        if not len(polygons) == len(ignore) == len(weights) == len(texts):
            raise ValueError(f"CraftTargets: {len(polygons)} polygons, {len(ignore)} ignore flags, "
                             f"{len(weights)} weights and {len(texts)} texts must match")
        words = np.zeros((self.max_words, WORD_COLUMNS), np.float32)
        mask = np.ones((height // STRIDE, width // STRIDE), np.float32)
        row = 0
        for polygon, dont_care, weight, text in zip(polygons, ignore, weights, texts):
            scaled = np.asarray(polygon, np.float32).reshape(-1, 2) / STRIDE
            box = order_box(scaled) if len(scaled) >= 3 else None
            usable = (box is not None and not dont_care and text not in UNKNOWN_TEXTS
                      and min(box_size(box)) >= MIN_SIDE and row < self.max_words)
            if not usable:
                _fill(mask, scaled, 0.0)
                continue
            words[row, BOX] = box.reshape(-1)
            words[row, LENGTH] = len(text)
            words[row, WEIGHT] = weight
            words[row, VALID] = 1.0
            row += 1
        return {"words": words, "mask": mask}


def unpack_words(words: np.ndarray) -> list[tuple[np.ndarray, int, float]]:
    """The valid rows of one crop's ``words`` array as (box (4, 2), length, weight)."""
    rows = words[words[:, VALID] > 0.5]
    return [(r[BOX].reshape(4, 2), int(round(r[LENGTH])), float(r[WEIGHT])) for r in rows]


def _fill(canvas: np.ndarray, polygon: np.ndarray, value: float) -> None:
    """Set every pixel a pixel-corner polygon touches on ``canvas`` (cv2 fills edge pixels too;
    vertices keep sub-pixel precision through cv2's 4-bit fixed point)."""
    if len(polygon) < 3:
        return
    fixed = np.round((polygon - 0.5) * 16).astype(np.int32)  # cv2 puts pixel centres on integers
    cv2.fillPoly(canvas, [fixed], value, lineType=cv2.LINE_8, shift=4)
