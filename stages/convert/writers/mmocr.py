"""MMOCR 1.x annotation files, as MMOCR's dataset preparer packs them (the parsers' inverse:
``parsers/mmocr.py``).

``textdet_json``: ``{"metainfo": {TextDetDataset, textdet, category text}, "data_list": [{img_path, height,
width, instances: [{polygon, bbox, bbox_label: 0, ignore, text}]}]}``; ``bbox`` is the polygon's
[x1, y1, x2, y2] extent. ``text`` makes the file a spotting set too; MMOCR's detection datasets ignore it.
``textrecog_json``: ``{"metainfo": {TextRecogDataset, textrecog}, "data_list": [{img_path, instances:
[{text}]}]}``. ``img_path`` is whatever the caller gives: a path relative to the MMOCR ``data_root``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from stages.dataset.records import ImageRecord, TextInstance

TEXTDET_META = {"dataset_type": "TextDetDataset", "task_name": "textdet", "category": [{"id": 0, "name": "text"}]}
TEXTRECOG_META = {"dataset_type": "TextRecogDataset", "task_name": "textrecog"}


def textdet_json(records: Iterable[tuple[str, ImageRecord]], path: Path) -> int:
    """Write ``(img_path, record)`` pairs (width/height known) as a textdet file; returns the image count."""
    data_list = [{"img_path": img_path, "height": rec.height, "width": rec.width,
                  "instances": [det_instance(inst) for inst in rec.instances]}
                 for img_path, rec in records]
    _dump({"metainfo": TEXTDET_META, "data_list": data_list}, path)
    return len(data_list)


def det_instance(inst: TextInstance) -> dict[str, Any]:
    """One instance as MMOCR packs it."""
    xs = [x for x, _ in inst.polygon]
    ys = [y for _, y in inst.polygon]
    return {"polygon": [_num(v) for point in inst.polygon for v in point],
            "bbox": [_num(min(xs)), _num(min(ys)), _num(max(xs)), _num(max(ys))],
            "bbox_label": 0, "ignore": bool(inst.ignore), "text": inst.text}


def textrecog_json(items: Iterable[tuple[str, str]], path: Path) -> int:
    """Write ``(img_path, text)`` pairs as a textrecog file; returns the item count."""
    data_list = [{"img_path": img_path, "instances": [{"text": text}]} for img_path, text in items]
    _dump({"metainfo": TEXTRECOG_META, "data_list": data_list}, path)
    return len(data_list)


def _num(value: float) -> float | int:
    # Whole numbers as ints, as in our COCO files; other values keep every digit (exact round trip).
    value = float(value)
    return int(value) if value.is_integer() else value


def _dump(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
