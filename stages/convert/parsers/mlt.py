"""ICDAR 2017 / 2019 MLT (multi-lingual scene text) ground truth.

One annotation file per image (MLT 2017 ``gt_img_1.txt`` -> ``img_1.jpg``, MLT 2019
``tr_img_00001.txt`` -> ``tr_img_00001.jpg``; images may be jpg, png or gif and may sit in several
sub-folders such as ``ImagesPart1/``), one quadrilateral a line::

    x1,y1,x2,y2,x3,y3,x4,y4,script,transcription

``script`` is one of Latin, Arabic, Chinese, Japanese, Korean, Bangla, Hindi, Symbols, Mixed, None
and becomes the instance's ``language`` verbatim. The transcription is the rest of the line (it may
contain commas); ``###`` marks a don't-care region. Files may start with a BOM.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from stages.convert.parsers.common import BadItem, line_file_parser, parse_per_image_files, split_numbers, to_polygon
from stages.dataset.records import ImageRecord, Skipped, TextInstance

IGNORE_TEXT = "###"


def parse_line(line: str) -> TextInstance:
    """One ``x1,...,y4,script,transcription`` line -> TextInstance; raises BadItem("malformed_line")."""
    coords, rest = split_numbers(line, 8)
    script, sep, text = rest.partition(",")
    if not sep:
        raise BadItem("malformed_line", f"expected script,transcription after the coordinates: {line[:120]!r}")
    return TextInstance(polygon=to_polygon(coords), text=text, ignore=text == IGNORE_TEXT, language=script.strip())


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per annotation file (folder, single file or zip)."""
    return parse_per_image_files(annotations, images, line_file_parser(parse_line), suffixes=(".txt",))
