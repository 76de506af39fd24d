"""The detection task: architectures that find text regions (polygons with scores).

- ``dbnet``: DBNet (``dbnet.py`` the network, ``db_loss`` / ``db_targets`` / ``db_postprocess`` its
  training loss, targets and decoding, ``dbnet_spec`` its registration);
- ``craft``: CRAFT (``craft.py`` the network, ``craft_config`` its typed config, ``craft_postprocess``
  its decoding of region / affinity score maps into word boxes or polygons, ``craft_targets`` /
  ``craft_loss`` / ``craft_weak`` its weak-supervision training, ``craft_import`` the mapping of the
  public ``craft_mlt_25k`` weights, ``craft_spec`` its registration);
- metrics: ``protocols.PROTOCOLS`` (icdar15, deteval, pascal);
- predictor: ``predictor.Detector`` (preprocess -> forward -> decode, batched, any device);
- serving: ``serving.SERVING`` (what its MLflow model answers: polygons and scores per image).

To add a detector: its network file, a ``*_spec.py`` with its ``Architecture``, one line in
``ARCHITECTURES`` below, configs and tests.
"""
from __future__ import annotations

from models.detection.craft_spec import CRAFT
from models.detection.dbnet_spec import DBNET
from models.detection.protocols import PROTOCOLS
from models.detection.serving import SERVING
from models.task import Task, typed_config

ARCHITECTURES = {arch.name: arch for arch in (DBNET, CRAFT)}


def _predictor(module, config, device, **identity):
    """The ``Detector`` of a built model; ``config``: its model config (a dict or the typed config)."""
    from models.detection.predictor import Detector  # needs torch: imported on use

    arch, typed = typed_config(ARCHITECTURES, config)
    return Detector(module, typed, arch, device, **identity)


TASK = Task(name="detection", architectures=ARCHITECTURES, metrics=PROTOCOLS, predictor=_predictor,
            serving=SERVING)
