"""Typed params of the ``convert`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from pipeline.stage import (
    StageParams,
    path_inside_input,
)
from stages.convert.options import check_option


class ConvertParams(StageParams):
    """Params of the convert stage; paths are relative to the input folder (``inputs["data"]``)."""

    format: str
    annotations: str
    images: str
    task: Literal["det", "rec"] = "det"
    crops: bool = False  # det only: also cut word crops into crops.lmdb
    crop_format: Literal["jpg", "png"] = "jpg"
    max_bad_fraction: float = Field(0.05, ge=0.0, le=1.0)
    shards: int = Field(0, ge=0)  # 0 = one per CPU of the stage
    # Options of one format each (an error with any other format); see ``options.py``.
    cocotext_split: Literal["train", "val", "both"] | None = None  # COCO-Text images to take; None = train
    lsvt_labels: Literal["full", "weak"] | None = None  # which LSVT label file ``annotations`` is; None = full
    # Copies of the outputs in other toolkits' layouts, each in its own folder (``writers/export.py``).
    export: list[Literal["mmocr", "paddleocr"]] = []
    export_split: str | None = None  # the split in exported file names; None = cocotext_split, else train

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        from stages.convert.parsers import PARSERS

        if value not in PARSERS:
            raise ValueError(f"unknown dataset format {value!r}; valid formats: {', '.join(sorted(PARSERS))}")
        return value

    @field_validator("annotations", "images")
    @classmethod
    def _inside_input(cls, value: str) -> str:
        return path_inside_input(value)

    @field_validator("cocotext_split", "lsvt_labels", "export", "export_split")
    @classmethod
    def _option_fits(cls, value: Any, info: ValidationInfo) -> Any:
        return check_option(info.field_name, value, info.data)
