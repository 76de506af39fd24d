"""The ``glass`` spotter's registration with the spotting task: typed config, builder, loss, targets,
decoding, and the initialisation of its parts from a trained detector and recognizer.

A GLASS config (the ``model:`` section of a recipe, also stored in every checkpoint)::

    {"arch": "glass",
     "detector":   {"arch": "dbnet", "backbone": {"name": "tiny"}, ...},     # a DBNet config
     "recognizer": {"arch": "crnn", "charset": {"kind": "lower36"}, "height": 32, "width": 100, ...},  # a CRNN's
     "words": {"max_words": 32, "min_height": 4, "global_rows": 4},
     "loss": {"angle": 1.0, "recognition": 1.0, "angle_kind": "cosine"},
     "new_lr_scale": 1.0}

``detector`` and ``recognizer`` are the configs of a ``dbnet`` and a ``crnn`` model (``init_parts`` loads
such trained models' weights into the parts, and refuses a checkpoint whose config differs at a key that
shapes the weights, ``MATCHED``, naming the keys). The reader needs a fixed input ``width`` (a recognizer
trained at variable width, e.g. an ``english_g2`` import, still starts it).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.detection.dbnet_spec import DBNetConfig
from models.recognition.crnn_spec import CRNNConfig
from models.task import Architecture

PARTS = {"detector": "dbnet", "recognizer": "crnn"}  # part of the model -> the architecture it is
# The config keys of each part that shape its weights or what they were trained to see: they must equal the
# init checkpoint's. The rest (the reader's crop width and padding, the detector's loss and target settings)
# may differ: the spotter crops words its own way and trains with its own loss.
MATCHED = {"detector": ("arch", "backbone.name", "neck", "head"),
           "recognizer": ("arch", "charset", "height", "backbone", "hidden", "lstm_layers", "gray")}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WordsConfig(_Section):
    max_words: int = Field(32, ge=1, description="words read per training image (the rest train detection only)")
    min_height: float = Field(4.0, ge=1.0, description="px: lower words are not read in training")
    global_rows: int = Field(4, ge=1, description="rows of each word's rotated RoI on the shared map")


class GlassLossConfig(_Section):
    angle: float = Field(1.0, ge=0.0, description="weight of the periodic angle loss")
    recognition: float = Field(1.0, ge=0.0, description="weight of the CTC loss")
    angle_kind: Literal["cosine", "smooth_l1"] = "cosine"


def _tiny_reader() -> CRNNConfig:
    return CRNNConfig(arch="crnn", charset={"kind": "lower36"}, height=32, width=100, max_length=25,
                      backbone={"name": "resnet", "channels": 64, "blocks": [1, 1, 1, 1]}, hidden=64,
                      lstm_layers=1)


class GlassConfig(_Section):
    arch: Literal["glass"]
    detector: DBNetConfig = Field(default_factory=lambda: DBNetConfig(arch="dbnet"))
    recognizer: CRNNConfig = Field(default_factory=_tiny_reader)
    words: WordsConfig = Field(default_factory=WordsConfig)
    loss: GlassLossConfig = Field(default_factory=GlassLossConfig)
    new_lr_scale: float = Field(1.0, gt=0.0, description="learning-rate multiplier of the parts only the spotter "
                                "has (angle head, global projection, fusion), which start from scratch while "
                                "init_parts may start the detector and reader from trained models")

    @field_validator("recognizer")
    @classmethod
    def _fixed_width(cls, value: CRNNConfig) -> CRNNConfig:
        if value.width is None:
            raise ValueError("the GLASS reader needs a fixed input width (recognizer.width), got null")
        return value


def build(cfg: GlassConfig, init_weights: bool) -> Any:
    from models.detection.dbnet_spec import build as build_dbnet
    from models.recognition.crnn_spec import build as build_crnn
    from models.spotting.glass import Glass

    reader = build_crnn(cfg.recognizer, init_weights)
    return Glass(build_dbnet(cfg.detector, init_weights), reader, (cfg.recognizer.height, cfg.recognizer.width),
                 global_rows=cfg.words.global_rows, new_lr_scale=cfg.new_lr_scale)


def loss(cfg: GlassConfig) -> Any:
    from models.detection.dbnet_spec import loss as dbnet_loss
    from models.spotting.glass_loss import GlassLoss

    return GlassLoss(dbnet_loss(cfg.detector), cfg.loss.angle, cfg.loss.recognition, cfg.loss.angle_kind)


def targets(cfg: GlassConfig) -> Any:
    from models.spotting.glass_targets import GlassTargets

    return GlassTargets(cfg)


def decode(outputs: dict[str, Any], cfg: GlassConfig, options: dict[str, Any], out_shape: tuple[int, int],
           scale: tuple[float, float]) -> list[tuple[Any, float]]:
    """Word polygons from the ``prob`` map, exactly as the DBNet of ``cfg.detector`` decodes them."""
    from models.detection.dbnet_spec import decode as dbnet_decode

    return dbnet_decode(outputs, cfg.detector, options, out_shape, scale)


def init_parts(module: Any, cfg: GlassConfig, checkpoints: dict[str, dict[str, Any]]) -> list[str]:
    """Load trained models into the spotter's parts: ``checkpoints`` maps a part (``detector``:
    a dbnet, ``recognizer``: a crnn) to a loaded checkpoint (``models.checkpoint.load_checkpoint``).
    A checkpoint of another architecture, or whose config differs from the part's, is refused with the
    differing keys named. Returns what was loaded, one line per part."""
    loaded = []
    for part, checkpoint in checkpoints.items():
        if part not in PARTS:
            raise KeyError(f"glass: unknown part {part!r} to initialise; valid: {', '.join(PARTS)}")
        given = checkpoint["model_config"]
        if given.get("arch") != PARTS[part]:
            raise ValueError(f"glass: the {part} is a {PARTS[part]}, but its init checkpoint is a "
                             f"{given.get('arch')!r} model")
        mine = getattr(cfg, part)
        theirs = type(mine).model_validate(given)
        differ = [d for d in _differences(mine.model_dump(), theirs.model_dump())
                  if any(d == key or d.startswith((f"{key} ", f"{key}.")) for key in MATCHED[part])]
        if differ:
            raise ValueError(f"glass: model.{part} differs from its init checkpoint's config at "
                             f"{', '.join(differ)}: make them equal (copy the checkpoint's model config)")
        getattr(module, "detector" if part == "detector" else "reader").load_state_dict(
            checkpoint["state_dict"], strict=True)
        loaded.append(f"{part}: {len(checkpoint['state_dict'])} tensors at step {checkpoint.get('step')}")
    return loaded


def _differences(mine: Any, theirs: Any, where: str = "") -> list[str]:
    """Dotted keys at which two plain config dumps differ."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        out = []
        for key in sorted(set(mine) | set(theirs)):
            out += _differences(mine.get(key), theirs.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if mine == theirs else [f"{where} ({mine!r} here, {theirs!r} there)"]


GLASS = Architecture(
    name="glass", task="spotting", config=GlassConfig, build=build, loss=loss, targets=targets,
    target_keys=("gt", "mask", "thresh_map", "thresh_mask", "angle_target", "angle_weight", "word_boxes",
                 "word_valid", "word_labels", "word_lengths"),
    decode=decode, output_keys=("prob",), tiny={"arch": "glass"}, init_parts=init_parts,
)
