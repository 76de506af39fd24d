"""Annotation files that list one word image per line (``textlist``, ``mjsynth``).

Such a list has no structure beyond its lines, so any run of whole lines can be parsed on its own: the
convert stage lets its shards parse their own parts of it (``stages/convert/list_shards.py``), and the
parsers' record iterators here read it whole. Both use a format's ``LineFormat``: how one line splits into
(image path, label), and what a well-formed line looks like for the ``malformed_line`` message.

Lines are UTF-8 (a BOM at the start of the file is dropped) and end with LF, CRLF or CR; blank lines are
skipped and are not items.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from stages.dataset.names import UNSAFE_PATH, SafeJoiner, UnsafePath
from stages.dataset.records import CropRecord, ParseError, Skipped

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class LineFormat:
    """``split`` turns one non-blank line into (path relative to the images folder, label), or None when
    the line is malformed; ``expected`` says what a line should look like."""

    split: Callable[[str], tuple[str, str] | None]
    expected: str


def malformed(fmt: LineFormat, source: str, line: str) -> Skipped:
    """The Skipped for a line ``fmt.split`` refused."""
    return Skipped("malformed_line", source, f"expected {fmt.expected}: {line!r}")


def parse_line_list(file: Path, images: Path, fmt: LineFormat) -> Iterator[CropRecord | Skipped]:
    """Lines of a list -> CropRecords (streaming: lists can hold millions of lines); sources ``<file>:<line>``."""
    joiner = SafeJoiner(images)
    for lineno, line in read_lines(file):
        if not line or line.isspace():
            continue
        source = f"{file.name}:{lineno}"
        pair = fmt.split(line)
        if pair is None:
            yield malformed(fmt, source, line)
            continue
        try:
            path = joiner.join(pair[0])  # names from the file are untrusted
        except UnsafePath as exc:
            yield Skipped(UNSAFE_PATH, source, str(exc))
            continue
        yield CropRecord(label=pair[1], image_path=Path(path), source=source)


def read_lines(file: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its end-of-line) for a UTF-8 text file, BOM dropped.
    ParseError when the file cannot be opened or is not UTF-8; it names the line holding the bad bytes
    (each LF-ended chunk is decoded on its own, so the count is exact)."""
    try:
        f = open(file, "rb")
    except OSError as err:
        raise ParseError(file, None, f"cannot read: {err}") from err
    with f:
        lineno = 0
        for chunk in f:  # ends at a LF; CR-only line ends inside it are split below
            if lineno == 0 and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ParseError(file, lineno + 1 + count_line_breaks(chunk[:err.start]), f"not UTF-8: {err}") from err
            for line in _LINE_BREAK.split(text.removesuffix("\n").removesuffix("\r")):
                lineno += 1
                yield lineno, line


def count_line_breaks(data: bytes) -> int:
    """Line breaks in ``data`` by the rule ``read_lines`` splits on (LF, CRLF and CR each end a line)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
