"""The convert stage's single writer: results go into the outputs in item order, and every skip, repair
and drop is tallied per reason."""
from __future__ import annotations

import os
from collections import Counter
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from stages.convert.list_shards import WordsOut, take_images
from stages.convert.shard_work import ImageOut, Item, relative_to_any
from stages.convert.validate import DROP_REASONS
from stages.dataset.coco import CocoWriter
from stages.dataset.lmdb_writer import LmdbWriter
from stages.dataset.manifest import CROP_SCHEMA, IMAGE_SCHEMA, ManifestWriter
from stages.dataset.names import UNSAFE_PATH, name_problem
from stages.dataset.records import Skipped
from stages.dataset.tree import link_or_copy


class Tally:
    """Counts per reason, bad items and the first offender."""

    def __init__(self) -> None:
        self.reasons: Counter = Counter()
        self.items = 0
        self.bad = 0
        self.first_bad = ""

    def skipped(self, item: Skipped) -> None:
        self.reasons[item.reason] += 1
        self._bad(f"{item.source}: {item.reason}" + (f" ({item.detail})" if item.detail else ""))

    def image(self, out: ImageOut) -> None:
        self.reasons.update(out.counts)
        dropped = [reason for reason in DROP_REASONS if out.counts.get(reason)]
        if dropped:
            self._bad(f"{out.record.source}: {', '.join(dropped)}")

    def _bad(self, where: str) -> None:
        self.bad += 1
        self.first_bad = self.first_bad or where

    def summary(self) -> dict[str, int]:
        return {"items": self.items, "bad_items": self.bad, **dict(sorted(self.reasons.items()))}

    def check(self, max_bad_fraction: float, annotations: str = "") -> None:
        """Raise when nothing was parsed (naming the ``annotations`` read) or too many items were bad."""
        if self.items == 0:
            raise ValueError(f"convert: the parser yielded no items from {annotations or 'the annotations'} "
                             "(an empty file, a wrong annotations path or format?)")
        if self.bad / self.items > max_bad_fraction:
            raise ValueError(
                f"convert: {self.bad} of {self.items} items are bad ({self.bad / self.items:.1%} > "
                f"max_bad_fraction {max_bad_fraction:.1%}); first: {self.first_bad}; counts: {self.summary()}")


class Sink:
    """The single writer: puts results into the outputs in the order they arrive."""

    def __init__(self, root: Path, images: Path, out: dict[str, Path], tally: Tally, stack: ExitStack):
        """``out``: output name -> path, for the outputs to write (see ``stage.OUTPUT_PATHS``)."""
        self.tally = tally
        self.prefixes = [os.path.join(os.fspath(base), "") for base in (images, root)]  # with a trailing "/"
        self.image_dir = out.get("images")
        self.coco = (stack.enter_context(CocoWriter(out["annotations"], self.image_dir))
                     if "annotations" in out else None)
        image_rows = self.coco is not None  # det: the main manifest lists images, rec: crops
        self.manifest = stack.enter_context(ManifestWriter(out["manifest"],
                                                           IMAGE_SCHEMA if image_rows else CROP_SCHEMA))
        self.lmdb = stack.enter_context(LmdbWriter(out["crops"])) if "crops" in out else None
        self.crop_rows = (stack.enter_context(ManifestWriter(out["crops_manifest"], CROP_SCHEMA))
                          if "crops_manifest" in out else (None if image_rows else self.manifest))
        if self.coco is not None:
            self.image_dir.mkdir(parents=True, exist_ok=True)

    def add(self, item: Item, result: ImageOut | tuple[bytes, int, int] | Skipped) -> None:
        """Store one item's result (the item supplies what the shard was not sent: label, source)."""
        if isinstance(result, Skipped):
            self.tally.skipped(result if result.source else replace(result, source=item.source))
        elif isinstance(result, ImageOut) and (why := name_problem(self._relative(result.record.image_path))):
            # Parsers refuse such names already; this is the last line before a file is written outside images/.
            self.tally.skipped(Skipped(UNSAFE_PATH, result.record.source, f"{result.record.image_path}: {why}"))
        elif isinstance(result, ImageOut):
            self.tally.image(result)
            self._image(result)
        else:
            data, width, height = result
            source = self._relative(item.image_path) if item.image_path is not None else item.source
            self._crop(data, item.label, width, height, source, -1)

    def _image(self, out: ImageOut) -> None:
        rel = self._relative(out.record.image_path)
        if self.coco is not None:
            target = self.image_dir / rel
            place_image(out.record.image_path, target, out.data)
            self.coco.add(replace(out.record, image_path=target))
            self.manifest.write({
                "file_name": rel, "width": out.record.width, "height": out.record.height,
                "n_instances": len(out.record.instances),
                "n_ignore": sum(inst.ignore for inst in out.record.instances),
                "digest": out.digest, "source": out.record.source,
            })
        for crop in out.crops:
            self._crop(crop.data, crop.label, crop.width, crop.height, rel, crop.instance)

    def _crop(self, data: bytes, label: str, width: int, height: int, source: str, instance: int) -> None:
        index = self.lmdb.put(data, label)
        self.crop_rows.write({"index": index, "label": label, "width": width, "height": height,
                              "source_image": source, "instance": instance})

    def _relative(self, path: Path | str) -> str:
        """Where an input image sits, relative to the images folder (else the input root), as posix."""
        return relative_to_any(os.fspath(path), self.prefixes)

    def add_words(self, out: WordsOut) -> None:
        """Store a list slice's word images and manifest rows (in list order) and tally its items."""
        self.tally.items += out.items
        for skipped in out.skipped:
            self.tally.skipped(skipped)
        first = self.lmdb.put_many(take_images(out), out.labels)
        index = pa.array(np.arange(first, first + out.rows.num_rows, dtype=np.int64))
        self.crop_rows.write_table(out.rows.add_column(0, "index", index))

    def close(self) -> dict[str, int]:
        written: dict[str, int] = {}
        if self.coco is not None:
            coco = self.coco.close()
            written.update(images=coco["images"], instances=coco["annotations"], ignored_instances=coco["ignore"])
        if self.lmdb is not None:
            self.lmdb.close()
            written["crops"] = self.lmdb.count
        return written


def place_image(src: Path, dst: Path, data: bytes | None = None) -> None:
    """Hard-link ``src`` at ``dst`` (both are immutable artifacts), copying where linking is impossible;
    write ``data`` instead when the shard rewrote the file (never into the linked input)."""
    if dst.exists():
        return  # the same image named by two records
    dst.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        dst.write_bytes(data)
    else:
        link_or_copy(src, dst)
