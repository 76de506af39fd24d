"""Word crops drawn in a grid with ground truth and prediction under each (training validation samples,
the evaluate stage's failure grids).

Text is drawn with OpenCV's Hershey font, which has ASCII glyphs only: other characters are shown as
``?`` (the strings themselves are in the report tables).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from stages.dataset.drawing import GT_BGR, PRED_BGR, STRIP_BGR, with_legend

CELL_HEIGHT = 32  # px of each crop in the grid
CELL_WIDTH = 160
_LINE = 14  # px per text line under a crop
_FONT, _SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.4
WORD_LEGEND = [("ground truth", GT_BGR), ("prediction (correct)", GT_BGR[::-1]), ("prediction (wrong)", PRED_BGR)]


def _ascii(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)


def _cell(rgb: np.ndarray, gt: str, pred: str, correct: bool) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(CELL_HEIGHT / max(h, 1), CELL_WIDTH / max(w, 1))
    crop = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)
    cell = np.full((CELL_HEIGHT + 2 * _LINE + 4, CELL_WIDTH, 3), STRIP_BGR, np.uint8)
    cell[: crop.shape[0], : crop.shape[1]] = crop
    cv2.putText(cell, _ascii(gt)[:24], (2, CELL_HEIGHT + _LINE - 2), _FONT, _SCALE, GT_BGR, 1, cv2.LINE_AA)
    cv2.putText(cell, _ascii(pred)[:24], (2, CELL_HEIGHT + 2 * _LINE), _FONT, _SCALE,
                GT_BGR[::-1] if correct else PRED_BGR, 1, cv2.LINE_AA)
    return cell


def word_grid(crops: Sequence[np.ndarray], gts: Sequence[str], preds: Sequence[str], correct: Sequence[bool],
              columns: int = 4) -> np.ndarray:
    """A BGR grid of RGB ``crops``, each with its ground truth (green) and prediction (blue when
    ``correct``, red when wrong) under it, and the colour legend below."""
    if not crops:
        raise ValueError("word_grid: no crops to draw")
    cells = [_cell(c, g, p, ok) for c, g, p, ok in zip(crops, gts, preds, correct)]
    blank = np.full_like(cells[0], STRIP_BGR)
    cells += [blank] * (-len(cells) % columns)
    rows = [np.hstack(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return with_legend(np.vstack(rows), WORD_LEGEND)
