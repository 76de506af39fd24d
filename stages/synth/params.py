"""Typed params of the ``synth`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from pipeline.stage import StageParams
from stages.synth.ranges import check_range
from stages.synth.scene_split import SceneSplit, SplitSpec, split_count
from stages.synth.word_params import WordParams

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

# (low, high) bounds of the range params: below 6 px text is unreadable; an arc past 300 degrees closes.
_LIMITS = {"instances_per_image": (0, 100), "font_size": (6, 1000), "arc_degrees": (1, 300),
           "rotation_deg": (-180, 180)}


class SynthParams(StageParams):
    """Params of the synth stage. Paths (font_dir, background_dir, lexicon_file) may be relative to the
    project home. ``splits`` are scene splits, each a count or ``{count, ...overrides}`` (``scene_split``:
    word height, rotation, ... of that split alone); ``words`` adds word-image splits (recognition LMDBs)
    and then ``splits`` defaults to none."""

    seed: int = 0
    splits: dict[str, SplitSpec] = Field(default_factory=lambda: {"train": 200, "unlabeled": 100, "test": 50})
    image_size: tuple[int, int] = (256, 256)  # (width, height) px
    instances_per_image: tuple[int, int] = (1, 5)
    font_size: tuple[int, int] = (14, 40)  # px, before any shrinking to fit the frame
    curved_fraction: float = Field(0.3, ge=0.0, le=1.0)
    arc_degrees: tuple[float, float] = (40.0, 140.0)  # how much of a circle a curved word spans
    rotation_deg: tuple[float, float] = (-20.0, 20.0)
    perspective: float = Field(0.08, ge=0.0, le=0.3)  # corner jitter, fraction of the word's box
    line_fraction: float = Field(0.15, ge=0.0, le=1.0)  # instances that are 2-3 words on a line
    number_fraction: float = Field(0.1, ge=0.0, le=1.0)
    shadow_prob: float = Field(0.2, ge=0.0, le=1.0)
    border_prob: float = Field(0.2, ge=0.0, le=1.0)
    blur_prob: float = Field(0.2, ge=0.0, le=1.0)
    min_contrast: float = Field(3.5, ge=1.0, le=21.0)  # WCAG contrast ratio, text vs background
    curve_points: int = Field(7, ge=2, le=32)  # minimum points per side of a curved polygon
    font_dir: str | None = Field(None, json_schema_extra={"reference": "path"})  # keyed by content
    background_dir: str | None = Field(None, json_schema_extra={"reference": "path"})  # keyed by content
    lexicon_file: str | None = Field(None, json_schema_extra={"reference": "path"})  # keyed by content
    crops: bool = True
    image_format: Literal["jpg", "png"] = "jpg"
    jpeg_quality: int = Field(95, ge=1, le=100)
    shard_size: int = Field(32, ge=1)
    words: WordParams | None = None

    @field_validator("splits")
    @classmethod
    def _check_splits(cls, value: dict[str, int | SceneSplit]) -> dict[str, int | SceneSplit]:
        for name, split in value.items():
            if not _SPLIT_NAME.match(name):
                raise ValueError(f"split name {name!r}: use letters, digits, '_' and '-' (it names a folder)")
            count = split_count(split)
            if count < 0:
                raise ValueError(f"split {name!r}: count must be >= 0, got {count}")
        return value

    @field_validator("image_size")
    @classmethod
    def _check_size(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 32:
            raise ValueError(f"each side must be >= 32 px, got {value}")
        return value

    @field_validator("instances_per_image", "font_size", "arc_degrees", "rotation_deg")
    @classmethod
    def _check_ranges(cls, value: tuple, info: ValidationInfo) -> tuple:
        return check_range(value, _LIMITS[info.field_name])

    @model_validator(mode="after")
    def _scene_or_word_splits(self) -> "SynthParams":
        if self.words is not None and "splits" not in self.model_fields_set:
            self.splits = {}  # a words-only config renders no scenes unless it asks for them
        if not self.splits and self.words is None:
            raise ValueError("splits: at least one split is needed (or a words section)")
        if self.words is not None:
            clash = sorted(set(self.splits) & set(self.output_names()[len(self.splits):]))
            if clash:
                raise ValueError(f"words.splits: output name(s) {clash} clash with scene splits of the same name")
        return self

    def output_names(self) -> list[str]:
        """The stage's outputs: each scene split (its folder), then ``<split>_words`` per word split (its LMDB)."""
        words = [f"{name}_words" for name in self.words.splits] if self.words is not None else []
        return list(self.splits) + words
