"""Dataset parsers: format name -> ``parse(annotations, images)``.

Every parser reads one dataset's annotations in their native layout and yields ``ImageRecord``
(detection / spotting sets) or ``CropRecord`` (recognition sets), and ``Skipped`` for items it
cannot read; it raises ``ParseError`` only when the whole input is unusable.
"""
from __future__ import annotations

from pathlib import Path

from stages.convert.parsers import (
    art,
    cocotext,
    ctw1500,
    icdar2013,
    icdar2015,
    iiit5k,
    lsvt,
    mjsynth,
    mlt,
    mmocr,
    paddleocr,
    rctw17,
    rects,
    svt,
    synthtext,
    textlist,
    textocr,
    totaltext,
)
from stages.convert.parsers.common import ParserFn
from stages.convert.parsers.line_format import LineFormat
from stages.dataset import lmdb_reader

PARSERS: dict[str, ParserFn] = {
    "icdar2013": icdar2013.parse,
    "icdar2015": icdar2015.parse,
    "totaltext": totaltext.parse,
    "ctw1500": ctw1500.parse,
    "art": art.parse,
    "lsvt": lsvt.parse,
    "mlt": mlt.parse,
    "rects": rects.parse,
    "rctw17": rctw17.parse,
    "synthtext": synthtext.parse,
    "textocr": textocr.parse,
    "cocotext": cocotext.parse,
    "mjsynth": mjsynth.parse,
    "iiit5k": iiit5k.parse,
    "svt": svt.parse,
    "textlist": textlist.parse,
    "lmdb": lmdb_reader.parse,
    "mmocr_textdet": mmocr.parse_textdet,
    "mmocr_textrecog": mmocr.parse_textrecog,
    "paddleocr_det": paddleocr.parse_det,
    "paddleocr_rec": paddleocr.parse_rec,
}


def line_format(name: str, annotations: Path) -> LineFormat | None:
    """How to split a line of ``annotations`` when format ``name`` reads it as a list of independent lines
    (the convert stage then lets its shards parse the list in parts); None for every other input."""
    if name in ("mjsynth", "paddleocr_rec") or (name == "textlist" and textlist.is_line_list(annotations)):
        return {"mjsynth": mjsynth.LINES, "textlist": textlist.LINES, "paddleocr_rec": paddleocr.REC_LINES}[name]
    return None


def get_parser(name: str) -> ParserFn:
    """The parser registered as ``name``; KeyError listing the valid names otherwise."""
    try:
        return PARSERS[name]
    except KeyError:
        raise KeyError(f"unknown dataset format {name!r}; valid formats: {', '.join(sorted(PARSERS))}") from None
