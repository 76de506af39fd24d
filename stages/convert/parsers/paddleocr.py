"""PaddleOCR label files (as PPOCRLabel saves them and PaddleOCR's ``SimpleDataSet`` reads them).

Detection, ``Label.txt``: one image a line, ``<image path><TAB><JSON list>``::

    ch4_training_images/img_1.jpg\t[{"transcription": "Genaxis Theatre", "points": [[377, 117], [463, 117],
                                    [465, 130], [378, 130]], "difficult": false}, ...]

``points`` is the polygon (4 or more vertices). A don't-care region has the transcription ``###`` (PaddleOCR's
detection label encoder also treats ``*`` so) or ``"difficult": true`` (PPOCRLabel's flag). An empty list
is an image without text.

Recognition, ``rec_gt.txt``: one word image a line, ``<image path><TAB><text>``, e.g.
``crop_img/img_1_crop_0.jpg<TAB>Genaxis Theatre``. PaddleOCR splits a line at every tab and takes the
second field, so a line with more than one tab is ambiguous: it is skipped as ``malformed_line``.

Image paths are relative to PaddleOCR's ``data_dir``: give that folder as ``images``. In ``Label.txt`` a
name not found there is looked up by its base name, so the image folder itself works too; ``rec_gt.txt``
is a word-image list like ``textlist`` (its paths are taken as they are, the shards read the files).
Lines are UTF-8 (BOM allowed; in ``Label.txt`` a line that is not is skipped as ``not_utf8``), blank
lines are skipped, skips name ``<file>:<line>``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from stages.convert.parsers.common import BadItem, listed_image, point_list
from stages.convert.parsers.line_format import LineFormat, parse_line_list
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped, TextInstance

IGNORE_TEXTS = ("###", "*")


def parse_det(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per line of a ``Label.txt`` (``annotations``)."""
    annotations, images = Path(annotations), Path(images)
    for lineno, line in _byte_lines(annotations):
        source = f"{annotations.name}:{lineno}"
        if not line.strip():
            continue
        try:
            name, entries = _det_line(line.decode("utf-8", errors="strict"))
            image = listed_image(images, name)
            if image is None:
                raise BadItem("missing_image", f"{name} not under {images}")
        except UnicodeDecodeError as exc:
            yield Skipped("not_utf8", source, str(exc))
            continue
        except BadItem as exc:
            yield Skipped(exc.reason, source, exc.detail)
            continue
        instances = []
        for i, entry in enumerate(entries):
            try:
                instances.append(det_instance(entry))
            except BadItem as exc:
                yield Skipped(exc.reason, f"{source}[{i}]", exc.detail)
        yield ImageRecord(image_path=image, instances=instances, source=source)


def _byte_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without its LF / CRLF) of a file, a BOM at its start dropped. Lines are
    decoded one at a time, so a line that is not UTF-8 is skipped alone (PaddleOCR reads lines the same way)."""
    try:
        f = open(path, "rb")
    except OSError as err:
        raise ParseError(path, None, f"cannot read: {err}") from err
    with f:
        for lineno, line in enumerate(f, start=1):
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            yield lineno, line.rstrip(b"\r\n")


def _det_line(line: str) -> tuple[str, list[Any]]:
    """(image path, label entries) of one ``Label.txt`` line; BadItem("malformed_line") otherwise."""
    name, sep, label = line.partition("\t")
    if not sep or not name.strip():
        raise BadItem("malformed_line", f"expected '<image path><TAB><JSON list>': {line[:120]!r}")
    try:
        entries = json.loads(label)
    except json.JSONDecodeError as exc:
        raise BadItem("malformed_line", f"label is not JSON ({exc.msg}): {label[:120]!r}") from exc
    if not isinstance(entries, list):
        raise BadItem("malformed_line", f"label is not a JSON list: {label[:120]!r}")
    return name.strip(), entries


def det_instance(entry: Any) -> TextInstance:
    """One ``{"transcription", "points", "difficult"?}`` entry -> TextInstance."""
    if not isinstance(entry, dict) or not isinstance(entry.get("transcription"), str):
        raise BadItem("malformed_record", f"expected {{'transcription': str, 'points': ...}}, got {entry!r}"[:160])
    text = entry["transcription"]
    ignore = text in IGNORE_TEXTS or entry.get("difficult") is True
    return TextInstance(polygon=point_list(entry.get("points")), text=text, ignore=ignore)


def split_rec_line(line: str) -> tuple[str, str] | None:
    """(image path, text) of one ``rec_gt.txt`` line; None when it is not exactly two tab-separated fields."""
    fields = line.split("\t")
    if len(fields) != 2 or not fields[0].strip() or not fields[1]:
        return None
    return fields[0].strip(), fields[1]


REC_LINES = LineFormat(split_rec_line, "'<image path><TAB><text>' (one tab)")


def parse_rec(annotations: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """Yield one CropRecord per line of a ``rec_gt.txt`` (the convert stage's shards parse long lists in
    parts with ``REC_LINES``, for the same records)."""
    return parse_line_list(Path(annotations), Path(images), REC_LINES)
