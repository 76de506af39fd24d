"""The files ``infer --recognizer`` writes for one image: ICDAR 2015 end-to-end lines, JSON and a drawing.

    res/res_<stem>.txt   x1,y1,...,x4,y4,transcription   (ICDAR 2015 end-to-end, Task 4; integer pixels,
                         clockwise; the transcription is the rest of the line, commas included; a polygon of
                         more than 4 points is written as its minimum-area rectangle)
    json/<stem>.json     {"file_name", "width", "height", "frame", "polygons": [[x1, y1, ...]] (full polygons),
                          "scores": [detector], "texts": [...], "text_scores": [recognizer]}
    vis/<stem>.jpg       the image with each polygon drawn and its text written above it

``eval-det --protocol e2e`` reads both the res folder and ``predictions.json`` (the json files' records).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from stages.dataset.crops import order_quad
from stages.dataset.drawing import PRED_BGR, draw_polygons
from stages.dataset.report_files import read_for_render

from .inference import clean_polygon
from .report import submission_name
from .spotter import Spot

TEXT_BGR = (255, 255, 255)


def e2e_quad(polygon: np.ndarray) -> np.ndarray:
    """(4, 2) integer clockwise quad of a polygon: itself when it has 4 points, else its min-area rectangle."""
    pts = np.asarray(polygon, np.float64).reshape(-1, 2)
    if len(pts) != 4:
        pts = order_quad(cv2.boxPoints(cv2.minAreaRect(pts.astype(np.float32))).astype(np.float64))
    clean = clean_polygon(pts)
    # rounding can merge two corners of a tiny box; the line still needs 4 points
    return clean if clean is not None and len(clean) == 4 else np.rint(pts)


def e2e_line(spot: Spot) -> str:
    """``x1,y1,...,x4,y4,transcription`` (ICDAR 2015 end-to-end) of one spot."""
    coords = ",".join(str(int(v)) for v in e2e_quad(spot.polygon).reshape(-1))
    return f"{coords},{spot.text}"


def write_spots(out: Path, item: Any, spots: Sequence[Spot], draw: bool) -> dict[str, Any]:
    """res/, json/ and (with ``draw``) vis/ files of one image (an ``ImageFile``); returns the json record."""
    record = {"file_name": item.path.name, "width": item.width, "height": item.height, "frame": item.frame,
              "polygons": [[int(round(v)) for v in s.polygon.reshape(-1)] for s in spots],
              "scores": [round(float(s.det_score), 6) for s in spots],
              "texts": [s.text for s in spots],
              "text_scores": [round(float(s.rec_score), 6) for s in spots]}
    (out / "json" / f"{item.image_id}.json").write_text(json.dumps(record, ensure_ascii=False))
    (out / "res" / submission_name(item.image_id)).write_text("".join(e2e_line(s) + "\n" for s in spots),
                                                              encoding="utf-8")
    if draw:
        draw_spots(item, spots, out / "vis" / f"{item.image_id}.jpg")
    return record


def draw_spots(item: Any, spots: Sequence[Spot], out: Path) -> np.ndarray:
    """The image with its polygons (red) and texts (white on a dark band above each polygon); writes ``out``.

    OpenCV's Hershey font draws ASCII only: other characters show as '?'. The image is shrunk as every
    rendered sample is (``read_for_render``)."""
    bgr, s = read_for_render(item.path, item.frame)
    draw_polygons(bgr, [spot.polygon for spot in spots], PRED_BGR, s)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, max(bgr.shape[:2]) / 1600)
    for spot in spots:
        if not spot.text:
            continue
        label = "".join(c if 32 <= ord(c) < 127 else "?" for c in spot.text)
        (w, h), base = cv2.getTextSize(label, font, scale, 1)
        x0 = int(np.clip(spot.polygon[:, 0].min() * s, 0, max(0, bgr.shape[1] - w)))
        y0 = int(np.clip(spot.polygon[:, 1].min() * s - 2, h + base, bgr.shape[0]))  # above the box, inside
        cv2.rectangle(bgr, (x0, y0 - h - base), (x0 + w, y0), (40, 40, 40), cv2.FILLED)
        cv2.putText(bgr, label, (x0, y0 - base), font, scale, TEXT_BGR, 1, cv2.LINE_AA)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), bgr):
        raise OSError(f"OpenCV could not write {out}")
    return bgr
