"""Text sprites: a word rendered as alpha masks in its own small canvas, with its true polygon.

A sprite holds float32 (h, w) alpha masks in [0, 1] — the glyph fill, an optional border ring and an
optional soft shadow — and the word's polygon in the sprite's pixel-corner coordinates: 2N points, top
side left to right then bottom side right to left (Total-Text / CTW1500 order; N = 2 for straight text).

The polygon hugs the ink: it is the tight box of the (blurred) glyph pixels, and a curved sprite is made
by bending the straight one along an arc or a wave with an exact inverse map, the polygon's points
mapped through the same bend. Enough points per side are used that the chords stay within 0.5 px of the
bent edge.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from stages.dataset.transforms.geometry import densify

INK_THRESHOLD = 0.125  # alpha above which a pixel counts as ink (for the polygon and the tests)
_CHORD_TOLERANCE = 0.5  # px a polygon chord may stray from the bent edge it stands for


@dataclass
class Curve:
    """How a sprite bends. kind "arc": the baseline follows a circle arc spanning ``angle`` radians
    (> 0 bulges upwards, < 0 downwards); kind "wave": it follows amplitude * sin(2 pi x / wavelength + phase)."""

    kind: str
    angle: float = 0.0
    amplitude: float = 0.0
    wavelength: float = 1.0
    phase: float = 0.0


@dataclass
class Sprite:
    """A rendered word: alpha masks (h, w) float32 and its (2N, 2) polygon in sprite coordinates."""

    fill: np.ndarray
    border: np.ndarray | None
    shadow: np.ndarray | None
    polygon: np.ndarray
    curved: bool = False

    @property
    def ink(self) -> np.ndarray:
        """Everything that is the word itself (fill and border, not the shadow)."""
        return self.fill if self.border is None else np.maximum(self.fill, self.border)


def render_sprite(text: str, font: ImageFont.FreeTypeFont, stroke: int = 0, blur: float = 0.0,
                  shadow: tuple[int, int, float] | None = None, curve: Curve | None = None,
                  min_points: int = 7) -> Sprite | None:
    """Render ``text`` as a sprite; None when it draws no ink (blank text, missing glyphs).

    stroke: border width px (0: none); blur: Gaussian sigma px applied to all masks;
    shadow: (dx, dy, sigma) offset and softness of a drop shadow; min_points: points per side of a
    curved polygon (more are used when the bend needs them).
    """
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    reach = 0 if shadow is None else max(abs(shadow[0]), abs(shadow[1])) + int(math.ceil(2 * shadow[2]))
    pad = stroke + 2 + int(math.ceil(2 * blur)) + reach
    size = (right - left + 2 * pad, bottom - top + 2 * pad)
    origin = (pad - left, pad - top)
    outer = _draw(text, font, size, origin, stroke)
    fill = _draw(text, font, size, origin, 0) if stroke else outer
    if blur > 0:
        outer = cv2.GaussianBlur(outer, (0, 0), blur)
        fill = cv2.GaussianBlur(fill, (0, 0), blur) if stroke else outer
    rows, cols = np.nonzero(outer > INK_THRESHOLD)
    if len(rows) == 0:
        return None
    x0, x1, y0, y1 = cols.min(), cols.max() + 1.0, rows.min(), rows.max() + 1.0
    polygon = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)
    border = np.clip(outer - fill, 0, 1) if stroke else None
    shade = None
    if shadow is not None:
        dx, dy, sigma = shadow
        shade = np.roll(outer, (dy, dx), axis=(0, 1))
        shade = cv2.GaussianBlur(shade, (0, 0), sigma) if sigma > 0 else shade
    sprite = Sprite(fill=fill, border=border, shadow=shade, polygon=polygon)
    return bend(sprite, curve, min_points) if curve is not None else sprite


def _draw(text: str, font, size: tuple[int, int], origin: tuple[int, int], stroke: int) -> np.ndarray:
    canvas = Image.new("L", size, 0)
    ImageDraw.Draw(canvas).text(origin, text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    return np.asarray(canvas, dtype=np.float32) * (1.0 / 255.0)


def bend(sprite: Sprite, curve: Curve, min_points: int = 7) -> Sprite:
    """Bend a straight sprite along ``curve``; returns a new sprite with a 2N-point polygon."""
    x0, y0 = sprite.polygon[0]
    x1, y1 = sprite.polygon[2]
    forward, inverse, points = _curve_maps(curve, x0, x1, y0, y1, sprite.fill.shape, min_points)
    top = np.stack([np.linspace(x0, x1, points), np.full(points, y0)], axis=1)
    bottom = np.stack([np.linspace(x1, x0, points), np.full(points, y1)], axis=1)
    polygon = forward(np.vstack([top, bottom]))
    # the new canvas must hold the bent image of the whole old canvas (shadow and blur fringe included).
    h, w = sprite.fill.shape
    frame = forward(densify(np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64), 4.0))
    ox, oy = np.floor(frame.min(axis=0))
    size = (int(np.ceil(frame[:, 0].max() - ox)), int(np.ceil(frame[:, 1].max() - oy)))
    map_x, map_y = _inverse_maps(inverse, size, (ox, oy))

    def warp(mask):
        if mask is None:
            return None
        return cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    fill = warp(sprite.fill)
    border = warp(sprite.border)
    shadow = warp(sprite.shadow)
    return Sprite(fill=fill, border=border, shadow=shadow, polygon=polygon - np.array([ox, oy]), curved=True)


def _inverse_maps(inverse, size: tuple[int, int], offset: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps: output pixel centres (corner coords + offset) pulled back through ``inverse``,
    then shifted by half a pixel to OpenCV's centre convention."""
    xs, ys = np.meshgrid(np.arange(size[0], dtype=np.float64) + 0.5 + offset[0],
                         np.arange(size[1], dtype=np.float64) + 0.5 + offset[1])
    us, vs = inverse(xs, ys)
    return (us - 0.5).astype(np.float32), (vs - 0.5).astype(np.float32)


