"""ICDAR 2019 ArT (Arbitrary-shaped Text) ground truth: one ``train_labels.json`` for all images::

    {"gt_0": [{"transcription": "...", "points": [[x, y], ...], "language": "Latin",
               "illegibility": false}, ...],
     "gt_1": [...], ...}

Each key names an image (``gt_0`` -> ``gt_0.jpg``). ``illegibility: true`` or the transcription
``###`` marks a don't-care region; ``language`` (Latin, Chinese, Mixed, None) is kept verbatim.
ICDAR 2019 LSVT uses the same schema (without ``language``), so ``lsvt`` reuses ``parse_labels_json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from stages.convert.parsers.common import BadItem, ImageIndex, UnreadableFile, decode_text, point_list
from stages.dataset.records import ImageRecord, ParseError, Skipped, TextInstance

IGNORE_TEXT = "###"


def load_labels_json(annotations: Path) -> dict[str, Any]:
    """The top-level ``{image key: [entries]}`` mapping; ParseError if missing or not such JSON."""
    path = Path(annotations)
    if path.is_dir():
        raise ParseError(path, None, "expected the labels json file, got a folder")
    if not path.is_file():
        raise ParseError(path, None, "labels json file not found")
    try:
        data = json.loads(decode_text(path.read_bytes()))
    except UnreadableFile as exc:
        raise ParseError(path, None, str(exc)) from exc
    except json.JSONDecodeError as exc:
        raise ParseError(path, exc.lineno, f"invalid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ParseError(path, None, f"expected an object keyed by image name, got {type(data).__name__}")
    return data


def parse_entry(entry: Any) -> TextInstance:
    """One ``{"transcription", "points", "language"?, "illegibility"?}`` entry -> TextInstance."""
    if not isinstance(entry, dict):
        raise BadItem("malformed_record", f"expected an object, got {entry!r}"[:160])
    polygon = point_list(entry.get("points"))
    text = entry.get("transcription")
    text = "" if text is None else str(text)
    ignore = bool(entry.get("illegibility", False)) or text == IGNORE_TEXT
    return TextInstance(polygon=polygon, text=text, ignore=ignore, language=str(entry.get("language") or ""))


def parse_labels_json(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per image key of an ArT/LSVT-style labels json, in file order.

    Skipped sources read ``train_labels.json:gt_12`` (a key) or ``train_labels.json:gt_12[3]``
    (an entry): JSON has no useful line numbers once loaded.
    """
    data = load_labels_json(annotations)
    name = Path(annotations).name
    index = ImageIndex(images)
    for key, entries in data.items():
        image = index.locate(f"{name}:{key}", key)
        if isinstance(image, Skipped):
            yield image
            continue
        if not isinstance(entries, list):
            detail = f"expected a list of instances, got {type(entries).__name__}"
            yield Skipped("malformed_record", f"{name}:{key}", detail)
            continue
        instances = []
        for i, entry in enumerate(entries):
            try:
                instances.append(parse_entry(entry))
            except BadItem as exc:
                yield Skipped(exc.reason, f"{name}:{key}[{i}]", exc.detail)
        yield ImageRecord(image_path=image, instances=instances, source=f"{name}:{key}")


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield the records of ArT's ``train_labels.json`` (``annotations``) with images from ``images``."""
    return parse_labels_json(annotations, images)
