"""Build detectors and their losses by name from a plain config dict.

A detector config (the ``model:`` section of a recipe, also stored in every checkpoint)::

    {"arch": "dbnet",
     "backbone": {"name": "resnet18", "init": "https://download.pytorch.org/models/resnet18-f37072fd.pth"},
     "neck": {"channels": 256},
     "head": {"k": 50},
     "loss": {"alpha": 1.0, "beta": 10.0, "ohem_ratio": 3.0},
     "targets": {"shrink_ratio": 0.4, "thresh_min": 0.3, "thresh_max": 0.7, "min_text_size": 8}}

Everything but ``arch`` has defaults. ``targets`` is what the data pipeline passes to
``models.db_targets.make_targets`` (and ``shrink_ratio`` what post-processing may invert), kept here
so a checkpoint says how its training targets were made.
"""
from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, ConfigDict
from torch import nn

from models import resnet
from models.db_loss import DBLoss
from models.dbnet import DBNet


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BackboneConfig(_Section):
    name: str = "tiny"
    init: str | None = None  # torchvision-format weights: local path, file:// URI or http(s) URL


class NeckConfig(_Section):
    channels: int | None = None  # None: 32 for tiny, 256 otherwise


class HeadConfig(_Section):
    k: float = 50.0  # differentiable binarization steepness


class LossConfig(_Section):
    alpha: float = 1.0  # dice (approximate binary map) weight
    beta: float = 10.0  # threshold-map L1 weight
    ohem_ratio: float = 3.0


class TargetsConfig(_Section):
    shrink_ratio: float = 0.4
    thresh_min: float = 0.3
    thresh_max: float = 0.7
    min_text_size: float = 8


class DetectorConfig(_Section):
    arch: str
    backbone: BackboneConfig = BackboneConfig()
    neck: NeckConfig = NeckConfig()
    head: HeadConfig = HeadConfig()
    loss: LossConfig = LossConfig()
    targets: TargetsConfig = TargetsConfig()


BACKBONES: dict[str, Callable[[], nn.Module]] = {
    "tiny": resnet.tiny,
    "resnet18": resnet.resnet18,
    "resnet50": resnet.resnet50,
}
_DEFAULT_NECK_CHANNELS = {"tiny": 32}


def _lookup(registry: dict[str, Any], name: str, kind: str) -> Any:
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(registry))}")
    return registry[name]


def build_backbone(cfg: BackboneConfig, init_weights: bool = True) -> nn.Module:
    """The named backbone, with ``cfg.init`` weights loaded when ``init_weights``."""
    backbone = _lookup(BACKBONES, cfg.name, "backbone")()
    if init_weights and cfg.init:
        resnet.load_backbone_weights(backbone, cfg.init)
    return backbone


def _build_dbnet(cfg: DetectorConfig, init_weights: bool) -> nn.Module:
    backbone = build_backbone(cfg.backbone, init_weights)
    channels = cfg.neck.channels or _DEFAULT_NECK_CHANNELS.get(cfg.backbone.name, 256)
    return DBNet(backbone, neck_channels=channels, k=cfg.head.k)


def _build_db_loss(cfg: DetectorConfig) -> nn.Module:
    return DBLoss(alpha=cfg.loss.alpha, beta=cfg.loss.beta, ohem_ratio=cfg.loss.ohem_ratio)


DETECTORS: dict[str, Callable[[DetectorConfig, bool], nn.Module]] = {"dbnet": _build_dbnet}
LOSSES: dict[str, Callable[[DetectorConfig], nn.Module]] = {"dbnet": _build_db_loss}


def detector_config(cfg: dict | DetectorConfig) -> DetectorConfig:
    """Validate a detector config (unknown keys and unknown names are errors naming the key)."""
    parsed = cfg if isinstance(cfg, DetectorConfig) else DetectorConfig.model_validate(cfg)
    _lookup(DETECTORS, parsed.arch, "detector arch")
    _lookup(BACKBONES, parsed.backbone.name, "backbone")
    return parsed


def build_detector(cfg: dict | DetectorConfig, init_weights: bool = True) -> nn.Module:
    """Build a detector from its config. ``init_weights=False`` skips loading ``backbone.init``
    (used when a checkpoint's state dict will overwrite every weight anyway)."""
    parsed = detector_config(cfg)
    return DETECTORS[parsed.arch](parsed, init_weights)


def build_loss(cfg: dict | DetectorConfig) -> nn.Module:
    """The training loss of the detector described by ``cfg`` (``loss`` section for its weights)."""
    parsed = detector_config(cfg)
    return _lookup(LOSSES, parsed.arch, "loss for arch")(parsed)


def tiny_config(arch: str = "dbnet") -> dict:
    """Config of the CPU-sized variant of ``arch`` (tiny backbone, narrow neck), for tests and quickstart."""
    _lookup(DETECTORS, arch, "detector arch")
    return {"arch": arch, "backbone": {"name": "tiny", "init": None}}
