"""The one image reader of the project, and its orientation policy.

Policy: annotations of public datasets are drawn on the pixels as stored in the file (the "stored frame"),
so every reader decodes that frame and ignores the EXIF orientation tag. Phone photos in ArT, LSVT, ReCTS,
MLT and TextOCR carry such tags; applying them (OpenCV's and browsers' default) would rotate an image away
from its own polygons. OpenCV is told so with ``IMREAD_IGNORE_ORIENTATION``; PIL never applies the tag on
open, so its header sizes are stored-frame sizes too.

The one exception is an image a user hands to ``python -m pipeline infer`` (``stages/evaluate/infer.py``):
there the upright view the user expects may be asked for (``frame="exif_applied"``), and the output says
which frame its polygons are in.

Readers:
- ``read_image`` / ``decode_image``: a file / encoded bytes -> BGR (H, W, 3) or grayscale (H, W) uint8;
- ``read_rgb``: a file -> RGB (H, W, 3) uint8, what the models are fed;
- ``image_size``: (width, height) from the header only, no pixels decoded;
- ``exif_orientation`` / ``without_orientation``: find the tag, and make a copy of the file whose tag no
  longer asks any reader to rotate (for the convert stage's ``images/``).
"""
from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

Frame = Literal["stored", "exif_applied"]
STORED: Frame = "stored"
EXIF_APPLIED: Frame = "exif_applied"
FRAMES = (STORED, EXIF_APPLIED)

ORIENTATION_TAG = 0x0112
# Orientations 5..8 turn the image by 90 degrees: width and height swap when the tag is applied.
_TRANSPOSING = (5, 6, 7, 8)

# File suffixes the project reads as images (case-insensitive).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


class UnreadableImage(OSError):
    """An image file that exists but cannot be decoded (truncated, corrupt, not an image); names the file."""


def _flags(gray: bool, frame: Frame) -> int:
    if frame not in FRAMES:
        raise ValueError(f"unknown image frame {frame!r}; valid: {', '.join(FRAMES)}")
    flags = cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR
    return flags | cv2.IMREAD_IGNORE_ORIENTATION if frame == STORED else flags


def decode_image(data: bytes | bytearray | memoryview | np.ndarray, *, gray: bool = False,
                 frame: Frame = STORED) -> np.ndarray | None:
    """Decode encoded image bytes: BGR (H, W, 3) or, with ``gray``, (H, W) uint8; None when the bytes are
    empty, not an image, or decode to 0 pixels."""
    buffer = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    if buffer.size == 0:
        return None
    image = cv2.imdecode(buffer, _flags(gray, frame))
    if image is None or image.shape[0] == 0 or image.shape[1] == 0:
        return None
    return image


def read_image(path: Path | str, *, gray: bool = False, frame: Frame = STORED) -> np.ndarray:
    """Read and decode an image file (see ``decode_image``). FileNotFoundError when it is missing,
    UnreadableImage when it cannot be decoded."""
    data = Path(path).read_bytes()
    image = decode_image(data, gray=gray, frame=frame)
    if image is None:
        raise UnreadableImage(f"cannot decode image {path} ({len(data)} bytes)")
    return image


def read_rgb(path: Path | str, frame: Frame = STORED) -> np.ndarray:
    """An image file as RGB (H, W, 3) uint8 (errors as ``read_image``)."""
    return cv2.cvtColor(read_image(path, frame=frame), cv2.COLOR_BGR2RGB)


def image_size(path: Path | str, frame: Frame = STORED) -> tuple[int, int]:
    """(width, height) from the image header only (no pixels decoded). UnreadableImage when the header is
    not an image's."""
    from PIL import Image, UnidentifiedImageError  # imported here: most callers never need a header probe

    try:
        with Image.open(path) as image:
            width, height = image.size
            if frame == EXIF_APPLIED and image.getexif().get(ORIENTATION_TAG, 1) in _TRANSPOSING:
                width, height = height, width
    except (UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(f"cannot read image header of {path}: {exc}") from exc
    return width, height


def is_truncated_jpeg(data: bytes) -> bool:
    """Whether ``data`` is a JPEG whose last scan has no end-of-image marker after it: the file was cut
    short. Decoders fill the missing rows with grey and only warn, so a decode alone does not tell.
    (Inside scan data a 0xFF byte is always stuffed or a restart marker, so these two markers are real.)"""
    return data[:2] == b"\xff\xd8" and data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation value (1..8) of encoded image bytes; 1 when there is none or it is unreadable."""
    if data[:2] == b"\xff\xd8":  # JPEG: read the APP1 segment directly, no PIL needed
        found = _jpeg_orientation_offset(data)
        if found is None:
            return 1
        offset, little = found
        value = struct.unpack_from("<H" if little else ">H", data, offset)[0]
        return value if 1 <= value <= 8 else 1
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 -- an undecodable file has no orientation; its decode reports it
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def without_orientation(data: bytes) -> bytes:
    """The same image with its EXIF orientation tag set to 1 (no rotation), so readers that apply the tag
    see the stored frame too. A JPEG gets the 2-byte value rewritten in place: lossless, every other byte
    unchanged. Other formats are re-encoded from their stored pixels, in their own format, without the tag."""
    if data[:2] == b"\xff\xd8":
        found = _jpeg_orientation_offset(data)
        if found is not None:
            offset, little = found
            out = bytearray(data)
            struct.pack_into("<H" if little else ">H", out, offset, 1)
            return bytes(out)
    return _reencode_without_orientation(data)


def _reencode_without_orientation(data: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        fmt = image.format
        exif = image.getexif()
        exif.pop(ORIENTATION_TAG, None)
        image.load()  # PIL keeps the stored pixels: it never applies the tag on load
        buffer = io.BytesIO()
        extra = {"quality": 95} if fmt == "JPEG" else {}
        image.save(buffer, format=fmt, exif=exif.tobytes(), **extra)
    return buffer.getvalue()


def _jpeg_orientation_offset(data: bytes) -> tuple[int, bool] | None:
    """(byte offset of the orientation value, little-endian?) inside a JPEG's EXIF APP1 segment; None when
    the file has no EXIF orientation entry. Walks the marker segments up to the start of the scan."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker == 0xDA:  # start of scan: no metadata after this
            return None
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if length < 2:
            return None
        body = pos + 4
        if marker == 0xE1 and data[body:body + 6] == b"Exif\x00\x00":
            return _tiff_orientation_offset(data, body + 6, min(pos + 2 + length, len(data)))
        pos += 2 + length
    return None


def _tiff_orientation_offset(data: bytes, tiff: int, end: int) -> tuple[int, bool] | None:
    """The orientation entry of IFD0 in the TIFF structure starting at ``tiff`` (bounded by ``end``)."""
    if end - tiff < 8 or data[tiff:tiff + 2] not in (b"II", b"MM"):
        return None
    little = data[tiff:tiff + 2] == b"II"
    order = "<" if little else ">"
    ifd = tiff + struct.unpack_from(order + "I", data, tiff + 4)[0]
    if ifd + 2 > end:
        return None
    count = struct.unpack_from(order + "H", data, ifd)[0]
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > end:
            return None
        tag, kind, n = struct.unpack_from(order + "HHI", data, entry)
        if tag == ORIENTATION_TAG and kind == 3 and n == 1:  # one SHORT, stored in the entry itself
            return entry + 8, little
    return None
