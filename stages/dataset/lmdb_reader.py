"""Existing recognition LMDBs in the deep-text-recognition-benchmark layout (the MJ/ST/benchmark LMDBs
distributed by that project, ABINet and others), recognition.

Native layout: an LMDB environment folder (``data.mdb``, ``lock.mdb``) with keys

- ``num-samples``: the sample count N as ASCII digits;
- ``image-%09d`` (1-based, up to N): the encoded image bytes (JPEG/PNG...), passed on undecoded;
- ``label-%09d``: the UTF-8 label;
- ``mask-%09d`` (optional, the project's synthetic word LMDBs): the word's glyph mask, an 8-bit PNG the
  size of the image (255 = glyph pixel), passed on undecoded as ``CropRecord.mask_bytes``.

``parse(annotations=<lmdb folder>, images=<unused>)`` yields ``CropRecord(label, image_bytes=..., mask_bytes=...)``.
A sample whose image or label key is absent, whose image or label is empty or whose label is not UTF-8 is
skipped, named ``<folder>:<index>``. Records come in index order from one read transaction.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import lmdb

from stages.dataset.records import CropRecord, ParseError, Skipped


def parse(annotations: Path, images: Path | None = None) -> Iterator[CropRecord | Skipped]:
    """Yield every sample of the LMDB at ``annotations``; ``images`` is ignored (the images are inside)."""
    path = Path(annotations)
    if not (path / "data.mdb").is_file():
        raise ParseError(path, None, "not an LMDB folder (no data.mdb)")
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_readers=1)
    except lmdb.Error as err:
        raise ParseError(path, None, f"cannot open LMDB: {err}") from err
    try:
        with env.begin(buffers=False) as txn:
            count = _num_samples(txn.get(b"num-samples"), path)
            for index in range(1, count + 1):
                yield _sample(txn, index, f"{path.name}:{index}")
    finally:
        env.close()


def _num_samples(raw: bytes | None, path: Path) -> int:
    """The ``num-samples`` value; ParseError when absent or not a non-negative integer."""
    if raw is None:
        raise ParseError(path, None, "no 'num-samples' key: not a deep-text-recognition-benchmark LMDB")
    try:
        count = int(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError) as err:
        raise ParseError(path, None, f"'num-samples' is not an integer: {raw[:40]!r}") from err
    if count < 0:
        raise ParseError(path, None, f"'num-samples' is negative: {count}")
    return count


def _sample(txn: lmdb.Transaction, index: int, source: str) -> CropRecord | Skipped:
    """Sample ``index`` (1-based) -> CropRecord, or the Skipped saying what is wrong with it."""
    image = txn.get(b"image-%09d" % index)
    label = txn.get(b"label-%09d" % index)
    if image is None:
        return Skipped("missing_image", source, "no image key")
    if not image:
        return Skipped("empty_image", source, "zero-length image bytes")
    if label is None:
        return Skipped("missing_label", source, "no label key")
    try:
        text = label.decode("utf-8")
    except UnicodeDecodeError as err:
        return Skipped("bad_label", source, f"label is not UTF-8: {err}")
    if not text:
        return Skipped("empty_label", source, "zero-length label")
    mask = txn.get(b"mask-%09d" % index) or None  # an empty mask value counts as none
    return CropRecord(label=text, image_bytes=image, source=source, mask_bytes=mask)
