"""Word-image lists (``textlist``, ``mjsynth``) converted by shards that parse their own parts of the list.

On the generic path the stage parses every line, builds a record, sends it to a shard and matches the result
with it: for a ready-made word image that single-threaded work costs about as much as the shard's (read the
file, check it decodes), so two shards barely beat one process. A list's lines are independent, so here
the stage only cuts the file into slices of whole lines (counting line breaks, so each slice knows the
number of its first line); a shard reads its slice, splits the lines, reads and checks the images and
returns them column-wise (the images themselves in a spill file where it can); the writer stores the
slices in file order (``Sink.add_words``).

The output is what the generic path writes for the same list (sources, skips and their reasons, the first
bad line), and the same for any shard count and slice size.
"""
from __future__ import annotations

import codecs
import mmap
import os
from dataclasses import dataclass, field, replace
from itertools import accumulate, chain
from pathlib import Path, PurePosixPath
from typing import Iterator, Sequence

import pyarrow as pa

from stages.convert.parsers.common import text_lines
from stages.convert.parsers.line_format import LineFormat, count_line_breaks, malformed
from stages.convert.shard_work import check_word_image, relative_to_any
from stages.dataset.manifest import CROP_SCHEMA
from stages.dataset.names import UNSAFE_PATH, SafeJoiner, UnsafePath
from stages.dataset.records import Skipped

# Bytes of list per slice: 400 to 600 words, a few MB of images and some 50 ms of work per shard task.
SLICE_BYTES = 16 * 1024
_IOV_MAX = 1024  # buffers per writev call (Linux's limit)


# A slice's manifest rows: CROP_SCHEMA but ``index``, which the writer adds.
SLICE_ROWS = pa.schema([f for f in CROP_SCHEMA if f.name != "index"])


@dataclass
class ListSlice:
    """Bytes [start, end) of the list ``file``: whole lines, the first of them line ``first_line``."""

    file: str
    start: int
    end: int
    first_line: int
    images: str  # the folder the listed paths are relative to
    root: str  # the input folder
    fmt: LineFormat
    spill: str = ""  # a folder of the writer's: if the shard sees it, the images go there (see WordsOut)


@dataclass
class WordsOut:
    """A slice's verified word images with UTF-8 labels and manifest rows (``SLICE_ROWS``), in line order,
    and what it could not use. Arrow rows and bytes labels: building them here keeps the writer light.

    The images travel in ``images``, or, when the shard can see the writer's spill folder (the same machine
    or a shared file system), in ``spill_file``, one after the other, image i ending at byte ``ends[i]``:
    that spares a pickle and an unpickle of every image, the largest per-word cost left to the writer.
    """

    images: list[bytes] = field(default_factory=list)
    spill_file: str = ""
    ends: list[int] = field(default_factory=list)
    labels: list[bytes] = field(default_factory=list)
    rows: pa.Table = field(default_factory=SLICE_ROWS.empty_table)
    items: int = 0  # non-blank lines
    skipped: list[Skipped] = field(default_factory=list)
    error: tuple[int, str] | None = None  # (line, reason) when the slice is not text: the list is unusable


def list_slices(file: Path, images: Path, root: Path, fmt: LineFormat, slice_bytes: int,
                spill: Path | None = None) -> Iterator[ListSlice]:
    """Consecutive slices of ``file``, each about ``slice_bytes`` long and ending after a LF (the last one
    at the end of the file); reads the file once, a block at a time."""
    folders = {"images": os.fspath(images), "root": os.fspath(root), "spill": os.fspath(spill or "")}
    with open(file, "rb") as f:
        start, line, carry = 0, 1, b""
        while block := f.read(slice_bytes):
            data = carry + block
            cut = data.rfind(b"\n") + 1  # a LF never sits inside a UTF-8 sequence or a CRLF
            if cut == 0:
                carry = data  # one long line so far
                continue
            yield ListSlice(os.fspath(file), start, start + cut, line, fmt=fmt, **folders)
            line += count_line_breaks(data[:cut])
            start += cut
            carry = data[cut:]
        if carry:
            yield ListSlice(os.fspath(file), start, start + len(carry), line, fmt=fmt, **folders)


