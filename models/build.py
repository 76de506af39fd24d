"""Build any registered architecture from a plain config dict (through ``models.tasks``).

    validate_config({"arch": "dbnet", ...}) -> the architecture's typed config
    build_model(cfg) / build_loss(cfg) / target_maker(cfg)
    tiny_config("dbnet") -> the CPU-sized variant's config
"""
from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel

from models.tasks import architecture_of, get_architecture


def validate_config(cfg: dict | BaseModel) -> BaseModel:
    """The typed config of the architecture ``cfg`` names (unknown keys and names are errors naming the key)."""
    arch = architecture_of(cfg)
    return cfg if isinstance(cfg, arch.config) else arch.config.model_validate(cfg)


def build_model(cfg: dict | BaseModel, init_weights: bool = True) -> Any:
    """Build a model (an nn.Module) from its config. ``init_weights=False`` skips loading pretrained
    backbone weights (used when a checkpoint's state dict will overwrite every weight anyway)."""
    parsed = validate_config(cfg)
    return architecture_of(parsed).build(parsed, init_weights)


def build_loss(cfg: dict | BaseModel) -> Any:
    """The training loss of the model described by ``cfg``: ``loss(outputs, targets) -> {name: tensor}``."""
    parsed = validate_config(cfg)
    return architecture_of(parsed).loss(parsed)


def target_maker(cfg: dict | BaseModel) -> Callable[..., dict[str, Any]]:
    """The picklable function making one image's training targets for the model ``cfg`` describes."""
    parsed = validate_config(cfg)
    return architecture_of(parsed).targets(parsed)


def tiny_config(arch: str = "dbnet") -> dict:
    """Config of the CPU-sized variant of ``arch`` (tiny backbone), for tests and quickstart."""
    return dict(get_architecture(arch).tiny)
