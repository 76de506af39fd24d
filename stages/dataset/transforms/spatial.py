"""Geometric transforms: the image and its polygons move through the same map.

Linear and projective maps send straight edges to straight edges, so polygon vertices are simply
mapped. The smooth non-linear warps (``Elastic``, ``Curve``) first insert points along every edge
(``densify``), then map them, so a straight word boundary follows the bend.
Canvas-expanding variants grow the canvas so nothing leaves the frame; the others clip polygons to the
frame (cut words marked ignore).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from stages.dataset.transforms.base import Transform, fill_colour, uniform, value_range
from stages.dataset.transforms.geometry import (
    apply_matrix,
    clip_to_frame,
    corners,
    densify,
    expand_to_fit,
    forward_points,
    remap_field,
    rotation_about,
    warp_matrix,
)

# The warps keep |grad displacement| under this so the inverse exists and point mapping converges fast.
_MAX_GRADIENT = 0.35


def _warp_all(image, polygons, ignore, matrix, size, fill):
    """Warp image and polygons through one matrix onto ``size``; clip what falls outside."""
    out = warp_matrix(image, matrix, size, fill=fill_colour(image, fill))
    polys = [apply_matrix(p, matrix) for p in polygons]
    return (out, *clip_to_frame(polys, ignore, size[0], size[1]))


class Rotate(Transform):
    """Rotate about the image centre by an angle (degrees, counter-clockwise) drawn from ``degrees``;
    ``expand`` grows the canvas to hold every corner, else the frame is kept and cut words are ignored."""

    def __init__(self, degrees=15.0, expand: bool = True, fill=None, p: float = 1.0):
        super().__init__(p)
        self.degrees = value_range(degrees, "degrees", -360.0, 360.0, symmetric=True)
        self.expand = bool(expand)
        self.fill = fill

    def apply(self, image, polygons, ignore, rng):
        h, w = image.shape[:2]
        matrix = rotation_about(uniform(rng, self.degrees), w / 2.0, h / 2.0)
        size = (w, h)
        if self.expand:
            matrix, size = expand_to_fit(matrix, w, h)
        return _warp_all(image, polygons, ignore, matrix, size, self.fill)


class Perspective(Transform):
    """Move each image corner by up to ``strength`` x (width, height) and warp through the homography."""

    def __init__(self, strength=(0.02, 0.1), expand: bool = True, fill=None, p: float = 1.0):
        super().__init__(p)
        # past 0.25 the moved corners could fold the quadrilateral.
        self.strength = value_range(strength, "strength", 0.0, 0.25)
        self.expand = bool(expand)
        self.fill = fill

    def apply(self, image, polygons, ignore, rng):
        h, w = image.shape[:2]
        strength = uniform(rng, self.strength)
        src = corners(w, h)
        dst = src + rng.uniform(-strength, strength, size=(4, 2)) * np.array([w, h])
        matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)
        size = (w, h)
        if self.expand:
            matrix, size = expand_to_fit(matrix, w, h)
        return _warp_all(image, polygons, ignore, matrix, size, self.fill)


class Scale(Transform):
    """Resize by a factor drawn from ``factor``; ``aspect`` (width/height stretch) drawn from its range."""

    def __init__(self, factor=(0.75, 1.25), aspect=(1.0, 1.0), p: float = 1.0):
        super().__init__(p)
        self.factor = value_range(factor, "factor", 0.01, 20.0)
        self.aspect = value_range(aspect, "aspect", 0.1, 10.0)

    def apply(self, image, polygons, ignore, rng):
        h, w = image.shape[:2]
        factor, aspect = uniform(rng, self.factor), uniform(rng, self.aspect)
        new_w = max(1, int(round(w * factor * math.sqrt(aspect))))
        new_h = max(1, int(round(h * factor / math.sqrt(aspect))))
        return _resize(image, polygons, ignore, (new_w, new_h))


class Resize(Transform):
    """Resize to ``size`` = [width, height]; ``keep_ratio`` fits inside it and pads right/bottom."""

    def __init__(self, size=(640, 640), keep_ratio: bool = False, fill=0, p: float = 1.0):
        super().__init__(p)
        if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(int(s) >= 1 for s in size)):
            raise ValueError(f"size must be [width, height], got {size!r}")
        self.size = (int(size[0]), int(size[1]))
        self.keep_ratio = bool(keep_ratio)
        self.fill = fill

    def apply(self, image, polygons, ignore, rng):
        if not self.keep_ratio:
            return _resize(image, polygons, ignore, self.size)
        h, w = image.shape[:2]
        ratio = min(self.size[0] / w, self.size[1] / h)
        inner = (max(1, int(round(w * ratio))), max(1, int(round(h * ratio))))
        image, polygons, ignore = _resize(image, polygons, ignore, inner)
        canvas = np.empty((self.size[1], self.size[0], 3), dtype=np.uint8)
        canvas[:] = np.asarray(fill_colour(image, self.fill), dtype=np.float64).round().astype(np.uint8)
        canvas[: inner[1], : inner[0]] = image
        return canvas, polygons, ignore


def _resize(image, polygons, ignore, size):
    """cv2.resize maps corner coordinates by a plain scale, so polygons scale by the size ratios."""
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if size[0] * size[1] < w * h else cv2.INTER_LINEAR
    out = cv2.resize(image, size, interpolation=interp)
    sx, sy = size[0] / w, size[1] / h
    return out, [p * np.array([sx, sy]) for p in polygons], ignore


class RandomCrop(Transform):
    """Crop a window whose sides are ``scale`` x the image's; words cut by the border are clipped and
    marked ignore (``cut="ignore"``) or kept as words (``cut="keep"``); words left outside are dropped
    (empty polygons). ``avoid_cuts`` tries ``attempts`` positions and takes the first cutting no word."""

    def __init__(self, scale=(0.5, 1.0), cut: str = "ignore", avoid_cuts: bool = True, attempts: int = 10,
                 p: float = 1.0):
        super().__init__(p)
        self.scale = value_range(scale, "scale", 0.01, 1.0)
        if cut not in ("ignore", "keep"):
            raise ValueError(f"cut must be 'ignore' or 'keep', got {cut!r}")
        self.cut = cut
        self.avoid_cuts = bool(avoid_cuts)
        self.attempts = max(1, int(attempts))

    def apply(self, image, polygons, ignore, rng):
        h, w = image.shape[:2]
        cw = max(1, int(round(w * uniform(rng, self.scale))))
        ch = max(1, int(round(h * uniform(rng, self.scale))))
        boxes = [(p.min(axis=0), p.max(axis=0)) for p in polygons if len(p) >= 3]
        best, best_cuts = (0, 0), None
        for _ in range(self.attempts if self.avoid_cuts else 1):
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            cuts = _count_cuts(boxes, x0, y0, cw, ch)
            if best_cuts is None or cuts < best_cuts:
                best, best_cuts = (x0, y0), cuts
            if cuts == 0:
                break
        x0, y0 = best
        out = image[y0:y0 + ch, x0:x0 + cw].copy()
        moved = [p - np.array([x0, y0]) for p in polygons]
        return (out, *clip_to_frame(moved, ignore, cw, ch, cut=self.cut))


def _count_cuts(boxes, x0, y0, cw, ch) -> int:
    """How many boxes straddle the window's border (neither fully inside nor fully outside)."""
    cuts = 0
    for lo, hi in boxes:
        inside = lo[0] >= x0 and lo[1] >= y0 and hi[0] <= x0 + cw and hi[1] <= y0 + ch
        outside = hi[0] <= x0 or hi[1] <= y0 or lo[0] >= x0 + cw or lo[1] >= y0 + ch
        cuts += not (inside or outside)
    return cuts


