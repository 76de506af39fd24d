"""Drawn sample images: polygons on a picture, a colour legend under it, and MLflow image keys.

Every stage that shows samples (evaluate, pseudo_label, train validation, synth, augment) draws them
here, so the same colour means the same thing everywhere and every picture says what its colours mean:
a white strip under the image holds one filled swatch per colour with its meaning.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from stages.dataset.images import STORED, Frame
from stages.dataset.records import ImageRecord
from stages.dataset.report_files import read_for_render, sample_indices

BGR = tuple[int, int, int]
GT_BGR: BGR = (0, 200, 0)  # green: ground truth
DONT_CARE_BGR: BGR = (160, 160, 160)  # grey: ground truth marked don't care (iscrowd)
PRED_BGR: BGR = (0, 0, 255)  # red: detections
GROUND_TRUTH_LEGEND: list[tuple[str, BGR]] = [("ground truth", GT_BGR), ("don't care", DONT_CARE_BGR)]

DATASET_SAMPLES = 3  # images of each written dataset (synth split, augment variant) logged drawn
SWATCH = 12  # px side of a legend swatch
_ROW = 20  # px per legend row
_GAP = 10  # px between entries and at the strip's edges
_FONT, _FONT_SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.4
STRIP_BGR: BGR = (255, 255, 255)
_TEXT_BGR: BGR = (0, 0, 0)
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def draw_polygons(bgr: np.ndarray, polygons: Iterable[np.ndarray], colour: BGR, scale: float = 1.0,
                  thickness: int | None = None) -> None:
    """Outline each polygon (N x 2 points in the image's original pixels, shrunk by ``scale``) in place."""
    thick = thickness or max(1, round(max(bgr.shape[:2]) / 400))
    for points in polygons:
        pts = np.rint(np.asarray(points, np.float64).reshape(-1, 2) * scale).astype(np.int32).reshape(-1, 1, 2)
        if len(pts) >= 2:
            cv2.polylines(bgr, [pts], True, colour, thick, cv2.LINE_AA)


def _entry_width(label: str) -> int:
    (text_w, _), _ = cv2.getTextSize(label, _FONT, _FONT_SCALE, 1)
    return SWATCH + 4 + text_w


def _layout(entries: Sequence[tuple[str, BGR]], width: int) -> list[list[tuple[int, str, BGR]]]:
    """Entries placed left to right, wrapped into rows no wider than ``width``: rows of (x, label, colour)."""
    rows: list[list[tuple[int, str, BGR]]] = [[]]
    x = _GAP
    for label, colour in entries:
        w = _entry_width(label)
        if rows[-1] and x + w + _GAP > width:
            rows.append([])
            x = _GAP
        rows[-1].append((x, label, colour))
        x += w + 2 * _GAP
    return rows


def with_legend(bgr: np.ndarray, entries: Sequence[tuple[str, BGR]]) -> np.ndarray:
    """The image with a white legend strip below it: per entry a filled ``SWATCH`` px square of exactly
    its colour and its label. An image narrower than the widest entry is padded on the right."""
    if not entries:
        return bgr
    width = max(bgr.shape[1], max(_entry_width(label) for label, _ in entries) + 2 * _GAP)
    rows = _layout(entries, width)
    strip = np.full((len(rows) * _ROW + _GAP // 2, width, 3), STRIP_BGR, np.uint8)
    for r, row in enumerate(rows):
        top = r * _ROW + (_ROW - SWATCH) // 2 + 2
        for x, label, colour in row:
            strip[top:top + SWATCH, x:x + SWATCH] = colour
            cv2.putText(strip, label, (x + SWATCH + 4, top + SWATCH - 1), _FONT, _FONT_SCALE, _TEXT_BGR, 1,
                        cv2.LINE_AA)
    canvas = np.full((bgr.shape[0], width, 3), STRIP_BGR, np.uint8)
    canvas[:, :bgr.shape[1]] = bgr
    return np.vstack([canvas, strip])


def render_ground_truth(image_path: Path, polygons: Sequence[np.ndarray], ignore: Sequence[bool],
                        frame: Frame = STORED) -> np.ndarray:
    """A dataset sample (BGR): ground truth in green, don't care in grey, with the legend."""
    bgr, s = read_for_render(image_path, frame)
    draw_polygons(bgr, [p for p, ign in zip(polygons, ignore) if not ign], GT_BGR, s)
    draw_polygons(bgr, [p for p, ign in zip(polygons, ignore) if ign], DONT_CARE_BGR, s)
    return with_legend(bgr, GROUND_TRUTH_LEGEND)


def to_rgb(bgr: np.ndarray) -> np.ndarray:
    """The HxWx3 uint8 RGB array MLflow's ``log_image`` takes."""
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def write_png(bgr: np.ndarray, out: Path) -> None:
    """Write a drawn sample, creating its folder; a failed write raises naming the file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), bgr):
        raise OSError(f"could not write {out}")


def image_key(*parts: str) -> str:
    """``samples/<part>.<part>...``: an MLflow image key (letters, digits, ``_ . -`` and the one ``/``);
    other characters of image names become ``_``."""
    return "samples/" + ".".join(_KEY_CHARS.sub("_", p) for p in parts if p)


def log_dataset_samples(ctx: Any, name: str, records: Sequence[ImageRecord]) -> None:
    """Log ``DATASET_SAMPLES`` images spread over a written dataset, drawn with their ground truth and the
    legend, as ``samples/<name>.<image stem>`` (``ctx``: the stage's context)."""
    for k in sample_indices(len(records), DATASET_SAMPLES):
        rec = records[k]
        drawn = render_ground_truth(Path(rec.image_path), [np.asarray(i.polygon, np.float64) for i in rec.instances],
                                    [i.ignore for i in rec.instances])
        ctx.log_image(image_key(name, Path(rec.image_path).stem), to_rgb(drawn), 0)
