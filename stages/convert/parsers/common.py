"""Helpers shared by the dataset parsers.

- ``iter_sources``: the annotation input as (name, bytes) pairs, whether it is one file, a folder of
  per-image files or a zip of them (the RRC hands ground truth out as zips);
- ``decode_text`` / ``text_lines``: UTF-8 with or without a BOM, CRLF, LF or CR line ends;
- ``split_numbers``: an ICDAR line's leading coordinates and the rest, which may hold the separator;
- ``ImageIndex``: find an image by the stem its annotation names, whatever its extension;
- ``locate_image``: an image by the path an annotation file names, refused (``unsafe_path``) when the name
  reaches outside the image folder (``stages.dataset.names``: names from data files are untrusted);
- ``parse_per_image_files``: the loop every "one annotation file per image" format shares, turning
  ``BadItem`` into ``Skipped`` and unreadable files into ``Skipped("unreadable_file")``.
"""
from __future__ import annotations

import math
import os
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator, Sequence

from stages.dataset.images import IMAGE_SUFFIXES
from stages.dataset.names import UNSAFE_PATH, SafeJoiner, UnsafePath, is_inside
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped, TextInstance

Point = tuple[float, float]
ParserFn = Callable[[Path, Path], Iterator[ImageRecord | CropRecord | Skipped]]
# One per-image annotation file (name, raw bytes) -> its instances and the items it could not read.
FileParser = Callable[[str, bytes], Iterable[TextInstance | Skipped]]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_DIGITS = re.compile(r"(\d+)")


class BadItem(Exception):
    """Raised by a line / entry parser for one item it cannot read; the caller yields ``Skipped``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class UnreadableFile(Exception):
    """A whole per-image annotation file cannot be read (bad encoding, broken json/xml/mat)."""


def natural_key(name: str) -> list[int | str]:
    """Sort key putting ``gt_img_2`` before ``gt_img_10``, so records come in the dataset's order."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(name)]


def require_annotations(annotations: Path) -> Path:
    """``annotations`` as a Path; ParseError when it does not exist."""
    annotations = Path(annotations)
    if not annotations.exists():
        raise ParseError(annotations, None, "annotation file or folder not found")
    return annotations


def iter_sources(annotations: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """Yield (file name, raw bytes) of every annotation file in ``annotations``.

    ``annotations`` may be one annotation file, a folder (its files with one of ``suffixes``, not
    recursive) or a ``.zip`` of such files. Names are base names, naturally sorted.
    Raises ParseError when the path is missing, the zip is broken or holds no annotation file.
    """
    annotations = require_annotations(annotations)
    if annotations.is_dir():
        files = [p for p in annotations.iterdir() if p.is_file() and _is_annotation(p.name, suffixes)]
        if not files:
            raise ParseError(annotations, None, f"no {'/'.join(suffixes)} annotation files in folder")
        for path in sorted(files, key=lambda p: natural_key(p.name)):
            yield path.name, path.read_bytes()
    elif annotations.suffix.lower() == ".zip":
        yield from _iter_zip(annotations, suffixes)
    else:
        yield annotations.name, annotations.read_bytes()


def _iter_zip(path: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ParseError(path, None, f"not a readable zip: {exc}") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and _is_annotation(m.filename, suffixes)]
        if not members:
            raise ParseError(path, None, f"no {'/'.join(suffixes)} annotation files in zip")
        for member in sorted(members, key=lambda m: natural_key(m.filename)):
            yield Path(member.filename).name, _read_member(path, archive, member)


# What zipfile raises for a damaged member: a bad CRC or header (BadZipFile), a broken deflate stream
# (zlib.error), data ending early (EOFError), an unsupported method or an encrypted member.
_DAMAGED_MEMBER = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)


def _read_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """A member's bytes; ParseError naming the archive and the member when they cannot be read intact."""
    try:
        return archive.read(member)
    except _DAMAGED_MEMBER as exc:
        raise ParseError(path, None, f"member {member.filename}: damaged ({type(exc).__name__}: {exc})") from exc


def _is_annotation(path: str, suffixes: tuple[str, ...]) -> bool:
    # Hidden files and macOS zip debris (__MACOSX/, ._gt_img_1.txt) carry the suffix but no annotation.
    parts = Path(path).parts
    return Path(path).suffix.lower() in suffixes and not parts[-1].startswith(".") and "__MACOSX" not in parts


