"""The augment stage: one new detection dataset per named variant of a source dataset.

Input ``data``: a folder with ``images/`` and ``annotations.json`` (COCO, as convert and synth write).
Output per variant: ``<variant>/images``, ``<variant>/annotations.json`` and ``<variant>/lineage.json``
(source folder, the exact chain, seed, and for every written image the source image it came from).

Copy ``c`` of source image ``i`` under variant ``v`` is drawn from the seed (seed, crc32(v), i, c)
alone, so outputs are byte-identical for the same params whatever the shard size. Shards get the
source bytes and return encoded results; this process reads and writes every file, in order. A few
images of each variant are logged drawn with their ground truth (``samples/<variant>.<image>``).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.stage import (
    StageContext,
    StageDef,
    StageResult,
)
from stages.augment.params import AugmentParams
from stages.dataset.coco import read_coco
from stages.dataset.drawing import log_dataset_samples
from stages.dataset.images import decode_image
from stages.dataset.layout import images_folder, write_detection_set
from stages.dataset.profile import describe_dataset
from stages.dataset.records import ImageRecord, TextInstance
from stages.dataset.transforms.chain import build_chain

_WINDOW_SHARDS = 32  # shards per ctx.map call: bounds the image bytes this process holds at once


@dataclass
class SourceImage:
    """One source image as a shard gets it: its index, bytes and record."""

    index: int
    data: bytes
    record: ImageRecord


@dataclass
class AugmentShard:
    """One ``ctx.map`` item: every copy of some source images under one variant."""

    variant: str
    chain: list[dict[str, Any]]
    seed: int
    copies: int
    sources: list[SourceImage]
    image_format: str = "jpg"
    jpeg_quality: int = 95


@dataclass
class AugmentedFile:
    """One encoded output image and its instances, as a shard returns it."""

    file_name: str
    data: bytes
    width: int
    height: int
    instances: list[TextInstance]
    source: str
    copy: int
    dropped: int = 0
    stats: dict[str, int] = field(default_factory=dict)


def copy_rng(seed: int, variant: str, index: int, copy: int) -> np.random.Generator:
    """The generator of one output image: a function of (seed, variant, source index, copy) only."""
    return np.random.default_rng([seed, zlib.crc32(variant.encode("utf-8")), index, copy])


def augment_shard(shard: AugmentShard) -> list[AugmentedFile]:
    """Apply the variant's chain to every copy of the shard's images (top-level: Ray pickles it by name)."""
    chain = build_chain(shard.chain)
    out = []
    for src in shard.sources:
        image = decode_image(src.data)  # the stored pixel frame its polygons are drawn in
        if image is None:
            raise ValueError(f"{src.record.image_path}: not a readable image")
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        for copy in range(shard.copies):
            out.append(_augment_one(chain, image, src, copy, shard))
    return out


def _augment_one(chain, image: np.ndarray, src: SourceImage, copy: int, shard: AugmentShard) -> AugmentedFile:
    """One augmented copy: word and character polygons all go through the chain in one list."""
    instances = src.record.instances
    polygons = [np.asarray(inst.polygon, dtype=np.float64) for inst in instances]
    flags = [inst.ignore for inst in instances]
    for inst in instances:  # character boxes ride along after the words
        polygons += [np.asarray(poly, dtype=np.float64) for _, poly in inst.chars]
        flags += [inst.ignore] * len(inst.chars)
    out, polygons, flags = chain(image, polygons, flags, copy_rng(shard.seed, shard.variant, src.index, copy))
    kept, dropped, cursor = [], 0, len(instances)
    for i, inst in enumerate(instances):
        chars = []
        for (ch, _), poly in zip(inst.chars, polygons[cursor:cursor + len(inst.chars)]):
            if len(poly) >= 3:
                chars.append((ch, _points(poly)))
        cursor += len(inst.chars)
        if len(polygons[i]) < 3:
            dropped += 1
            continue
        kept.append(TextInstance(polygon=_points(polygons[i]), text=inst.text, ignore=bool(flags[i]),
                                 language=inst.language, weight=inst.weight, chars=chars))
    stem = Path(src.record.image_path).stem
    bgr = cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
    params = ([cv2.IMWRITE_JPEG_QUALITY, shard.jpeg_quality] if shard.image_format == "jpg"
              else [cv2.IMWRITE_PNG_COMPRESSION, 3])
    ok, buf = cv2.imencode(f".{shard.image_format}", bgr, params)
    if not ok:
        raise RuntimeError(f"{src.record.image_path}: OpenCV could not encode the augmented image")
    return AugmentedFile(file_name=f"{src.index:06d}_{stem}_c{copy}.{shard.image_format}", data=buf.tobytes(),
                         width=out.shape[1], height=out.shape[0], instances=kept,
                         source=Path(src.record.image_path).name, copy=copy, dropped=dropped)


def _points(poly: np.ndarray) -> list[tuple[float, float]]:
    return [(round(float(x), 2), round(float(y), 2)) for x, y in poly]


def run(params: AugmentParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Write one augmented dataset per variant under ``out_dir/<variant>/``."""
    if "data" not in inputs:
        raise KeyError(f"augment needs an input named 'data' (a dataset folder); got {sorted(inputs)}")
    root = Path(inputs["data"])
    ann_path = root / params.annotations
    if not ann_path.is_file():
        raise FileNotFoundError(f"augment: {ann_path} not found (set 'annotations' to the COCO file in the input)")
    records = list(read_coco(ann_path, root / params.images))
    counts: dict[str, int] = {"source_images": len(records)}
    for variant, chain in params.variants.items():
        variant_counts = _write_variant(out_dir / variant, variant, chain, records, params, ctx, root)
        counts.update({f"{variant}_{k}": v for k, v in variant_counts.items()})
        ctx.logger.info("augment: %s: %d images, %d instances", variant, variant_counts["images"],
                        variant_counts["instances"])
    return StageResult(outputs={v: v for v in params.variants}, counts=counts,
                       extra={"lineage": {v: {"source": str(root), "input": "data"} for v in params.variants}})


