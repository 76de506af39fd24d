"""Text detection models: backbones, necks, heads, losses, targets, post-processing, checkpoints.

Public API::

    models.build_detector(cfg) -> nn.Module      # cfg: {"arch": "dbnet", "backbone": {"name": "tiny"}, ...}
    models.build_loss(cfg) -> nn.Module          # the arch's training loss
    models.tiny_config("dbnet") -> dict          # CPU-sized variant
    models.BACKBONES / DETECTORS / LOSSES        # name -> builder registries
    models.save_checkpoint(path, cfg, model, optimizer=..., scheduler=..., step=...)
    models.load(uri) -> nn.Module                # eval mode; path, file://, runs:/, models:/
    models.load_checkpoint(uri) -> dict          # everything, for resuming
    models.make_targets(h, w, polygons, ignore, weights)   # numpy, torch-free
    models.postprocess(prob, out_shape=..., mode=...)      # numpy, torch-free

Names are imported on first use, so ``from models.db_postprocess import postprocess`` (or
``models.make_targets``) works in a process that never imports torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_detector": "models.build",
    "build_loss": "models.build",
    "detector_config": "models.build",
    "tiny_config": "models.build",
    "DetectorConfig": "models.build",
    "BACKBONES": "models.build",
    "DETECTORS": "models.build",
    "LOSSES": "models.build",
    "save_checkpoint": "models.checkpoint",
    "make_checkpoint": "models.checkpoint",
    "load_checkpoint": "models.checkpoint",
    "load": "models.checkpoint",
    "restore_rng_state": "models.checkpoint",
    "make_targets": "models.db_targets",
    "postprocess": "models.db_postprocess",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
