"""SCUT-CTW1500 ground truth: 14-point curved text lines, in the three published encodings.

- training XML (``0001.xml`` -> ``0001.jpg``)::

      <Annotations><image file="0001.jpg">
        <box height="197" left="131" top="49" width="399">
          <label>OLATHE</label>
          <segs>131,58,208,49,...</segs>          28 absolute coordinates = 14 (x, y) points
          <pts x="183" y="95" /> ...              v2 annotations: one centre point per character
        </box> ...

- test txt (``0001001.txt`` -> ``1001.jpg``), one line per text line: 28 absolute coordinates, then
  ``####`` and the transcription (which may contain commas), e.g. ``695,885,...,####Latin 9``;
- the original release's txt (``text_label_curve``): 32 numbers, the circumscribed box
  xmin,ymin,xmax,ymax then 14 (dx, dy) offsets from (xmin, ymin), and no transcription.

``###`` as transcription marks an illegible (don't-care) line. The v2 character centre points are
points, not polygons, and are not matched to characters in the XML, so they are not kept as chars.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from stages.convert.parsers.common import (
    BadItem,
    UnreadableFile,
    line_file_parser,
    parse_number,
    parse_per_image_files,
    to_polygon,
)
from stages.dataset.records import ImageRecord, Skipped, TextInstance

IGNORE_TEXT = "###"
TEXT_PREFIX = "####"
NUM_COORDS = 28  # 14 points
LEGACY_FIELDS = 32  # box (4) + 14 offsets (28)


def image_stems(annotation_name: str) -> list[str]:
    """``0001.xml`` -> ``0001``; test ``0001001.txt`` -> ``1001`` (images are named with 4 digits)."""
    stem = Path(annotation_name).stem
    stems = [stem]
    if stem.isdigit():
        stems.append(str(int(stem)).zfill(4))
    return stems


def _numbers(fields: list[str]) -> list[float] | None:
    try:
        return [parse_number(f) for f in fields]
    except ValueError:
        return None


def parse_txt_line(line: str) -> TextInstance:
    """A test line (28 coordinates + ``####text``) or an original-release line (32 numbers)."""
    fields = line.split(",")
    coords = _numbers(fields[:NUM_COORDS]) if len(fields) >= NUM_COORDS else None
    if coords is None:
        raise BadItem("malformed_line", f"expected {NUM_COORDS} coordinates: {line[:120]!r}")
    rest = fields[NUM_COORDS:]
    if len(rest) == LEGACY_FIELDS - NUM_COORDS and _numbers(rest) is not None:
        return _legacy_instance(coords + _numbers(rest))
    text = ",".join(rest)  # commas inside the transcription were split too: join them back
    text = text[len(TEXT_PREFIX):] if text.startswith(TEXT_PREFIX) else text
    return TextInstance(polygon=to_polygon(coords), text=text, ignore=text == IGNORE_TEXT)


def _legacy_instance(values: list[float]) -> TextInstance:
    # Offsets are relative to the circumscribed box's top-left corner (values[0], values[1]).
    x0, y0 = values[0], values[1]
    offsets = to_polygon(values[4:])
    return TextInstance(polygon=[(x0 + dx, y0 + dy) for dx, dy in offsets])


def _box_instance(box: ET.Element) -> TextInstance:
    segs = box.findtext("segs")
    if segs is None or not segs.strip():
        raise BadItem("bad_polygon", "box without <segs>")
    coords = _numbers([f for f in segs.split(",") if f.strip()])
    if coords is None:
        raise BadItem("bad_polygon", f"non-numeric <segs>: {segs[:120]!r}")
    text = box.findtext("label") or ""
    return TextInstance(polygon=to_polygon(coords), text=text, ignore=text == IGNORE_TEXT)


def parse_xml(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
    """The instances of one training XML file (every ``<box>`` under its ``<image>``)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UnreadableFile(f"broken XML: {exc}") from exc
    for index, box in enumerate(root.iter("box")):
        try:
            yield _box_instance(box)
        except BadItem as exc:
            yield Skipped(exc.reason, f"{name}:box[{index}]", exc.detail)


_parse_txt = line_file_parser(parse_txt_line)


def _parse_file(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
    return parse_xml(name, data) if name.lower().endswith(".xml") else _parse_txt(name, data)


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per ``.xml`` / ``.txt`` label file (folder, single file or zip)."""
    return parse_per_image_files(annotations, images, _parse_file, suffixes=(".xml", ".txt"), image_stems=image_stems)
