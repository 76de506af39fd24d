"""The synth stage: synthetic scene-text detection sets (images + COCO json + LMDB word crops) and
synthetic word images for recognition (``words`` section: DTRB LMDBs with glyph masks; ``words_stage.py``).

Each configured split gets its own folder ``<split>/images``, ``<split>/annotations.json`` and, with
``crops: true``, ``<split>/crops.lmdb``. The unlabeled split is written the same way: its annotations
are the hidden ground truth the pseudo-label stage evaluates against.

Image ``i`` of split ``s`` is rendered from the seed (seed, crc32(s), i) alone, so outputs are
byte-identical for the same params whatever the shard size or worker count. Shards render and encode in
parallel (``ctx.map``) and return bytes; this process writes the files in image order, so no shard needs
to see the output folder (shards may run on other nodes). A few images of each split are logged drawn
with their ground truth (``samples/<split>.<image>``). A split given as ``{count, ...}`` renders with its own
word height / rotation / ... settings (``scene_split``: e.g. a held-out split of extreme scales and angles).

Word images: each split of ``words.splits`` (a count, or ``{count, held_out, background}``) becomes
``<split>/words.lmdb``, the output ``<split>_words``, counted as ``<split>_words``. Words come from a real
word list (``words.lexicon``: the ``english-words`` package by default), random strings and numbers
(``random_fraction``, ``number_fraction``), in lower, Title or UPPER case; fonts and backgrounds are the
scene renderer's (``font_dir``, ``background_dir``, procedural kinds) plus plain and cluttered ones.
Splits with ``held_out: true`` use only texts no other split uses (a hash partition of the normalised text,
``held_out_fraction``; other splits never use held-out texts, even in a stage without a held-out split). Example::

    words:
      splits: {train: 20000, test: {count: 1000, held_out: true},
               test_cluttered: {count: 500, held_out: true, background: cluttered}}
      height: 32            # px; width: null keeps each word's aspect (up to max_width)
"""
from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipeline.stage import StageContext, StageDef, StageResult
from stages.dataset.crops import crop_instance, encode_crop
from stages.dataset.drawing import log_dataset_samples
from stages.dataset.layout import images_folder, write_detection_set
from stages.dataset.lmdb_writer import LmdbWriter
from stages.dataset.profile import describe_dataset
from stages.dataset.records import ImageRecord, TextInstance
from stages.synth.backgrounds import list_backgrounds
from stages.synth.fonts import find_fonts
from stages.synth.layout import RenderConfig, render_image
from stages.synth.lexicon import load_lexicon
from stages.synth.params import SynthParams
from stages.synth.scene_split import split_count
from stages.synth.words_stage import LMDB_NAME, word_shards, write_word_split

_WINDOW_SHARDS = 64  # shards per ctx.map call: bounds how many encoded images this process holds



@dataclass
class SynthShard:
    """One ``ctx.map`` item: render images [start, start + count) of a split."""

    config: RenderConfig
    seed: int
    split: str
    start: int
    count: int
    image_format: str = "jpg"
    jpeg_quality: int = 95
    crops: bool = True


@dataclass
class RenderedFile:
    """One encoded image and its words, as a shard returns it."""

    file_name: str
    data: bytes
    width: int
    height: int
    instances: list[TextInstance]
    crops: list[tuple[bytes, str]] = field(default_factory=list)
    curved: int = 0
    unplaced: int = 0


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image: a function of (seed, split, index) only."""
    return np.random.default_rng([seed, zlib.crc32(split.encode("utf-8")), index])


def render_shard(shard: SynthShard) -> list[RenderedFile]:
    """Render, encode and crop a shard's images (a top-level function: Ray pickles it by reference)."""
    out = []
    for index in range(shard.start, shard.start + shard.count):
        result = render_image(shard.config, image_rng(shard.seed, shard.split, index))
        bgr = cv2.cvtColor(result.image, cv2.COLOR_RGB2BGR)  # OpenCV codecs and crops work in BGR
        data = _encode(bgr, shard.image_format, shard.jpeg_quality)
        instances = [TextInstance(polygon=[(round(float(x), 2), round(float(y), 2)) for x, y in p.polygon],
                                  text=p.text, language="en") for p in result.instances]
        crops = []
        if shard.crops:
            for inst in instances:
                crop = crop_instance(bgr, inst.polygon)
                if crop is not None:
                    crops.append((encode_crop(crop), inst.text))
        out.append(RenderedFile(file_name=f"{shard.split}_{index:06d}.{shard.image_format}", data=data,
                                width=shard.config.width, height=shard.config.height, instances=instances,
                                crops=crops, curved=sum(p.curved for p in result.instances),
                                unplaced=result.unplaced))
    return out


