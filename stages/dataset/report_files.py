"""Report files every stage writes the same way: JSON and CSV tables, images to draw samples on.

Shared by the evaluate and pseudo_label reports (and any stage with a report folder).
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from stages.dataset.images import STORED, Frame, read_image

RENDER_MAX_SIDE = 1024  # rendered samples are shrunk to this (artifacts stay small)


def write_json(path: Path, data: Any) -> None:
    """Pretty JSON; NaN / inf are written as null so every JSON reader accepts the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(data), indent=2, ensure_ascii=False), encoding="utf-8")


def _finite(data: Any) -> Any:
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """A CSV with a header; ``columns`` default to the first row's keys; None is written empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(columns or (rows[0].keys() if rows else []))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})


def read_for_render(image_path: Path, frame: Frame = STORED) -> tuple[np.ndarray, float]:
    """(BGR image shrunk to at most RENDER_MAX_SIDE px, the scale applied) for drawing a sample on; ``frame``
    is the one the polygons are in (``stages.dataset.images``)."""
    bgr = read_image(image_path, frame=frame)
    s = min(1.0, RENDER_MAX_SIDE / max(bgr.shape[:2]))
    if s < 1.0:
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * s), round(bgr.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return bgr, s


def sample_indices(count: int, num: int) -> list[int]:
    """``num`` indices spread evenly over ``range(count)`` (first and last included), deterministic."""
    if num <= 0 or count == 0:
        return []
    return sorted(set(np.linspace(0, count - 1, min(num, count)).round().astype(int).tolist()))
