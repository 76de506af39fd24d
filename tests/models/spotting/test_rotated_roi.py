"""rotated_roi_align reads a known asymmetric pattern drawn at a known rotated box back upright."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.spotting.rotated_roi import quad_to_rbox, rotated_roi_align

# An "F"-like block pattern, 6 x 10: no rotation or flip of it equals another, so a crop read in
# the wrong direction cannot pass.
PATTERN = np.array([
    [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0, 0, 3],
    [1, 1, 0, 0, 0, 0, 0, 0, 2, 3],
], dtype=np.float32)
OH, OW = PATTERN.shape


def test_pattern_is_asymmetric():
    variants = [np.rot90(PATTERN, k) for k in range(4)] + [np.rot90(PATTERN[:, ::-1], k) for k in range(4)]
    for i, a in enumerate(variants):
        for b in variants[i + 1:]:
            assert a.shape != b.shape or not np.array_equal(a, b)


def place_right_angle(size: int, angle: int, centre: tuple[int, int]) -> np.ndarray:
    """A (size, size) map holding PATTERN turned ``angle`` degrees counter-clockwise on screen.

    np.rot90 turns an array counter-clockwise as it is displayed (row 0 on top), which is the
    screen convention; it is an oracle independent of rotated_roi's own geometry.
    """
    turned = np.rot90(PATTERN, angle // 90)
    out = np.zeros((size, size), np.float32)
    top, left = centre[1] - turned.shape[0] // 2, centre[0] - turned.shape[1] // 2
    out[top:top + turned.shape[0], left:left + turned.shape[1]] = turned
    return out


def draw_rotated(size: int, cx: float, cy: float, cell: float, angle: float) -> np.ndarray:
    """PATTERN drawn with ``cell`` x ``cell`` pixel blocks at a rotated box: each pixel centre is
    turned back into the box's frame and takes the pattern value of the block it falls in."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    dx, dy = cols - cx, rows - cy
    a = math.radians(angle)
    u = dx * math.cos(a) - dy * math.sin(a)   # along the reading axis (cos a, -sin a)
    v = dx * math.sin(a) + dy * math.cos(a)   # along the down axis (sin a, cos a)
    j = np.floor(u / cell + OW / 2).astype(int)
    i = np.floor(v / cell + OH / 2).astype(int)
    inside = (i >= 0) & (i < OH) & (j >= 0) & (j < OW)
    out = np.zeros((size, size), np.float32)
    out[inside] = PATTERN[i[inside], j[inside]]
    return out


def crop(feature_map: np.ndarray, box, **kwargs) -> np.ndarray:
    features = torch.from_numpy(feature_map)[None, None]
    boxes = torch.tensor([[0.0, *box]])
    return rotated_roi_align(features, boxes, (OH, OW), **kwargs)[0, 0].numpy()


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_right_angles_read_back_the_upright_pattern_exactly(angle):
    feature_map = place_right_angle(32, angle, centre=(15, 17))
    # The box's bin centres fall on pixel centres, so bilinear sampling is exact.
    got = crop(feature_map, (15.0, 17.0, OW, OH, angle))
    np.testing.assert_allclose(got, PATTERN, atol=1e-5)


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_right_angles_agree_with_the_independent_drawing(angle):
    assert np.array_equal(draw_rotated(32, 15, 17, 1.0, angle), place_right_angle(32, angle, (15, 17)))


@pytest.mark.parametrize("angle", [45.0, 135.0, 300.0, 17.0])
def test_oblique_angles_read_back_the_pattern_within_interpolation_error(angle):
    # 2-pixel blocks: bilinear sampling blends blocks along the tilted edges (measured: max error
    # <= 0.15, mean <= 0.01 of a pattern up to 3); the same box 6 degrees off errs >= 0.73 at most.
    feature_map = draw_rotated(72, 35.3, 36.8, 2.0, angle)
    got = crop(feature_map, (35.3, 36.8, 2.0 * OW, 2.0 * OH, angle))
    assert np.abs(got - PATTERN).max() < 0.25
    assert np.abs(got - PATTERN).mean() < 0.02


