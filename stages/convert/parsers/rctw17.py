"""RCTW-17 (ICDAR 2017 Reading Chinese Text in the Wild), detection.

Native layout: one annotation file per image, ``image_<n>.txt`` for ``image_<n>.jpg``, UTF-8 (some files
start with a BOM), one text line per line::

    x1,y1,x2,y2,x3,y3,x4,y4,difficult,"transcription"

The transcription is quoted and may itself contain commas, so only the first nine commas split fields;
one pair of surrounding quotes is removed. ``difficult`` != 0 marks a don't-care region (its
transcription is kept, the instance is ignored). The files give no image size (records carry 0 x 0).
``annotations`` may be the folder of ``.txt`` files, one file, or a zip of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from stages.convert.parsers.common import BadItem, line_file_parser, parse_per_image_files, split_numbers
from stages.dataset.records import ImageRecord, Skipped, TextInstance

NUM_NUMBERS = 9  # 8 coordinates and the difficult flag, then the transcription


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per RCTW-17 annotation file; its image is the file of the same stem
    anywhere under ``images``."""
    return parse_per_image_files(annotations, images, line_file_parser(parse_line), (".txt",))


def parse_line(line: str) -> TextInstance:
    """One ``x1,...,y4,difficult,"text"`` line -> TextInstance; BadItem("malformed_line") otherwise."""
    if line.count(",") < NUM_NUMBERS:
        raise BadItem("malformed_line", f"expected {NUM_NUMBERS + 1} comma-separated fields: {line[:120]!r}")
    numbers, text = split_numbers(line, NUM_NUMBERS)
    coords, difficult = numbers[:8], numbers[8]
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    polygon = list(zip(coords[0::2], coords[1::2]))
    return TextInstance(polygon=polygon, text=text, ignore=difficult != 0)
