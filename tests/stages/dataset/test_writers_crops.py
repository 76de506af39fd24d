"""Word crops: quads of any vertex order and rotation come out upright, curved bands are unrolled.

The test images carry a pattern whose orientation can be read back from the crop: the blue channel
ramps up along the reading direction, the green channel is bright on the top half of the word only.
"""
from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import pytest

from stages.dataset.crops import crop_instance, encode_crop, order_quad


def _word(width: int, height: int) -> np.ndarray:
    """(height, width, 3) pattern: B = ramp along x, G = 255 on the top half, R = 0."""
    word = np.zeros((height, width, 3), np.uint8)
    word[:, :, 0] = np.linspace(0, 255, width, dtype=np.float64)[None, :].astype(np.uint8)
    word[: height // 2, :, 1] = 255
    return word


def _assert_upright(crop: np.ndarray) -> None:
    """Blue rises left to right, green is bright on top and dark at the bottom."""
    h, w = crop.shape[:2]
    ramp = crop[h // 2, :, 0].astype(float)
    assert np.corrcoef(np.arange(w), ramp)[0, 1] > 0.98
    assert crop[h // 4, w // 8: -w // 8, 1].mean() > 200
    assert crop[3 * h // 4, w // 8: -w // 8, 1].mean() < 55


def _rotated_word(angle_deg: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """A 120 x 30 word rotated by ``angle_deg`` (clockwise on screen) on a 400 x 400 canvas, and its quad."""
    canvas = np.zeros((400, 400, 3), np.uint8)
    canvas[185:215, 140:260] = _word(120, 30)
    matrix = cv2.getRotationMatrix2D((200, 200), -angle_deg, 1.0)  # OpenCV's positive angle is anticlockwise
    image = cv2.warpAffine(canvas, matrix, (400, 400), flags=cv2.INTER_LINEAR)
    corners = np.array([[140, 185, 1], [260, 185, 1], [260, 215, 1], [140, 215, 1]], np.float64)
    quad = corners @ matrix.T  # (4, 2)
    return image, [tuple(p) for p in quad]


@pytest.mark.parametrize("angle", [0, 20, -35, 60, 80, -80])
def test_rotated_word_comes_out_upright_for_any_vertex_order(angle):
    image, quad = _rotated_word(angle)
    crops = [crop_instance(image, [quad[i] for i in perm]) for perm in itertools.permutations(range(4))]
    for crop in crops:
        assert crop is not None and abs(crop.shape[1] - 120) <= 2 and abs(crop.shape[0] - 30) <= 2
        np.testing.assert_array_equal(crop, crops[0])
    _assert_upright(crops[0])


def test_axis_aligned_quad_equals_the_slice():
    image = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    crop = crop_instance(image, [(10, 5), (50, 5), (50, 25), (10, 25)])
    assert crop.shape == (20, 40, 3)
    np.testing.assert_array_equal(crop, image[5:25, 10:50])


def test_order_quad_starts_top_left_and_runs_clockwise():
    pts = np.array([[50, 25], [10, 5], [10, 25], [50, 5]], np.float64)  # shuffled, and a bow tie
    np.testing.assert_array_equal(order_quad(pts), [[10, 5], [50, 5], [50, 25], [10, 25]])
    tall = np.array([[0, 0], [10, 0], [10, 100], [0, 100]], np.float64)  # vertical word: long side on top
    ordered = order_quad(tall)
    assert math.dist(ordered[0], ordered[1]) == 100 and ordered[1][0] >= ordered[0][0] - 1e-9


def _arc_word() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """A word bent along the upper half of a ring (centre (250, 300), radii 150..190, 200..340 degrees),
    and its 14-point polygon: 7 points along the outer (top) arc left to right, then 7 back along the inner."""
    cx, cy, r_in, r_out, a0, a1 = 250.0, 300.0, 150.0, 190.0, 200.0, 340.0
    ys, xs = np.mgrid[0:400, 0:500].astype(np.float64)
    radius = np.hypot(xs - cx, ys - cy)
    theta = np.degrees(np.arctan2(ys - cy, xs - cx)) % 360
    u = (theta - a0) / (a1 - a0)  # 0..1 along the reading direction
    v = (r_out - radius) / (r_out - r_in)  # 0 on the top side, 1 on the bottom side
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    image = np.zeros((400, 500, 3), np.uint8)
    image[..., 0] = np.where(inside, np.clip(u, 0, 1) * 255, 0).astype(np.uint8)
    image[..., 1] = np.where(inside & (v < 0.5), 255, 0).astype(np.uint8)
    angles = np.radians(np.linspace(a0, a1, 7))
    top = [(cx + r_out * math.cos(a), cy + r_out * math.sin(a)) for a in angles]
    bottom = [(cx + r_in * math.cos(a), cy + r_in * math.sin(a)) for a in angles]
    return image, top + bottom[::-1]


def test_curved_polygon_is_unrolled_along_its_sides():
    image, polygon = _arc_word()
    crop = crop_instance(image, polygon)
    assert crop is not None
    # Height = band thickness; width between the two arc lengths (the chords of 6 segments, a bit shorter).
    assert abs(crop.shape[0] - 40) <= 1
    arc_mid = math.radians(140) * 170
    assert 0.97 * arc_mid <= crop.shape[1] <= arc_mid
    _assert_upright(crop)


def test_other_vertex_counts_use_the_min_area_rectangle():
    image = _word(100, 20)
    pentagon = [(0, 0), (50, -0.0), (99, 0), (99, 19), (0, 19)]
    crop = crop_instance(np.pad(image, ((5, 5), (5, 5), (0, 0))), [(x + 5, y + 5) for x, y in pentagon])
    assert crop.shape[:2] == (19, 99)


@pytest.mark.parametrize("polygon", [
    [(0, 0), (10, 0), (20, 0), (5, 0)],  # collinear: no area
    [(0, 0), (1, 0), (1, 0.5), (0, 0.5)],  # 0.5 px^2
    [(0, 0), (30, 0), (30, 1.2), (0, 1.2)],  # 1 px high after rounding
    [(0, 0), (1.4, 0), (1.4, 30), (0, 30)],  # 1 px wide
    [(0, 0), (5, 5)],
])
def test_degenerate_instances_give_none(polygon):
    assert crop_instance(np.zeros((50, 50, 3), np.uint8), polygon) is None


def test_encode_crop_formats():
    crop = _word(40, 12)
    png = encode_crop(crop, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), crop)
    jpg = encode_crop(crop)
    assert jpg[:3] == b"\xff\xd8\xff"
    back = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
    assert back.shape == crop.shape and np.abs(back.astype(int) - crop).mean() < 8  # lossy, sharp edges
    with pytest.raises(ValueError, match="valid: \\['jpg', 'png'\\]"):
        encode_crop(crop, "gif")
