"""Typed params of the detector training stage (pretrain, mixtrain and finetune are all this stage).

A config entry holds the engine keys (``type``, ``resources``, ``inputs``) and these sections::

    mixtrain:
      type: train
      resources: {num_cpus: 0}          # the stage task only waits; TorchTrainer workers hold the CPUs
      inputs: {init: pretrain.model, synth: synth.train, art: convert_art.annotations, val: synth.test}
      init: init                        # input name (or a checkpoint URI) to start from
      model: null                       # detector config; null: the init checkpoint's
      data: {datasets: [{input: synth, ratio: 0.5}, {input: art, ratio: 0.5}], batch_size: 16, image_size: 640}
      optim: {kind: adamw, lr: 0.002, weight_decay: 0.0001}
      schedule: {steps: 20000, kind: poly, warmup_steps: 500}
      checkpoint: {every: 2000, keep: 2}
      validation: {input: val, protocol: icdar15, size: 1280, every: 2000}
      workers: {count: 4, use_gpu: true, cpus_each: 8}
      seed: 0
      log_every: 50

Dataset inputs are a folder holding ``annotations.json`` and ``images/`` (what synth, augment write) or
the ``annotations.json`` file itself (convert's ``annotations`` output; images in the sibling ``images/``).

The keys were flat before (``lr``, ``steps``, ``val_every`` ...): ``MOVED_KEYS`` maps each old name to
its new path, so a config written for the flat layout fails naming the key and where it went.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from models.detection.protocols import PROTOCOLS
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

# Old flat key -> its path in the sectioned layout (keys that kept their place are not listed).
MOVED_KEYS: dict[str, str] = {
    "datasets": "data.datasets", "batch_size": "data.batch_size", "image_size": "data.image_size",
    "augment": "data.augment", "loader_workers": "data.loader_workers",
    "optimizer": "optim.kind", "lr": "optim.lr", "weight_decay": "optim.weight_decay",
    "momentum": "optim.momentum", "grad_clip": "optim.grad_clip", "bf16": "optim.bf16",
    "steps": "schedule.steps", "warmup_steps": "schedule.warmup_steps", "poly_power": "schedule.poly_power",
    "min_lr_ratio": "schedule.min_lr_ratio",
    "checkpoint_every": "checkpoint.every", "keep_checkpoints": "checkpoint.keep",
    "val_protocol": "validation.protocol", "val_size": "validation.size", "val_every": "validation.every",
    "val_max_images": "validation.max_images", "postprocess": "validation.postprocess",
    "num_workers": "workers.count", "use_gpu": "workers.use_gpu", "cpus_per_worker": "workers.cpus_each",
    "gpus_per_worker": "workers.gpus_each", "torch_threads": "workers.torch_threads",
    "storage_path": "workers.storage_path", "max_failures": "workers.max_failures",
    "fault_step": "test_hooks.fault_step", "fault_marker": "test_hooks.fault_marker",
}
# Old keys whose name is now a section: written as a scalar, they get this hint.
SECTION_WAS_SCALAR: dict[str, str] = {"validation": "validation.input", "schedule": "schedule.kind"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetRef(_Section):
    """One training dataset: the name of a stage input and its share of every batch."""

    input: str = Field(min_length=1, description="a stage input name")
    ratio: float = Field(gt=0, description="its share of every batch")


class DataParams(_Section):
    """What is trained on and how batches are made."""

    datasets: list[DatasetRef] = Field(min_length=1,
                                       description="training inputs and their ratios (normalised to sum to 1)")
    batch_size: int = Field(8, ge=1,
                            description="images per worker per step (global batch = batch_size x workers.count)")
    image_size: int = Field(640, ge=32, description="detection: side of the square training crops (px); "
                                                    "recognizers take their input geometry from the model config")
    augment: list[dict[str, Any]] = Field(default_factory=lambda: [dict(t) for t in DEFAULT_AUGMENT],
                                          description="online augmentation chain (stages.dataset.transforms); "
                                                      "a recognizer left on this default gets the word-image "
                                                      "chain (stages.train.rec_data.DEFAULT_WORD_AUGMENT)")
    loader_workers: int = Field(2, ge=0, description="DataLoader processes per training worker "
                                                     "(augmentation and target maps run there)")

    @field_validator("augment")
    @classmethod
    def _valid_chain(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from stages.dataset.transforms.chain import build_chain

        build_chain(value)  # raises naming the bad item
        return value

    @field_validator("datasets")
    @classmethod
    def _unique_inputs(cls, value: list[DatasetRef]) -> list[DatasetRef]:
        names = [d.input for d in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"input(s) {dupes} listed more than once")
        return value

    def ratios(self) -> list[float]:
        """Dataset ratios normalised to sum to 1, in ``datasets`` order."""
        total = sum(d.ratio for d in self.datasets)
        return [d.ratio / total for d in self.datasets]


class OptimParams(_Section):
    """The optimiser and what shapes each update."""

    kind: Literal["adamw", "sgd"] = Field("adamw", description="adamw, or sgd (Nesterov momentum)")
    lr: float = Field(1e-3, gt=0, description="base learning rate (the schedule scales it)")
    weight_decay: float = Field(1e-4, ge=0, description="on weights only; norms and biases get none")
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")
    grad_clip: float | None = Field(5.0, gt=0, description="max global grad norm; null = no clipping")
    bf16: bool = Field(True, description="autocast in bfloat16 (GPU only; CPU trains in float32)")


class ScheduleParams(_Section):
    """How long training runs and how the learning rate moves over it."""

    steps: int = Field(ge=1, description="optimisation steps of the run")
    kind: Literal["poly", "cosine"] = Field("poly", description="decay after the warmup: poly or cosine")
    warmup_steps: int = Field(0, ge=0, description="linear warmup from lr/(warmup_steps+1) to lr")
    poly_power: float = Field(0.9, gt=0, description="exponent of the poly decay")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="the decay ends at lr x min_lr_ratio")


class CheckpointParams(_Section):
    """When the run checkpoints (what a resume starts from) and how many checkpoints it keeps."""

    every: int = Field(500, ge=1, description="steps between checkpoints (the last step always checkpoints)")
    keep: int = Field(2, ge=1, description="checkpoints Ray Train keeps")


class PostprocessParams(_Section):
    """How validation decodes probability maps into polygons (see ``models.detection.db_postprocess``)."""

    mode: Literal["poly", "quad"] = Field("poly", description="polygons, or min-area quadrilaterals")
    thresh: float = Field(0.3, gt=0, lt=1, description="binarisation threshold of the probability map")
    box_thresh: float = Field(0.5, ge=0, le=1, description="min mean probability inside a kept box")
    unclip_ratio: float | None = Field(1.5, description="outline growth; null = invert the training shrink exactly")
    min_size: float = Field(3.0, ge=0, description="min box side (px)")


class ValidationParams(_Section):
    """Validation during training: on rank 0, every ``every`` steps and at the end."""

    input: str = Field(min_length=1, description="input name of the dataset validated on")
    protocol: Literal[tuple(PROTOCOLS)] = Field(
        next(iter(PROTOCOLS)),
        description="icdar15 (quads, straight text), deteval (Total-Text's, curved text) or pascal")
    size: int = Field(1280, ge=32, description="longer image side (px; aspect kept, padded to a multiple of 32)")
    every: int = Field(0, ge=0, description="steps between validations; 0 = only at the end")
    max_images: int | None = Field(None, ge=1, description="validate on the first N images; null = all")
    postprocess: PostprocessParams = Field(default_factory=PostprocessParams, description="maps -> polygons")


class WorkerParams(_Section):
    """The Ray Train run: its workers and what each reserves, restarts, and where it is stored."""

    count: int = Field(1, ge=1, description="Ray Train workers (DDP when > 1)")
    use_gpu: bool = Field(False, description="each worker takes GPUs")
    cpus_each: float = Field(1, ge=0, description="CPUs each worker reserves")
    gpus_each: float | None = Field(None, ge=0, description="GPUs each worker reserves when use_gpu; null = 1")
    torch_threads: int | None = Field(None, ge=1, description="intra-op threads per worker; null = cpus_each")
    max_failures: int = Field(1, ge=-1, description="worker-group restarts (each resumes from the last checkpoint)")
    storage_path: str | None = Field(None, description="Ray Train storage (absolute, shared on a cluster); "
                                                       "null = <project home>/ray_results")


class TestHooks(_Section):
    """Test hook only: at step ``fault_step`` a worker SIGKILLs itself once (when ``fault_marker`` does
    not exist yet; it is created first)."""

    __test__ = False  # not a pytest class

    fault_step: int = Field(ge=0, description="step at which rank 0 kills itself")
    fault_marker: str = Field(min_length=1, description="file that makes it happen once")


class InitParts(_Section):
    """Trained models that start parts of a model made of parts (the ``glass`` spotter: ``detector``, a
    dbnet, and ``recognizer``, a crnn); each an input name or a checkpoint URI, as ``init``."""

    detector: str | None = Field(None, json_schema_extra={"reference": "checkpoint"},
                                 description="input name or checkpoint URI of a trained detector")
    recognizer: str | None = Field(None, json_schema_extra={"reference": "checkpoint"},
                                   description="input name or checkpoint URI of a trained recognizer")

    def named(self) -> dict[str, str]:
        """The parts given: part -> input name or URI."""
        return {part: ref for part, ref in (("detector", self.detector), ("recognizer", self.recognizer)) if ref}


class TrainParams(StageParams):
    """Params of one training stage: references (``model``, ``init``) at the top, one section per concern.

    model: model config (``models.build_model``); None = the init checkpoint's config, or the tiny
        DBNet when there is no init.
    init: an input name holding an upstream ``model`` output, or a checkpoint URI (path, file://,
        runs:/, models:/); its weights start this stage (optimizer and step start fresh).
    init_parts: trained models starting parts of the model instead (``InitParts``); not with ``init``.
    validation: None = no validation. workers: the Ray Train run is named after the stage key, so a
        re-run after an interruption resumes it.
    test_hooks: a section of its own so that the two fault-injection keys are set together or not at
        all, and stay apart from what a recipe sets.
    """

    # References (pipeline.keys): the cache key follows what they point at, not how they are written.
    model: dict[str, Any] | None = Field(
        None, json_schema_extra={"reference": "weights", "reference_at": "backbone.init"},
        description="detector config; null = the init checkpoint's (or the tiny DBNet)")
    init: str | None = Field(None, json_schema_extra={"reference": "checkpoint"},
                             description="input name or checkpoint URI whose weights start the run")
    init_parts: InitParts | None = Field(None, description="trained models starting parts of the model "
                                         "(glass: detector, recognizer); not with init")
    data: DataParams
    optim: OptimParams = Field(default_factory=OptimParams)
    schedule: ScheduleParams
    checkpoint: CheckpointParams = Field(default_factory=CheckpointParams)
    validation: ValidationParams | None = Field(None, description="null = no validation")
    workers: WorkerParams = Field(default_factory=WorkerParams)
    test_hooks: TestHooks | None = None
    seed: int = Field(0, description="seeds model init, sampling and augmentation (rank added per worker)")
    log_every: int = Field(10, ge=1, description="steps between train/* metric logs")

    SETUP_KEYS = ("test_hooks", "workers.storage_path")

    def tracking_params(self, inputs: dict[str, str]) -> dict[str, str]:
        """The readable params, with the dataset mix on one line (``data.mix=synth:0.50,real:0.50``)
        and ``init`` (and each of ``init_parts``) as the upstream output it names (``init=mixtrain.model``);
        an inherited architecture is logged by the stage once it has read the init checkpoint."""
        out = super().tracking_params(inputs)
        out.pop("data.datasets", None)
        data = self.data
        out["data.mix"] = ",".join(f"{d.input}:{r:.2f}" for d, r in zip(data.datasets, data.ratios()))
        if self.init is not None:
            out["init"] = inputs.get(self.init, self.init)
        for part, ref in (self.init_parts.named() if self.init_parts else {}).items():
            out[f"init_parts.{part}"] = inputs.get(ref, ref)
        return out

    @model_validator(mode="wrap")
    @classmethod
    def _say_where_keys_moved(cls, data: Any, handler: Any) -> "TrainParams":
        """An old flat key (``lr``) is an unknown key whose message says where it went (``optim.lr``)."""
        try:
            return handler(data)
        except ValidationError as exc:
            raise ValidationError.from_exception_data(exc.title, [_with_hint(e) for e in exc.errors()]) from None

    @model_validator(mode="after")
    def _one_init(self) -> "TrainParams":
        if self.init is not None and self.init_parts is not None:
            raise ValueError("init and init_parts: give one (init starts the whole model, init_parts its parts)")
        if self.init_parts is not None and self.model is None:
            raise ValueError("init_parts needs a model config (model:) whose parts they start")
        return self

    @field_validator("model")
    @classmethod
    def _valid_model(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from models.build import validate_config

        return validate_config(value).model_dump()


def _with_hint(error: Any) -> Any:
    """The error as pydantic gave it, or, for a key of the flat layout, an error that names its new path."""
    loc = error["loc"]
    if len(loc) != 1:
        return error
    key = loc[0]
    if error["type"] == "extra_forbidden" and key in MOVED_KEYS:
        hint = PydanticCustomError("moved_key", "unknown key: it moved to {new}", {"new": MOVED_KEYS[key]})
    elif key in SECTION_WAS_SCALAR and error["type"] == "model_type" and not isinstance(error["input"], dict):
        hint = PydanticCustomError("moved_key", "is a section now: the old scalar value goes to {new}",
                                   {"new": SECTION_WAS_SCALAR[key]})
    else:
        return error
    return InitErrorDetails(type=hint, loc=loc, input=error["input"])
