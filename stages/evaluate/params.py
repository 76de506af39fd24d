"""Typed params of the ``evaluate`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.detection.protocols import PROTOCOLS
from pipeline.stage import (
    StageParams,
)

from .analysis import (
    DEFAULT_ANGLE_BINS,
    DEFAULT_HEIGHT_BINS,
    check_edges,
)
from .spot_analysis import DEFAULT_READING_ANGLE_BINS, check_angle_edges


class RecognitionEvalParams(BaseModel):
    """How a recognizer is evaluated (the detection params above do not apply to it)."""

    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(64, ge=1, description="crops per forward pass")
    options: dict[str, Any] = Field(default_factory=dict, description="decode options, e.g. {beam_width: 5}")
    num_failures: int = Field(16, ge=0, description="misread crops drawn per test set (failures.png)")
    max_samples: int | None = Field(None, ge=1, description="evaluate the first N samples of each set; null = all")


class EvaluateParams(StageParams):
    """Params of the evaluate stage (test sets are the stage's inputs, see the module docstring)."""

    protocol: Literal[tuple(PROTOCOLS)] = Field(next(iter(PROTOCOLS)), description="detection metric protocol")
    model_uri: str | None = Field(None, json_schema_extra={"reference": "checkpoint"},
                                  description="checkpoint path / file:// / runs:/ / models:/ URI, "
                                              "instead of a `model` input")
    baseline_uri: str | None = Field(None, json_schema_extra={"reference": "checkpoint"},
                                     description="a second model evaluated alike (metrics prefixed "
                                                 "`baseline.`), instead of a `baseline` input")
    recognizer_uri: str | None = Field(None, json_schema_extra={"reference": "checkpoint"},
                                       description="a recognizer reading each detection (or a `recognizer` input): "
                                                   "end-to-end and word-spotting metrics on test sets with texts")
    image_size: int | tuple[int, int] = Field(1280, description="longer side (px), or a fixed (w, h) box; "
                                                               "aspect kept, padded to x32")
    batch_size: int = Field(4, ge=1, description="images per forward pass")
    mode: Literal["poly", "quad"] = Field("poly", description="polygons, or 4-point boxes (ICDAR 2015 uploads)")
    thresh: float = Field(0.3, gt=0, lt=1, description="probability-map binarisation threshold")
    box_thresh: float = Field(0.5, ge=0, le=1, description="score a detection needs (headline metrics, zip)")
    unclip_ratio: float | None = Field(1.5, gt=0, description="DBNet growth ratio; null: invert the training shrink")
    thresholds: list[float] = Field(default_factory=lambda: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
                                    description="score thresholds swept for best_hmean / best_threshold")
    num_render: int = Field(8, ge=0, description="sample images rendered per test set")
    height_bins: list[float] = Field(default_factory=lambda: list(DEFAULT_HEIGHT_BINS),
                                     description="lower edges (px) of the text-height bins; the last is open")
    angle_bins: list[float] = Field(default_factory=lambda: list(DEFAULT_ANGLE_BINS),
                                    description="lower edges (degrees, 0-90) of the text-angle bins")
    reading_angle_bins: list[float] = Field(default_factory=lambda: list(DEFAULT_READING_ANGLE_BINS),
                                            description="lower edges (degrees, 0-360, counter-clockwise) of the "
                                                        "reading-angle bins of the spotting analysis; the last "
                                                        "wraps to the first")
    recognition: RecognitionEvalParams = Field(default_factory=RecognitionEvalParams,
                                               description="recognizers: batch, decode options, failure samples")
    submission_scores: bool = Field(False,
                                    description="append ',score' to zip lines (the ICDAR 2015 site rejects them)")

    @field_validator("image_size")
    @classmethod
    def _check_size(cls, value: int | tuple[int, int]) -> int | tuple[int, int]:
        if min(value if isinstance(value, tuple) else (value,)) < 32:
            raise ValueError(f"every side must be >= 32 px, got {value}")
        return value

    @field_validator("thresholds")
    @classmethod
    def _check_thresholds(cls, value: list[float]) -> list[float]:
        if any(not 0.0 <= t <= 1.0 for t in value):
            raise ValueError(f"thresholds must lie in [0, 1], got {value}")
        return sorted(set(value))

    @field_validator("height_bins", "angle_bins")
    @classmethod
    def _check_bins(cls, value: list[float]) -> list[float]:
        return check_edges(value, "bins")

    @field_validator("reading_angle_bins")
    @classmethod
    def _check_angle_bins(cls, value: list[float]) -> list[float]:
        return check_angle_edges(value, "bins")
