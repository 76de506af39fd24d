"""What the convert stage's shards do with parsed items (the generic path, for every format): decode and
verify images, validate polygons against the true image size, cut and encode word crops.

Everything here is top-level and picklable: it runs in Ray tasks. Results line up with the units sent, and
the single writer (``sink.py``) matches them with their items.
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field, replace

from stages.convert.validate import read_image, validate_record
from stages.dataset.crops import crop_instance, encode_crop
from stages.dataset.images import decode_image, exif_orientation, without_orientation
from stages.dataset.records import CropRecord, ImageRecord, Skipped

Item = ImageRecord | CropRecord | Skipped
Unit = ImageRecord | str | bytes | Skipped  # what a shard receives per item


@dataclass
class ShardJob:
    """One slice of a window: work units in record order and what to make of them."""

    units: list[Unit]
    make_crops: bool
    crop_format: str


@dataclass
class CropOut:
    """A word crop cut from a scene image, encoded; ``instance`` = its position in the image record."""

    data: bytes
    label: str
    width: int
    height: int
    instance: int


@dataclass
class ImageOut:
    """A verified scene image: its validated record (size filled in), the digest of the file written to
    ``images/``, tallies and crops. ``data`` holds the bytes to write when they differ from the input file
    (an EXIF orientation tag was neutralised), else None: the input file is linked."""

    record: ImageRecord
    digest: str
    counts: Counter
    crops: list[CropOut] = field(default_factory=list)
    data: bytes | None = None


def work_unit(item: Item) -> Unit:
    """The least a shard needs for an item. A ready-made word image goes as its path (str) or its bytes:
    every item crosses a process boundary, and for cheap items pickling dataclasses holding Paths would
    cost as much as the work itself; its label stays with the writer."""
    if not isinstance(item, CropRecord):
        return item
    if not item.label:
        return Skipped("empty_label", item.source, str(item.image_path or ""))
    if item.image_bytes is not None:
        return item.image_bytes
    if item.image_path is None:
        return Skipped("missing_image", item.source, "record has neither a path nor bytes")
    return str(item.image_path)


def process_shard(job: ShardJob) -> list[ImageOut | tuple[bytes, int, int] | Skipped]:
    """Process one slice; results line up with ``job.units``."""
    out: list[ImageOut | tuple[bytes, int, int] | Skipped] = []
    for unit in job.units:
        if isinstance(unit, ImageRecord):
            out.append(process_image(unit, job.make_crops, job.crop_format))
        elif isinstance(unit, Skipped):
            out.append(unit)
        else:
            out.append(check_word_image(unit))
    return out


def process_image(rec: ImageRecord, make_crops: bool, crop_format: str) -> ImageOut | Skipped:
    """Decode the image, validate the polygons against its true size, cut crops if asked."""
    loaded = read_image(rec.image_path, rec.source)
    if isinstance(loaded, Skipped):
        return loaded
    data, image = loaded  # image: (H, W, 3) uint8 BGR
    height, width = image.shape[:2]
    counts: Counter = Counter()
    if (rec.width, rec.height) not in ((0, 0), (width, height)):
        counts["size_mismatch"] += 1  # the annotation's stated size loses to the pixels
    clean = validate_record(replace(rec, width=width, height=height), counts)
    rewritten = None
    if exif_orientation(data) != 1:
        # The polygons are in the stored frame; a reader applying the tag (cv2 defaults, browsers, PIL's
        # exif_transpose) would turn the image away from them. The copy in images/ asks for no rotation.
        counts["exif_rotated"] += 1
        rewritten = without_orientation(data)
    result = ImageOut(clean, hashlib.sha256(rewritten or data).hexdigest(), counts, data=rewritten)
    if make_crops:
        for index, inst in enumerate(clean.instances):
            if inst.ignore:
                continue
            if not inst.text:
                counts["crop_no_text"] += 1
                continue
            crop = crop_instance(image, inst.polygon)
            if crop is None:
                counts["crop_degenerate"] += 1
                continue
            result.crops.append(CropOut(encode_crop(crop, crop_format), inst.text, crop.shape[1], crop.shape[0],
                                        index))
    return result


def check_word_image(unit: str | bytes) -> tuple[bytes, int, int] | Skipped:
    """(bytes, width, height) of a word image given by path or bytes, if it decodes (the check
    create_lmdb_dataset.py makes); else a Skipped whose source the writer fills in. Bytes are kept as is."""
    if isinstance(unit, str):
        try:
            with open(unit, "rb") as f:
                data = f.read()
        except OSError as exc:
            reason = "missing_image" if isinstance(exc, FileNotFoundError) else "unreadable_image"
            return Skipped(reason, "", f"{unit}: {exc}")
    else:
        data = unit
    if not data:  # zero-byte files occur in real sets (MJSynth)
        return Skipped("empty_image", "", unit if isinstance(unit, str) else "empty image bytes")
    image = decode_image(data, gray=True)  # grayscale: the cheapest full decode
    if image is None:
        return Skipped("unreadable_image", "", f"{unit if isinstance(unit, str) else 'image bytes'}: "
                       "not a decodable image")
    return data, image.shape[1], image.shape[0]


def relative_to_any(path: str, prefixes: list[str]) -> str:
    """``path`` relative to the first of ``prefixes`` (folders with a trailing separator) it lies under, else
    whole; posix separators. String prefixes, not pathlib: this runs once per crop."""
    for prefix in prefixes:
        if path.startswith(prefix):
            return path[len(prefix):].replace(os.sep, "/")
    return path.replace(os.sep, "/")
