"""The convert stage: a raw dataset (as downloaded) -> our detection / recognition formats.

- ``task: det`` writes ``images/`` (hard links, or copies across file systems), ``annotations.json`` (COCO)
  and ``manifest.parquet`` (one row per image); with ``crops: true`` also ``crops.lmdb/`` (word crops in the
  deep-text-recognition-benchmark layout) and ``crops.parquet`` (one row per crop).
- ``task: rec`` writes ``crops.lmdb/`` and ``manifest.parquet`` (one row per crop): ready-made word images
  are verified and stored as they are; scene images are cut into word crops.
- LSVT weak labels (``lsvt_labels: weak``) write ``images/`` and ``manifest.parquet`` only (``weak.py``);
  ``export: [mmocr, paddleocr]`` adds ``mmocr/`` / ``paddleocr/`` copies (``writers/export.py``); format
  options are checked and applied in ``options.py``.

The parser runs here, in record order. Records go out in windows, each window split into ``shards``
contiguous slices that ``ctx.map`` processes in parallel (``shard_work.py``: decode and verify images,
validate polygons, cut and encode crops); one writer (``sink.py``) then stores the results in record order,
so the same input gives byte-identical output whatever the shard count. While one window is being written
the next two are being processed, and memory holds at most three windows and the one being cut.

A list of word images (``textlist``, ``mjsynth``; ``task: rec``) skips the parse here: the shards parse
their own slices of the list (``list_shards.py``), for the same outputs.

Bad input never stops the stage by itself: skipped items and repaired or dropped polygons are counted per
reason. An item is bad when it was skipped or lost an instance; past ``max_bad_fraction`` of bad items the
stage fails with the counts and the first offending file and line.
"""
from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from itertools import chain, islice
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from pipeline.stage import (
    StageContext,
    StageDef,
    StageResult,
)
from stages.convert.list_shards import SLICE_BYTES, convert_slice, list_slices
from stages.convert.options import export_split, parser_for, weak_labels
from stages.convert.params import ConvertParams
from stages.convert.parsers.line_format import LineFormat
from stages.convert.shard_work import ImageOut, Item, ShardJob, process_shard, work_unit
from stages.convert.sink import Sink, Tally
from stages.convert.weak import WeakSink, weak_items
from stages.convert.writers.export import export_dataset
from stages.dataset.profile import describe_dataset
from stages.dataset.records import CropRecord, ImageRecord, ParseError, Skipped

J = TypeVar("J")
R = TypeVar("R")
T = TypeVar("T")

OUTPUT_PATHS = {
    "images": "images",
    "annotations": "annotations.json",
    "manifest": "manifest.parquet",
    "crops": "crops.lmdb",
    "crops_manifest": "crops.parquet",
    "mmocr": "mmocr",
    "paddleocr": "paddleocr",
}
# Work per shard and window: a scene image (decode, maybe several crops) costs about as much as this many
# ready-made word crops; a shard gets WINDOW_COST units, so tasks last long enough to hide scheduling.
IMAGE_COST = 16
WINDOW_COST = 512


def output_names(params: ConvertParams) -> list[str]:
    """The outputs ``run`` produces for ``params``."""
    if params.task == "rec":
        names = ["crops", "manifest"]
    elif weak_labels(params):
        names = ["images", "manifest"]
    else:
        names = ["images", "annotations", "manifest"] + (["crops", "crops_manifest"] if params.crops else [])
    return names + list(params.export)


# --- the stage ---------------------------------------------------------------------------------------


