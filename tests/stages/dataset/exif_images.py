"""Test images whose stored pixels and EXIF orientation disagree, as phone photos in ArT, LSVT, ReCTS, MLT
and TextOCR do."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ORIENTATION_TAG = 0x0112
# Stored frame: 200 wide, 100 high, white, one black box. Orientation 6 shows it rotated 90 degrees clockwise
# (100 wide, 200 high), where the box lies at x 60..90, y 10..60: no overlap with its stored coordinates.
STORED_SIZE = (200, 100)
BOX = (10, 10, 60, 40)  # x0, y0, x1, y1 in the stored frame


def box_polygon() -> list[tuple[float, float]]:
    x0, y0, x1, y1 = BOX
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def write_exif_image(path: Path, orientation: int = 6, fmt: str = "JPEG") -> Path:
    """Save the stored-frame test image with the given EXIF orientation tag."""
    image = Image.new("RGB", STORED_SIZE, (255, 255, 255))
    ImageDraw.Draw(image).rectangle(BOX, fill=(0, 0, 0))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    extra = {"quality": 95} if fmt == "JPEG" else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, exif=exif.tobytes(), **extra)
    return path
