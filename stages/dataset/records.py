"""The one record model every dataset parser produces and every writer consumes.

Detection / spotting sets yield ``ImageRecord`` (an image and its text instances);
recognition sets yield ``CropRecord`` (a word image and its label).
Polygons are float (x, y) vertex lists in image pixels, in the annotation's own order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TextInstance:
    """One text region.

    polygon: [(x, y), ...] with at least 3 vertices.
    text: the transcription ('' when unknown); ignore: don't care (``###``, illegible, difficult).
    language: script or language tag as the dataset names it ('' when not given).
    weight: loss weight in [0, 1]; 1.0 unless the source says otherwise (pseudo-labels).
    chars: optional per-character polygons and their characters (SynthText charBB, ReCTS chars).
    """

    polygon: list[tuple[float, float]]
    text: str = ""
    ignore: bool = False
    language: str = ""
    weight: float = 1.0
    chars: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)


@dataclass
class ImageRecord:
    """One image of a detection / spotting set. width/height are 0 when the parser could not know them
    without decoding the image (writers fill them in)."""

    image_path: Path
    width: int = 0
    height: int = 0
    instances: list[TextInstance] = field(default_factory=list)
    source: str = ""  # annotation file (and line) the record came from, for error messages


@dataclass
class CropRecord:
    """One word image of a recognition set; ``image_bytes`` is set when the source holds encoded images
    (an LMDB) instead of files; ``mask_bytes`` is the word's encoded glyph mask (8-bit PNG, 255 = glyph)
    when the source has one (the project's synthetic word LMDBs)."""

    label: str
    image_path: Path | None = None
    image_bytes: bytes | None = None
    source: str = ""
    mask_bytes: bytes | None = None


class ParseError(ValueError):
    """A malformed annotation: the message names the file and line."""

    def __init__(self, file: str | Path, line: int | None, reason: str):
        where = f"{file}:{line}" if line is not None else str(file)
        super().__init__(f"{where}: {reason}")
        self.file = str(file)
        self.line = line
        self.reason = reason


@dataclass
class Skipped:
    """A parser yields this instead of raising for an item it cannot read (a malformed line, a missing
    image): the convert stage counts skips per reason and fails only past a configured fraction."""

    reason: str  # short, stable tally key, e.g. "malformed_line", "missing_image"
    source: str  # file and line, e.g. "gt_img_7.txt:3"
    detail: str = ""
