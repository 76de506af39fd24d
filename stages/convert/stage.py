"""The convert stage: a raw dataset (as downloaded) -> our detection / recognition formats.

- ``task: det`` writes ``images/`` (hard links, or copies across file systems), ``annotations.json`` (COCO)
  and ``manifest.parquet`` (one row per image); with ``crops: true`` also ``crops.lmdb/`` (word crops in the
  deep-text-recognition-benchmark layout) and ``crops.parquet`` (one row per crop).
- ``task: rec`` writes ``crops.lmdb/`` and ``manifest.parquet`` (one row per crop): ready-made word images
  are verified and stored as they are; scene images are cut into word crops.

The parser runs here, in record order. Records go out in windows, each window split into ``shards``
contiguous slices that ``ctx.map`` processes in parallel (decode and verify images, validate polygons,
cut and encode crops); one writer then stores the results in record order, so the same input gives
byte-identical output whatever the shard count. While one window is being written the next is being
processed, and memory holds at most three windows.

Bad input never stops the stage by itself: skipped items and repaired or dropped polygons are counted per
reason. An item is bad when it was skipped or lost an instance; past ``max_bad_fraction`` of bad items the
stage fails with the counts and the first offending file and line.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Iterable, Iterator, Literal

import cv2
from pydantic import Field, field_validator

from pipeline.stage import StageContext, StageDef, StageParams, StageResult, path_inside_input
from stages.convert.records import CropRecord, ImageRecord, Skipped
from stages.convert.validate import DROP_REASONS, decode_image, read_image, validate_record
from stages.convert.writers import (CROP_SCHEMA, IMAGE_SCHEMA, CocoWriter, LmdbWriter, ManifestWriter,
                                    crop_instance, encode_crop)

Item = ImageRecord | CropRecord | Skipped

OUTPUT_PATHS = {
    "images": "images",
    "annotations": "annotations.json",
    "manifest": "manifest.parquet",
    "crops": "crops.lmdb",
    "crops_manifest": "crops.parquet",
}
# Work per shard and window: a scene image (decode, maybe several crops) costs about as much as this many
# ready-made word crops; a shard gets WINDOW_COST units, so tasks last long enough to hide scheduling.
IMAGE_COST = 16
WINDOW_COST = 512


class ConvertParams(StageParams):
    """Params of the convert stage; paths are relative to the input folder (``inputs["data"]``)."""

    format: str
    annotations: str
    images: str
    task: Literal["det", "rec"] = "det"
    crops: bool = False  # det only: also cut word crops into crops.lmdb
    crop_format: Literal["jpg", "png"] = "jpg"
    max_bad_fraction: float = Field(0.05, ge=0.0, le=1.0)
    shards: int = Field(0, ge=0)  # 0 = one per CPU of the stage

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from stages.convert.parsers import PARSERS

        if value not in PARSERS:
            raise ValueError(f"unknown dataset format {value!r}; valid formats: {', '.join(sorted(PARSERS))}")
        return value

    @field_validator("annotations", "images")
    @classmethod
    def _inside_input(cls, value: str) -> str:
        return path_inside_input(value)


def output_names(params: ConvertParams) -> list[str]:
    """The outputs ``run`` produces for ``params``."""
    if params.task == "rec":
        return ["crops", "manifest"]
    return ["images", "annotations", "manifest"] + (["crops", "crops_manifest"] if params.crops else [])


# --- shard work (top-level and picklable: it runs in Ray tasks) ---------------------------------------


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
    """A verified scene image: its validated record (size filled in), file digest, tallies and crops."""

    record: ImageRecord
    digest: str
    counts: Counter
    crops: list[CropOut] = field(default_factory=list)


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
    result = ImageOut(clean, hashlib.sha256(data).hexdigest(), counts)
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
    image = decode_image(data, cv2.IMREAD_GRAYSCALE)  # grayscale: the cheapest full decode
    if image is None:
        return Skipped("unreadable_image", "", f"{unit if isinstance(unit, str) else 'image bytes'}: "
                       "not a decodable image")
    return data, image.shape[1], image.shape[0]


# --- the stage ---------------------------------------------------------------------------------------


def run(params: ConvertParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Parse ``inputs["data"]`` with the ``params.format`` parser and write the outputs into ``out_dir``."""
    from stages.convert.parsers import PARSERS

    root = Path(inputs["data"])
    annotations, images = root / params.annotations, root / params.images
    ctx.logger.info("parsing %s (%s) for %s", annotations, params.format, params.task)
    return convert(PARSERS[params.format](annotations, images), params, root, out_dir, ctx)


