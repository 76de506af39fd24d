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

from pathlib import Path, PurePosixPath
from typing import Iterator

from stages.convert.parsers.textlist import crop, read_lines
from stages.convert.records import CropRecord, Skipped


def parse(annotations: Path, images: Path) -> Iterator[CropRecord | Skipped]:
    """Yield one CropRecord per line of an MJSynth annotation file; ``images`` is the folder its
    ``./<dir>/<dir>/<file>`` paths are relative to."""
    annotations, images = Path(annotations), Path(images)
    for lineno, line in read_lines(annotations):
        if not line.strip():
            continue
        source = f"{annotations.name}:{lineno}"
        fields = line.split()
        label = label_from_name(fields[0])
        if len(fields) > 2 or (len(fields) == 2 and not fields[1].isdigit()) or label is None:
            yield Skipped("malformed_line", source, f"expected './<dir>/<n>_<word>_<index>.jpg <index>': {line!r}")
            continue
        yield crop(images / fields[0], label, source)


def label_from_name(path: str) -> str | None:
    """The word in an MJSynth file name (between the first and last underscore of the stem); None when
    the name does not have that shape."""
    stem = PurePosixPath(path).stem
    first, last = stem.find("_"), stem.rfind("_")
    if first < 0 or last <= first + 1:
        return None
    return stem[first + 1:last]

