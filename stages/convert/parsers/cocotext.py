"""COCO-Text v2 (text in MS-COCO images), detection / spotting.

Native layout: one ``cocotext.v2.json`` for train and val together::

    {"imgs": {"<id>": {"id", "file_name": "COCO_train2014_....jpg", "width", "height", "set": "train"|"val"}},
     "anns": {"<id>": {"id", "image_id", "bbox": [x, y, w, h], "mask": [x1, y1, x2, y2, ...],
                       "utf8_string", "legibility": "legible"|"illegible",
                       "language": "english"|"not english"|"na", "class": "machine printed"|"handwritten"|"others",
                       "area"}},
     "imgToAnns": {"<image id>": [ann id, ...]}, "cats": {}, "info": {}}

Illegible instances are ignored (they usually carry no ``utf8_string``). The polygon is ``mask``
(``polygon`` in some redistributions); when it is absent or has < 3 points the ``bbox`` rectangle stands in.
Annotations are grouped by their ``image_id`` (the ``imgToAnns`` index is redundant with it). Images without
annotations are yielded with no instances (negatives): COCO-Text lists every image of its split, text or not.
Skips name their item as ``<json file>:anns/<id>`` or ``<json file>:imgs/<id>`` (JSON has no useful lines).

The JSON helpers below are shared with TextOCR, whose annotation file follows this layout.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from stages.convert.parsers.common import BadItem, flat_point_list, locate_image
from stages.dataset.records import ImageRecord, ParseError, Skipped, TextInstance

SPLITS = ("train", "val")


def parse(annotations: Path, images: Path, split: str | None = None) -> Iterator[ImageRecord | Skipped]:
    """Yield the images of ``cocotext.v2.json`` (``annotations``) whose ``set`` is ``split``
    ("train" or "val"; None = all); ``images`` is the folder of the COCO ``file_name``s (train2014/)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown COCO-Text split {split!r}; valid: {', '.join(SPLITS)} or None for all")
    annotations, images = Path(annotations), Path(images)
    data = load_json(annotations, required=("imgs", "anns"))
    by_image, skipped = group_anns(data, annotations.name)
    yield from skipped
    for img_id, info in data["imgs"].items():
        if split is not None and (not isinstance(info, dict) or info.get("set") != split):
            continue
        yield from image_record(info, img_id, by_image.get(str(img_id), []), images, annotations.name, _instance)


def _instance(ann: dict[str, Any]) -> TextInstance | None:
    """One COCO-Text annotation -> TextInstance; None when neither mask nor bbox gives a polygon."""
    polygon = polygon_or_bbox(ann.get("mask", ann.get("polygon")), ann.get("bbox"))
    if polygon is None:
        return None
    return TextInstance(
        polygon=polygon,
        text=str(ann.get("utf8_string") or ""),
        ignore=ann.get("legibility") == "illegible",
        language=str(ann.get("language") or ""),
    )


def load_json(path: Path, required: tuple[str, ...]) -> dict[str, Any]:
    """Read a COCO-Text-style JSON file; ParseError when it cannot be read or lacks a top-level key."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError) as err:
        raise ParseError(path, None, f"cannot read: {err}") from err
    except json.JSONDecodeError as err:
        raise ParseError(path, err.lineno, f"invalid JSON: {err.msg}") from err
    if not isinstance(data, dict) or any(not isinstance(data.get(k), dict) for k in required):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ParseError(path, None, f"expected top-level objects {list(required)}; found {found}")
    return data


def group_anns(data: dict[str, Any], file: str) -> tuple[dict[str, list[tuple[str, dict]]], list[Skipped]]:
    """Annotations by str(image id), in file order, and a Skipped for each one that names no known image."""
    by_image: dict[str, list[tuple[str, dict]]] = {}
    skipped = []
    known = {str(k) for k in data["imgs"]}
    for ann_id, ann in data["anns"].items():
        image_id = str(ann.get("image_id")) if isinstance(ann, dict) else None
        if image_id not in known:
            skipped.append(Skipped("unknown_image", f"{file}:anns/{ann_id}", f"image_id {image_id!r} not in imgs"))
            continue
        by_image.setdefault(image_id, []).append((str(ann_id), ann))
    return by_image, skipped


def image_record(info: Any, img_id: str, anns: list[tuple[str, dict]], images: Path, file: str,
                 make_instance: Callable[[dict], TextInstance | None]) -> Iterator[ImageRecord | Skipped]:
    """Build one image's record: Skipped for unusable annotations, then the ImageRecord (or one Skipped)."""
    source = f"{file}:imgs/{img_id}"
    name = info.get("file_name") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name:
        yield Skipped("malformed_entry", source, "image entry has no file_name")
        return
    image = locate_image(images, name, source, basename_fallback=True)  # names from the file are untrusted
    if isinstance(image, Skipped):
        yield image
        return
    instances = []
    for ann_id, ann in anns:
        instance = make_instance(ann)
        if instance is None:
            yield Skipped("bad_polygon", f"{file}:anns/{ann_id}", "neither a polygon nor a bbox")
        else:
            instances.append(instance)
    yield ImageRecord(image_path=image, width=_size(info.get("width")), height=_size(info.get("height")),
                      instances=instances, source=source)


def polygon_or_bbox(flat: Any, bbox: Any) -> list[tuple[float, float]] | None:
    """The polygon of a flat [x1, y1, x2, y2, ...] list when it has >= 3 points, else the corners of the
    COCO [x, y, w, h] ``bbox``; None when neither is usable. (Degenerate but well-formed polygons pass:
    the converter validates geometry.)"""
    try:
        polygon = flat_point_list(flat)
    except BadItem:
        polygon = []
    return polygon if len(polygon) >= 3 else bbox_polygon(bbox)


def bbox_polygon(bbox: Any) -> list[tuple[float, float]] | None:
    """COCO [x, y, w, h] -> its 4 corners clockwise from top-left; None when malformed."""
    if not isinstance(bbox, list) or len(bbox) != 4:
        return None
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def _size(value: Any) -> int:
    """Image width/height from JSON; 0 (unknown) when absent or not a number."""
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
