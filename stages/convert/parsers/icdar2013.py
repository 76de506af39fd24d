"""ICDAR 2013 Focused Scene Text (RRC Challenge 2) word ground truth.

One ``gt_<image stem>.txt`` per image (training ``gt_100.txt`` -> ``100.jpg``, test
``gt_img_1.txt`` -> ``img_1.jpg``), one axis-aligned word box a line, in two spellings::

    38 43 920 215 "Tiredness"          training: space separated
    38, 43, 920, 215, "Tiredness"      test: comma separated

The transcription is quoted; inside it ``\\"`` is a quote and ``\\\\`` a backslash (the RRC
evaluation's convention). The box becomes the clockwise quad (xmin,ymin) (xmax,ymin) (xmax,ymax)
(xmin,ymax). The dataset has no don't-care marker, so every instance is cared for.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from stages.convert.parsers.common import BadItem, line_file_parser, parse_number, parse_per_image_files
from stages.dataset.records import ImageRecord, Skipped, TextInstance

_ESCAPE = re.compile(r'\\(["\\])')


def unquote(field: str) -> str:
    """``"a \\"b\\""`` -> ``a "b"``; a field without surrounding quotes is returned stripped, as is."""
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return _ESCAPE.sub(r"\1", field[1:-1])
    return field


def parse_line(line: str) -> TextInstance:
    """One training or test line -> TextInstance; raises BadItem("malformed_line")."""
    # The separator is told by the part before the transcription's opening quote: a comma there
    # means the test spelling. A comma inside the quoted text must not decide it.
    head = line.split('"', 1)[0]
    parts = line.split(",", 4) if "," in head else line.split(None, 4)
    if len(parts) < 4:
        raise BadItem("malformed_line", f"expected xmin ymin xmax ymax \"text\": {line[:120]!r}")
    try:
        xmin, ymin, xmax, ymax = (parse_number(p) for p in parts[:4])
    except ValueError as exc:
        raise BadItem("malformed_line", f"{exc}: {line[:120]!r}") from exc
    text = unquote(parts[4]) if len(parts) > 4 else ""
    polygon = [(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax)]
    return TextInstance(polygon=polygon, text=text)


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per gt file (folder, single file or zip) of either split."""
    return parse_per_image_files(annotations, images, line_file_parser(parse_line), suffixes=(".txt",))
