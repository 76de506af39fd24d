"""End-to-end scores of the evaluate stage: the detections it scored, read by a recognizer.

For a detection test set whose cared instances carry transcriptions, the detections at ``box_thresh``
(the ones the headline metrics and the zip use) are cut as rectified crops and read (``spotter``), then
scored with ICDAR 2015 end to end (generic, no lexicon) and word spotting (``models.metrics.e2e``).
Metric names: ``<set>.e2e_hmean|e2e_precision|e2e_recall`` and ``<set>.wordspotting_hmean|...``, beside
``<set>.hmean`` (with the ``baseline.`` prefix for the baseline detector).
"""
from __future__ import annotations

from typing import Any

from models.checkpoint import load_predictor
from models.metrics import evaluate_e2e
from models.metrics.types import DetPoly
from models.tasks import task_of
from stages.dataset.images import read_rgb

from .inference import TestSet
from .spotter import Spotter

_CHUNK = 16  # images read into memory at a time


def load_recognizer(uri: str, device: Any, tracking_uri: str | None) -> Any:
    """The recognition predictor at ``uri``; another task's model is an error naming the param."""
    reader = load_predictor(uri, device, tracking_uri)
    if task_of(reader.config).name != "recognition":
        raise ValueError(f"evaluate: recognizer_uri / recognizer {uri!r} is a {task_of(reader.config).name} "
                         "model, not a recognizer")
    return reader


def has_transcriptions(ts: TestSet) -> bool:
    """Whether any cared ground-truth instance of the set has a text (else there is nothing to read against)."""
    return any(g.text and not g.ignore for gts in ts.gts.values() for g in gts)


def e2e_metrics(reader: Any, ts: TestSet, preds: dict[str, list[DetPoly]], batch_size: int,
                name: str) -> dict[str, float]:
    """``<name>.e2e_*`` and ``<name>.wordspotting_*`` (hmean, precision, recall) of ``preds`` read by ``reader``."""
    spotter = Spotter(None, reader, rec_batch_size=batch_size)
    read: dict[str, list[DetPoly]] = {}
    for start in range(0, len(ts.images), _CHUNK):
        chunk = ts.images[start: start + _CHUNK]
        images = [read_rgb(item.path, item.frame) for item in chunk]
        spots = spotter.read(images, [preds.get(item.image_id, []) for item in chunk])
        read.update({item.image_id: [s.as_det() for s in found] for item, found in zip(chunk, spots)})
    out = {}
    for key, spotting in (("e2e", False), ("wordspotting", True)):
        r = evaluate_e2e(ts.gts, read, word_spotting=spotting)
        out.update({f"{name}.{key}_hmean": r.hmean, f"{name}.{key}_precision": r.precision,
                    f"{name}.{key}_recall": r.recall})
    return out
