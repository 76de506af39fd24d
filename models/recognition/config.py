"""What every recognizer's config holds besides its network: the charset and the input geometry.

Architecture configs (``crnn``, ``attention``, ``binet``) subclass ``RecognizerConfig``, so training
data, evaluation and the predictor read these fields without knowing the architecture.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.recognition.charset import CharsetConfig


class RecognizerConfig(BaseModel):
    """Charset and input geometry of a recognizer (see ``models.recognition.preprocess``)."""

    model_config = ConfigDict(extra="forbid")
    arch: str
    charset: CharsetConfig = Field(default_factory=CharsetConfig)
    height: int = Field(32, ge=8, description="crop height in pixels")
    width: int | None = Field(100, ge=8, description="crop width; null: variable width, aspect kept")
    keep_ratio: bool = Field(True, description="fixed width: keep the aspect and pad (else stretch)")
    max_width: int = Field(256, ge=8, description="variable width: the widest crop")
    width_multiple: int = Field(4, ge=1, description="variable width: rounded to a multiple of this (1: the exact "
                                                     "scaled width, as EasyOCR's recognizers read crops)")
    rotate_tall: bool = Field(True, description="turn tall crops (vertical text) a quarter turn")
    max_length: int = Field(25, ge=1, description="longest label in characters (longer ones are cut)")
    pad: Literal["zeros", "edge"] = Field("zeros", description="training batches: crops narrower than the widest "
                                          "are filled on the right with zeros, or with their last column "
                                          "repeated (edge: how EasyOCR trained its recognizers)")


def input_geometry(config: RecognizerConfig | dict) -> dict:
    """The ``models.recognition.preprocess.fit_crop`` keyword arguments of a recognizer config."""
    get = config.get if isinstance(config, dict) else lambda k, d=None: getattr(config, k, d)
    return {"height": get("height", 32), "width": get("width", 100), "keep_ratio": get("keep_ratio", True),
            "max_width": get("max_width", 256),
            "width_multiple": get("width_multiple", 4), "rotate_tall": get("rotate_tall", True)}
