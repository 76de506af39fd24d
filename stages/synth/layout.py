"""One synthetic image: a background, then words placed one by one — each rotated and tilted in
perspective, kept inside the frame, never overlapping a word already placed, drawn in a colour that
stands out from the pixels under it.

Everything random comes from the ``rng`` passed in, so an image is a pure function of its seed.

Word size: a font size drawn from ``font_size``, or (``word_height`` set) a target height of the word's
ink box drawn from that range (``height_scale``: uniform in px or in log px); the word is rendered at
the font size that gives about that height and scaled to it exactly. Without ``word_height`` the draws
are exactly the ones this module always made, so existing configs render the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from shapely.geometry import Polygon

from stages.dataset.transforms.geometry import apply_matrix, rotation_about, translation, warp_matrix
from stages.synth.backgrounds import make_background
from stages.synth.colour import background_levels, opposite_colour, pick_text_colour
from stages.synth.effects import SCENE_WAVE, random_curve, random_shadow
from stages.synth.fonts import load_font
from stages.synth.lexicon import sample_text
from stages.synth.render import Sprite, bend, render_sprite

_MARGIN = 2.0  # px kept free between a polygon and the frame, and between two polygons
_POSITION_TRIES = 12
_WORD_TRIES = 3


@dataclass
class RenderConfig:
    """Everything the renderer needs, as plain picklable values (built from the stage params)."""

    width: int = 256
    height: int = 256
    instances: tuple[int, int] = (1, 5)
    font_size: tuple[int, int] = (14, 40)
    word_height: tuple[float, float] | None = None  # px of the ink box; replaces font_size when set
    height_scale: str = "linear"  # or "log": how word_height is drawn
    curved_fraction: float = 0.3
    arc_degrees: tuple[float, float] = (40.0, 140.0)
    rotation_deg: tuple[float, float] = (-20.0, 20.0)
    perspective: float = 0.08
    line_fraction: float = 0.15
    number_fraction: float = 0.1
    shadow_prob: float = 0.2
    border_prob: float = 0.2
    blur_prob: float = 0.2
    min_contrast: float = 3.0
    curve_points: int = 7
    fonts: list[str] = field(default_factory=list)
    backgrounds: list[str] | None = None
    words: list[str] = field(default_factory=list)
    keep_masks: bool = False  # keep each word's ink mask (tests)


@dataclass
class PlacedText:
    """One word as drawn: its polygon in image pixel-corner coordinates and what it looks like."""

    polygon: np.ndarray
    text: str
    curved: bool
    contrast: float
    colour: tuple[int, int, int]
    ink: np.ndarray | None = None  # (rh, rw) alpha of the word in the image region at ``ink_origin``
    ink_origin: tuple[int, int] = (0, 0)


@dataclass
class SynthImage:
    """A rendered image (HxWx3 uint8 RGB), its words, and how many words found no place."""

    image: np.ndarray
    instances: list[PlacedText]
    unplaced: int = 0


def render_image(config: RenderConfig, rng: np.random.Generator) -> SynthImage:
    """Render one image with between ``config.instances`` words on it (fewer when they do not fit)."""
    image = make_background(rng, config.width, config.height, config.backgrounds)
    wanted = int(rng.integers(config.instances[0], config.instances[1] + 1))
    placed: list[PlacedText] = []
    shapes: list[Polygon] = []
    unplaced = 0
    for _ in range(wanted):
        for _ in range(_WORD_TRIES):
            result = _place_word(config, image, shapes, rng)
            if result is not None:
                placed.append(result)
                shapes.append(Polygon(result.polygon).buffer(_MARGIN))
                break
        else:
            unplaced += 1
    return SynthImage(image=np.clip(np.rint(image), 0, 255).astype(np.uint8), instances=placed, unplaced=unplaced)


def _place_word(config: RenderConfig, image: np.ndarray, shapes: list[Polygon], rng) -> PlacedText | None:
    """Draw a word onto ``image`` (float32, in place) at a free, legible spot; None when none is found."""
    text = sample_text(rng, config.words, config.line_fraction, config.number_fraction)
    drawn_sprite = _random_sprite(config, text, rng)
    if drawn_sprite is None:
        return None
    sprite, scale, word_height = drawn_sprite
    matrix = _orientation(config, sprite, rng, scale)
    if word_height is not None and word_height * _frame_scale(matrix, sprite.polygon, config.width,
                                                              config.height) < config.word_height[0]:
        return None  # it would fit the frame only below the requested heights
    matrix = _fit_in_frame(matrix, sprite.polygon, config.width, config.height)
    base = apply_matrix(sprite.polygon, matrix)
    lo, hi = base.min(axis=0), base.max(axis=0)
    for _ in range(_POSITION_TRIES):
        tx = rng.uniform(_MARGIN - lo[0], config.width - _MARGIN - hi[0])
        ty = rng.uniform(_MARGIN - lo[1], config.height - _MARGIN - hi[1])
        polygon = base + np.array([tx, ty])
        shape = Polygon(polygon)
        if not shape.is_valid or any(shape.intersects(s) for s in shapes):
            continue
        drawn = _draw_sprite(config, image, sprite, translation(tx, ty) @ matrix, polygon, rng)
        if drawn is not None:
            drawn.text = text
            return drawn
    return None


def _random_sprite(config: RenderConfig, text: str, rng) -> tuple[Sprite, float, float | None] | None:
    """Pick a font, size and effects and render the word (curved with ``curved_fraction``); returns the
    sprite, the scale that brings its ink box to the drawn word height (1.0 without one) and that height."""
    font_path = config.fonts[int(rng.integers(0, len(config.fonts)))]
    target = None if config.word_height is None else _draw_height(config, rng)
    size = int(rng.integers(config.font_size[0], config.font_size[1] + 1)) if target is None else _nominal_size(target)
    stroke = max(1, int(round(size / 14))) if rng.random() < config.border_prob else 0
    blur = float(rng.uniform(0.4, 1.0)) if rng.random() < config.blur_prob else 0.0
    shadow = random_shadow(rng, size, config.shadow_prob)
    curve = random_curve(rng, size, config.curved_fraction, config.arc_degrees, SCENE_WAVE)
    if target is None:
        sprite = render_sprite(text, load_font(font_path, size), stroke=stroke, blur=blur, shadow=shadow,
                               curve=curve, min_points=config.curve_points)
        return None if sprite is None else (sprite, 1.0, None)
    made = _sprite_of_height(text, font_path, size, target, stroke, blur, shadow, curve, config.curve_points)
    return None if made is None else (*made, target)


def _draw_height(config: RenderConfig, rng) -> float:
    """A word height (px) from ``word_height``, uniform in px or in log px."""
    low, high = config.word_height
    if config.height_scale == "log":
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return float(rng.uniform(low, high))


def _nominal_size(height: float) -> int:
    """A first font size for an ink box ``height`` px tall (the ink of mixed text is about a font size)."""
    return max(2, int(round(height)))


def _ink_height(sprite: Sprite) -> float:
    """Height of the straight sprite's ink box (its polygon's vertical extent before any bend)."""
    return float(sprite.polygon[:, 1].max() - sprite.polygon[:, 1].min())


def _sprite_of_height(text: str, font_path: str, size: int, target: float, stroke: int, blur: float, shadow,
                      curve, min_points: int) -> tuple[Sprite, float] | None:
    """Render straight at ``size``, re-render at the size that gives ``target`` px of ink, bend; the
    remaining scale to exactly ``target`` is returned for the placement matrix (font sizes are integers)."""
    probe = render_sprite(text, load_font(font_path, size), stroke=stroke, blur=blur, shadow=shadow)
    if probe is None:
        return None
    size = max(2, int(round(size * target / _ink_height(probe))))
    sprite = render_sprite(text, load_font(font_path, size), stroke=stroke, blur=blur, shadow=shadow)
    if sprite is None:
        return None
    scale = target / _ink_height(sprite)
    if curve is not None:  # the bend keeps the band's thickness, so the scale measured straight still holds
        sprite = bend(sprite, curve, min_points)
    return sprite, scale


def _orientation(config: RenderConfig, sprite: Sprite, rng, scale: float = 1.0) -> np.ndarray:
    """Rotation about the polygon's centre after a mild perspective tilt of its box (and, for a drawn word
    height, after scaling it about its centre by ``scale``)."""
    lo, hi = sprite.polygon.min(axis=0), sprite.polygon.max(axis=0)
    box = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    jitter = rng.uniform(-config.perspective, config.perspective, size=(4, 2)) * (hi - lo)
    tilt = cv2.getPerspectiveTransform(box.astype(np.float32), (box + jitter).astype(np.float32)).astype(np.float64)
    centre = (lo + hi) / 2.0
    angle = float(rng.uniform(*config.rotation_deg))
    if config.word_height is None:  # the historical product, kept bit for bit
        return rotation_about(angle, centre[0], centre[1]) @ tilt
    grow = translation(centre[0], centre[1]) @ np.diag([scale, scale, 1.0]) @ translation(-centre[0], -centre[1])
    return rotation_about(angle, centre[0], centre[1]) @ tilt @ grow


def _frame_scale(matrix: np.ndarray, polygon: np.ndarray, width: int, height: int) -> float:
    """The shrink factor (<= 1) a word needs to fit the frame with margins."""
    mapped = apply_matrix(polygon, matrix)
    extent = mapped.max(axis=0) - mapped.min(axis=0)
    return min(1.0, (width - 2 * _MARGIN - 1) / extent[0], (height - 2 * _MARGIN - 1) / extent[1])


def _fit_in_frame(matrix: np.ndarray, polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink (about the polygon's centre) a word too large for the frame so it fits with margins."""
    mapped = apply_matrix(polygon, matrix)
    scale = _frame_scale(matrix, polygon, width, height)
    if scale >= 1.0:
        return matrix
    cx, cy = (mapped.max(axis=0) + mapped.min(axis=0)) / 2.0
    shrink = translation(cx, cy) @ np.diag([scale, scale, 1.0]) @ translation(-cx, -cy)
    return shrink @ matrix