def decode_text(data: bytes) -> str:
    """UTF-8 text with its BOM removed if there is one (ICDAR training files have it, test files not)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not UTF-8 text: {exc}") from exc


def text_lines(text: str) -> list[str]:
    """Lines without their CRLF / LF / CR ends; a final line break adds no empty line."""
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_number(field: str) -> float:
    """A finite coordinate from a text field (surrounding spaces allowed); ValueError otherwise."""
    value = float(field.strip())
    if not math.isfinite(value):
        raise ValueError(f"non-finite coordinate {field!r}")
    return value


def split_numbers(line: str, count: int, sep: str = ",") -> tuple[list[float], str]:
    """Split ``line`` into its first ``count`` numeric fields and the rest of the line verbatim.

    The rest (a transcription) may itself contain ``sep``: only the first ``count`` separators split.
    Raises BadItem("malformed_line") when there are fewer than ``count`` numbers.
    """
    parts = line.split(sep, count)
    if len(parts) < count:
        raise BadItem("malformed_line", f"expected {count} coordinates: {line[:120]!r}")
    try:
        numbers = [parse_number(p) for p in parts[:count]]
    except ValueError as exc:
        raise BadItem("malformed_line", f"{exc}: {line[:120]!r}") from exc
    return numbers, parts[count] if len(parts) > count else ""


def to_polygon(values: Sequence[float]) -> list[Point]:
    """Flat [x1, y1, x2, y2, ...] -> [(x1, y1), ...]; raises BadItem("bad_polygon") on an odd count."""
    if len(values) % 2:
        raise BadItem("bad_polygon", f"odd number of coordinates ({len(values)})")
    return [(float(values[i]), float(values[i + 1])) for i in range(0, len(values), 2)]


def point_list(points: object) -> list[Point]:
    """JSON ``[[x, y], ...]`` -> [(x, y), ...]; raises BadItem("bad_polygon") on anything else."""
    if not isinstance(points, list) or not points:
        raise BadItem("bad_polygon", f"points must be a non-empty list of [x, y], got {points!r}"[:160])
    polygon = []
    for point in points:
        if not (isinstance(point, (list, tuple)) and len(point) == 2 and all(_is_number(v) for v in point)):
            raise BadItem("bad_polygon", f"bad point {point!r}"[:160])
        polygon.append((float(point[0]), float(point[1])))
    return polygon


def flat_point_list(values: object) -> list[Point]:
    """JSON ``[x1, y1, x2, y2, ...]`` -> [(x, y), ...]; raises BadItem("bad_polygon") otherwise."""
    if not isinstance(values, list) or not values or not all(_is_number(v) for v in values):
        raise BadItem("bad_polygon", f"points must be a flat list of numbers, got {values!r}"[:160])
    return to_polygon([float(v) for v in values])


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def default_image_stems(annotation_name: str) -> list[str]:
    """Image stems an ICDAR-style annotation may name: ``gt_img_7.txt`` -> ``img_7``, then the stem itself."""
    stem = Path(annotation_name).stem
    stems = [stem[3:]] if stem.startswith("gt_") else []
    return stems + [stem]


class ImageIndex:
    """Images under a folder (recursively: LSVT and MLT ship several image folders) by file stem.

    Built once per parse so each lookup is a dict access, not a filesystem probe per extension.
    A symbolic link among the images that leads outside the folder is kept apart: ``locate`` refuses it.
    """

    def __init__(self, root: Path):
        root = Path(root)
        if not root.is_dir():
            raise ParseError(root, None, "image folder not found")
        self.root = root
        self._by_stem: dict[str, Path] = {}
        self._outside: dict[str, Path] = {}  # stem -> a link leading out of the folder
        for folder, dirs, files in os.walk(root):  # walk does not descend into linked folders
            dirs.sort()
            for name in sorted(files, key=_suffix_rank):
                path = Path(folder) / name
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                if path.is_symlink() and not is_inside(root, path):
                    self._outside.setdefault(path.stem, path)
                else:
                    self._by_stem.setdefault(path.stem, path)

    def find(self, *stems: str) -> Path | None:
        """The first image inside the folder whose stem is one of ``stems`` (tried in order), or None."""
        for stem in stems:
            if stem in self._by_stem:
                return self._by_stem[stem]
        return None

    def locate(self, source: str, *stems: str) -> Path | Skipped:
        """``find``, or the Skipped saying why not: ``unsafe_path`` (a link leading out of the folder) or
        ``missing_image``."""
        image = self.find(*stems)
        if image is not None:
            return image
        link = next((self._outside[s] for s in stems if s in self._outside), None)
        if link is not None:
            return Skipped(UNSAFE_PATH, source, f"{link} links outside {self.root}")
        return missing_image(source, stems, self.root)

    def __len__(self) -> int:
        return len(self._by_stem)


def _suffix_rank(name: str) -> tuple[int, str]:
    # Same stem, several extensions: prefer the commoner formats, deterministically.
    suffix = Path(name).suffix.lower()
    rank = IMAGE_SUFFIXES.index(suffix) if suffix in IMAGE_SUFFIXES else len(IMAGE_SUFFIXES)
    return rank, name


def missing_image(source: str, stems: Sequence[str], images: Path) -> Skipped:
    """The Skipped for an annotation whose image is not in the image folder."""
    return Skipped("missing_image", source, f"no image with stem {' or '.join(stems)} under {images}")


def listed_image(images: Path, name: str) -> Path | None:
    """The image file an annotation names by path: ``images/name``, else ``images/<base name>`` (lists
    often carry a folder the distributed image folder does not have); None when neither is a file.

    Names in annotation files are untrusted: an absolute name, a ``..`` segment or a name resolving outside
    ``images`` (through a symlink) raises BadItem("unsafe_path") instead of being joined.
    """
    joiner = SafeJoiner(images)
    for candidate in dict.fromkeys((name, PurePosixPath(name.replace("\\", "/")).name)):
        try:
            path = Path(joiner.join(candidate))
        except UnsafePath as exc:
            raise BadItem(UNSAFE_PATH, str(exc)) from None
        if path.is_file():
            return path
    return None


def join_name(images: Path | SafeJoiner, name: object, source: str) -> Path | Skipped:
    """``images / name`` for a ``name`` read from an annotation file, or ``Skipped("unsafe_path")`` when the
    name is absolute, has a ``..`` segment or resolves outside ``images`` (symbolic links followed).
    Give a ``SafeJoiner`` to join many names under one folder cheaply."""
    joiner = images if isinstance(images, SafeJoiner) else SafeJoiner(images)
    try:
        return Path(joiner.join(name))  # type: ignore[arg-type]  (join refuses non-strings)
    except UnsafePath as exc:
        return Skipped(UNSAFE_PATH, source, str(exc))


def locate_image(images: Path | SafeJoiner, name: object, source: str,
                 basename_fallback: bool = False) -> Path | Skipped:
    """The image file an annotation names (``name``, relative to ``images``), or the Skipped saying why not:
    ``unsafe_path`` when the name is absolute, has a ``..`` segment or resolves outside ``images``
    (symbolic links followed), ``missing_image`` when no such file exists. With ``basename_fallback`` the
    name's last segment is tried too (file names that carry a split folder the distributed images lack)."""
    joiner = images if isinstance(images, SafeJoiner) else SafeJoiner(images)
    path = join_name(joiner, name, source)
    if isinstance(path, Skipped) or path.is_file():
        return path
    if basename_fallback:
        base = Path(name).name  # type: ignore[arg-type]  (a str: join accepted it)
        if base and base != name:
            found = locate_image(joiner, base, source)
            if not isinstance(found, Skipped):
                return found
    return Skipped("missing_image", source, str(path))


