"""ICDAR 2015 Incidental Scene Text (RRC Challenge 4) ground truth.

One ``gt_img_N.txt`` per image ``img_N.jpg``, one quadrilateral a line::

    x1,y1,x2,y2,x3,y3,x4,y4,transcription

Training files start with a UTF-8 BOM and use LF, the official test files have no BOM and use CRLF.
The transcription is everything after the eighth comma, so it may contain commas itself
(``$5,50``, ``B1,``); ``###`` marks a don't-care region. ``annotations`` may be the folder of gt
files, one gt file, or the zip the RRC distributes (``gt.zip``); ``images`` the image folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from stages.convert.parsers.common import line_file_parser, parse_per_image_files, split_numbers, to_polygon
from stages.dataset.records import ImageRecord, Skipped, TextInstance

IGNORE_TEXT = "###"


def parse_line(line: str) -> TextInstance:
    """One ``x1,...,y4,transcription`` line -> TextInstance; raises BadItem on a malformed line."""
    coords, text = split_numbers(line, 8)
    return TextInstance(polygon=to_polygon(coords), text=text, ignore=text == IGNORE_TEXT)


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per gt file (and Skipped for unreadable lines / missing images)."""
    return parse_per_image_files(annotations, images, line_file_parser(parse_line), suffixes=(".txt",))
