"""One synthetic word image (a recognition crop) and its glyph mask.

A word is rendered as a sprite (``render.py``: fill, optional border and shadow, optionally bent along an
arc or a wave), tilted in perspective and rotated a little, then mapped so its ink fills the image height
less a random margin: the image is ``height`` px high and as wide as the word's aspect needs (capped at
``max_width``), or exactly ``width`` when set. It is drawn over a background (procedural, a crop of the
user's images, one flat colour, or a cluttered one with distractor text), in a colour that reaches
``min_contrast`` against the pixels under it; then blurred and noised at random. The JPEG encoding (random
quality) happens in the stage.

The mask is the word's fill and border after every geometric step, thresholded at half coverage
(255 = glyph), the same size as the image; distractor text, shadows, blur and noise are not in it.

Everything random comes from the ``rng`` passed in, so an image is a pure function of its seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from stages.dataset.transforms.geometry import apply_matrix, rotation_about, translation, warp_matrix
from stages.synth.backgrounds import crop_from_file, procedural
from stages.synth.clutter import add_clutter
from stages.synth.colour import background_levels, opposite_colour, pick_text_colour
from stages.synth.effects import WORD_WAVE, random_curve, random_shadow
from stages.synth.fonts import load_font
from stages.synth.render import Sprite, render_sprite
from stages.synth.vocabulary import TextSource, sample_text

MASK_THRESHOLD = 0.5  # glyph coverage above which a pixel is a glyph pixel in the mask
_TRIES = 8  # texts tried before giving up (a word whose colour cannot stand out is drawn again)
_MIN_WIDTH = 8


@dataclass
class WordStyle:
    """How word images look: the stage's ``words`` params as plain picklable values, plus the resolved
    fonts and background files and the split's background kind."""

    height: int = 32
    width: int | None = None
    max_width: int = 256
    font_scale: tuple[float, float] = (1.0, 1.6)
    padding: tuple[float, float] = (0.02, 0.25)
    curved_fraction: float = 0.15
    arc_degrees: tuple[float, float] = (20.0, 60.0)
    rotation_deg: tuple[float, float] = (-4.0, 4.0)
    perspective: float = 0.08
    shadow_prob: float = 0.15
    border_prob: float = 0.15
    blur_prob: float = 0.3
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    noise_prob: float = 0.3
    noise_sigma: tuple[float, float] = (2.0, 10.0)
    clutter_fraction: float = 0.1
    min_contrast: float = 3.0
    low_res_prob: float = 0.0
    low_res_height: tuple[int, int] = (10, 24)
    background: str = "mixed"  # mixed | plain | cluttered
    fonts: list[str] = field(default_factory=list)
    background_files: list[str] | None = None


@dataclass
class WordImage:
    """A rendered word: (H, W, 3) uint8 RGB image, (H, W) uint8 mask (255 = glyph), its text."""

    image: np.ndarray
    mask: np.ndarray
    text: str
    cluttered: bool = False


def render_word(style: WordStyle, source: TextSource, rng: np.random.Generator) -> WordImage:
    """Render one word image with a text drawn from ``source``."""
    for _ in range(_TRIES):
        text = sample_text(source, rng)
        font_path = style.fonts[int(rng.integers(0, len(style.fonts)))]
        size = max(6, int(round(style.height * rng.uniform(*style.font_scale))))
        sprite = _sprite(style, text, font_path, size, rng)
        if sprite is None:
            continue  # the font draws nothing for this text
        matrix, canvas = _frame(style, sprite, rng)
        background, cluttered = _background(style, source, canvas, rng)
        drawn = _draw(style, sprite, matrix, canvas, background, rng)
        if drawn is None:
            continue
        image, ink = drawn
        mask = np.where(ink >= MASK_THRESHOLD, 255, 0).astype(np.uint8)
        return WordImage(image=_degrade(style, image, rng), mask=mask, text=text, cluttered=cluttered)
    raise RuntimeError(f"no legible word image in {_TRIES} tries: check words.min_contrast and the backgrounds")


def _sprite(style: WordStyle, text: str, font_path: str, size: int, rng) -> Sprite | None:
    """The word's masks: border and shadow at random, bent along an arc or a wave with ``curved_fraction``."""
    stroke = max(1, int(round(size / 16))) if rng.random() < style.border_prob else 0
    shadow = random_shadow(rng, size, style.shadow_prob)
    curve = random_curve(rng, size, style.curved_fraction, style.arc_degrees, WORD_WAVE)
    return render_sprite(text, load_font(font_path, size), stroke=stroke, shadow=shadow, curve=curve)