def convert(items: Iterable[Item], params: ConvertParams, root: Path, out_dir: Path,
            ctx: StageContext) -> StageResult:
    """Write parsed ``items`` (from a dataset under ``root``) as the stage's outputs; see the module doc."""
    out_dir = Path(out_dir)
    shards = params.shards or max(1, int(ctx.num_cpus))
    tally = _Tally()
    names = output_names(params)
    with ExitStack() as stack:
        sink = _Sink(params, Path(root), Path(root) / params.images, out_dir, names, tally, stack)
        make_crops = params.task == "rec" or params.crops
        for item, result in _processed(_checked(items, params, tally), ctx, shards, make_crops,
                                       params.crop_format):
            sink.add(item, result)
        written = sink.close()
    tally.check(params.max_bad_fraction)
    counts = {**written, **tally.summary()}
    ctx.logger.info("wrote %s", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    bad_fraction = tally.bad / tally.items
    return StageResult(outputs={name: OUTPUT_PATHS[name] for name in names}, counts=counts,
                       metrics={"bad_fraction": bad_fraction},
                       extra={"first_bad": tally.first_bad} if tally.first_bad else {})


def _checked(items: Iterable[Item], params: ConvertParams, tally: _Tally) -> Iterator[Item]:
    """Count the items and refuse a recognition set for a detection task."""
    for item in items:
        tally.items += 1
        if isinstance(item, CropRecord) and params.task == "det":
            raise ValueError(f"{item.source}: format {params.format!r} yields word crops, not scene images; "
                             "use task: rec")
        yield item


def _processed(items: Iterable[Item], ctx: StageContext, shards: int, make_crops: bool,
               crop_format: str) -> Iterator[tuple[Item, ImageOut | tuple[bytes, int, int] | Skipped]]:
    """(item, result) in item order; window k+1 is processed (in ``ctx.map``) while window k is written."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        queued: list[tuple[list[Item], Future]] = []
        try:
            for window in _windows(items, shards * WINDOW_COST):
                jobs = [ShardJob([work_unit(item) for item in part], make_crops, crop_format)
                        for part in _split(window, shards)]
                queued.append((window, executor.submit(ctx.map, process_shard, jobs)))
                if len(queued) == 2:
                    done, future = queued.pop(0)
                    yield from zip(done, chain.from_iterable(future.result()))
            while queued:
                done, future = queued.pop(0)
                yield from zip(done, chain.from_iterable(future.result()))
        finally:
            for _, future in queued:
                future.cancel()


def _cost(item: Item) -> int:
    return IMAGE_COST if isinstance(item, ImageRecord) else 1


def _windows(items: Iterable[Item], budget: int) -> Iterator[list[Item]]:
    """Consecutive lists of items whose summed cost reaches ``budget`` (the last may fall short)."""
    window: list[Item] = []
    spent = 0
    for item in items:
        window.append(item)
        spent += _cost(item)
        if spent >= budget:
            yield window
            window, spent = [], 0
    if window:
        yield window


def _split(window: list[Item], parts: int) -> list[list[Item]]:
    """Cut a window into at most ``parts`` contiguous, non-empty slices of about equal cost."""
    total = sum(_cost(item) for item in window)
    slices: list[list[Item]] = [[]]
    spent = 0
    for item in window:
        if spent >= total * len(slices) / parts and slices[-1]:
            slices.append([])
        slices[-1].append(item)
        spent += _cost(item)
    return slices


class _Tally:
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

    def check(self, max_bad_fraction: float) -> None:
        """Raise when nothing was parsed or too many items were bad."""
        if self.items == 0:
            raise ValueError("convert: the parser yielded no items (wrong annotations path or format?)")
        if self.bad / self.items > max_bad_fraction:
            raise ValueError(
                f"convert: {self.bad} of {self.items} items are bad ({self.bad / self.items:.1%} > "
                f"max_bad_fraction {max_bad_fraction:.1%}); first: {self.first_bad}; counts: {self.summary()}")


class _Sink:
    """The single writer: puts results into the outputs in the order they arrive."""

    def __init__(self, params: ConvertParams, root: Path, images: Path, out_dir: Path, names: list[str],
                 tally: _Tally, stack: ExitStack):
        self.tally = tally
        self.prefixes = [os.path.join(os.fspath(base), "") for base in (images, root)]  # with a trailing "/"
        self.image_dir = out_dir / OUTPUT_PATHS["images"]
        out = {name: out_dir / OUTPUT_PATHS[name] for name in names}
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
            _place(out.record.image_path, target)
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
        """Path of an input image relative to the images folder (else the input root), as posix.
        String prefixes, not pathlib: this runs once per crop in the single writer."""
        text = os.fspath(path)
        for prefix in self.prefixes:
            if text.startswith(prefix):
                return text[len(prefix):].replace(os.sep, "/")
        return text.replace(os.sep, "/")

    def close(self) -> dict[str, int]:
        written: dict[str, int] = {}
        if self.coco is not None:
            coco = self.coco.close()
            written.update(images=coco["images"], instances=coco["annotations"], ignored_instances=coco["ignore"])
        if self.lmdb is not None:
            self.lmdb.close()
            written["crops"] = self.lmdb.count
        return written


def _place(src: Path, dst: Path) -> None:
    """Hard-link ``src`` at ``dst`` (both are immutable artifacts), copying where linking is impossible."""
    if dst.exists():
        return  # the same image named by two records
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


STAGE = StageDef(name="convert", fn=run, params=ConvertParams, version="1", outputs=output_names,
                 description="raw dataset -> COCO detection set / LMDB recognition set + Parquet manifests")
