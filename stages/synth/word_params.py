"""Typed params of the synth stage's word images (its ``words`` section; see ``words_stage.py``)."""
from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from stages.synth.ranges import check_range

# Random strings: digits and lower-case letters (cased later like words), the 36-symbol benchmark set.
_RANDOM_CHARS = string.digits + string.ascii_lowercase
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# (low, high) bounds of the range params.
_LIMITS = {"word_length": (1, 64), "random_length": (1, 64), "font_scale": (0.5, 4.0), "padding": (0.0, 1.0),
           "arc_degrees": (1.0, 180.0), "rotation_deg": (-45.0, 45.0), "blur_sigma": (0.0, 5.0),
           "noise_sigma": (0.0, 64.0), "jpeg_quality": (1, 100), "low_res_height": (4, 256)}
# Trailing marks a word may get (punctuation_fraction): what signs and plaques attach to words.
_PUNCTUATION = ",.:;!?'\")"


class WordSplit(BaseModel):
    """One split of word images. ``held_out``: its texts come from the held-out part of the vocabulary,
    which no other split uses. ``background``: ``mixed`` (every kind, ``clutter_fraction`` of them
    cluttered), ``plain`` (one flat colour) or ``cluttered`` (always: distractor text and strokes)."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=0)
    held_out: bool = False
    background: Literal["mixed", "plain", "cluttered"] = "mixed"


class WordParams(BaseModel):
    """Word images: ``<split>/words.lmdb`` per split. A split is a count, or ``{count, held_out,
    background}``. Sizes are px; ``font_scale`` is the font size in units of the image height (before the
    word is fitted to that height) and ``padding`` the margin around the ink, in units of its height."""

    model_config = ConfigDict(extra="forbid")
    splits: dict[str, WordSplit]
    height: int = Field(32, ge=8, le=256)
    width: int | None = Field(None, ge=8, le=2048)  # None: the word's own aspect ratio; else every image this wide
    max_width: int = Field(256, ge=8, le=2048)  # natural widths above it are squeezed to it
    lexicon: Literal["english-words", "builtin", "file"] = "english-words"
    word_length: tuple[int, int] = (2, 12)  # letters per word taken from the list
    held_out_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    random_fraction: float = Field(0.1, ge=0.0, le=1.0)  # random strings of random_chars
    number_fraction: float = Field(0.1, ge=0.0, le=1.0)  # counts, years, prices, times, phone-like groups
    random_chars: str = Field(_RANDOM_CHARS, min_length=1)
    random_length: tuple[int, int] = (2, 10)
    case_weights: tuple[float, float, float] = (0.5, 0.25, 0.25)  # lower, Title, UPPER
    font_scale: tuple[float, float] = (1.0, 1.6)
    padding: tuple[float, float] = (0.02, 0.25)
    curved_fraction: float = Field(0.15, ge=0.0, le=1.0)
    arc_degrees: tuple[float, float] = (20.0, 60.0)
    rotation_deg: tuple[float, float] = (-4.0, 4.0)
    perspective: float = Field(0.08, ge=0.0, le=0.3)
    shadow_prob: float = Field(0.15, ge=0.0, le=1.0)
    border_prob: float = Field(0.15, ge=0.0, le=1.0)
    blur_prob: float = Field(0.3, ge=0.0, le=1.0)
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    noise_prob: float = Field(0.3, ge=0.0, le=1.0)
    noise_sigma: tuple[float, float] = (2.0, 10.0)
    jpeg_quality: tuple[int, int] = (40, 95)
    # Low resolution: the finished image shrunk to a capture height of low_res_height px and enlarged back,
    # as a recognizer sees a small word of a photo scaled up to its input height.
    low_res_prob: float = Field(0.0, ge=0.0, le=1.0)
    low_res_height: tuple[int, int] = (10, 24)
    punctuation_fraction: float = Field(0.0, ge=0.0, le=1.0)  # words (not numbers) ending in a mark
    punctuation: str = Field(_PUNCTUATION, min_length=1)
    clutter_fraction: float = Field(0.1, ge=0.0, le=1.0)
    min_contrast: float = Field(3.0, ge=1.0, le=21.0)
    shard_size: int = Field(1000, ge=1)  # words per parallel task (each task also carries the word list)
    samples: int = Field(32, ge=0, le=256)  # word images per split logged as a sample grid

    @field_validator("splits", mode="before")
    @classmethod
    def _counts_as_splits(cls, value):
        if isinstance(value, dict):
            return {k: {"count": v} if isinstance(v, int) and not isinstance(v, bool) else v for k, v in value.items()}
        return value

    @field_validator("splits")
    @classmethod
    def _check_splits(cls, value: dict[str, WordSplit]) -> dict[str, WordSplit]:
        if not value:
            raise ValueError("at least one split is needed")
        for name in value:
            if not _SPLIT_NAME.match(name):
                raise ValueError(f"split name {name!r}: use letters, digits, '_' and '-' (it names a folder)")
        return value

    @field_validator(*_LIMITS)
    @classmethod
    def _check_ranges(cls, value: tuple, info: ValidationInfo) -> tuple:
        return check_range(value, _LIMITS[info.field_name])

    @field_validator("punctuation")
    @classmethod
    def _check_punctuation(cls, value: str) -> str:
        wrong = [c for c in value if c.isalnum() or c.isspace()]
        if wrong:
            raise ValueError(f"punctuation: characters that are letters or digits: {''.join(wrong)!r} "
                             "(or spaces) are not marks")
        return value

    @field_validator("case_weights")
    @classmethod
    def _check_weights(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(value) < 0 or sum(value) <= 0:
            raise ValueError(f"weights must be >= 0 with a positive sum, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _check_fractions(self) -> "WordParams":
        if self.random_fraction + self.number_fraction > 1.0:
            raise ValueError(f"random_fraction + number_fraction must be <= 1, got "
                             f"{self.random_fraction} + {self.number_fraction}")
        if self.width is not None and self.width > self.max_width:
            raise ValueError(f"width {self.width} is above max_width {self.max_width}")
        return self

    def held_out_splits(self) -> list[str]:
        """The splits whose texts no other split uses."""
        return [name for name, split in self.splits.items() if split.held_out]
