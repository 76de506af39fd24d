"""Convert params that only some formats (or tasks) understand, and what they select.

- ``cocotext_split`` (format ``cocotext``): which of COCO-Text's official splits to take, by each image's
  ``set``: ``train`` (the default: convert builds training sets, and COCO-Text's val images are the ones
  results are reported on, so they must stay out of training unless asked for), ``val`` (for an evaluation
  set; v2's test annotations are not public) or ``both``.
- ``lsvt_labels`` (format ``lsvt``): ``full`` (the default, ``train_full_labels.json``: polygons) or
  ``weak`` (``train_weak_labels.json``: only the transcription of each image's text of interest, no
  polygons). Weak labels are not detection instances: that run writes ``images/`` and a manifest whose rows
  carry the image-level ``texts`` (``weak.py``), and no ``annotations.json``.
- ``export`` / ``export_split``: copies of the outputs in MMOCR / PaddleOCR layouts (``writers/export.py``);
  the split name defaults to ``cocotext_split`` (``both`` -> ``trainval``), else ``train``.

Every check raises ValueError, so a config error names the param's key.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Any

from stages.convert.parsers.common import ParserFn

OPTION_FORMAT = {"cocotext_split": "cocotext", "lsvt_labels": "lsvt"}
_SPLIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_option(name: str, value: Any, data: dict[str, Any]) -> Any:
    """Validate option ``name`` against the params validated before it (``data``); returns ``value``."""
    fmt = data.get("format")
    wanted = OPTION_FORMAT.get(name)
    if value is not None and wanted is not None and fmt is not None and fmt != wanted:
        raise ValueError(f"applies only to format: {wanted} (this stage reads format: {fmt})")
    if name == "lsvt_labels" and value == "weak":
        if data.get("task") != "det":
            raise ValueError("weak labels are image-level texts of scene images: use task: det")
        if data.get("crops"):
            raise ValueError("weak labels have no polygons to cut crops from: set crops: false")
    if name == "export" and value and data.get("lsvt_labels") == "weak":
        raise ValueError("weak labels have no instances to export")
    if name == "export" and len(set(value)) != len(value):
        raise ValueError(f"lists a toolkit twice: {value}")
    if name == "export_split" and value is not None and not _SPLIT_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a split name (letters, digits, '_', '-', '.')")
    return value


def parser_for(params: Any) -> ParserFn:
    """The parser for ``params.format`` with the format's options applied."""
    from stages.convert.parsers import PARSERS, cocotext

    if params.format == "cocotext":
        split = params.cocotext_split or "train"
        return partial(cocotext.parse, split=None if split == "both" else split)
    return PARSERS[params.format]


def weak_labels(params: Any) -> bool:
    """Whether this run reads LSVT's weak labels (image-level texts) instead of detection instances."""
    return params.format == "lsvt" and params.lsvt_labels == "weak"


def export_split(params: Any) -> str:
    """The split name in exported file names (``textdet_{split}.json``)."""
    if params.export_split is not None:
        return params.export_split
    if params.format == "cocotext" and params.cocotext_split is not None:
        return {"both": "trainval"}.get(params.cocotext_split, params.cocotext_split)
    return "train"
