"""Typed params of the ``augment`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from pipeline.stage import (
    StageParams,
    path_inside_input,
)
from stages.augment.variants import BUILTIN_VARIANTS, resolve_variants


class AugmentParams(StageParams):
    """Params of the augment stage. ``variants``: a list of built-in names, or a mapping of variant name
    to a chain spec (list of ``{name, p, **kwargs}``), a built-in name, or null (the built-in of that
    name). Validation resolves it to the full chains, so the cache key sees every transform setting."""

    variants: dict[str, list[dict[str, Any]]] = Field(default_factory=lambda: resolve_variants(list(BUILTIN_VARIANTS)))
    copies: int = Field(1, ge=1, le=1000)  # augmented copies of every source image, per variant
    seed: int = 0
    annotations: str = "annotations.json"  # relative to the input folder
    images: str = "images"  # the folder file names in the COCO file are relative to
    image_format: Literal["jpg", "png"] = "jpg"
    jpeg_quality: int = Field(95, ge=1, le=100)
    shard_size: int = Field(16, ge=1)

    @field_validator("variants", mode="before")
    @classmethod
    def _resolve(cls, value: Any) -> dict[str, list[dict[str, Any]]]:
        return resolve_variants(value)

    @field_validator("annotations", "images")
    @classmethod
    def _inside_input(cls, value: str) -> str:
        return path_inside_input(value)
