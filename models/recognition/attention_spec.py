"""The ``attention`` recognizer's registration with the recognition task (network in ``attention.py``).

A config (the ``model:`` section of a recipe, stored in every checkpoint)::

    {"arch": "attention", "charset": {"kind": "lower36"}, "height": 32, "width": 100, "max_length": 25,
     "encoder": {"channels": [64, 128, 256, 512], "blocks": [1, 2, 4, 2],
                 "strides": [[2, 2], [2, 2], [2, 1], [1, 1]]},
     "decoder": {"hidden": 256, "embed": 128, "attention": 256}}

Everything but ``arch`` has defaults; the geometry fields are ``RecognizerConfig``'s.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.recognition.charset import charset_of
from models.recognition.config import RecognizerConfig
from models.recognition.eos_sequences import check_greedy_options, greedy_decode
from models.recognition.targets import LabelTargets
from models.task import Architecture


class EncoderConfig(BaseModel):
    """``resnet_encoder.ResNetEncoder``: channels, blocks and (height, width) stride per stage."""

    model_config = ConfigDict(extra="forbid")
    channels: list[int] = Field(default_factory=lambda: [64, 128, 256, 512], min_length=1)
    blocks: list[int] = Field(default_factory=lambda: [1, 2, 4, 2], min_length=1)
    strides: list[tuple[int, int]] = Field(default_factory=lambda: [(2, 2), (2, 2), (2, 1), (1, 1)], min_length=1)


class DecoderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: int = Field(256, ge=1, description="LSTM cell size")
    embed: int = Field(128, ge=1, description="character embedding size")
    attention: int = Field(256, ge=1, description="additive attention size")


class AttentionConfig(RecognizerConfig):
    arch: Literal["attention"]
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)
    decoder: DecoderConfig = Field(default_factory=DecoderConfig)


def build(cfg: AttentionConfig, init_weights: bool) -> Any:
    """The network (random init: no public weights fit it, so ``init_weights`` changes nothing)."""
    from models.recognition.attention import AttentionRecognizer
    from models.recognition.resnet_encoder import ResNetEncoder

    encoder = ResNetEncoder(cfg.encoder.channels, cfg.encoder.blocks, cfg.encoder.strides)
    size = charset_of(cfg.charset).size
    return AttentionRecognizer(encoder, size, cfg.max_length, cfg.decoder.hidden, cfg.decoder.embed,
                               cfg.decoder.attention)


def loss(cfg: AttentionConfig) -> Any:
    from models.recognition.attention import SequenceLoss

    return SequenceLoss(charset_of(cfg.charset).size)


def targets(cfg: AttentionConfig) -> LabelTargets:
    return LabelTargets(cfg.charset, cfg.max_length)


def decode(outputs: dict[str, Any], cfg: AttentionConfig, options: dict[str, Any] | None = None
           ) -> list[tuple[str, float]]:
    """``(text, score)`` per crop: greedy characters up to the first EOS, score = mean max probability."""
    check_greedy_options("attention", options)
    return greedy_decode(outputs["logits"], charset_of(cfg.charset))


ATTENTION = Architecture(
    name="attention", task="recognition", config=AttentionConfig, build=build, loss=loss, targets=targets,
    target_keys=("label", "length"), decode=decode, output_keys=("logits",),
    tiny={"arch": "attention", "height": 32, "width": 64, "max_length": 8,
          "encoder": {"channels": [16, 32, 32], "blocks": [1, 1, 1], "strides": [[2, 2], [2, 2], [2, 1]]},
          "decoder": {"hidden": 32, "embed": 16, "attention": 32}},
)