class _FieldWarp(Transform):
    """Shared machinery of the smooth warps: subclasses draw a displacement field and a margin."""

    def __init__(self, expand: bool, fill, p: float):
        super().__init__(p)
        self.expand = bool(expand)
        self.fill = fill

    def draw_field(self, w: int, h: int, rng):  # -> (field, max displacement px, smallest wavelength px)
        raise NotImplementedError

    def apply(self, image, polygons, ignore, rng):
        h, w = image.shape[:2]
        field, reach, wavelength = self.draw_field(w, h, rng)
        margin = int(math.ceil(reach)) + 1 if self.expand else 0
        size = (w + 2 * margin, h + 2 * margin)
        out = remap_field(image, field, size, offset=(margin, margin), fill=fill_colour(image, self.fill))
        # a chord this long strays from the bent edge by step^2 * curvature / 8: well under 0.5 px here.
        step = max(2.0, min(8.0, wavelength / 8.0))
        dense = [densify(p, step) if len(p) >= 3 else p for p in polygons]
        # all points in one batch: the fixed-point iteration costs the same for 10 points or 10 000.
        moved = forward_points(np.vstack(dense), field, offset=(margin, margin)) if dense else np.zeros((0, 2))
        splits = np.cumsum([len(p) for p in dense])[:-1]
        polys = np.split(moved, splits) if dense else []
        return (out, *clip_to_frame(polys, ignore, size[0], size[1]))


