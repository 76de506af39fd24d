"""End-to-end scores of the evaluate stage: the detections it scored, read by a recognizer.

For a detection test set whose cared instances carry transcriptions, the detections at ``box_thresh``
(the ones the headline metrics and the zip use) are cut as rectified crops and read (``spotter``), then
scored with ICDAR 2015 end to end (generic, no lexicon) and word spotting (``models.metrics.e2e``).
Metric names: ``<set>.e2e_hmean|e2e_precision|e2e_recall`` and ``<set>.wordspotting_hmean|...``, beside
``<set>.hmean`` (with the ``baseline.`` prefix for the baseline detector). The generic result also feeds the
per-bin analysis (``spot_analysis``).

Polygon test sets (Total-Text, CTW1500, curved synthetic words): both scores match detections to ground
truth by the exact IoU of the polygons as given (any vertex count, > 0.5), with don't-care regions (COCO
``iscrowd``, Total-Text ``#``) excluded as in ICDAR 2015. Total-Text end to end with the 'None' lexicon,
as its published results are scored (the RRC end-to-end script with polygon IoU and word spotting on,
e.g. ABCNet's evaluation), is ``<set>.wordspotting_*``: ground-truth words of fewer than 3 letters or
with digits / inner punctuation become don't care, the others must equal the reading case-insensitively.
``<set>.e2e_*`` is the stricter ICDAR 2015 generic rule on the same matches (every word counts).
``metrics.json`` names the geometry and which score is which (``e2e_protocols``).
"""
from __future__ import annotations

from typing import Any

from models.checkpoint import load_predictor
from models.metrics import evaluate_e2e
from models.metrics.types import DetPoly, DetResult, GtPoly
from models.tasks import task_of
from stages.dataset.images import read_rgb

from .inference import TestSet
from .spotter import read_spots

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


def read_detections(reader: Any, ts: TestSet, preds: dict[str, list[DetPoly]], batch_size: int,
                    image_size: Any = 1280) -> dict[str, list[DetPoly]]:
    """``preds`` with each detection's text read by ``reader`` (``spotter.read_spots``: a recognizer reads
    rectified crops, ``batch_size`` a pass; a spotting model reads with its own recognition branch, the
    image resized to ``image_size`` as it detected)."""
    read: dict[str, list[DetPoly]] = {}
    for start in range(0, len(ts.images), _CHUNK):
        chunk = ts.images[start: start + _CHUNK]
        images = [read_rgb(item.path, item.frame) for item in chunk]
        spots = read_spots(reader, images, [preds.get(item.image_id, []) for item in chunk],
                           rec_batch_size=batch_size, image_size=image_size)
        read.update({item.image_id: [s.as_det() for s in found] for item, found in zip(chunk, spots)})
    return read


def e2e_scores(gts: dict[str, list[GtPoly]], read: dict[str, list[DetPoly]],
               name: str) -> tuple[dict[str, float], DetResult]:
    """``<name>.e2e_*`` and ``<name>.wordspotting_*`` (hmean, precision, recall) of read detections, and the
    generic result (its pairs feed the per-bin analysis)."""
    out, generic = {}, None
    for key, spotting in (("e2e", False), ("wordspotting", True)):
        r = evaluate_e2e(gts, read, word_spotting=spotting)
        if not spotting:
            generic = r
        out.update({f"{name}.{key}_hmean": r.hmean, f"{name}.{key}_precision": r.precision,
                    f"{name}.{key}_recall": r.recall})
    return out, generic


def geometry(gts: dict[str, list[GtPoly]]) -> str:
    """``polygon`` when any cared ground truth has other than 4 vertices, else ``quad``."""
    return "polygon" if any(len(g.points) != 4 for v in gts.values() for g in v if not g.ignore) else "quad"


def e2e_protocols(gts: dict[str, list[GtPoly]]) -> dict[str, str]:
    """What ``e2e_*`` and ``wordspotting_*`` mean on this set (for ``metrics.json``); see the module docstring."""
    shape = geometry(gts)
    match = "polygon IoU > 0.5" if shape == "polygon" else "quad IoU > 0.5"
    spotting = "ICDAR 2015 word spotting" + (" = Total-Text 'None' lexicon" if shape == "polygon" else "")
    return {"geometry": shape, "e2e": f"ICDAR 2015 end-to-end generic, {match}", "wordspotting": f"{spotting}, {match}"}
