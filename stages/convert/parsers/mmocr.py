"""MMOCR 1.x annotation files (what MMOCR's dataset preparer packs), detection and recognition.

Detection / spotting, ``textdet_{split}.json`` / ``textspotting_{split}.json``::

    {"metainfo": {"dataset_type": "TextDetDataset", "task_name": "textdet",
                  "category": [{"id": 0, "name": "text"}]},
     "data_list": [{"img_path": "textdet_imgs/train/img_1.jpg", "height": 720, "width": 1280,
                    "instances": [{"polygon": [x1, y1, x2, y2, ...], "bbox": [x1, y1, x2, y2],
                                   "bbox_label": 0, "ignore": false, "text": "CAFE"}]}]}

``polygon`` is the instance (the ``bbox`` rectangle, corners x1 y1 x2 y2, stands in when it is absent);
``ignore: true`` marks don't care; ``text`` is only in spotting files (else ''). Images without instances
are kept (negatives).

Recognition, ``textrecog_{split}.json``::

    {"metainfo": {"dataset_type": "TextRecogDataset", "task_name": "textrecog"},
     "data_list": [{"img_path": "textrecog_imgs/train/word_1.png", "instances": [{"text": "Genaxis"}]}]}

``img_path`` is relative to the dataset root MMOCR is given (``data_root``): give that folder as
``images``; a name not found there is looked up by its base name (``common.listed_image``). Skips name
their item ``<file>:data_list/<index, 0-based>``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from stages.convert.parsers.common import BadItem, flat_point_list, listed_image
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped, TextInstance


def parse_textdet(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per ``data_list`` item of an MMOCR textdet (or textspotting) JSON file."""
    annotations, images = Path(annotations), Path(images)
    for index, item in enumerate(load_data_list(annotations)):
        source = f"{annotations.name}:data_list/{index}"
        try:
            image = _image(item, images)
            instances = item.get("instances")
            if not isinstance(instances, list):
                raise BadItem("malformed_record", f"no instances list in {_short(item)}")
        except BadItem as exc:
            yield Skipped(exc.reason, source, exc.detail)
            continue
        kept = []
        for i, raw in enumerate(instances):
            try:
                kept.append(det_instance(raw))
            except BadItem as exc:
                yield Skipped(exc.reason, f"{source}/instances/{i}", exc.detail)
        yield ImageRecord(image_path=image, width=_size(item.get("width")), height=_size(item.get("height")),
                          instances=kept, source=source)


def parse_textrecog(annotations: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """Yield one CropRecord per ``data_list`` item of an MMOCR textrecog JSON file (its first instance's
    text: a recognition item has exactly one)."""
    annotations, images = Path(annotations), Path(images)
    for index, item in enumerate(load_data_list(annotations)):
        source = f"{annotations.name}:data_list/{index}"
        try:
            image = _image(item, images)
            instances = item.get("instances")
            text = instances[0].get("text") if isinstance(instances, list) and instances and isinstance(
                instances[0], dict) else None
            if not isinstance(text, str) or not text:
                raise BadItem("malformed_record", f"expected instances[0].text: {_short(item)}")
        except BadItem as exc:
            yield Skipped(exc.reason, source, exc.detail)
            continue
        yield CropRecord(label=text, image_path=image, source=source)


def load_data_list(path: Path) -> list[Any]:
    """The ``data_list`` of an MMOCR 1.x JSON file; ParseError naming the file (and line) otherwise."""
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except OSError as err:
        raise ParseError(path, None, f"cannot read: {err}") from err
    except UnicodeDecodeError as err:
        raise ParseError(path, None, f"not UTF-8: {err}") from err
    except json.JSONDecodeError as err:
        raise ParseError(path, err.lineno, f"invalid JSON: {err.msg}") from err
    items = data.get("data_list") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ParseError(path, None, "not an MMOCR 1.x annotation file: no top-level 'data_list' list")
    return items


def det_instance(raw: Any) -> TextInstance:
    """One MMOCR detection instance -> TextInstance; BadItem when it has neither polygon nor bbox."""
    if not isinstance(raw, dict):
        raise BadItem("malformed_record", f"expected an instance object, got {raw!r}"[:160])
    polygon = raw.get("polygon")
    if polygon is None:
        polygon = _bbox_corners(raw.get("bbox"))
    text = raw.get("text", "")
    return TextInstance(polygon=flat_point_list(polygon), text=text if isinstance(text, str) else str(text),
                        ignore=raw.get("ignore") is True)


def _bbox_corners(bbox: Any) -> list[float]:
    """MMOCR's [x1, y1, x2, y2] box as a flat clockwise quad."""
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise BadItem("bad_polygon", f"neither a polygon nor an [x1, y1, x2, y2] bbox: {bbox!r}"[:160])
    x1, y1, x2, y2 = bbox
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def _image(item: Any, images: Path) -> Path:
    """The image file an item names; BadItem when malformed, unsafe or missing."""
    name = item.get("img_path") if isinstance(item, dict) else None
    if not isinstance(name, str) or not name:
        raise BadItem("malformed_record", f"no img_path in {_short(item)}")
    image = listed_image(images, name)
    if image is None:
        raise BadItem("missing_image", f"{name} not under {images}")
    return image


def _size(value: Any) -> int:
    """Image width/height from JSON; 0 (unknown: the shards read it) when absent or not a number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _short(item: Any) -> str:
    return repr(item)[:160]
