"""The augmentation library: a registry of transforms and ``build_chain`` to make one from config.

Used offline by the augment stage and online by the training stages. Every transform has the call
``t(image, polygons, ignore, rng) -> (image, polygons, ignore)`` (see ``stages.dataset.transforms.base``).

A chain spec is a list of dicts ``{name: <registry name>, p: <probability>, **kwargs}``::

    build_chain([{"name": "rotate", "degrees": 10, "p": 0.5}, {"name": "jpeg", "quality": [40, 90]}])
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from stages.dataset.transforms.base import Compose, PixelTransform, Transform, drop_empty, value_range
from stages.dataset.transforms.photometric import (
    Brightness,
    ColorShift,
    Contrast,
    Gamma,
    GaussianBlur,
    GaussianNoise,
    Grayscale,
    Jpeg,
    MotionBlur,
    SaltPepper,
)
from stages.dataset.transforms.spatial import Curve, Elastic, Perspective, RandomCrop, Resize, Rotate, Scale

TRANSFORMS: dict[str, type[Transform]] = {
    # photometric
    "brightness": Brightness,
    "contrast": Contrast,
    "gamma": Gamma,
    "color_shift": ColorShift,
    "grayscale": Grayscale,
    # noise and compression
    "gaussian_noise": GaussianNoise,
    "salt_pepper": SaltPepper,
    "jpeg": Jpeg,
    # blur
    "gaussian_blur": GaussianBlur,
    "motion_blur": MotionBlur,
    # geometric
    "rotate": Rotate,
    "perspective": Perspective,
    "scale": Scale,
    "resize": Resize,
    "crop": RandomCrop,
    "elastic": Elastic,
    "curve": Curve,
}

GEOMETRIC = frozenset({"rotate", "perspective", "scale", "resize", "crop", "elastic", "curve"})


def build_transform(spec: Mapping[str, Any]) -> Transform:
    """One transform from ``{name: ..., p: ..., **kwargs}``; errors name the transform and the problem."""
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"a transform spec must be a mapping with a 'name' key, got {spec!r}")
    name = spec["name"]
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; valid names: {', '.join(sorted(TRANSFORMS))}")
    kwargs = {k: v for k, v in spec.items() if k != "name"}
    try:
        return TRANSFORMS[name](**kwargs)
    except TypeError as exc:  # an unknown or missing keyword
        raise ValueError(f"transform {name!r}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"transform {name!r}: {exc}") from None


def build_chain(spec: Sequence[Mapping[str, Any]]) -> Compose:
    """A ``Compose`` of the transforms a spec list names, in order; errors give the item's index."""
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence):
        raise ValueError(f"a chain spec must be a list of transform specs, got {spec!r}")
    transforms = []
    for i, item in enumerate(spec):
        try:
            transforms.append(build_transform(item))
        except ValueError as exc:
            raise ValueError(f"[{i}] {exc}") from None
    return Compose(transforms)


__all__ = ["TRANSFORMS", "GEOMETRIC", "Transform", "PixelTransform", "Compose", "build_chain", "build_transform",
           "drop_empty", "value_range"]
