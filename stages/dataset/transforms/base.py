"""The transform protocol shared by offline augmentation and the training stages' online augmentation.

A transform is called as ``t(image, polygons, ignore, rng) -> (image, polygons, ignore)``:
image is HxWx3 uint8 RGB; polygons is a list of (N, 2) float arrays in pixel-corner coordinates;
ignore is a list of bools (don't-care instances); rng is a ``numpy.random.Generator``, the only
source of randomness, so a seeded generator makes any chain reproducible.

The two lists keep their length and order through every transform so callers can match each polygon
back to its transcription; an instance that leaves the frame entirely comes back as an empty (0, 2)
polygon marked ignore (``drop_empty`` removes those).
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

Polygons = list[np.ndarray]


class Transform:
    """Base class: applies ``apply`` with probability ``p`` (one ``rng.random()`` draw when p < 1)."""

    def __init__(self, p: float = 1.0):
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, image: np.ndarray, polygons: Sequence[np.ndarray], ignore: Sequence[bool],
                 rng: np.random.Generator) -> tuple[np.ndarray, Polygons, list[bool]]:
        if len(polygons) != len(ignore):
            raise ValueError(f"{type(self).__name__}: {len(polygons)} polygons but {len(ignore)} ignore flags")
        polygons = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in polygons]
        ignore = [bool(i) for i in ignore]
        if self.p < 1.0 and rng.random() >= self.p:
            return image, polygons, ignore
        return self.apply(image, polygons, ignore, rng)

    def apply(self, image: np.ndarray, polygons: Polygons, ignore: list[bool],
              rng: np.random.Generator) -> tuple[np.ndarray, Polygons, list[bool]]:
        """Transform unconditionally; subclasses implement this."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class PixelTransform(Transform):
    """A transform that changes pixel values only: polygons and flags pass through unchanged."""

    def apply(self, image, polygons, ignore, rng):
        return self.pixels(image, rng), polygons, ignore

    def pixels(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return the new HxWx3 uint8 image."""
        raise NotImplementedError


class Compose(Transform):
    """Apply transforms in order; itself a transform (so chains nest)."""

    def __init__(self, transforms: Sequence[Transform], p: float = 1.0):
        super().__init__(p)
        self.transforms = list(transforms)

    def apply(self, image, polygons, ignore, rng):
        for t in self.transforms:
            image, polygons, ignore = t(image, polygons, ignore, rng)
        return image, polygons, ignore


def value_range(value, name: str, low: float | None = None, high: float | None = None,
                symmetric: bool = False) -> tuple[float, float]:
    """Read a parameter given as [lo, hi] or one number (a fixed value, or +-number when ``symmetric``),
    checking the bounds; raises ValueError naming the parameter."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = (-abs(value), abs(value)) if symmetric else (value, value)
    elif isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        lo, hi = value
    else:
        raise ValueError(f"{name} must be a number or [low, high], got {value!r}")
    lo, hi = float(lo), float(hi)
    if lo > hi:
        raise ValueError(f"{name}: low {lo} is above high {hi}")
    if (low is not None and lo < low) or (high is not None and hi > high):
        raise ValueError(f"{name} must lie within [{low}, {high}], got [{lo}, {hi}]")
    return lo, hi


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """One draw from [lo, hi] (always consumes one draw, even when lo == hi, to keep streams aligned)."""
    return float(rng.uniform(bounds[0], bounds[1]))


def fill_colour(image: np.ndarray, fill) -> tuple[float, ...]:
    """The colour for canvas areas a geometric transform uncovers: ``fill`` as given, or the image's
    mean colour when None (a flat, label-free border; reflecting would copy unlabelled text)."""
    if fill is None:
        return tuple(float(v) for v in cv2.mean(image)[: image.shape[-1]])
    if np.isscalar(fill):
        return (float(fill),) * image.shape[-1]
    return tuple(float(v) for v in fill)


def drop_empty(polygons: Sequence[np.ndarray], ignore: Sequence[bool], *others: Sequence) -> tuple[list, ...]:
    """Remove instances whose polygon has fewer than 3 points (they left the frame), filtering any
    parallel lists (texts, weights, ...) the same way."""
    keep = [i for i, p in enumerate(polygons) if len(p) >= 3]
    return tuple([seq[i] for i in keep] for seq in (polygons, ignore, *others))
