"""CRNN's registration with the recognition task: its typed config, builder, CTC loss, targets and decoding.

A CRNN config (the ``model:`` section of a recipe, also stored in every checkpoint)::

    {"arch": "crnn",
     "charset": {"kind": "lower36"}, "height": 32, "width": 100, ...    # RecognizerConfig: charset, geometry
     "backbone": {"name": "vgg", "channels": 256, "blocks": [1, 2, 5, 3]},   # blocks: resnet only
     "hidden": 256, "lstm_layers": 2, "gray": false}

An EasyOCR ``english_g2``-shaped model: ``backbone: {name: vgg, channels: 256}``, ``hidden: 256``,
``lstm_layers: 2``, ``gray: true``, ``height: 64``, and a file charset of its 96 characters.

Decode options: ``beam_width`` (1 = greedy, the default) and ``score`` (``mean`` or ``product``), see
``models.recognition.ctc``.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.recognition.charset import charset_of
from models.recognition.config import RecognizerConfig
from models.recognition.targets import LabelTargets
from models.task import Architecture

DECODE_OPTIONS = {"beam_width": 1, "score": "mean"}


class CRNNBackbone(BaseModel):
    """The convolutional feature extractor: ``name`` vgg or resnet, ``channels`` its output width c."""

    model_config = ConfigDict(extra="forbid")
    name: Literal["vgg", "resnet"] = "vgg"
    channels: int = Field(256, ge=16, description="output channels c (stages use c/8, c/4, c/2, c)")
    blocks: list[int] = Field(default_factory=lambda: [1, 2, 5, 3], description="resnet: blocks per stage")

    @field_validator("channels")
    @classmethod
    def _divisible(cls, value: int) -> int:
        if value % 16:
            raise ValueError(f"must be a multiple of 16 (stages use c/8 ... c), got {value}")
        return value

    @field_validator("blocks")
    @classmethod
    def _four_stages(cls, value: list[int]) -> list[int]:
        if len(value) != 4 or min(value) < 1:
            raise ValueError(f"four stages of at least one block expected, got {value}")
        return value


class CRNNConfig(RecognizerConfig):
    arch: Literal["crnn"]
    backbone: CRNNBackbone = Field(default_factory=CRNNBackbone)
    hidden: int = Field(256, ge=1, description="LSTM units per direction (and each block's output)")
    lstm_layers: int = Field(2, ge=1, description="stacked BiLSTM + linear blocks")
    gray: bool = Field(False, description="read the crop as one grey channel (converted inside the model)")


def num_classes(cfg: CRNNConfig) -> int:
    """The charset's size plus the CTC blank (class 0)."""
    return charset_of(cfg.charset).size + 1


def build(cfg: CRNNConfig, init_weights: bool) -> Any:
    """The CRNN of ``cfg`` (no pretrained weights exist for it yet: ``init_weights`` changes nothing)."""
    from models.recognition.crnn import CRNN

    return CRNN(num_classes(cfg), backbone=cfg.backbone.name, channels=cfg.backbone.channels, hidden=cfg.hidden,
                layers=cfg.lstm_layers, gray=cfg.gray, blocks=cfg.backbone.blocks)


def loss(cfg: CRNNConfig) -> Any:
    from models.recognition.ctc_loss import CTCLoss

    return CTCLoss()


def targets(cfg: CRNNConfig) -> LabelTargets:
    return LabelTargets(cfg.charset, cfg.max_length)


def decode(outputs: dict[str, Any], cfg: CRNNConfig, options: dict[str, Any]) -> list[tuple[str, float]]:
    """(text, score) of every crop of a batch's ``logits`` (B, T, C), in order; ``options``: DECODE_OPTIONS."""
    from models.recognition.ctc import decode_batch

    unknown = sorted(set(options) - set(DECODE_OPTIONS))
    if unknown:
        raise ValueError(f"unknown crnn decode option(s) {unknown}; valid: {', '.join(DECODE_OPTIONS)}")
    settings = {**DECODE_OPTIONS, **options}
    charset = charset_of(cfg.charset)
    return [(charset.decode(ids), score)
            for ids, score in decode_batch(outputs["logits"], int(settings["beam_width"]), settings["score"])]


CRNN = Architecture(
    name="crnn", task="recognition", config=CRNNConfig, build=build, loss=loss, targets=targets,
    target_keys=("label", "length"), decode=decode, output_keys=("logits",),
    tiny={"arch": "crnn", "backbone": {"name": "vgg", "channels": 64}, "hidden": 64, "lstm_layers": 2},
)
