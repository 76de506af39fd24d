"""The detection-dataset folder: ``annotations.json`` (COCO, ``stages.dataset.coco``) beside ``images/``.

Every stage that writes a detection set (convert, synth, augment, pseudo_label) writes this layout with
``write_detection_set``, and every stage that reads one (train, evaluate, pseudo_label, export) finds its
files with ``detection_files``: the one rule for both sides.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from stages.dataset.coco import read_coco, write_coco
from stages.dataset.records import ImageRecord

ANNOTATIONS = "annotations.json"
IMAGES = "images"


def detection_files(path: str | Path) -> tuple[Path, Path]:
    """(annotations.json, images folder) of a detection set given as its folder or its annotations file.

    The images folder is the ``images/`` beside the annotations file (what convert's ``annotations``
    output and every dataset folder have)."""
    path = Path(path)
    ann = path / ANNOTATIONS if path.is_dir() else path
    if not ann.is_file():
        raise FileNotFoundError(f"dataset {path}: no {ANNOTATIONS} "
                                f"(give a folder holding it and {IMAGES}/, or the file)")
    images = ann.parent / IMAGES
    if not images.is_dir():
        raise FileNotFoundError(f"dataset {path}: no {IMAGES}/ folder beside {ann.name}")
    return ann, images


def read_detection_set(path: str | Path) -> Iterator[ImageRecord]:
    """The records of the detection set at ``path`` (folder or annotations file), image paths resolved."""
    ann, images = detection_files(path)
    return read_coco(ann, images)


def images_folder(folder: str | Path) -> Path:
    """The ``images/`` folder of the dataset folder being written at ``folder`` (created)."""
    images = Path(folder) / IMAGES
    images.mkdir(parents=True, exist_ok=True)
    return images


def write_detection_set(records: Iterable[ImageRecord], folder: str | Path) -> dict[str, int]:
    """Write ``folder/annotations.json`` for records whose images lie under ``folder/images``; the counts."""
    return write_coco(records, Path(folder) / ANNOTATIONS, Path(folder) / IMAGES)
