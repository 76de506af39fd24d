"""CRAFT's typed config (the ``model:`` section of a recipe, also stored in every checkpoint)::

    {"arch": "craft",
     "net": {"width": 1.0},
     "decode": {"text_threshold": 0.7, "link_threshold": 0.4, "low_text": 0.4},
     "targets": {...},   # how word annotations become training targets (weak supervision)
     "loss": {...}}

Everything but ``arch`` has defaults; the defaults are those of the public ``craft_mlt_25k`` weights.
``decode`` are the inference defaults a checkpoint carries; a caller's decode options override them.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetConfig(_Section):
    """The network: a VGG16-BN encoder and a U-Net decoder. ``width`` scales every channel count
    (1.0: the public weights' shapes; the tiny CPU variant uses less)."""

    width: float = Field(1.0, gt=0, le=1)


class DecodeConfig(_Section):
    """Score-map post-processing (``models.detection.craft_postprocess``)."""

    text_threshold: float = Field(0.7, gt=0, lt=1, description="a word's peak region score")
    link_threshold: float = Field(0.4, gt=0, lt=1, description="affinity that joins characters into a word")
    low_text: float = Field(0.4, gt=0, lt=1, description="region score that bounds a word")


class TargetsConfig(_Section):
    """Training targets from word annotations (weak supervision, ``models.detection.craft_targets``)."""

    max_words: int = Field(256, ge=1, description="words kept per training crop")


class LossConfig(_Section):
    """The region / affinity regression loss (``models.detection.craft_loss``)."""

    ohem_ratio: float = Field(3.0, gt=0, description="hard background pixels kept per text pixel")
    positive_threshold: float = Field(0.1, gt=0, lt=1, description="target value above which a pixel is text")


class CraftConfig(_Section):
    arch: Literal["craft"]
    net: NetConfig = NetConfig()
    decode: DecodeConfig = DecodeConfig()
    targets: TargetsConfig = TargetsConfig()
    loss: LossConfig = LossConfig()