def convert_slice(job: ListSlice) -> WordsOut:
    """Parse one slice and read and check the word images it lists (a shard task)."""
    out = WordsOut()
    text = _slice_text(job, out)
    if text is None:
        return out
    name = Path(job.file).name
    prefixes = [os.path.join(base, "") for base in (job.images, job.root)]
    joiner = SafeJoiner(job.images)  # listed names are untrusted: nothing outside the images folder
    labels, widths, heights, sources = [], [], [], []
    for lineno, line in enumerate(text_lines(text), start=job.first_line):
        if not line or line.isspace():
            continue
        out.items += 1
        pair = job.fmt.split(line)
        if pair is None:
            out.skipped.append(malformed(job.fmt, f"{name}:{lineno}", line))
            continue
        path, label = pair
        try:
            full = joiner.join(path)
        except UnsafePath as exc:
            out.skipped.append(Skipped(UNSAFE_PATH, f"{name}:{lineno}", str(exc)))
            continue
        checked = check_word_image(full)
        if isinstance(checked, Skipped):
            out.skipped.append(replace(checked, source=f"{name}:{lineno}"))
            continue
        image, width, height = checked
        out.images.append(image)
        labels.append(label)
        widths.append(width)
        heights.append(height)
        sources.append(_source(path, prefixes))
    out.labels = [label.encode("utf-8") for label in labels]
    if out.images and job.spill and os.path.isdir(job.spill):
        _spill(out, os.path.join(job.spill, f"{job.start}.bin"))
    out.rows = pa.Table.from_pydict({"label": labels, "width": widths, "height": heights, "source_image": sources,
                                     "instance": [-1] * len(labels)}, schema=SLICE_ROWS)
    return out


def _spill(out: WordsOut, file: str) -> None:
    """Move ``out.images`` into ``file`` (written with writev: no joined copy in memory)."""
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for start in range(0, len(out.images), _IOV_MAX):
            batch = out.images[start:start + _IOV_MAX]
            written = os.writev(fd, batch)
            if written != sum(map(len, batch)):  # a regular file takes it all, or raises (disk full)
                raise OSError(f"{file}: short write")
    finally:
        os.close(fd)
    out.ends = list(accumulate(map(len, out.images)))
    out.spill_file, out.images = file, []


def take_images(out: WordsOut) -> Sequence[bytes | memoryview]:
    """The images of ``out``, wherever they travelled. A spill file is mapped and deleted at once: the
    views keep the mapping alive until the last of them is dropped (once the LMDB batch is committed)."""
    if not out.spill_file:
        return out.images
    with open(out.spill_file, "rb") as f:
        view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    os.unlink(out.spill_file)
    return [view[start:end] for start, end in zip(chain((0,), out.ends), out.ends)]


def _slice_text(job: ListSlice, out: WordsOut) -> str | None:
    """The slice's text (a BOM at the start of the file dropped); None with ``out.error`` set when it is
    not UTF-8."""
    with open(job.file, "rb") as f:
        f.seek(job.start)
        data = f.read(job.end - job.start)
    if job.start == 0 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        out.error = (job.first_line + count_line_breaks(data[:err.start]), f"not UTF-8: {err}")
        return None


def _source(path: str, prefixes: list[str]) -> str:
    """How the generic path names a listed image: pathlib's normal form of the path (no ``./``, ``//``,
    ``/.`` or trailing ``/``), relative to the images folder or else the input folder when absolute. The
    check keeps pathlib off the common path, which is normal already."""
    if path.startswith("./") or "//" in path or "/./" in path or path.endswith(("/", "/.")):
        path = str(PurePosixPath(path))
    return relative_to_any(path, prefixes) if os.path.isabs(path) else path
