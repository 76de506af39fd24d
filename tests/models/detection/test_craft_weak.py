"""The weak-supervision split of a word into characters, on words rendered with a real font."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from models.detection.craft_weak import confidence, even_split, order_box, pseudo_char_boxes
from stages.synth.fonts import find_fonts, load_font

FONT_SIZE = 48  # px in the image; the score map is at half resolution, as CRAFT's


def dejavu_sans() -> str:
    fonts = [f for f in find_fonts() if f.endswith("/DejaVuSans.ttf")]
    if not fonts:
        pytest.skip("DejaVu Sans is not installed (Debian fonts-dejavu-core)")
    return fonts[0]


def render_glyph_boxes(word: str, origin=(20, 16)) -> tuple[np.ndarray, np.ndarray]:
    """Render ``word`` and return (image (H, W) uint8, its glyphs' ink boxes (n, 4): x0, y0, x1, y1),
    each glyph's box measured from its own ink in a render of that glyph alone at its place in the word."""
    font = load_font(dejavu_sans(), FONT_SIZE)
    width = int(font.getlength(word)) + 2 * origin[0]
    size = (width, FONT_SIZE + 2 * origin[1])
    image = Image.new("L", size, 0)
    ImageDraw.Draw(image).text(origin, word, font=font, fill=255)
    boxes = []
    for i, char in enumerate(word):
        alone = Image.new("L", size, 0)
        ImageDraw.Draw(alone).text((origin[0] + font.getlength(word[:i]), origin[1]), char, font=font, fill=255)
        ys, xs = np.nonzero(np.asarray(alone))
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return np.asarray(image), np.asarray(boxes, np.float32)


def glyph_score_map(shape: tuple[int, int], boxes: np.ndarray) -> np.ndarray:
    """A region score like a trained CRAFT's: one axis-aligned Gaussian per glyph box (max-combined)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32) + 0.5
    score = np.zeros(shape, np.float32)
    for x0, y0, x1, y1 in boxes:
        sx, sy = max(x1 - x0, 1.0) / 4.0, max(y1 - y0, 1.0) / 4.0
        g = np.exp(-((xs - (x0 + x1) / 2) ** 2 / (2 * sx ** 2) + (ys - (y0 + y1) / 2) ** 2 / (2 * sy ** 2)))
        np.maximum(score, g, out=score)
    return score


def word_polygon(image: np.ndarray) -> np.ndarray:
    """The word's annotation: the axis-aligned box around its ink, clockwise from top-left."""
    ys, xs = np.nonzero(image)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def half(image: np.ndarray, boxes: np.ndarray) -> tuple[tuple[int, int], np.ndarray]:
    return (image.shape[0] // 2, image.shape[1] // 2), boxes / 2.0


@pytest.mark.parametrize("word", ["Weakly", "minimum", "RAIL", "a"])
def test_split_finds_the_rendered_glyphs(word):
    image, glyphs = render_glyph_boxes(word)
    shape, glyphs = half(image, glyphs)
    score = glyph_score_map(shape, glyphs)
    chars, conf = pseudo_char_boxes(score, order_box(word_polygon(image) / 2.0), len(word))
    assert conf == 1.0
    assert chars.shape == (len(word), 4, 2)
    expected = (glyphs[:, :2] + glyphs[:, 2:]) / 2.0
    # within a quarter of a mean glyph advance (about 3 px of the 12 px characters at half resolution)
    tolerance = 0.25 * (glyphs[-1, 2] - glyphs[0, 0]) / len(word)
    assert np.abs(chars.mean(axis=1) - expected).max() < tolerance


def test_split_follows_a_rotated_word():
    image, glyphs = render_glyph_boxes("Weakly", origin=(40, 60))
    shape, glyphs = half(image, glyphs)
    score = glyph_score_map(shape, glyphs)
    rotation = cv2.getRotationMatrix2D((shape[1] / 2, shape[0] / 2), 20.0, 1.0)  # 20 deg counter-clockwise
    rotated = cv2.warpAffine(score, rotation, (shape[1], shape[0]))

    def turn(points: np.ndarray) -> np.ndarray:
        # cv2's matrix works on pixel centres: corner coordinates shift by half a pixel around it
        centred = np.asarray(points, np.float32).reshape(-1, 2) - 0.5
        return centred @ rotation[:, :2].T + rotation[:, 2] + 0.5

    polygon = turn(word_polygon(image) / 2.0)
    chars, conf = pseudo_char_boxes(rotated, order_box(polygon), 6)
    assert conf == 1.0
    expected = turn((glyphs[:, :2] + glyphs[:, 2:]) / 2.0)
    tolerance = 0.25 * (glyphs[-1, 2] - glyphs[0, 0]) / 6
    assert np.abs(chars.mean(axis=1) - expected).max() < tolerance


def test_a_uniform_word_blob_falls_back_to_the_even_split():
    image, glyphs = render_glyph_boxes("Weakly")
    shape, _ = half(image, glyphs)
    polygon = word_polygon(image) / 2.0
    score = np.zeros(shape, np.float32)
    cv2.fillPoly(score, [np.round(polygon - 0.5).astype(np.int32)], 1.0)  # one blob: 1 character found, 6 expected
    chars, conf = pseudo_char_boxes(score, order_box(polygon), 6)
    assert conf == 0.5
    x0, x1 = polygon[0, 0], polygon[1, 0]
    even_centres = x0 + (np.arange(6) + 0.5) * (x1 - x0) / 6
    np.testing.assert_allclose(chars.mean(axis=1)[:, 0], even_centres, atol=1e-3)
    np.testing.assert_allclose(chars.mean(axis=1)[:, 1], polygon[:, 1].mean(), atol=1e-3)


def test_one_missing_glyph_keeps_the_split_with_lower_confidence():
    image, glyphs = render_glyph_boxes("Weakly")
    shape, glyphs = half(image, glyphs)
    score = glyph_score_map(shape, np.delete(glyphs, 2, axis=0))  # the model does not see the 'a'
    chars, conf = pseudo_char_boxes(score, order_box(word_polygon(image) / 2.0), 6)
    assert conf == pytest.approx(5 / 6)
    assert len(chars) == 5


def test_no_score_at_all_is_an_even_split():
    chars, conf = pseudo_char_boxes(np.zeros((40, 80), np.float32),
                                    np.array([[10, 10], [70, 10], [70, 30], [10, 30]], np.float32), 3)
    assert conf == 0.5
    np.testing.assert_allclose(chars[:, 0, 0], [10, 30, 50], atol=1e-4)


def test_confidence_is_the_papers_formula():
    assert confidence(5, 5) == 1.0
    assert confidence(5, 4) == pytest.approx(0.8)
    assert confidence(5, 7) == pytest.approx(0.6)
    assert confidence(4, 0) == 0.0
    assert confidence(2, 9) == 0.0
    with pytest.raises(ValueError, match="length"):
        confidence(0, 3)


def test_even_split_covers_the_width():
    assert even_split(9.0, 3) == [(0.0, 3.0), (3.0, 6.0), (6.0, 9.0)]


def test_order_box_starts_where_the_reading_direction_starts():
    # a word read top to bottom (its first edge points down): the box starts at the top-right corner
    vertical = np.array([[30, 10], [30, 90], [10, 90], [10, 10]], np.float32)
    np.testing.assert_allclose(order_box(vertical), [[30, 10], [30, 90], [10, 90], [10, 10]])
    # a curved polygon given with many points: the minimum-area rectangle, clockwise from top-left
    curved = np.array([[0, 5], [20, 0], [40, 5], [40, 15], [20, 10], [0, 15]], np.float32)
    box = order_box(curved)
    np.testing.assert_allclose(box, [[0, 0], [40, 0], [40, 15], [0, 15]], atol=1e-4)
