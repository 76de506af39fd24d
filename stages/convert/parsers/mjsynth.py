"""MJSynth / Synth90k (Jaderberg et al., 9M synthetic word images), recognition.

Native layout: ``annotation.txt`` (also ``annotation_train.txt``, ``_val``, ``_test``) at the image root,
one image a line with its lexicon index::

    ./2697/6/466_MONIKER_49537.jpg 49537

The label is in the file name, ``<n>_<word>_<lexicon index>.jpg``: the text between the first and the last
underscore, case kept. The lexicon index is checked to be an integer and otherwise unused. The release
contains some zero-byte images: the convert stage skips them when it reads them (``empty_image``), and
missing ones (``missing_image``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from stages.convert.parsers.line_format import LineFormat, parse_line_list
from stages.dataset.records import CropRecord, Skipped


def parse(annotations: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """Yield one CropRecord per line of an MJSynth annotation file; ``images`` is the folder its
    ``./<dir>/<dir>/<file>`` paths are relative to."""
    yield from parse_line_list(Path(annotations), Path(images), LINES)


def split_line(line: str) -> tuple[str, str] | None:
    """(path, label) of one annotation line; None when the line or the file name has the wrong shape."""
    fields = line.split()
    label = label_from_name(fields[0])
    if len(fields) > 2 or (len(fields) == 2 and not fields[1].isdigit()) or label is None:
        return None
    return fields[0], label


LINES = LineFormat(split_line, "'./<dir>/<n>_<word>_<index>.jpg <index>'")


def label_from_name(path: str) -> str | None:
    """The word in an MJSynth file name (between the first and last underscore of the stem); None when
    the name does not have that shape. String slicing, not pathlib: this runs once per line of a 9M-line list."""
    name = path[path.rfind("/") + 1:]
    dot = name.rfind(".")
    stem = name[:dot] if dot > 0 else name
    first, last = stem.find("_"), stem.rfind("_")
    if first < 0 or last <= first + 1:
        return None
    return stem[first + 1:last]
