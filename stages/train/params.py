"""Typed params of the detector training stage (pretrain, mixtrain and finetune are all this stage).

A config entry looks like::

    mixtrain:
      type: train
      resources: {num_cpus: 0}          # the stage task only waits; TorchTrainer workers hold the CPUs
      inputs: {init: pretrain.model, synth: synth.train, art: convert_art.annotations, val: synth.test}
      init: init                        # input name (or a checkpoint URI) to start from
      datasets: [{input: synth, ratio: 0.5}, {input: art, ratio: 0.5}]
      validation: val
      steps: 20000
      lr: 0.002

Dataset inputs are a folder holding ``annotations.json`` and ``images/`` (what synth, augment write) or
the ``annotations.json`` file itself (convert's ``annotations`` output; images in the sibling ``images/``).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.stage import StageParams

# Ordinary online augmentation for text detection: random scale, small rotation, a crop that avoids
# cutting words, colour jitter. The last step (fit into image_size x image_size) is added by the data
# pipeline itself, so any chain can be given here.
DEFAULT_AUGMENT: list[dict[str, Any]] = [
    {"name": "scale", "factor": [0.7, 1.3], "aspect": [0.9, 1.1], "p": 1.0},
    {"name": "rotate", "degrees": 10, "expand": True, "p": 0.5},
    {"name": "crop", "scale": [0.6, 1.0], "avoid_cuts": True, "p": 0.5},
    {"name": "brightness", "delta": 0.15, "p": 0.5},
    {"name": "contrast", "factor": [0.75, 1.25], "p": 0.5},
    {"name": "color_shift", "shift": 15, "p": 0.3},
]


class DatasetRef(BaseModel):
    """One training dataset: the name of a stage input and its share of every batch."""

    model_config = ConfigDict(extra="forbid")

    input: str = Field(min_length=1)
    ratio: float = Field(gt=0)


class PostprocessParams(BaseModel):
    """How validation turns probability maps into polygons (see ``models.detection.db_postprocess``)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["poly", "quad"] = "poly"
    thresh: float = Field(0.3, gt=0, lt=1)
    box_thresh: float = Field(0.5, ge=0, le=1)
    unclip_ratio: float | None = 1.5  # None: invert the training shrink exactly
    min_size: float = Field(3.0, ge=0)


class TrainParams(StageParams):
    """Params of one training stage.

    model: detector config (``models.build_model``); None = the init checkpoint's config, or the tiny
        DBNet when there is no init.
    init: an input name holding an upstream ``model`` output, or a checkpoint URI (path, file://,
        runs:/, models:/); its weights start this stage (optimizer and step start fresh).
    datasets: the training inputs and their ratios (normalised to sum to 1).
    validation: input name of the dataset validated on every ``val_every`` steps and at the end.
    val_protocol: the detection protocol validation scores with: ``icdar15`` (quads, straight text),
        ``deteval`` (Total-Text's, for curved text) or ``pascal``.
    batch_size: images per worker per step (the global batch is batch_size * num_workers).
    image_size: side of the square training crops (px); val_size: validation images are resized so
        their longer side is this (px, rounded to a multiple of 32).
    schedule: linear warmup over ``warmup_steps`` then ``poly`` (power ``poly_power``) or ``cosine``
        decay to ``lr * min_lr_ratio``.
    grad_clip: max global grad norm (None = no clipping). bf16: autocast in bfloat16 (GPU only).
    loader_workers: DataLoader processes per training worker (augmentation and target maps run there).
    num_workers / use_gpu / cpus_per_worker: the Ray Train scaling; torch_threads: intra-op threads per
        worker (None = cpus_per_worker).
    storage_path: Ray Train storage (absolute, shared on a cluster); None = <project home>/ray_results.
        The run is named after the stage key, so a re-run after an interruption resumes it.
    max_failures: worker-group restarts Ray Train does (each resumes from the last checkpoint).
    fault_step / fault_marker: test hook only: at step ``fault_step`` a worker SIGKILLs itself once
        (when ``fault_marker`` does not exist yet; it is created first).
    """

    # References (pipeline.keys): the cache key follows what they point at, not how they are written.
    model: dict[str, Any] | None = Field(None, json_schema_extra={"reference": "weights", "reference_at": "backbone.init"})
    init: str | None = Field(None, json_schema_extra={"reference": "checkpoint"})
    datasets: list[DatasetRef] = Field(min_length=1)
    validation: str | None = None
    val_protocol: Literal["icdar15", "deteval", "pascal"] = "icdar15"
    steps: int = Field(ge=1)
    batch_size: int = Field(8, ge=1)
    image_size: int = Field(640, ge=32)
    val_size: int = Field(1280, ge=32)
    val_every: int = Field(0, ge=0)  # 0 = only at the end
    val_max_images: int | None = Field(None, ge=1)
    postprocess: PostprocessParams = PostprocessParams()
    augment: list[dict[str, Any]] = Field(default_factory=lambda: [dict(t) for t in DEFAULT_AUGMENT])
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    schedule: Literal["poly", "cosine"] = "poly"
    warmup_steps: int = Field(0, ge=0)
    poly_power: float = Field(0.9, gt=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    grad_clip: float | None = Field(5.0, gt=0)
    bf16: bool = True
    seed: int = 0
    log_every: int = Field(10, ge=1)
    checkpoint_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    loader_workers: int = Field(2, ge=0)
    num_workers: int = Field(1, ge=1)
    use_gpu: bool = False
    cpus_per_worker: float = Field(1, ge=0)
    gpus_per_worker: float | None = Field(None, ge=0)
    torch_threads: int | None = Field(None, ge=1)
    storage_path: str | None = None
    max_failures: int = Field(1, ge=-1)
    fault_step: int | None = Field(None, ge=0)
    fault_marker: str | None = None

    @field_validator("model")
    @classmethod
    def _valid_model(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from models.build import validate_config

        return validate_config(value).model_dump()

    @field_validator("augment")
    @classmethod
    def _valid_chain(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from stages.dataset.transforms.chain import build_chain

        build_chain(value)  # raises naming the bad item
        return value

    @model_validator(mode="after")
    def _check(self) -> "TrainParams":
        names = [d.input for d in self.datasets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"datasets: input(s) {dupes} listed more than once")
        if (self.fault_step is None) != (self.fault_marker is None):
            raise ValueError("fault_step and fault_marker go together (a test hook)")
        return self

    def ratios(self) -> list[float]:
        """Dataset ratios normalised to sum to 1, in ``datasets`` order."""
        total = sum(d.ratio for d in self.datasets)
        return [d.ratio / total for d in self.datasets]
