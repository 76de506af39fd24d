"""Backbones by name, shared by every architecture: ``BACKBONES`` and ``build_backbone``."""
from __future__ import annotations

from typing import Callable

from pydantic import BaseModel, ConfigDict


class BackboneConfig(BaseModel):
    """``name``: a key of ``BACKBONES``; ``init``: torchvision-format weights (local path, file:// URI or
    http(s) URL) loaded into it when the model is first built."""

    model_config = ConfigDict(extra="forbid")

    name: str = "tiny"
    init: str | None = None


def _registry() -> dict[str, Callable[[], "object"]]:
    from models import resnet

    return {"tiny": resnet.tiny, "resnet18": resnet.resnet18, "resnet50": resnet.resnet50}


BACKBONE_NAMES = ("tiny", "resnet18", "resnet50")


def check_backbone(name: str) -> None:
    """Raise naming the valid backbones when ``name`` is not one."""
    if name not in BACKBONE_NAMES:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(sorted(BACKBONE_NAMES))}")


def build_backbone(cfg: BackboneConfig, init_weights: bool = True) -> "object":
    """The named backbone (an nn.Module with ``out_channels``), with ``cfg.init`` weights loaded when
    ``init_weights``."""
    from models import resnet

    check_backbone(cfg.name)
    backbone = _registry()[cfg.name]()
    if init_weights and cfg.init:
        resnet.load_backbone_weights(backbone, cfg.init)
    return backbone
