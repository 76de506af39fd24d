"""The model artifact: one checkpoint object saved with ``torch.save``.

Contents (all loadable with ``torch.load(weights_only=True)``, so loading runs no pickled code)::

    {"format": "scenetext-checkpoint", "version": 1,
     "model_config": {...},            # the architecture's config, enough to rebuild the module
     "state_dict": {...},              # model weights
     "optimizer": {...} | None, "scheduler": {...} | None,
     "step": int,
     "rng": {"python": ..., "numpy": ..., "torch": Tensor, "cuda": [Tensor, ...]},
     "extra": {...}}                   # plain values the trainer wants back (epoch, metrics, ...)

``load(uri)`` gives an eval-mode module with no training code involved; ``load_checkpoint(uri)``
gives the whole object for resuming. A URI is a local path, a ``file://`` URI, or an MLflow
``runs:/`` / ``models:/`` URI (downloaded with MLflow); a folder means its ``checkpoint.pt``, and an
MLflow model folder (``models.pyfunc``) the slim checkpoint among its artifacts (weights and config
only: ``slim``).
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import numpy as np
import torch
from torch import nn

from models.build import build_model, validate_config

FORMAT = "scenetext-checkpoint"
VERSION = 1
CHECKPOINT_FILE = "checkpoint.pt"
PYFUNC_CHECKPOINT = f"artifacts/{CHECKPOINT_FILE}"  # where an MLflow model folder keeps its checkpoint
MLFLOW_SCHEMES = ("runs", "models")


def _unwrap(model: nn.Module) -> nn.Module:
    """The bare model under DDP (``.module``) or ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def capture_rng_state() -> dict[str, Any]:
    """Python, numpy and torch (CPU and every CUDA device) RNG states, as tensors and plain values."""
    version, py_state, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": list(py_state), "gauss": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Undo ``capture_rng_state``: the next random numbers are the ones the saving process would draw."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    nps = state["numpy"]
    np.random.set_state((nps["name"], nps["keys"].numpy().astype(np.uint32), nps["pos"], nps["has_gauss"],
                         nps["cached"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def make_checkpoint(
    model_config: dict,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    step: int = 0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the checkpoint object (weights moved to CPU so it loads on any machine)."""
    state = {k: v.detach().cpu() for k, v in _unwrap(model).state_dict().items()}
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_config": validate_config(model_config).model_dump(),
        "state_dict": state,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "step": int(step),
        "rng": capture_rng_state(),
        "extra": dict(extra or {}),
    }


def save_checkpoint(path: str | Path, model_config: dict, model: nn.Module, **kwargs: Any) -> Path:
    """Write ``make_checkpoint(model_config, model, **kwargs)`` to ``path``, atomically (a reader never
    sees a half-written file). A folder, or a path without a file suffix, gets ``checkpoint.pt`` inside."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / CHECKPOINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(make_checkpoint(model_config, model, **kwargs), tmp)
    tmp.replace(path)
    return path


def slim(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint without what only resuming needs (optimizer, scheduler, RNG, extra): what a
    registered model carries. It loads like any checkpoint; a train stage can start from it."""
    return {**ckpt, "optimizer": None, "scheduler": None, "rng": None, "extra": {}}


def resolve_uri(uri: str | Path) -> Path:
    """Local checkpoint file for a path, ``file://`` URI, or MLflow ``runs:/`` / ``models:/`` URI."""
    text = str(uri)
    scheme = urlparse(text).scheme
    if scheme in MLFLOW_SCHEMES:
        # Hook for the MLflow tracking server / registry: MLflow resolves and downloads the artifact
        # (file or folder) with the tracking URI configured in this process.
        import mlflow.artifacts

        path = Path(mlflow.artifacts.download_artifacts(artifact_uri=text))
    elif scheme == "file":
        path = Path(url2pathname(urlparse(text).path))
    elif scheme and len(scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise ValueError(f"checkpoint URI {text!r}: unsupported scheme {scheme!r}; "
                         "use a path, file://, runs:/ or models:/")
    else:
        path = Path(text)
    if path.is_dir() and not (path / CHECKPOINT_FILE).is_file() and (path / PYFUNC_CHECKPOINT).is_file():
        path = path / PYFUNC_CHECKPOINT  # a registered MLflow model (models.pyfunc)
    if path.is_dir():
        if not (path / CHECKPOINT_FILE).is_file():
            found = sorted(p.name for p in path.iterdir())[:20]
            raise FileNotFoundError(f"checkpoint URI {text!r}: folder {path} has no {CHECKPOINT_FILE} (has {found})")
        path = path / CHECKPOINT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint URI {text!r}: no file at {path}")
    return path


def load_checkpoint(uri: str | Path) -> dict[str, Any]:
    """The whole checkpoint object at ``uri`` (on CPU), for resuming training."""
    path = resolve_uri(uri)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} object")
    if ckpt.get("version") != VERSION:
        raise ValueError(f"{path}: checkpoint version {ckpt.get('version')} (this code reads {VERSION})")
    return ckpt


def load(uri: str | Path) -> nn.Module:
    """The model stored at ``uri``, weights loaded, in eval mode, on CPU."""
    return _module(load_checkpoint(uri))


def _module(ckpt: dict[str, Any]) -> nn.Module:
    """The checkpoint's model, every weight loaded (strict), in eval mode, on CPU."""
    model = build_model(ckpt["model_config"], init_weights=False)
    model.load_state_dict(ckpt["state_dict"], strict=True)
    return model.eval()


def load_predictor(uri: str | Path, device: Any = "cpu", tracking_uri: str | None = None) -> Any:
    """The predictor of the model stored at ``uri`` (its task's: ``models.task.Task.predictor``), on ``device``.

    tracking_uri: the MLflow store a runs:/ or models:/ URI refers to; without it MLflow's process
    default applies (which in a Ray worker is not the pipeline's store).
    """
    from models.tasks import task_of
    from pipeline.artifacts import file_sha256

    if tracking_uri and urlparse(str(uri)).scheme in MLFLOW_SCHEMES:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
    path = resolve_uri(uri)
    ckpt = load_checkpoint(path)
    config = ckpt["model_config"]
    return task_of(config).predictor(_module(ckpt).to(device), config, torch.device(device), uri=str(uri),
                                     sha256=file_sha256(path), step=int(ckpt.get("step", 0)))