def _frame(style: WordStyle, sprite: Sprite, rng) -> tuple[np.ndarray, tuple[int, int]]:
    """The 3x3 map from sprite to image coordinates and the image (width, height): a perspective tilt and
    a rotation about the word's centre, then a scale that fits the ink plus margins to the height."""
    lo, hi = sprite.polygon.min(axis=0), sprite.polygon.max(axis=0)
    box = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    jitter = rng.uniform(-style.perspective, style.perspective, size=(4, 2)) * (hi - lo).min()
    tilt = cv2.getPerspectiveTransform(box.astype(np.float32), (box + jitter).astype(np.float32)).astype(np.float64)
    centre = (lo + hi) / 2.0
    matrix = rotation_about(float(rng.uniform(*style.rotation_deg)), centre[0], centre[1]) @ tilt
    mapped = apply_matrix(sprite.polygon, matrix)
    lo, hi = mapped.min(axis=0), mapped.max(axis=0)
    ink_height = max(float(hi[1] - lo[1]), 1.0)
    left, top, right, bottom = rng.uniform(*style.padding, size=4) * ink_height
    box_w, box_h = float(hi[0] - lo[0]) + left + right, ink_height + top + bottom
    sy = style.height / box_h
    if style.width is not None:
        width = style.width
    else:
        width = int(np.clip(round(box_w * sy), _MIN_WIDTH, style.max_width))
    sx = width / box_w  # = sy unless the width is fixed or capped: then the word is squeezed or stretched
    fit = np.diag([sx, sy, 1.0]) @ translation(left - lo[0], top - lo[1])
    return fit @ matrix, (width, style.height)


def _background(style: WordStyle, source: TextSource, canvas: tuple[int, int], rng) -> tuple[np.ndarray, bool]:
    """(H, W, 3) float32 background of the split's kind, and whether it is cluttered."""
    width, height = canvas
    kind = style.background
    if kind == "mixed" and rng.random() < style.clutter_fraction:
        kind = "cluttered"
    if kind == "plain":
        return np.broadcast_to(rng.integers(0, 256, size=3).astype(np.float32), (height, width, 3)).copy(), False
    if kind == "cluttered":
        image = procedural(rng, width, height)
        add_clutter(image, source.words, style.fonts, rng)
        return image, True
    if style.background_files and rng.random() < 0.5:
        path = style.background_files[int(rng.integers(0, len(style.background_files)))]
        return crop_from_file(rng, path, width, height).astype(np.float32), False
    return procedural(rng, width, height), False


def _draw(style: WordStyle, sprite: Sprite, matrix: np.ndarray, canvas: tuple[int, int], image: np.ndarray,
          rng) -> tuple[np.ndarray, np.ndarray] | None:
    """Blend the word's layers onto ``image`` (in place); (image, ink coverage) or None when no colour
    reaches ``min_contrast`` against the pixels under the word."""
    ink = warp_matrix(sprite.ink, matrix, canvas)
    if float(ink.max(initial=0.0)) < MASK_THRESHOLD:
        return None  # squeezed to nothing
    levels = background_levels(image[ink > 0.05])
    colour, contrast = pick_text_colour(rng, levels, style.min_contrast)
    if contrast < style.min_contrast:
        return None
    accent = opposite_colour(colour, rng)
    if sprite.shadow is not None:
        _blend(image, warp_matrix(sprite.shadow, matrix, canvas) * float(rng.uniform(0.5, 0.8)), accent)
    if sprite.border is not None:
        _blend(image, warp_matrix(sprite.border, matrix, canvas), accent)
    _blend(image, ink if sprite.border is None else warp_matrix(sprite.fill, matrix, canvas), colour)
    return image, ink


def _degrade(style: WordStyle, image: np.ndarray, rng) -> np.ndarray:
    """Camera-like blur and sensor noise at random, then a low-resolution capture; (H, W, 3) uint8."""
    if rng.random() < style.blur_prob:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(*style.blur_sigma)))
    if rng.random() < style.noise_prob:
        image = image + rng.standard_normal(image.shape, dtype=np.float32) * float(rng.uniform(*style.noise_sigma))
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if style.low_res_prob > 0:  # off: no draw, so the images of a seed are those rendered without the knob
        capture = int(rng.integers(style.low_res_height[0], style.low_res_height[1] + 1))
        if rng.random() < style.low_res_prob:
            image = low_resolution(image, capture)
    return image


def low_resolution(image: np.ndarray, height: int) -> np.ndarray:
    """(H, W, 3) uint8 ``image`` as if captured ``height`` px high: area-averaged down to that height (the
    aspect kept) and enlarged back bilinearly, as a recognizer enlarges a small crop. No-op at >= H."""
    h, w = image.shape[:2]
    if height >= h:
        return image
    small = cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _blend(region: np.ndarray, alpha: np.ndarray, colour) -> None:
    """region <- region * (1 - alpha) + colour * alpha, in place; region (h, w, 3) float32."""
    a = alpha[:, :, None]
    region *= 1.0 - a
    region += a * np.asarray(colour, dtype=np.float32)