def run(params: ConvertParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Parse ``inputs["data"]`` with the ``params.format`` parser and write the outputs into ``out_dir``."""
    from stages.convert.parsers import line_format

    root = Path(inputs["data"])
    annotations, images = root / params.annotations, root / params.images
    ctx.logger.info("parsing %s (%s) for %s", annotations, params.format, params.task)
    fmt = line_format(params.format, annotations) if params.task == "rec" else None
    if weak_labels(params):
        result = convert_weak(annotations, images, params, out_dir, ctx)
    elif fmt is not None:
        result = convert_list(annotations, images, fmt, params, root, out_dir, ctx)
    else:
        result = convert(parser_for(params)(annotations, images), params, root, out_dir, ctx)
    return exported(result, params, out_dir)


def convert(items: Iterable[Item], params: ConvertParams, root: Path, out_dir: Path,
            ctx: StageContext) -> StageResult:
    """Write parsed ``items`` (from a dataset under ``root``) as the stage's outputs; see the module doc."""
    shards = _shards(params, ctx)
    tally = Tally()
    with ExitStack() as stack:
        sink = Sink(Path(root), Path(root) / params.images, _output_paths(params, out_dir), tally, stack)
        make_crops = params.task == "rec" or params.crops
        for item, result in _processed(_checked(items, params, tally), ctx, shards, make_crops,
                                       params.crop_format):
            sink.add(item, result)
        written = sink.close()
    return _result(params, tally, written, ctx)


def convert_list(annotations: Path, images: Path, fmt: LineFormat, params: ConvertParams, root: Path,
                 out_dir: Path, ctx: StageContext) -> StageResult:
    """``task: rec`` for a list of word images, one per line: the shards parse their own slices of the list
    (``list_shards.py``); the outputs are those ``convert`` writes for the same list."""
    shards = _shards(params, ctx)
    try:
        size = os.path.getsize(annotations)
    except OSError as err:
        raise ParseError(annotations, None, f"cannot read: {err}") from err
    # Small lists still make a few slices per shard; large ones SLICE_BYTES each.
    slice_bytes = max(1, min(SLICE_BYTES, size // (4 * shards)))
    spill = Path(out_dir) / ".spill"  # where shards on this file system leave their images (list_shards.py)
    spill.mkdir(parents=True, exist_ok=True)
    slices = list_slices(annotations, images, Path(root), fmt, slice_bytes, spill)
    tally = Tally()
    try:
        with ExitStack() as stack:
            sink = Sink(Path(root), images, _output_paths(params, out_dir), tally, stack)
            batches = ((None, group) for group in _groups(slices, 2 * shards))
            for _, results in _pipelined(ctx, convert_slice, batches):
                for words in results:
                    if words.error is not None:
                        raise ParseError(annotations, *words.error)
                    sink.add_words(words)
            written = sink.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return _result(params, tally, written, ctx)


def convert_weak(annotations: Path, images: Path, params: ConvertParams, out_dir: Path,
                 ctx: StageContext) -> StageResult:
    """LSVT weak labels: verified images and a manifest of their image-level texts (see ``weak.py``)."""
    shards = _shards(params, ctx)
    tally = Tally()
    texts: dict[str, list[str]] = {}
    paths = _output_paths(params, out_dir)
    with ExitStack() as stack:
        sink = WeakSink(images, paths["images"], paths["manifest"], texts, tally, stack)
        for item, result in _processed(_checked(weak_items(annotations, images, texts), params, tally), ctx,
                                       shards, False, params.crop_format):
            sink.add(item, result)
    return _result(params, tally, {"images": sink.written}, ctx)


def exported(result: StageResult, params: ConvertParams, out_dir: Path) -> StageResult:
    """``result`` with the ``params.export`` copies written into ``out_dir`` and counted."""
    for toolkit in params.export:
        counts = export_dataset(Path(out_dir), toolkit, Path(out_dir) / OUTPUT_PATHS[toolkit], export_split(params))
        result.counts.update({f"export.{toolkit}.{name}": n for name, n in counts.items()})
    return result


def _shards(params: ConvertParams, ctx: StageContext) -> int:
    """The shard count: as configured, else one per CPU of the stage."""
    return params.shards or max(1, int(ctx.num_cpus))


def _output_paths(params: ConvertParams, out_dir: Path) -> dict[str, Path]:
    return {name: Path(out_dir) / OUTPUT_PATHS[name] for name in output_names(params)}


def _result(params: ConvertParams, tally: Tally, written: dict[str, int], ctx: StageContext) -> StageResult:
    """Fail past ``max_bad_fraction``, else the StageResult with the writers' and the tally's counts."""
    tally.check(params.max_bad_fraction, params.annotations)
    counts = {**written, **tally.summary()}
    ctx.logger.info("wrote %s", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return StageResult(outputs={name: OUTPUT_PATHS[name] for name in output_names(params)}, counts=counts,
                       metrics={"data/bad_fraction": tally.bad / tally.items},  # data/: a written set's quality
                       extra={"first_bad": tally.first_bad} if tally.first_bad else {})


def _checked(items: Iterable[Item], params: ConvertParams, tally: Tally) -> Iterator[Item]:
    """Count the items and refuse a recognition set for a detection task."""
    for item in items:
        tally.items += 1
        if isinstance(item, CropRecord) and params.task == "det":
            raise ValueError(f"{item.source}: format {params.format!r} yields word crops, not scene images; "
                             "use task: rec")
        yield item


def _processed(items: Iterable[Item], ctx: StageContext, shards: int, make_crops: bool,
               crop_format: str) -> Iterator[tuple[Item, ImageOut | tuple[bytes, int, int] | Skipped]]:
    """(item, result) in item order, a window of items at a time, each window cut into one job per shard."""
    batches = ((window, [ShardJob([work_unit(item) for item in part], make_crops, crop_format)
                         for part in _split(window, shards)])
               for window in _windows(items, shards * WINDOW_COST))
    done = 0
    for window, results in _pipelined(ctx, process_shard, batches):
        yield from zip(window, chain.from_iterable(results))
        done += len(window)
        ctx.progress(done, None, "items")


def _pipelined(ctx: StageContext, fn: Callable[[J], R],
               batches: Iterable[tuple[T, list[J]]]) -> Iterator[tuple[T, list[R]]]:
    """(tag, ``ctx.map(fn, jobs)``) for each (tag, jobs) batch, in order. While the caller handles batch k's
    results, batches k+1 and k+2 are in ``ctx.map`` at once (two background threads), so the shards never
    idle at a batch boundary waiting for the slowest job; at most three batches are held."""
    with ThreadPoolExecutor(max_workers=2) as executor:
        queued: list[tuple[T, Future]] = []
        try:
            for tag, jobs in batches:
                queued.append((tag, executor.submit(ctx.map, fn, jobs)))
                if len(queued) == 3:
                    tag, future = queued.pop(0)
                    yield tag, future.result()
            while queued:
                tag, future = queued.pop(0)
                yield tag, future.result()
        finally:
            for _, future in queued:
                future.cancel()


def _groups(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while group := list(islice(iterator, size)):
        yield group


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


STAGE = StageDef(name="convert", fn=run, params=ConvertParams, version="1", outputs=output_names,
                 description="raw dataset -> COCO detection set / LMDB recognition set + Parquet manifests",
                 describe_dataset=describe_dataset)