def test_wrong_angle_does_not_read_the_pattern():
    feature_map = draw_rotated(72, 36, 36, 4.0, 45.0)
    got = crop(feature_map, (36, 36, 4.0 * OW, 4.0 * OH, 225.0))
    assert np.abs(got - PATTERN).mean() > 0.3


def test_sampling_ratio_averages_points_in_each_bin():
    feature_map = torch.from_numpy(draw_rotated(72, 36, 36, 4.0, 45.0))[None, None]
    box = torch.tensor([[0.0, 36, 36, 4.0 * OW, 4.0 * OH, 45.0]])
    got = rotated_roi_align(feature_map, box, (OH, OW), sampling_ratio=2)
    # Two by two points per bin are the bin centres of a crop twice as fine.
    fine = rotated_roi_align(feature_map, box, (2 * OH, 2 * OW))
    torch.testing.assert_close(got, torch.nn.functional.avg_pool2d(fine, 2))
    assert np.abs(got[0, 0].numpy() - PATTERN).mean() < 0.05


def test_batch_index_picks_the_image_and_keeps_box_order():
    first = place_right_angle(32, 0, (15, 17))
    second = place_right_angle(32, 90, (15, 17)) * 10
    features = torch.from_numpy(np.stack([first, second]))[:, None]
    boxes = torch.tensor([[1.0, 15, 17, OW, OH, 90], [0.0, 15, 17, OW, OH, 0], [1.0, 15, 17, OW, OH, 90]])
    got = rotated_roi_align(features, boxes, (OH, OW))[:, 0].numpy()
    np.testing.assert_allclose(got[0], PATTERN * 10, atol=1e-4)
    np.testing.assert_allclose(got[1], PATTERN, atol=1e-5)
    np.testing.assert_allclose(got[2], PATTERN * 10, atol=1e-4)


def test_spatial_scale_maps_image_pixels_onto_a_stride_4_map():
    feature_map = place_right_angle(32, 270, centre=(15, 17))  # a stride-4 map of a 128 px image
    # The same box in image pixels: centre and size times 4.
    got = crop(feature_map, (60.0, 68.0, 4.0 * OW, 4.0 * OH, 270.0), spatial_scale=0.25)
    np.testing.assert_allclose(got, PATTERN, atol=1e-5)


def test_off_map_reads_zero_and_channels_are_kept():
    features = torch.ones(1, 3, 16, 16) * torch.tensor([1.0, 2.0, 3.0])[None, :, None, None]
    boxes = torch.tensor([[0.0, 100.0, 100.0, 10.0, 6.0, 30.0], [0.0, 8.0, 8.0, 4.0, 4.0, 30.0]])
    got = rotated_roi_align(features, boxes, (2, 2))
    assert got.shape == (2, 3, 2, 2)
    assert torch.equal(got[0], torch.zeros(3, 2, 2))
    torch.testing.assert_close(got[1], torch.tensor([1.0, 2.0, 3.0])[:, None, None].expand(3, 2, 2))


def test_gradients_flow_to_features_inside_the_box_only():
    features = torch.rand(2, 2, 12, 12, dtype=torch.float64, requires_grad=True)
    boxes = torch.tensor([[1.0, 6.0, 6.0, 4.0, 2.0, 90.0]], dtype=torch.float64)
    rotated_roi_align(features, boxes, (2, 4)).sum().backward()
    grad = features.grad
    assert grad[0].abs().sum() == 0  # image 0 has no box
    touched = grad[1, 0].abs() > 1e-9  # a neighbour at weight ~1e-17 from rounding is not touched
    rows, cols = touched.nonzero().T
    # A 4 x 2 box read upward at (6, 6) covers columns 5..6 and rows 4..7.
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (4, 7, 5, 6)
    assert torch.autograd.gradcheck(
        lambda f: rotated_roi_align(f, torch.tensor([[0.0, 5.3, 6.1, 5.0, 3.0, 33.0]], dtype=torch.float64),
                                    (3, 4), sampling_ratio=2),
        (torch.rand(1, 1, 10, 10, dtype=torch.float64, requires_grad=True),))


