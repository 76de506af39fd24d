"""The ``binet`` recognizer's registration with the recognition task (network in ``binet.py``, its
language model in ``binet_lm.py``).

A config (the ``model:`` section of a recipe, stored in every checkpoint)::

    {"arch": "binet", "charset": {"kind": "lower36"}, "height": 32, "width": 128, "max_length": 25,
     "encoder": {"channels": [64, 128, 256], "blocks": [2, 3, 3], "strides": [[2, 2], [2, 2], [1, 1]]},
     "vision": {"dim": 256, "heads": 8, "layers": 3, "feedforward": 1024},
     "language": {"layers": 4, "iterations": 3},
     "segmentation": {"gate_floor": 0.1},
     "loss": {"vision": 1.0, "language": 1.0, "fused": 1.0, "segmentation": 1.0}}

Everything but ``arch`` has defaults. ``iterations: 0`` is the vision model alone (no language model
output, no language / fused loss).
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.recognition.attention_spec import EncoderConfig
from models.recognition.charset import charset_of
from models.recognition.config import RecognizerConfig, input_geometry
from models.recognition.eos_sequences import check_greedy_options, greedy_decode
from models.recognition.preprocess import fit_crop
from models.recognition.targets import LabelTargets
from models.task import Architecture


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VisionConfig(_Section):
    dim: int = Field(256, ge=2, description="transformer width D (also the language model's)")
    heads: int = Field(8, ge=1)
    layers: int = Field(3, ge=0, description="transformer encoder layers over the feature map")
    feedforward: int = Field(1024, ge=1)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> "VisionConfig":
        if self.dim % self.heads:
            raise ValueError(f"vision.dim {self.dim} is not a multiple of vision.heads {self.heads}")
        return self


class LanguageConfig(_Section):
    layers: int = Field(4, ge=1, description="cloze (cross-attention) layers")
    iterations: int = Field(3, ge=0, description="language-model corrections; 0: vision model only")


class SegmentationConfig(_Section):
    gate_floor: float = Field(0.1, ge=0.0, le=1.0, description="feature gate on background: 1 disables it")


class LossConfig(_Section):
    vision: float = 1.0
    language: float = 1.0
    fused: float = 1.0
    segmentation: float = 1.0


class BINetConfig(RecognizerConfig):
    arch: Literal["binet"]
    encoder: EncoderConfig = Field(default_factory=lambda: EncoderConfig(
        channels=[64, 128, 256], blocks=[2, 3, 3], strides=[(2, 2), (2, 2), (1, 1)]))
    vision: VisionConfig = Field(default_factory=VisionConfig)
    language: LanguageConfig = Field(default_factory=LanguageConfig)
    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)
    loss: LossConfig = Field(default_factory=LossConfig)


def build(cfg: BINetConfig, init_weights: bool) -> Any:
    """The network (random init: no public weights fit it, so ``init_weights`` changes nothing)."""
    from models.recognition.binet import BINet
    from models.recognition.resnet_encoder import ResNetEncoder

    encoder = ResNetEncoder(cfg.encoder.channels, cfg.encoder.blocks, cfg.encoder.strides)
    v = cfg.vision
    return BINet(encoder, charset_of(cfg.charset).size, cfg.max_length, v.dim, v.heads, v.layers,
                 cfg.language.layers, v.feedforward, cfg.language.iterations, cfg.segmentation.gate_floor, v.dropout)


def loss(cfg: BINetConfig) -> Any:
    from models.recognition.binet import BINetLoss

    return BINetLoss(charset_of(cfg.charset).size, cfg.loss.model_dump())


class GlyphTargets(LabelTargets):
    """``label``, ``length`` and ``glyph_mask``: the crop's text mask at the model input size.

    The mask (float in [0, 1] or 8-bit with 255 = glyph) may come at the crop's own size or already fitted:
    it goes through ``preprocess.fit_crop`` with the model's geometry, which leaves a fitted mask as it
    is. No mask: zeros (height x width, or x max_width for variable width), which the loss skips.
    """

    def __init__(self, cfg: BINetConfig):
        super().__init__(cfg.charset, cfg.max_length)
        self.geometry = input_geometry(cfg)

    def __call__(self, text: str, glyph_mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        out = super().__call__(text, glyph_mask)
        out["glyph_mask"] = self.fit_mask(glyph_mask)
        return out

    def fit_mask(self, mask: np.ndarray | None) -> np.ndarray:
        g = self.geometry
        if mask is None:
            return np.zeros((g["height"], g["width"] or g["max_width"]), np.float32)
        if mask.ndim != 2:
            raise ValueError(f"glyph mask must be (H, W); got shape {mask.shape}")
        scaled = mask if mask.dtype == np.uint8 else np.clip(mask * 255.0, 0, 255).astype(np.uint8)
        fitted = fit_crop(np.repeat(scaled[:, :, None], 3, axis=2), **g)
        return fitted[:, :, 0].astype(np.float32) / 255.0


def targets(cfg: BINetConfig) -> GlyphTargets:
    return GlyphTargets(cfg)


def decode(outputs: dict[str, Any], cfg: BINetConfig, options: dict[str, Any] | None = None
           ) -> list[tuple[str, float]]:
    """``(text, score)`` per crop from the final fused ``logits``: characters up to the first EOS,
    score = mean max probability."""
    check_greedy_options("binet", options)
    return greedy_decode(outputs["logits"], charset_of(cfg.charset))


BINET = Architecture(
    name="binet", task="recognition", config=BINetConfig, build=build, loss=loss, targets=targets,
    target_keys=("label", "length", "glyph_mask"), decode=decode, output_keys=("logits",),
    tiny={"arch": "binet", "height": 32, "width": 64, "max_length": 8,
          "encoder": {"channels": [16, 32], "blocks": [1, 1], "strides": [[2, 2], [2, 2]]},
          "vision": {"dim": 32, "heads": 4, "layers": 1, "feedforward": 64, "dropout": 0.0},
          "language": {"layers": 1, "iterations": 2}},
)
