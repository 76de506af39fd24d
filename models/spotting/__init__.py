"""Text spotting: one model finds each word and reads it (the third task on ``models.task``).

- ``glass``: a GLASS-style spotter (``glass.py`` the network: a DBNet and a CRNN sharing the detector's
  backbone, a reading-angle head, rotated RoI global features fused with local features of a rectified
  high-resolution crop; ``glass_targets`` / ``glass_loss`` its training; ``glass_spec`` its
  registration and ``init_parts``, which loads a trained dbnet and crnn into its parts);
- parts: ``rotated_roi`` (``rotated_roi_align``, ``quad_to_rbox`` / ``polygon_to_rbox``: a word polygon
  to centre, size and reading angle), ``angle_loss`` (periodic, continuous across the wrap);
- metrics: the detection protocols for its polygons (the end-to-end scores are the evaluate stage's,
  as for the two-stage spotter);
- predictor: ``predictor.GlassSpotter`` (a ``Detector`` whose ``read_words`` reads its own detections);
- serving: ``serving.SERVING`` (polygons, scores, texts and text scores per image).

The two-stage spotter (any detector + any recognizer) is not a model of this task: it is composed at
inference (``stages.evaluate.spotter``).
"""
from __future__ import annotations

from models.detection.protocols import PROTOCOLS
from models.spotting.glass_spec import GLASS
from models.spotting.serving import SERVING
from models.task import Task, typed_config

ARCHITECTURES = {arch.name: arch for arch in (GLASS,)}


def _predictor(module, config, device, **identity):
    """The ``GlassSpotter`` of a built model; ``config``: its model config (a dict or the typed config)."""
    from models.spotting.predictor import GlassSpotter  # needs torch: imported on use

    arch, typed = typed_config(ARCHITECTURES, config)
    return GlassSpotter(module, typed, arch, device, **identity)


TASK = Task(name="spotting", architectures=ARCHITECTURES, metrics=PROTOCOLS, predictor=_predictor,
            serving=SERVING)
