"""A dataset folder of this project, copied into MMOCR's or PaddleOCR's layout (``convert``'s ``export``).

Input: a convert output folder: ``annotations.json`` + ``images/`` (detection) and/or ``crops.lmdb``
(recognition). Output, one self-contained folder per toolkit (images hard-linked, crops written as files):

- ``mmocr``: ``textdet_{split}.json`` + ``textdet_imgs/{split}/``, ``textrecog_{split}.json`` +
  ``textrecog_imgs/{split}/`` (MMOCR's dataset-preparer layout: the folder is the ``data_root``);
- ``paddleocr``: ``Label.txt`` + ``images/``, ``rec_gt.txt`` + ``crop_img/`` (PPOCRLabel's names; the folder
  is PaddleOCR's ``data_dir``).

Crop files are named by their LMDB index (``000000001.jpg``), with the extension of their encoded format.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from stages.convert.writers import mmocr, paddleocr
from stages.dataset import lmdb_reader
from stages.dataset.coco import read_coco
from stages.dataset.layout import ANNOTATIONS, IMAGES
from stages.dataset.records import CropRecord, ImageRecord
from stages.dataset.tree import link_or_copy

CROPS = "crops.lmdb"
# Encoded-image signatures -> file extension (MMOCR and PaddleOCR decode by content; the name is for people).
_SIGNATURES = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG", "png"), (b"BM", "bmp"), (b"GIF8", "gif"),
               (b"II*\x00", "tif"), (b"MM\x00*", "tif"))


@dataclass(frozen=True)
class Layout:
    """Where one toolkit wants detection and recognition files (``{split}`` is filled in)."""

    det_file: str
    det_images: str
    rec_file: str
    rec_images: str
    write_det: Callable[[Iterable[tuple[str, ImageRecord]], Path], int | dict[str, int]]
    write_rec: Callable[[Iterable[tuple[str, str]], Path], int | dict[str, int]]


LAYOUTS = {
    "mmocr": Layout("textdet_{split}.json", "textdet_imgs/{split}", "textrecog_{split}.json",
                    "textrecog_imgs/{split}", mmocr.textdet_json, mmocr.textrecog_json),
    "paddleocr": Layout("Label.txt", "images", "rec_gt.txt", "crop_img", paddleocr.label_txt, paddleocr.rec_gt_txt),
}


def export_dataset(dataset: Path, toolkit: str, out: Path, split: str = "train") -> dict[str, int]:
    """Write ``dataset`` (see the module doc) into ``out`` in ``toolkit``'s layout; returns counts
    (``images``, ``crops``, ``unwritable``). ValueError for an unknown toolkit or a folder with nothing
    to export."""
    if toolkit not in LAYOUTS:
        raise ValueError(f"unknown export toolkit {toolkit!r}; valid: {', '.join(sorted(LAYOUTS))}")
    layout, dataset, out = LAYOUTS[toolkit], Path(dataset), Path(out)
    counts: dict[str, int] = {}
    if (dataset / ANNOTATIONS).is_file():
        images = _linked_images(read_coco(dataset / ANNOTATIONS, dataset / IMAGES), dataset / IMAGES,
                                out, layout.det_images.format(split=split))
        _add(counts, "images", layout.write_det(images, out / layout.det_file.format(split=split)))
    if (dataset / CROPS).is_dir():
        crops = _crop_files(dataset / CROPS, out, layout.rec_images.format(split=split), toolkit)
        _add(counts, "crops", layout.write_rec(crops, out / layout.rec_file.format(split=split)))
    if not counts:
        raise ValueError(f"{dataset}: nothing to export (no {ANNOTATIONS} and no {CROPS})")
    return counts


def _add(counts: dict[str, int], name: str, written: int | dict[str, int]) -> None:
    if isinstance(written, int):
        written = {"written": written}
    counts[name] = written["written"]
    counts["unwritable"] = counts.get("unwritable", 0) + written.get("unwritable", 0)


def _linked_images(records: Iterable[ImageRecord], images: Path, out: Path,
                   folder: str) -> Iterator[tuple[str, ImageRecord]]:
    """Link each record's image into ``out/folder`` and yield (its path relative to ``out``, record)."""
    for rec in records:
        rel = PurePosixPath(Path(rec.image_path).relative_to(images).as_posix())
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"{images}: image {rel} is outside the images folder")
        target = out / folder / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            link_or_copy(rec.image_path, target)
        yield f"{folder}/{rel}", rec


def _crop_files(lmdb_path: Path, out: Path, folder: str, toolkit: str) -> Iterator[tuple[str, str]]:
    """Write each LMDB crop as ``out/folder/<index>.<ext>`` and yield (its path relative to ``out``, label).
    A label the toolkit's file cannot hold gets no file (the writer counts it)."""
    (out / folder).mkdir(parents=True, exist_ok=True)
    for item in lmdb_reader.parse(lmdb_path):
        if not isinstance(item, CropRecord):
            raise ValueError(f"{lmdb_path}: damaged sample {item.source}: {item.reason}")
        name = f"{folder}/{item.source.rsplit(':', 1)[1].zfill(9)}.{image_extension(item.image_bytes)}"
        if toolkit != "paddleocr" or paddleocr.writable(item.label):
            (out / name).write_bytes(item.image_bytes)
        yield name, item.label


def image_extension(data: bytes) -> str:
    """The usual file extension of encoded image ``data`` (``img`` when the format is not recognised)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((ext for magic, ext in _SIGNATURES if data.startswith(magic)), "img")