class Elastic(_FieldWarp):
    """A smooth random warp: ``waves`` sinusoidal displacement waves in random directions, amplitude
    (fraction of the larger side) and wavelength (fraction of the larger side) drawn from the ranges."""

    def __init__(self, amplitude=(0.005, 0.02), wavelength=(0.3, 0.7), waves: int = 3, expand: bool = True,
                 fill=None, p: float = 1.0):
        super().__init__(expand, fill, p)
        self.amplitude = value_range(amplitude, "amplitude", 0.0, 0.2)
        self.wavelength = value_range(wavelength, "wavelength", 0.02, 10.0)
        self.waves = max(1, int(waves))

    def draw_field(self, w, h, rng):
        side = float(max(w, h))
        amps = rng.uniform(*self.amplitude, size=self.waves) * side
        lams = rng.uniform(*self.wavelength, size=self.waves) * side
        thetas = rng.uniform(0, 2 * np.pi, size=self.waves)  # wave direction
        dirs = rng.uniform(0, 2 * np.pi, size=self.waves)  # displacement direction
        phases = rng.uniform(0, 2 * np.pi, size=self.waves)
        gradient = float(np.sum(amps * 2 * np.pi / lams))
        if gradient > _MAX_GRADIENT:
            amps *= _MAX_GRADIENT / gradient
        # float32 coefficients keep the image grid in float32 (half the memory traffic); points passed
        # in float64 are still computed in float64.
        kx = (np.cos(thetas) * 2 * np.pi / lams).astype(np.float32)
        ky = (np.sin(thetas) * 2 * np.pi / lams).astype(np.float32)
        ax, ay = (amps * np.cos(dirs)).astype(np.float32), (amps * np.sin(dirs)).astype(np.float32)
        phases = phases.astype(np.float32)

        def field(xs, ys):
            dx = dy = 0.0
            for k in range(self.waves):
                # sin(a + b) = sin a cos b + cos a sin b: separable, so a (1, w) row and an (h, 1) column
                # need only w + h sines and cosines for the whole grid.
                a, b = xs * kx[k], ys * ky[k] + phases[k]
                wave = np.sin(a) * np.cos(b) + np.cos(a) * np.sin(b)
                dx = dx + ax[k] * wave
                dy = dy + ay[k] * wave
            return dx, dy

        return field, float(np.sum(amps)), float(lams.min())


class Curve(_FieldWarp):
    """Bend the image along a sine wave: rows shift vertically by A sin(2 pi x / L + phase) (or columns
    horizontally with ``axis="y"``); A is a fraction of the height, L a fraction of the width."""

    def __init__(self, amplitude=(0.02, 0.08), wavelength=(0.6, 1.5), axis: str = "x", expand: bool = True,
                 fill=None, p: float = 1.0):
        super().__init__(expand, fill, p)
        self.amplitude = value_range(amplitude, "amplitude", 0.0, 0.5)
        self.wavelength = value_range(wavelength, "wavelength", 0.05, 10.0)
        if axis not in ("x", "y"):
            raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
        self.axis = axis

    def draw_field(self, w, h, rng):
        along, across = (w, h) if self.axis == "x" else (h, w)
        amp = uniform(rng, self.amplitude) * across
        lam = uniform(rng, self.wavelength) * along
        phase = float(rng.uniform(0, 2 * np.pi))
        amp = min(amp, _MAX_GRADIENT * lam / (2 * np.pi))
        k = 2 * np.pi / lam

        def field(xs, ys):
            if self.axis == "x":
                return np.zeros_like(xs), amp * np.sin(xs * k + phase)
            return amp * np.sin(ys * k + phase), np.zeros_like(ys)

        return field, amp, lam
