"""ICDAR 2019 ReCTS (Reading Chinese Text on Signboard) ground truth.

One json per image (``train_ReCTS_000001.json`` -> ``train_ReCTS_000001.jpg``)::

    {"chars": [{"points": [x1, y1, ..., x4, y4], "transcription": "H", "ignore": 0}, ...],
     "lines": [{"points": [x1, y1, ..., x4, y4], "transcription": "HOKI", "ignore": 0}, ...]}

Each line becomes a TextInstance (``ignore: 1`` or ``###`` -> don't care). Characters are not
instances of their own: each is attached, as ``(transcription, polygon)`` in annotation order, to the
first line whose polygon contains the character's centre, so a spotting model gets per-line
character boxes. Ignored characters are attached too (their transcription tells them apart). A
character inside no line is reported as ``Skipped("char_outside_lines")`` rather than lost silently.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from stages.convert.parsers.common import (
    BadItem,
    Point,
    UnreadableFile,
    decode_text,
    flat_point_list,
    parse_per_image_files,
)
from stages.dataset.records import ImageRecord, Skipped, TextInstance

IGNORE_TEXT = "###"


def contains(polygon: list[Point], point: Point) -> bool:
    """Even-odd ray casting: is ``point`` inside ``polygon`` (boundary cases may go either way)?"""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _centre(polygon: list[Point]) -> Point:
    return sum(p[0] for p in polygon) / len(polygon), sum(p[1] for p in polygon) / len(polygon)


def _entry(entry: Any) -> tuple[str, list[Point], bool]:
    if not isinstance(entry, dict):
        raise BadItem("malformed_record", f"expected an object, got {entry!r}"[:160])
    polygon = flat_point_list(entry.get("points"))
    text = entry.get("transcription")
    text = "" if text is None else str(text)
    return text, polygon, bool(entry.get("ignore", 0)) or text == IGNORE_TEXT


def _entries(name: str, data: dict, key: str) -> Iterator[tuple[int, tuple[str, list[Point], bool]] | Skipped]:
    items = data.get(key, [])
    if not isinstance(items, list):
        yield Skipped("malformed_record", f"{name}:{key}", f"expected a list, got {type(items).__name__}")
        return
    for i, item in enumerate(items):
        try:
            yield i, _entry(item)
        except BadItem as exc:
            yield Skipped(exc.reason, f"{name}:{key}[{i}]", exc.detail)


def parse_file(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
    """The line instances (with their characters) of one ReCTS json."""
    try:
        doc = json.loads(decode_text(data))
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(doc, dict):
        raise UnreadableFile(f"expected an object with chars/lines, got {type(doc).__name__}")
    lines: list[TextInstance] = []
    for item in _entries(name, doc, "lines"):
        if isinstance(item, Skipped):
            yield item
            continue
        text, polygon, ignore = item[1]
        lines.append(TextInstance(polygon=polygon, text=text, ignore=ignore))
    for item in _entries(name, doc, "chars"):
        if isinstance(item, Skipped):
            yield item
            continue
        index, (text, polygon, _) = item
        owner = next((line for line in lines if contains(line.polygon, _centre(polygon))), None)
        if owner is None:
            yield Skipped("char_outside_lines", f"{name}:chars[{index}]", f"{text!r} at {_centre(polygon)}")
        else:
            owner.chars.append((text, polygon))
    yield from lines


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per ReCTS json (folder, single file or zip)."""
    return parse_per_image_files(annotations, images, parse_file, suffixes=(".json",))
