"""The synth stage's word images: ``<split>/words.lmdb`` per split of the ``words`` section.

Each LMDB is in the deep-text-recognition-benchmark layout (``image-%09d`` JPEG, ``label-%09d``,
``num-samples``) plus ``mask-%09d``: the word's glyph mask, an 8-bit PNG the size of the image, 255 =
glyph pixel. Word ``i`` of split ``s`` is rendered from the seed (seed, crc32(s), i, 1) alone, so the
LMDB is byte-identical for the same params whatever the shard size or worker count; shards render and
encode in parallel (``ctx.map``) and this process writes the samples in order.

A split marked ``held_out`` draws its texts from the held-out part of the vocabulary, which the other
splits never use, whether or not the stage has a held-out split (``stages/synth/vocabulary.py``): a
held-out split rendered by another synth stage with the same ``held_out_fraction`` is disjoint too.

A grid of each split's first word images, with their masks and labels, is logged as ``samples/<split>_words``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from pipeline.stage import StageContext
from stages.dataset.drawing import image_key
from stages.dataset.images import decode_image
from stages.dataset.lmdb_writer import LmdbWriter
from stages.synth.vocabulary import TextSource, load_words
from stages.synth.word_image import WordStyle, render_word
from stages.synth.word_params import WordParams

LMDB_NAME = "words.lmdb"
_WINDOW_SHARDS = 16  # shards per ctx.map call: bounds how many encoded words this process holds
_MODE = 1  # in the seed: word images never share a random stream with the scene image of the same index


@dataclass
class WordShard:
    """One ``ctx.map`` item: render words [start, start + count) of a split."""

    style: WordStyle
    source: TextSource
    seed: int
    split: str
    start: int
    count: int
    jpeg_quality: tuple[int, int]


def word_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one word image: a function of (seed, split, index) only."""
    return np.random.default_rng([seed, zlib.crc32(split.encode("utf-8")), index, _MODE])


def render_word_shard(shard: WordShard) -> list[tuple[bytes, str, bytes, int]]:
    """(JPEG bytes, label, mask PNG bytes, cluttered 0/1) per word of the shard (a top-level function: Ray
    pickles it by reference)."""
    out = []
    for index in range(shard.start, shard.start + shard.count):
        rng = word_rng(shard.seed, shard.split, index)
        word = render_word(shard.style, shard.source, rng)
        quality = int(rng.integers(shard.jpeg_quality[0], shard.jpeg_quality[1] + 1))
        image = _encode(".jpg", cv2.cvtColor(word.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        mask = _encode(".png", word.mask, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        out.append((image, word.text, mask, int(word.cluttered)))
    return out


def _encode(ext: str, image: np.ndarray, params: list[int]) -> bytes:
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a word image as {ext}")
    return buf.tobytes()


def word_shards(words: WordParams, seed: int, fonts: list[str], background_files: list[str] | None,
                lexicon_file: str | None) -> dict[str, list[WordShard]]:
    """Every split's shards, with its style (background kind) and its side of the vocabulary."""
    style = WordStyle(
        height=words.height, width=words.width, max_width=words.max_width, font_scale=words.font_scale,
        padding=words.padding, curved_fraction=words.curved_fraction, arc_degrees=words.arc_degrees,
        rotation_deg=words.rotation_deg, perspective=words.perspective, shadow_prob=words.shadow_prob,
        border_prob=words.border_prob, blur_prob=words.blur_prob, blur_sigma=words.blur_sigma,
        noise_prob=words.noise_prob, noise_sigma=words.noise_sigma, clutter_fraction=words.clutter_fraction,
        min_contrast=words.min_contrast, low_res_prob=words.low_res_prob, low_res_height=words.low_res_height,
        fonts=fonts, background_files=background_files)
    vocabulary = load_words(words.lexicon, lexicon_file, words.word_length)
    shards = {}
    for name, split in words.splits.items():
        source = TextSource(words=vocabulary, random_fraction=words.random_fraction,
                            number_fraction=words.number_fraction, random_chars=words.random_chars,
                            random_length=words.random_length, case_weights=words.case_weights,
                            held_out_fraction=words.held_out_fraction, partition=True, held_out=split.held_out,
                            punctuation_fraction=words.punctuation_fraction, punctuation=words.punctuation)
        split_style = replace(style, background=split.background)
        shards[name] = [WordShard(split_style, source, seed, name, start, min(words.shard_size, split.count - start),
                                  words.jpeg_quality)
                        for start in range(0, split.count, words.shard_size)]
    return shards


def write_word_split(folder: Path, name: str, shards: list[WordShard], samples: int,
                     ctx: StageContext) -> dict[str, int]:
    """Render a split's shards window by window into ``folder/words.lmdb``; its counts."""
    total = sum(s.count for s in shards)
    counts = {"words": 0, "cluttered_words": 0}
    shown: list[tuple[bytes, str, bytes]] = []
    with LmdbWriter(folder / LMDB_NAME) as lmdb:
        for first in range(0, len(shards), _WINDOW_SHARDS):
            for words in ctx.map(render_word_shard, shards[first:first + _WINDOW_SHARDS]):
                for image, label, mask, cluttered in words:
                    lmdb.put(image, label, mask_bytes=mask)
                    counts["words"] += 1
                    counts["cluttered_words"] += cluttered
                    if len(shown) < samples:
                        shown.append((image, label, mask))
            ctx.progress(counts["words"], total, "words")
    if shown:
        ctx.log_image(image_key(f"{name}_words"), sample_grid(shown), 0)
    return counts


def sample_grid(samples: list[tuple[bytes, str, bytes]], columns: int = 2) -> np.ndarray:
    """An RGB grid of word images, each with its mask beside it and its label under it."""
    cells = []
    for image_bytes, label, mask_bytes in samples:
        image = decode_image(image_bytes)
        mask = cv2.cvtColor(decode_image(mask_bytes, gray=True), cv2.COLOR_GRAY2BGR)
        h = image.shape[0]
        cell = np.full((h + 18, 2 * 260, 3), 255, np.uint8)
        w = min(image.shape[1], 256)
        cell[:h, :w] = image[:, :w]
        cell[:h, 260:260 + w] = mask[:, :w]
        cv2.putText(cell, label[:40], (2, h + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cells.append(cell)
    height = max(c.shape[0] for c in cells)
    cells = [cv2.copyMakeBorder(c, 0, height - c.shape[0] + 2, 0, 4, cv2.BORDER_CONSTANT, value=(200, 200, 200))
             for c in cells]
    while len(cells) % columns:
        cells.append(np.full_like(cells[0], 200))
    rows = [np.hstack(cells[i:i + columns]) for i in range(0, len(cells), columns)]
    return np.ascontiguousarray(cv2.cvtColor(np.vstack(rows), cv2.COLOR_BGR2RGB))