def parse_per_image_files(
    annotations: Path,
    images: Path,
    parse_file: FileParser,
    suffixes: tuple[str, ...],
    image_stems: Callable[[str], list[str]] = default_image_stems,
) -> Iterator[ImageRecord | Skipped]:
    """Run ``parse_file`` on every annotation file and pair each with its image.

    Yields the Skipped items ``parse_file`` produced, then one ImageRecord per file (also for a file
    with no instances: an image without text is a valid negative). A file whose image is missing or
    that raises UnreadableFile becomes one Skipped.
    """
    sources = iter_sources(require_annotations(annotations), suffixes)
    index = ImageIndex(images)
    for name, data in sources:
        image = index.locate(name, *image_stems(name))
        if isinstance(image, Skipped):
            yield image
            continue
        try:
            items = list(parse_file(name, data))
        except UnreadableFile as exc:
            yield Skipped("unreadable_file", name, str(exc))
            continue
        yield from (item for item in items if isinstance(item, Skipped))
        instances = [item for item in items if isinstance(item, TextInstance)]
        yield ImageRecord(image_path=image, instances=instances, source=name)


def line_file_parser(parse_line: Callable[[str], TextInstance]) -> FileParser:
    """A FileParser for formats with one instance per text line; blank lines are skipped silently,
    a line for which ``parse_line`` raises BadItem becomes ``Skipped(reason, "file:line")``."""

    def parse_file(name: str, data: bytes) -> Iterator[TextInstance | Skipped]:
        for lineno, line in enumerate(text_lines(decode_text(data)), start=1):
            if not line.strip():
                continue
            try:
                yield parse_line(line)
            except BadItem as exc:
                yield Skipped(exc.reason, f"{name}:{lineno}", exc.detail)

    return parse_file


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) read from the image header only, in the stored pixel frame annotations are drawn
    in (``stages.dataset.images``: EXIF orientation ignored).

    Parsers leave width/height 0 when their format does not store them; this is for whoever must
    know the size before decoding (the writer).
    """
    from stages.dataset.images import image_size as header_size

    return header_size(path)
