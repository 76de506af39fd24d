"""``infer --recognizer``: the detections of a chunk of images read by the recognizer and written out.

The detections are exactly those ``infer`` writes without a recognizer (same predictor, same settings);
each is cut as a rectified crop and read (``spotter``), and the files are ``spot_files``'.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from models.metrics.types import DetPoly
from stages.dataset.images import read_rgb

from .spot_files import write_spots
from .spotter import Spotter


def spot_chunk(recognizer: Any, out: Path, items: list[Any], preds: dict[str, list[DetPoly]],
               args: Any) -> list[dict[str, Any]]:
    """Read ``preds`` (by image id) off their images (``ImageFile``s), write each image's files; returns the
    json records, in order. All crops of the chunk go through the recognizer together."""
    images = [read_rgb(item.path, item.frame) for item in items]
    spots = Spotter(None, recognizer, rec_batch_size=args.rec_batch_size).read(
        images, [preds[item.image_id] for item in items])
    return [write_spots(out, item, found, not args.no_vis) for item, found in zip(items, spots)]
