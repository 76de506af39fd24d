"""``infer --recognizer``: the detections of a chunk of images read by the recognizer and written out.

The detections are exactly those ``infer`` writes without a recognizer (same predictor, same settings);
each is read (``spotter.read_spots``: a recognizer reads its rectified crop, a spotting model reads it
with its own recognition branch), and the files are ``spot_files``'.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from models.metrics.types import DetPoly
from stages.dataset.images import read_rgb

from .spot_files import write_spots
from .spotter import read_spots


def spot_chunk(recognizer: Any, out: Path, items: list[Any], preds: dict[str, list[DetPoly]],
               args: Any) -> list[dict[str, Any]]:
    """Read ``preds`` (by image id) off their images (``ImageFile``s), write each image's files; returns the
    json records, in order. All crops of the chunk go through the recognizer together."""
    images = [read_rgb(item.path, item.frame) for item in items]
    spots = read_spots(recognizer, images, [preds[item.image_id] for item in items],
                       rec_batch_size=args.rec_batch_size, image_size=args.image_size)
    return [write_spots(out, item, found, not args.no_vis) for item, found in zip(items, spots)]
