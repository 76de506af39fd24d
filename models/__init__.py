"""Models by task (``models.tasks``): detection and recognition. Architectures, their losses, targets, decoding,
predictors, metrics and checkpoints.

Public API::

    models.build_model(cfg) -> nn.Module         # cfg: {"arch": "dbnet", "backbone": {"name": "tiny"}, ...}
    models.build_loss(cfg) -> nn.Module          # the arch's training loss
    models.validate_config(cfg)                  # the arch's typed config
    models.tiny_config("dbnet") -> dict          # CPU-sized variant
    models.TASKS / get_task / get_architecture   # the task registry (models.tasks)
    models.save_checkpoint(path, cfg, model, optimizer=..., scheduler=..., step=...)
    models.load(uri) -> nn.Module                # eval mode; path, file://, runs:/, models:/
    models.load_predictor(uri, device) -> the task's predictor for a checkpoint
    models.load_checkpoint(uri) -> dict          # everything, for resuming
    models.pyfunc.save(checkpoint, folder)       # an MLflow pyfunc model (mlflow.pyfunc.load_model, models serve)

Names are imported on first use, so ``from models.detection.db_postprocess import postprocess`` works
in a process that never imports torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "build_model": "models.build",
    "build_loss": "models.build",
    "validate_config": "models.build",
    "target_maker": "models.build",
    "tiny_config": "models.build",
    "TASKS": "models.tasks",
    "get_task": "models.tasks",
    "get_architecture": "models.tasks",
    "save_checkpoint": "models.checkpoint",
    "make_checkpoint": "models.checkpoint",
    "load_checkpoint": "models.checkpoint",
    "load": "models.checkpoint",
    "load_predictor": "models.checkpoint",
    "restore_rng_state": "models.checkpoint",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
