"""Per-split settings of the synth stage's scene splits: a split is a count, or a count with overrides.

A held-out test split often needs its own distribution of word size and orientation (tiny and huge
words, words turned all the way round), while train splits keep the stage's settings::

    splits:
      train: 200
      extreme: {count: 50, word_height: [6, 160], height_scale: log, rotation_deg: [0, 360],
                perspective: 0.0, curved_fraction: 0.0}

``word_height`` (px) fixes the height of each word's ink box (the polygon's short side before the
perspective tilt; with ``perspective: 0`` and a straight word it is the ground-truth polygon's text
height at any rotation) instead of drawing a font size: the word is rendered at the font size that
gives about that height, then scaled to it exactly. ``height_scale: log`` draws heights uniformly in
log space (as many words between 8 and 16 px as between 64 and 128), ``linear`` uniformly in px. A
word too large for the image is shrunk to fit only while its height stays within ``word_height``;
otherwise another word is tried (and, failing that, counted in ``unplaced_instances``).
Unset keys take the stage's values; a split given as a bare count renders exactly as before.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from stages.synth.ranges import check_range

# (low, high) bounds: below 4 px a word is a smudge; a rotation range may cover a whole turn either way.
SPLIT_LIMITS = {"instances_per_image": (0, 100), "font_size": (6, 1000), "word_height": (4, 1000),
                "rotation_deg": (-360, 360)}


class SceneSplit(BaseModel):
    """One scene split with its own word size / orientation settings (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=0)
    instances_per_image: tuple[int, int] | None = None
    font_size: tuple[int, int] | None = None
    word_height: tuple[float, float] | None = None  # px; replaces font_size
    height_scale: Literal["linear", "log"] = "linear"
    rotation_deg: tuple[float, float] | None = None  # counter-clockwise on screen
    curved_fraction: float | None = Field(None, ge=0.0, le=1.0)
    perspective: float | None = Field(None, ge=0.0, le=0.3)

    @field_validator(*SPLIT_LIMITS)
    @classmethod
    def _check_ranges(cls, value: tuple | None, info: ValidationInfo) -> tuple | None:
        return None if value is None else check_range(value, SPLIT_LIMITS[info.field_name])

    @model_validator(mode="after")
    def _one_size_rule(self) -> "SceneSplit":
        if self.word_height is not None and self.font_size is not None:
            raise ValueError("give word_height or font_size, not both (word_height replaces the font size draw)")
        if self.height_scale == "log" and self.word_height is None:
            raise ValueError("height_scale applies to word_height, which is not set")
        return self

    def overrides(self) -> dict:
        """The renderer settings this split changes (``RenderConfig`` field -> value)."""
        fields = {"instances": self.instances_per_image, "font_size": self.font_size,
                  "word_height": self.word_height, "rotation_deg": self.rotation_deg,
                  "curved_fraction": self.curved_fraction, "perspective": self.perspective}
        out = {name: value for name, value in fields.items() if value is not None}
        if self.word_height is not None:
            out["height_scale"] = self.height_scale
        return out


def _split_kind(value: Any) -> str:
    return "split" if isinstance(value, (dict, SceneSplit)) else "count"


# A split as a bare count or a mapping; the tag picks one, so an error names the split's own keys
# (``splits.test.split.word_height``) instead of both readings of the union.
SplitSpec = Annotated[Union[Annotated[int, Tag("count")], Annotated[SceneSplit, Tag("split")]],
                      Discriminator(_split_kind)]


def split_count(split: int | SceneSplit) -> int:
    """Images in a split given as a count or a ``SceneSplit``."""
    return split if isinstance(split, int) else split.count
