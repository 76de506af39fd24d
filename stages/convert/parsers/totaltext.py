"""Total-Text ground truth, in both published encodings.

MATLAB ``.mat`` (``poly_gt_img1.mat`` -> ``img1.jpg``): the variable ``polygt`` (the annotation
tool's own output, e.g. ``gt_img3.mat``, names it ``gt``) is a cell array with one row per polygon::

    'x:'  [x1 x2 ... xn]  'y:'  [y1 y2 ... yn]  'transcription'  'orientation'

where the coordinate vectors are 1xN or Nx1 int arrays, orientation is h / c / m, or ``#`` for
don't care. Text ``.txt`` (``poly_gt_img1.txt``): one record per polygon, numpy-printed, and a record
may wrap onto following lines::

    x: [[115 503 494 115]], y: [[322 346 426 404]], ornt: [u'm'], transcriptions: [u'nauGHTY']

Transcription ``#`` marks a don't-care region; an empty transcription list is read as ``#`` too.
"""
from __future__ import annotations

import ast
import io
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from stages.convert.parsers.common import (
    BadItem,
    UnreadableFile,
    decode_text,
    parse_number,
    parse_per_image_files,
    text_lines,
)
from stages.dataset.records import ImageRecord, Skipped, TextInstance

IGNORE_TEXT = "#"
MAT_KEYS = ("polygt", "gt")
_TXT_RECORD = re.compile(
    r"x:\s*\[\[(?P<x>[^\]]*)\]\]\s*,\s*y:\s*\[\[(?P<y>[^\]]*)\]\]\s*,\s*"
    r"ornt:\s*(?P<ornt>\[.*?\])\s*,\s*transcriptions:\s*(?P<text>\[.*\])\s*$",
    re.DOTALL,
)


def image_stems(annotation_name: str) -> list[str]:
    """``poly_gt_img1.mat`` / ``gt_img3.mat`` -> ``img1`` / ``img3`` (then the stem itself)."""
    stem = Path(annotation_name).stem
    for prefix in ("poly_gt_", "gt_"):
        if stem.startswith(prefix):
            return [stem[len(prefix):], stem]
    return [stem]


def _instance(xs: list[float], ys: list[float], text: str) -> TextInstance:
    if len(xs) != len(ys) or not xs:
        raise BadItem("bad_polygon", f"{len(xs)} x and {len(ys)} y coordinates")
    return TextInstance(polygon=list(zip(xs, ys)), text=text, ignore=text == IGNORE_TEXT)


# ---- .mat -------------------------------------------------------------------------------------

def _cell_text(cell: np.ndarray) -> str:
    # A MATLAB char array loads as an array of str ('<U10', shape (1,)); an empty one may load as an
    # empty char or an empty double array.
    return "".join(str(v) for v in cell.ravel().tolist()) if cell.size else ""


def _mat_row(row: np.ndarray) -> TextInstance:
    """One cell-array row -> TextInstance: the first two numeric vectors are x and y, the first
    string that is not an ``x:``/``y:`` label is the transcription."""
    cells = [np.asarray(c) for c in row.ravel()]
    numeric = [c.ravel().astype(float).tolist() for c in cells if c.dtype.kind in "iuf" and c.size]
    strings = [
        _cell_text(c)
        for i, c in enumerate(cells)
        if (c.dtype.kind in "US" or not c.size)
        and not (_cell_text(c) in ("x:", "y:") and i + 1 < len(cells) and cells[i + 1].dtype.kind in "iuf")
    ]
    if len(numeric) < 2:
        raise BadItem("bad_polygon", f"expected x and y vectors, found {len(numeric)} numeric cells")
    return _instance(numeric[0], numeric[1], strings[0] if strings else "")


def parse_mat(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
    """The instances of one ``.mat`` file (``polygt`` or ``gt`` variable)."""
    from scipy.io import loadmat  # scipy only when .mat files are read

    try:
        mat = loadmat(io.BytesIO(data))
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError... on a broken file
        raise UnreadableFile(f"cannot load .mat: {exc}") from exc
    key = next((k for k in MAT_KEYS if k in mat), None)
    if key is None:
        names = sorted(k for k in mat if not k.startswith("__"))
        raise UnreadableFile(f"no {' or '.join(MAT_KEYS)} variable (has {names})")
    table = np.asarray(mat[key], dtype=object)
    rows = table.reshape(1, -1) if table.ndim < 2 else table  # a single row may load as 1-D
    for index, row in enumerate(rows):
        try:
            yield _mat_row(row)
        except BadItem as exc:
            yield Skipped(exc.reason, f"{name}:{key}[{index}]", exc.detail)


# ---- .txt -------------------------------------------------------------------------------------

def _txt_records(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, record text) per record: a record starts at a line beginning ``x:``."""
    start, parts = 0, []
    for lineno, line in enumerate(text_lines(text), start=1):
        if line.lstrip().startswith("x:") and parts:
            yield start, " ".join(parts)
            parts = []
        if line.strip():
            start = start if parts else lineno
            parts.append(line.strip())
    if parts:
        yield start, " ".join(parts)


def _txt_transcription(field: str) -> str:
    # The field is a printed Python 2 list, e.g. [u'nauGHTY'] or [u"Joe's"]; literal_eval reads it
    # (u'' literals are valid Python 3). Several items (a split on commas) are joined back with ','.
    try:
        items = ast.literal_eval(field)
    except (ValueError, SyntaxError) as exc:
        raise BadItem("malformed_line", f"transcriptions field {field[:80]!r}: {exc}") from exc
    if not isinstance(items, (list, tuple)):
        items = [items]
    return ",".join(str(item) for item in items) if items else IGNORE_TEXT


def parse_txt_record(record: str) -> TextInstance:
    """One (joined) ``x: [[...]], y: [[...]], ornt: [...], transcriptions: [...]`` record."""
    match = _TXT_RECORD.match(record)
    if match is None:
        raise BadItem("malformed_line", f"not an x/y/ornt/transcriptions record: {record[:120]!r}")
    try:
        xs = [parse_number(v) for v in match["x"].split()]
        ys = [parse_number(v) for v in match["y"].split()]
    except ValueError as exc:
        raise BadItem("malformed_line", str(exc)) from exc
    return _instance(xs, ys, _txt_transcription(match["text"]))


def parse_txt(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
    """The instances of one ``.txt`` file."""
    for lineno, record in _txt_records(decode_text(data)):
        try:
            yield parse_txt_record(record)
        except BadItem as exc:
            yield Skipped(exc.reason, f"{name}:{lineno}", exc.detail)


def _parse_file(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
    return parse_mat(name, data) if name.lower().endswith(".mat") else parse_txt(name, data)


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield one ImageRecord per ``.mat`` / ``.txt`` ground-truth file (folder, single file or zip)."""
    return parse_per_image_files(annotations, images, _parse_file, suffixes=(".mat", ".txt"), image_stems=image_stems)
