"""LSVT's weak labels through the convert stage: scene images with image-level texts and no regions.

A weakly labelled image does have text, so written as a detection image with no instances it would teach
a detector that it has none. The run therefore writes no ``annotations.json``: only ``images/`` (links)
and ``manifest.parquet`` with ``WEAK_SCHEMA``, whose ``texts`` column holds the transcriptions in file
order. The images are verified by the same shards as every other image (decoded, true size, digest);
the pseudo_label stage takes such a folder as its unlabeled input (it reads the manifest's ``file_name``).
"""
from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from stages.convert.parsers import lsvt
from stages.convert.shard_work import ImageOut, relative_to_any
from stages.convert.sink import Tally, place_image
from stages.dataset.manifest import ManifestWriter
from stages.dataset.records import ImageRecord, Skipped

WEAK_SCHEMA = pa.schema([
    ("file_name", pa.string()),  # relative to images/
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("texts", pa.list_(pa.string())),  # the image's weak transcriptions, in file order
    ("digest", pa.string()),  # sha256 of the image file's bytes
    ("source", pa.string()),  # <label file>:<image key>
])


def weak_items(annotations: Path, images: Path, texts: dict[str, list[str]]) -> Iterator[ImageRecord | Skipped]:
    """The weak label file as instance-less ImageRecords (for the shards to verify the images); each
    record's texts go into ``texts`` under its ``source``."""
    for item in lsvt.parse_weak(annotations, images):
        if isinstance(item, Skipped):
            yield item
            continue
        image, words = item
        source = f"{Path(annotations).name}:{image.stem}"
        texts[source] = words
        yield ImageRecord(image_path=image, source=source)


class WeakSink:
    """Writes verified weak images (linked into ``images/``) and their manifest rows, in item order."""

    def __init__(self, images: Path, out_images: Path, manifest: Path, texts: dict[str, list[str]],
                 tally: Tally, stack: ExitStack):
        self.prefixes = [os.path.join(os.fspath(images), "")]
        self.out_images = out_images
        self.texts = texts
        self.tally = tally
        self.rows = stack.enter_context(ManifestWriter(manifest, WEAK_SCHEMA))
        out_images.mkdir(parents=True, exist_ok=True)
        self.written = 0

    def add(self, item: ImageRecord | Skipped, result: ImageOut | Skipped) -> None:
        """Store one item's result (a Skipped is only tallied)."""
        if isinstance(result, Skipped):
            self.tally.skipped(result if result.source else Skipped(result.reason, item.source, result.detail))
            return
        self.tally.image(result)
        record = result.record
        rel = relative_to_any(os.fspath(record.image_path), self.prefixes)
        target = self.out_images / rel
        place_image(record.image_path, target, result.data)  # the shard's rewrite when it dropped an EXIF rotation
        self.rows.write({"file_name": rel, "width": record.width, "height": record.height,
                         "texts": self.texts.pop(record.source, []), "digest": result.digest,
                         "source": record.source})
        self.written += 1
