"""TextOCR (Singh et al., text in OpenImages), detection / spotting.

Native layout: ``TextOCR_0.1_train.json`` / ``TextOCR_0.1_val.json``, COCO-Text style::

    {"imgs": {"<id>": {"id", "width", "height", "set", "file_name": "train/<id>.jpg"}},
     "anns": {"<image id>_<n>": {"id", "image_id", "bbox": [x, y, w, h], "points": [x1, y1, ..., xN, yN],
                                 "utf8_string", "area"}},
     "imgToAnns": {"<image id>": ["<ann id>", ...]}}

``utf8_string == "."`` marks an illegible word: ignored, with an empty transcription. ``points`` is the
polygon; the ``bbox`` rectangle stands in when it is unusable. The images are distributed as one
``train_images/`` folder while ``file_name`` says ``train/...``: the image is looked up as
``images/file_name``, then ``images/<basename>``. Images without annotations are yielded with no instances.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from stages.convert.parsers.cocotext import group_anns, image_record, load_json, polygon_or_bbox
from stages.dataset.records import ImageRecord, Skipped, TextInstance

ILLEGIBLE = "."


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield every image of a TextOCR JSON file (``annotations``) with its words; ``images`` is the
    image folder (``train_images/``)."""
    annotations, images = Path(annotations), Path(images)
    data = load_json(annotations, required=("imgs", "anns"))
    by_image, skipped = group_anns(data, annotations.name)
    yield from skipped
    for img_id, info in data["imgs"].items():
        yield from image_record(info, img_id, by_image.get(str(img_id), []), images, annotations.name, _instance)


def _instance(ann: dict[str, Any]) -> TextInstance | None:
    """One TextOCR annotation -> TextInstance; None when neither points nor bbox gives a polygon."""
    polygon = polygon_or_bbox(ann.get("points"), ann.get("bbox"))
    if polygon is None:
        return None
    text = str(ann.get("utf8_string") or "")
    illegible = text == ILLEGIBLE
    return TextInstance(polygon=polygon, text="" if illegible else text, ignore=illegible)
