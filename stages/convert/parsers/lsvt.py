"""ICDAR 2019 LSVT (Large-scale Street View Text) ground truth.

Fully annotated part, ``train_full_labels.json`` (ArT's schema, no ``language``)::

    {"gt_0": [{"transcription": "一站式购物中心", "points": [[45, 272], ...], "illegibility": false}, ...]}

``illegibility: true`` or ``###`` marks a don't-care region; images are ``gt_N.jpg`` (shipped in
``train_full_images_0/`` and ``train_full_images_1/``: the image folder is searched recursively).

Weakly annotated part, ``train_weak_labels.json``: the same keys, but each entry holds only the
``transcription`` of the image's text of interest, with no ``points``. A text without a region
is not a detection instance (``TextInstance`` needs a polygon, and an empty or invented one would
teach a detector wrong boxes), so ``parse`` does not read weak entries: ``parse_weak`` yields
``(image path, [transcriptions])`` for the stages that can use image-level text (pseudo-labelling,
weakly supervised spotting), and leaves the record model unchanged.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from stages.convert.parsers.art import load_labels_json, parse_labels_json
from stages.convert.parsers.common import ImageIndex
from stages.dataset.records import ImageRecord, Skipped


def parse(annotations: Path, images: Path) -> Iterator[ImageRecord | Skipped]:
    """Yield the records of ``train_full_labels.json``; an entry without ``points`` (a weak label
    given by mistake) is Skipped as ``bad_polygon``."""
    return parse_labels_json(annotations, images)


def parse_weak(annotations: Path, images: Path) -> Iterator[tuple[Path, list[str]] | Skipped]:
    """Yield ``(image path, transcriptions)`` per image of ``train_weak_labels.json``.

    Transcriptions are kept verbatim and in order; entries that are not ``{"transcription": str}``
    are Skipped as ``malformed_record``, images not found as ``missing_image``.
    """
    data = load_labels_json(annotations)
    name = Path(annotations).name
    index = ImageIndex(images)
    for key, entries in data.items():
        image = index.locate(f"{name}:{key}", key)
        if isinstance(image, Skipped):
            yield image
            continue
        if not isinstance(entries, list):
            yield Skipped("malformed_record", f"{name}:{key}", f"expected a list, got {type(entries).__name__}")
            continue
        texts = []
        for i, entry in enumerate(entries):
            text = entry.get("transcription") if isinstance(entry, dict) else None
            if not isinstance(text, str):
                yield Skipped("malformed_record", f"{name}:{key}[{i}]", f"no transcription string in {entry!r}"[:160])
                continue
            texts.append(text)
        yield image, texts
