"""The synthetic renderer: tight true polygons, legible colours, no overlaps, reproducible images."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon

from stages.dataset.transforms.geometry import polygon_area, rasterize
from stages.synth.colour import background_levels, contrast_ratio, pick_text_colour, relative_luminance, worst_contrast
from stages.synth.fonts import BUILTIN, find_fonts, load_font
from stages.synth.layout import RenderConfig, render_image
from stages.synth.lexicon import BUILTIN_WORDS
from stages.synth.render import INK_THRESHOLD, Curve, render_sprite

FONTS = find_fonts()
DILATE_2PX = np.ones((5, 5), np.uint8)  # a 5x5 square dilates by 2 px in every direction


def _config(**overrides) -> RenderConfig:
    base = dict(width=256, height=256, instances=(3, 6), fonts=FONTS, words=list(BUILTIN_WORDS), keep_masks=True,
                curved_fraction=0.5, rotation_deg=(-30.0, 30.0), perspective=0.1)
    base.update(overrides)
    return RenderConfig(**base)


def _ink_outside(ink: np.ndarray, polygon: np.ndarray) -> int:
    """Ink pixels (alpha > 0.25) farther than 2 px from the polygon."""
    h, w = ink.shape
    inside = cv2.dilate(rasterize([polygon], (w, h)), DILATE_2PX) > 0
    return int(((ink > 0.25) & ~inside).sum())


def _hull_area(ink: np.ndarray) -> float:
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    points = np.stack([cols, rows], axis=1).astype(np.float32)
    return float(cv2.contourArea(cv2.convexHull(points)))


@pytest.mark.parametrize("curve", [None, Curve("arc", angle=1.2), Curve("arc", angle=-2.2),
                                   Curve("wave", amplitude=7.0, wavelength=120.0, phase=0.7)],
                         ids=["straight", "arc_up", "arc_down", "wave"])
@pytest.mark.parametrize("effects", [dict(), dict(stroke=2, blur=0.9, shadow=(2, 3, 1.0))], ids=["plain", "effects"])
def test_sprite_polygon_is_tight(curve, effects):
    font = load_font(FONTS[0], 36)
    sprite = render_sprite("Grand Hotel 42", font, curve=curve, **effects)
    assert _ink_outside(sprite.ink, sprite.polygon) == 0
    # tight: the polygon is no bigger than 3x the ink's own convex hull (measured 0.45-1.06x: a bent
    # word's hull spans the hollow of its arc, its polygon does not)
    assert polygon_area(sprite.polygon) <= 3.0 * _hull_area(sprite.ink)
    n = len(sprite.polygon) // 2
    assert len(sprite.polygon) % 2 == 0 and n >= (7 if curve else 2)
    top, bottom = sprite.polygon[:n], sprite.polygon[n:][::-1]
    # 2N order: the top side runs left to right, the bottom side back, each point above its partner
    assert np.all(np.diff(top[:, 0]) >= 0) and np.all(np.diff(bottom[:, 0]) >= 0)
    if curve is None or curve.kind == "wave":
        assert np.all(top[:, 1] < bottom[:, 1])


def test_sprite_of_blank_text_is_none():
    assert render_sprite("   ", load_font(FONTS[0], 20)) is None


def test_images_polygons_hold_their_ink_and_never_overlap():
    config = _config()
    curved = 0
    for index in range(12):
        result = render_image(config, np.random.default_rng([7, index]))
        assert result.image.shape == (256, 256, 3) and result.image.dtype == np.uint8
        assert len(result.instances) >= 3
        for inst in result.instances:
            x0, y0 = inst.ink_origin
            h, w = inst.ink.shape
            assert _ink_outside(inst.ink, inst.polygon - [x0, y0]) == 0
            assert polygon_area(inst.polygon) <= 3.0 * _hull_area(inst.ink)
            assert (inst.polygon >= 0).all() and (inst.polygon[:, 0] <= 256).all() and (inst.polygon[:, 1] <= 256).all()
            assert inst.text
            curved += inst.curved
        shapes = [Polygon(i.polygon) for i in result.instances]
        assert all(s.is_valid for s in shapes)
        for a in range(len(shapes)):
            for b in range(a + 1, len(shapes)):
                assert not shapes[a].intersects(shapes[b]), f"image {index}: instances {a} and {b} overlap"
    assert curved >= 5  # half the words are curved


def test_text_colour_contrasts_with_its_background():
    config = _config(shadow_prob=0.0, border_prob=0.0, blur_prob=0.0, min_contrast=4.0)
    checked = 0
    for index in range(8):
        result = render_image(config, np.random.default_rng([3, index]))
        lum = relative_luminance(result.image)
        for inst in result.instances:
            assert inst.contrast >= 4.0
            x0, y0 = inst.ink_origin
            h, w = inst.ink.shape
            text = lum[y0:y0 + h, x0:x0 + w][inst.ink > 0.95]
            ring_mask = cv2.dilate((inst.ink > 0.02).astype(np.uint8), DILATE_2PX) & (inst.ink < 0.01)
            ring = lum[y0:y0 + h, x0:x0 + w][ring_mask > 0]
            if len(text) < 10 or len(ring) < 10:
                continue
            # measured on the final pixels: the glyphs' core against what surrounds them
            assert contrast_ratio(np.median(text), np.median(ring)) >= 3.0
            checked += 1
    assert checked >= 15


def test_contrast_ratio_values():
    assert contrast_ratio(relative_luminance([0, 0, 0]), relative_luminance([255, 255, 255])) == pytest.approx(21.0)
    assert contrast_ratio(0.3, 0.3) == pytest.approx(1.0)
    # WCAG's own example: #777777 on white is 4.48:1
    assert contrast_ratio(relative_luminance([0x77] * 3), 1.0) == pytest.approx(4.48, abs=0.01)


def test_pick_text_colour_meets_the_minimum_or_says_so():
    rng = np.random.default_rng(0)
    dark = background_levels(np.full((50, 3), 20, dtype=np.uint8))
    colour, ratio = pick_text_colour(rng, dark, 4.5)
    assert ratio >= 4.5 and worst_contrast(colour, dark) == pytest.approx(ratio)
    # half black, half white: nothing stands out from both, and the returned ratio tells the caller
    split = background_levels(np.concatenate([np.zeros((50, 3)), np.full((50, 3), 255)]).astype(np.uint8))
    _, ratio = pick_text_colour(rng, split, 3.0)
    assert ratio < 3.0


def test_same_seed_same_image_other_seed_other_image():
    config = _config(keep_masks=False)
    a = render_image(config, np.random.default_rng([1, 2]))
    b = render_image(config, np.random.default_rng([1, 2]))
    c = render_image(config, np.random.default_rng([1, 3]))
    assert np.array_equal(a.image, b.image)
    assert [i.text for i in a.instances] == [i.text for i in b.instances]
    assert not np.array_equal(a.image, c.image)


def test_builtin_font_fallback_renders(tmp_path):
    fonts = find_fonts(system_root=tmp_path)  # no system fonts there
    assert fonts == [BUILTIN]
    result = render_image(_config(fonts=fonts, instances=(2, 2)), np.random.default_rng(0))
    assert len(result.instances) == 2


def test_font_dir_is_used_and_checked(tmp_path):
    (tmp_path / "fonts").mkdir()
    with pytest.raises(FileNotFoundError, match="no .ttf"):
        find_fonts(tmp_path / "fonts")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        find_fonts(tmp_path / "missing")
    if FONTS[0] != BUILTIN:
        target = tmp_path / "fonts" / "Mine.ttf"
        target.write_bytes(open(FONTS[0], "rb").read())
        assert find_fonts(tmp_path / "fonts") == [str(target)]