def _write_variant(folder: Path, variant: str, chain: list[dict[str, Any]], records: list[ImageRecord],
                   params: AugmentParams, ctx: StageContext, root: Path) -> dict[str, int]:
    """Augment every record under one variant, window by window, and write the dataset in order."""
    images = images_folder(folder)
    written: list[ImageRecord] = []
    lineage: list[list[Any]] = []
    counts = {"images": 0, "instances": 0, "ignored": 0, "dropped": 0}
    step = params.shard_size * _WINDOW_SHARDS
    for first in range(0, len(records), step):
        shards = []
        for start in range(first, min(first + step, len(records)), params.shard_size):
            sources = [SourceImage(i, _read_bytes(records[i].image_path), records[i])
                       for i in range(start, min(start + params.shard_size, len(records)))]
            shards.append(AugmentShard(variant, chain, params.seed, params.copies, sources,
                                       params.image_format, params.jpeg_quality))
        for files in ctx.map(augment_shard, shards):
            for f in files:
                path = images / f.file_name
                path.write_bytes(f.data)
                written.append(ImageRecord(image_path=path, width=f.width, height=f.height,
                                           instances=f.instances, source=f.source))
                lineage.append([f.file_name, f.source, f.copy])
                counts["images"] += 1
                counts["instances"] += len(f.instances)
                counts["ignored"] += sum(inst.ignore for inst in f.instances)
                counts["dropped"] += f.dropped
    write_detection_set(written, folder)
    log_dataset_samples(ctx, variant, written)
    meta = {"source": str(root), "source_annotations": params.annotations, "variant": variant, "chain": chain,
            "seed": params.seed, "copies": params.copies, "images": lineage}
    (folder / "lineage.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"augment: source image {path} not found") from None


STAGE = StageDef(
    name="augment",
    fn=run,
    params=AugmentParams,
    version="1",
    outputs=lambda p: list(p.variants),
    description="augmented copies of a detection dataset, one dataset per named variant",
    describe_dataset=describe_dataset,
)