def _encode(bgr: np.ndarray, fmt: str, quality: int) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, buf = cv2.imencode(f".{fmt}", bgr, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode an image as {fmt}")
    return buf.tobytes()


def _resolve(path: str | None) -> Path | None:
    """A configured path, relative ones against the project home."""
    from pipeline.paths import project_home

    return None if path is None else (Path(path) if Path(path).is_absolute() else project_home() / path)


def render_config(params: SynthParams) -> RenderConfig:
    """The renderer's settings from the params: fonts, backgrounds and words resolved to plain lists."""
    background_dir = _resolve(params.background_dir)
    return RenderConfig(
        width=params.image_size[0], height=params.image_size[1], instances=params.instances_per_image,
        font_size=params.font_size, curved_fraction=params.curved_fraction, arc_degrees=params.arc_degrees,
        rotation_deg=params.rotation_deg, perspective=params.perspective, line_fraction=params.line_fraction,
        number_fraction=params.number_fraction, shadow_prob=params.shadow_prob, border_prob=params.border_prob,
        blur_prob=params.blur_prob, min_contrast=params.min_contrast, curve_points=params.curve_points,
        fonts=find_fonts(_resolve(params.font_dir)),
        backgrounds=list_backgrounds(background_dir) if background_dir is not None else None,
        words=load_lexicon(_resolve(params.lexicon_file)),
    )


def run(params: SynthParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Render every split into ``out_dir/<split>/``; returns one output per scene split (a dataset folder)
    and per word split (its LMDB)."""
    config = render_config(params)
    ctx.logger.info("synth: %d fonts, %d words, %s backgrounds", len(config.fonts), len(config.words),
                    len(config.backgrounds) if config.backgrounds else "procedural")
    counts: dict[str, int] = {"curved_instances": 0, "unplaced_instances": 0}
    for split, settings in params.splits.items():
        total = split_count(settings)
        # a bare count keeps the stage's config object itself: its images stay byte-identical
        split_config = config if isinstance(settings, int) else dataclasses.replace(config, **settings.overrides())
        shards = [SynthShard(split_config, params.seed, split, start, min(params.shard_size, total - start),
                             params.image_format, params.jpeg_quality, params.crops)
                  for start in range(0, total, params.shard_size)]
        split_counts = _write_split(out_dir / split, shards, params.crops, ctx)
        for key, value in split_counts.items():
            if key in counts:
                counts[key] += value
            else:
                counts[f"{split}_{key}"] = value
        ctx.logger.info("synth: %s: %d images, %d instances", split, split_counts["images"], split_counts["instances"])
    outputs = {split: split for split in params.splits}
    if params.words is not None:
        outputs.update(_render_words(params, config, out_dir, ctx, counts))
    return StageResult(outputs=outputs, counts=counts)


def _render_words(params: SynthParams, config: RenderConfig, out_dir: Path, ctx: StageContext,
                  counts: dict[str, int]) -> dict[str, str]:
    """Write every word split's LMDB; its outputs (``<split>_words`` -> ``<split>/words.lmdb``)."""
    words = params.words
    lexicon_file = _resolve(params.lexicon_file)
    shards = word_shards(words, params.seed, config.fonts, config.backgrounds,
                         None if lexicon_file is None else str(lexicon_file))
    first = next(iter(shards.values()), [])
    if first:
        ctx.logger.info("synth: word images from %d listed words (%s), held-out splits: %s",
                        len(first[0].source.words), words.lexicon, ", ".join(words.held_out_splits()) or "none")
    outputs = {}
    for split, split_shards in shards.items():
        split_counts = write_word_split(out_dir / split, split, split_shards, words.samples, ctx)
        counts[f"{split}_words"] = split_counts["words"]
        counts[f"{split}_cluttered_words"] = split_counts["cluttered_words"]
        outputs[f"{split}_words"] = f"{split}/{LMDB_NAME}"
        ctx.logger.info("synth: %s: %d word images", split, split_counts["words"])
    return outputs


def _write_split(folder: Path, shards: list[SynthShard], crops: bool, ctx: StageContext) -> dict[str, int]:
    """Render a split's shards window by window and write images, COCO json and crops in order."""
    images = images_folder(folder)
    records: list[ImageRecord] = []
    counts = {"images": 0, "instances": 0, "crops": 0, "curved_instances": 0, "unplaced_instances": 0}
    lmdb = LmdbWriter(folder / "crops.lmdb") if crops else None
    try:
        for first in range(0, len(shards), _WINDOW_SHARDS):
            for files in ctx.map(render_shard, shards[first:first + _WINDOW_SHARDS]):
                for rendered in files:
                    path = images / rendered.file_name
                    path.write_bytes(rendered.data)
                    records.append(ImageRecord(image_path=path, width=rendered.width, height=rendered.height,
                                               instances=rendered.instances, source="synth"))
                    counts["images"] += 1
                    counts["instances"] += len(rendered.instances)
                    counts["curved_instances"] += rendered.curved
                    counts["unplaced_instances"] += rendered.unplaced
                    for data, label in rendered.crops:
                        lmdb.put(data, label)
                        counts["crops"] += 1
    except BaseException:
        if lmdb is not None:
            lmdb.abort()
        raise
    if lmdb is not None:
        lmdb.close()
    write_detection_set(records, folder)
    log_dataset_samples(ctx, folder.name, records)
    return counts


STAGE = StageDef(
    name="synth",
    fn=run,
    params=SynthParams,
    version="1",
    outputs=lambda p: p.output_names(),
    description="synthetic scene-text images (straight and curved words) with COCO json and LMDB crops, "
                "and word images with glyph masks as recognition LMDBs",
    describe_dataset=describe_dataset,
)
