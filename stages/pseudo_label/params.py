"""Typed params of the pseudo-label stage.

A config entry looks like::

    pseudo_label:
      type: pseudo_label
      resources: {num_cpus: 0}        # the stage task only waits; its shards hold the CPUs / GPUs
      inputs: {a: teacher_a.model, b: teacher_b.model, unlabeled: synth.unlabeled, ground_truth: synth.unlabeled}
      models: [a, b]                  # input names (model folders) or checkpoint URIs
      tta: {scales: [1.0], flip: true}
      weighting: {low: 0.3, high: 0.7, between: ramp, min_weight: 0.3}
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.detection.protocols import PROTOCOLS
from pipeline.stage import StageParams
from stages.pseudo_label.weights import WeightRule


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TTAParams(_Section):
    """Test-time views: every scale (times ``image_size``), each also mirrored when ``flip``."""

    scales: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    flip: bool = False

    @field_validator("scales")
    @classmethod
    def _check_scales(cls, value: list[float]) -> list[float]:
        if any(not 0.1 <= s <= 4.0 for s in value):
            raise ValueError(f"scales must lie in [0.1, 4], got {value}")
        if len(set(value)) != len(value):
            raise ValueError(f"scales listed twice: {value}")
        return value


class DetectParams(_Section):
    """How each model's probability map becomes candidate polygons (``models.detection.db_postprocess``).

    box_thresh is deliberately low: weak candidates still vote; the weight rule decides what is kept.
    """

    mode: Literal["poly", "quad"] = "poly"
    thresh: float = Field(0.3, gt=0, lt=1)
    box_thresh: float = Field(0.3, ge=0, le=1)
    unclip_ratio: float | None = Field(1.5, gt=0)  # None: invert the training shrink exactly
    min_size: float = Field(3.0, ge=0)


class WeightingParams(_Section):
    """The weight rule of ``stages.pseudo_label.weights`` (quality = mean score x agreement)."""

    low: float = Field(0.3, ge=0, le=1)
    high: float = Field(0.7, ge=0, le=1)
    between: Literal["ramp", "fixed", "ignore"] = "ramp"
    min_weight: float = Field(0.3, ge=0, le=1)
    min_votes: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _order(self) -> "WeightingParams":
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    def rule(self) -> WeightRule:
        """The rule object the fusion code applies."""
        return WeightRule(self.low, self.high, self.between, self.min_weight, self.min_votes)


class PseudoLabelParams(StageParams):
    """Params of the pseudo-label stage (the sections' own fields are documented on their classes)."""

    models: list[str] = Field(min_length=1, json_schema_extra={"reference": "checkpoint"},
                              description="K >= 1 teachers: input names (train stages' model "
                                          "folders) or checkpoint URIs (path, file://, runs:/, models:/)")
    unlabeled: str = Field("unlabeled", description="input holding the unlabeled images: a folder, dataset folder, "
                           "archive or manifest (.json / .parquet / .txt)")
    ground_truth: str | None = Field(None, description="input with the same images' hidden annotations (COCO): "
                                     "only scores the labels (per weight band, ensemble vs single teachers)")
    ground_truth_protocol: Literal[tuple(PROTOCOLS)] = Field(next(iter(PROTOCOLS)), description="the detection "
                                                             "protocol the labels are scored with")
    image_size: int = Field(1280, ge=32,
                            description="longer side (px) of the identity view; aspect kept, padded to x32")
    batch_size: int = Field(8, ge=1, description="images per forward pass")
    detect: DetectParams = Field(default_factory=DetectParams, description="probability map -> candidate polygons")
    tta: TTAParams = Field(default_factory=TTAParams, description="test-time views: scales x optional flip")
    iou: float = Field(0.5, gt=0, le=1, description="IoU at which detections of different sources are one instance")
    outline: Literal["mean", "best"] = Field("mean", description="a fused instance's polygon: the members' "
                                             "score-weighted mean outline, or the best-scoring member's")
    weighting: WeightingParams = Field(default_factory=WeightingParams,
                                       description="quality (mean score x agreement) -> dropped / weight / don't care")
    keep_empty_images: bool = Field(False, description="also write images left with no pseudo-label (all background)")
    shards: int = Field(2, ge=1, description="parallel inference tasks, each loading every teacher once")
    cpus_per_shard: float = Field(1, ge=0, description="CPUs each shard reserves")
    gpus_per_shard: float = Field(0, ge=0, description="GPUs each shard reserves (> 0: Ray tasks asking for them)")
    torch_threads: int = Field(1, ge=1, description="torch intra-op threads per shard")
    bands: list[float] = Field(default_factory=lambda: [0.0, 0.5, 1.0],
                               description="lower edges of the weight bands scored against ground truth")
    num_render: int = Field(8, ge=0, description="sample images drawn with pseudo-labels coloured by weight")

    SETUP_KEYS = ("shards", "cpus_per_shard", "gpus_per_shard", "torch_threads")

    @field_validator("models")
    @classmethod
    def _unique_models(cls, value: list[str]) -> list[str]:
        dupes = sorted({m for m in value if value.count(m) > 1})
        if dupes:
            raise ValueError(f"model(s) {dupes} listed more than once")
        return value

    @field_validator("bands")
    @classmethod
    def _check_bands(cls, value: list[float]) -> list[float]:
        if not value or value[0] != 0.0 or any(b <= a for a, b in zip(value, value[1:])) or value[-1] > 1.0:
            raise ValueError(f"bands must start at 0, increase strictly and stay <= 1, got {value}")
        return value