def _draw_sprite(config: RenderConfig, image: np.ndarray, sprite: Sprite, matrix: np.ndarray,
                 polygon: np.ndarray, rng) -> PlacedText | None:
    """Warp the sprite's masks into the image region under it and blend the layers; None (nothing drawn)
    when no colour reaches ``min_contrast`` against that region."""
    h, w = sprite.fill.shape
    frame = apply_matrix(np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64), matrix)
    x0, y0 = np.maximum(np.floor(frame.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(frame.max(axis=0)).astype(int), (config.width, config.height))
    local = translation(-x0, -y0) @ matrix
    size = (int(x1 - x0), int(y1 - y0))
    ink = warp_matrix(sprite.ink, local, size)
    region = image[y0:y1, x0:x1]
    levels = background_levels(region[ink > 0.05])
    colour, contrast = pick_text_colour(rng, levels, config.min_contrast)
    if contrast < config.min_contrast:
        return None
    accent = opposite_colour(colour, rng)
    if sprite.shadow is not None:
        _blend(region, warp_matrix(sprite.shadow, local, size) * float(rng.uniform(0.5, 0.8)), accent)
    if sprite.border is not None:
        _blend(region, warp_matrix(sprite.border, local, size), accent)
    _blend(region, ink if sprite.border is None else warp_matrix(sprite.fill, local, size), colour)
    return PlacedText(polygon=polygon, text="", curved=sprite.curved, contrast=contrast, colour=colour,
                      ink=ink if config.keep_masks else None, ink_origin=(int(x0), int(y0)))


def _blend(region: np.ndarray, alpha: np.ndarray, colour) -> None:
    """region <- region * (1 - alpha) + colour * alpha, in place; region (h, w, 3) float32."""
    a = alpha[:, :, None]
    region *= 1.0 - a
    region += a * np.asarray(colour, dtype=np.float32)
