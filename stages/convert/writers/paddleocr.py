"""PaddleOCR label files, as PPOCRLabel saves them and PaddleOCR's ``SimpleDataSet`` reads them (the
parsers' inverse: ``parsers/paddleocr.py``).

``Label.txt``: ``<image path><TAB><JSON list of {"transcription", "points", "difficult"}>`` a line. A
don't-care instance is written with the transcription ``###`` and ``"difficult": true``: PaddleOCR's
detection label encoder recognises only the ``###`` (its text, if it had one, is not kept).
``rec_gt.txt``: ``<image path><TAB><text>`` a line. A text holding a tab or a line break cannot be written
there (PaddleOCR splits lines at tabs): such an item is left out and counted as ``unwritable``. Image paths
are whatever the caller gives: relative to PaddleOCR's ``data_dir``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from stages.dataset.records import ImageRecord, TextInstance

IGNORE_TEXT = "###"
_UNWRITABLE = ("\t", "\n", "\r")


def label_txt(records: Iterable[tuple[str, ImageRecord]], path: Path) -> dict[str, int]:
    """Write ``(image path, record)`` pairs as a ``Label.txt``; counts of ``written`` and ``unwritable``."""
    counts = {"written": 0, "unwritable": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for name, rec in records:
            if not writable(name):
                counts["unwritable"] += 1
                continue
            entries = [det_entry(inst) for inst in rec.instances]
            f.write(f"{name}\t{json.dumps(entries, ensure_ascii=False)}\n")
            counts["written"] += 1
    return counts


def det_entry(inst: TextInstance) -> dict[str, Any]:
    """One instance as PPOCRLabel writes it."""
    return {"transcription": IGNORE_TEXT if inst.ignore else inst.text,
            "points": [[_num(x), _num(y)] for x, y in inst.polygon],
            "difficult": bool(inst.ignore)}


def rec_gt_txt(items: Iterable[tuple[str, str]], path: Path) -> dict[str, int]:
    """Write ``(image path, text)`` pairs as a ``rec_gt.txt``; counts of ``written`` and ``unwritable``."""
    counts = {"written": 0, "unwritable": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for name, text in items:
            if not (writable(name) and writable(text)):
                counts["unwritable"] += 1
                continue
            f.write(f"{name}\t{text}\n")
            counts["written"] += 1
    return counts


def writable(value: str) -> bool:
    """Whether ``value`` fits in one tab-separated field of a line."""
    return bool(value) and not any(ch in value for ch in _UNWRITABLE)


def _num(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() else value
