"""What one dataset output holds, for lineage: a profile (how much: images, instances, ignored, crops)
and a schema (what shape), recorded in the producing stage's manifest and on the MLflow dataset entry
of every run that writes or reads it.

Reads only counts and headers, never pixels: it runs once per dataset output when a stage commits.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.dataset.images import IMAGE_SUFFIXES
from stages.dataset.layout import ANNOTATIONS, IMAGES

DETECTION_SCHEMA = {
    "format": "coco-polygons",
    "images": ["id", "file_name", "width", "height"],
    "annotations": ["id", "image_id", "segmentation", "text", "iscrowd (ignored)", "language", "weight"],
}
LMDB_SCHEMA = {"format": "lmdb-text-recognition", "keys": ["num-samples", "image-%09d", "label-%09d"]}


def describe_dataset(path: Path) -> dict[str, Any]:
    """``{"profile": {...}, "schema": {...}}`` of a detection set (folder or ``annotations.json``), a
    Parquet manifest, a recognition LMDB or an image folder; ``{}`` for anything else."""
    path = Path(path)
    ann = path / ANNOTATIONS if path.is_dir() else path
    if ann.name == ANNOTATIONS and ann.is_file():
        return {"profile": detection_profile(ann), "schema": DETECTION_SCHEMA}
    if path.suffix == ".parquet" and path.is_file():
        return _parquet(path)
    if path.is_dir() and (path / "data.mdb").is_file():
        count, masks = _lmdb_count(path)
        schema = {**LMDB_SCHEMA, "keys": LMDB_SCHEMA["keys"] + ["mask-%09d"]} if masks else LMDB_SCHEMA
        return {"profile": {"crops": count}, "schema": schema}
    if path.is_dir() and (path.name == IMAGES or (path / IMAGES).is_dir()):
        folder = path if path.name == IMAGES else path / IMAGES
        images = sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        return {"profile": {"images": images}, "schema": {"format": "image-folder"}}
    return {}


def detection_profile(annotations: Path) -> dict[str, int]:
    """Images, instances, ignored (don't care) instances, and down-weighted ones (pseudo-labels)."""
    data = json.loads(annotations.read_text(encoding="utf-8"))
    anns = data.get("annotations", [])
    return {"images": len(data.get("images", [])), "instances": len(anns),
            "ignored": sum(1 for a in anns if a.get("iscrowd")),
            "weighted": sum(1 for a in anns if float(a.get("weight", 1.0)) < 1.0)}


def _parquet(path: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    schema = meta.schema.to_arrow_schema()
    return {"profile": {"rows": meta.num_rows},
            "schema": {"format": "parquet", "columns": {f.name: str(f.type) for f in schema}}}


def _lmdb_count(path: Path) -> tuple[int, bool]:
    """The sample count and whether the samples carry glyph masks (``mask-%09d``, judged on the first)."""
    import lmdb

    env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    try:
        with env.begin() as txn:
            raw = txn.get(b"num-samples")
            masks = txn.get(b"mask-000000001") is not None
        return (int(raw) if raw is not None else env.stat()["entries"]), masks
    finally:
        env.close()