def _curve_maps(curve: Curve, x0, x1, y0, y1, shape, min_points):
    """(forward(points) -> points, inverse(xs, ys) -> (us, vs), points per side) for a curve."""
    length, mid_x, mid_y = x1 - x0, (x0 + x1) / 2.0, (y0 + y1) / 2.0
    if curve.kind == "arc":
        # radius large enough that the whole canvas stays outside the circle's centre.
        radius = max(length / max(abs(curve.angle), 1e-3), 1.2 * shape[0])
        sign = 1.0 if curve.angle >= 0 else -1.0
        centre_y = mid_y + sign * radius  # below the text for an upward bulge
        outer = radius + (y1 - y0) / 2.0
        step = 2.0 * math.acos(max(-1.0, 1.0 - _CHORD_TOLERANCE / outer))
        needed = int(math.ceil((length / radius) / step)) + 1

        def forward(points):
            u, v = points[:, 0], points[:, 1]
            theta = (u - mid_x) / radius
            r = radius + sign * (mid_y - v)
            return np.stack([mid_x + r * np.sin(theta), centre_y - sign * r * np.cos(theta)], axis=1)

        def inverse(xs, ys):
            dx, dy = xs - mid_x, sign * (centre_y - ys)
            theta = np.arctan2(dx, dy)
            r = np.hypot(dx, dy)
            return mid_x + theta * radius, mid_y + sign * (radius - r)

    elif curve.kind == "wave":
        amp, k = curve.amplitude, 2.0 * math.pi / curve.wavelength
        curvature = max(amp * k * k, 1e-9)
        chord = math.sqrt(8.0 * _CHORD_TOLERANCE / curvature)
        needed = int(math.ceil(length / chord)) + 1

        def forward(points):
            u, v = points[:, 0], points[:, 1]
            return np.stack([u, v + amp * np.sin(k * (u - x0) + curve.phase)], axis=1)

        def inverse(xs, ys):
            return xs, ys - amp * np.sin(k * (xs - x0) + curve.phase)

    else:
        raise ValueError(f"unknown curve kind {curve.kind!r}; valid kinds: arc, wave")
    return forward, inverse, int(min(max(min_points, needed), 32))