def test_no_boxes_gives_an_empty_batch():
    got = rotated_roi_align(torch.rand(1, 4, 8, 8), torch.zeros(0, 6), (2, 3))
    assert got.shape == (0, 4, 2, 3)


@pytest.mark.parametrize("boxes, message", [
    (torch.tensor([[2.0, 1, 1, 1, 1, 0]]), "box 0 has batch index 2.0"),
    (torch.tensor([[0.0, 1, 1, 1, 1, 0], [0.5, 1, 1, 1, 1, 0]]), "box 1 has batch index 0.5"),
    (torch.tensor([[0.0, float("nan"), 1, 1, 1, 0]]), "box 0 is not finite"),
    (torch.zeros(3, 5), r"boxes must be \(K, 6\)"),
])
def test_bad_boxes_are_named(boxes, message):
    with pytest.raises(ValueError, match=message):
        rotated_roi_align(torch.rand(2, 1, 8, 8), boxes, (2, 2))


def test_quad_to_rbox_takes_the_reading_direction_from_the_vertex_order():
    upright = [(10, 20), (50, 20), (50, 30), (10, 30)]
    assert quad_to_rbox(upright) == pytest.approx((30.0, 25.0, 40.0, 10.0, 0.0))
    # The same rectangle with the word's top-left at the screen's bottom-right: upside down.
    upside_down = [(50, 30), (10, 30), (10, 20), (50, 20)]
    assert quad_to_rbox(upside_down) == pytest.approx((30.0, 25.0, 40.0, 10.0, 180.0))
    # Read bottom to top: the word's top-left is the screen's bottom-left.
    upward = [(20, 50), (20, 10), (30, 10), (30, 50)]
    assert quad_to_rbox(upward) == pytest.approx((25.0, 30.0, 40.0, 10.0, 90.0))
    downward = [(30, 10), (30, 50), (20, 50), (20, 10)]
    assert quad_to_rbox(downward) == pytest.approx((25.0, 30.0, 40.0, 10.0, 270.0))


def test_quad_to_rbox_then_align_reads_a_tilted_word_upright():
    cx, cy, cell, angle = 36.0, 35.0, 4.0, 135.0
    a = math.radians(angle)
    along, down = np.array([math.cos(a), -math.sin(a)]), np.array([math.sin(a), math.cos(a)])
    half_w, half_h = cell * OW / 2, cell * OH / 2
    quad = [np.array([cx, cy]) + su * half_w * along + sv * half_h * down
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    box = quad_to_rbox(quad)
    assert box == pytest.approx((cx, cy, 2 * half_w, 2 * half_h, angle))
    got = crop(draw_rotated(72, cx, cy, cell, angle), box)
    assert np.abs(got - PATTERN).mean() < 0.05


def test_quad_to_rbox_covers_a_non_rectangular_quad():
    quad = [(0, 0), (40, 4), (40, 14), (0, 10)]  # a parallelogram sheared downwards
    cx, cy, w, h, angle = quad_to_rbox(quad)
    assert angle == pytest.approx(360 - math.degrees(math.atan2(4, 40)))
    a = math.radians(angle)
    along, down = np.array([math.cos(a), -math.sin(a)]), np.array([math.sin(a), math.cos(a)])
    for point in np.asarray(quad, float):
        rel = point - (cx, cy)
        assert abs(rel @ along) <= w / 2 + 1e-9 and abs(rel @ down) <= h / 2 + 1e-9


@pytest.mark.parametrize("points", [[(0, 0), (1, 1), (2, 2)], [(0, 0)] * 4, [(0, 0), (5, 0), (5, 0), (0, 0)]])
def test_quad_to_rbox_rejects_bad_quads(points):
    with pytest.raises(ValueError, match="_to_rbox: "):
        quad_to_rbox(points)
