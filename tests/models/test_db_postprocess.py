"""Post-processing: ground-truth shrink maps must give back the ground-truth polygons."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Polygon

from models.detection.db_postprocess import inverse_shrink_distance, order_quad, postprocess
from models.detection.db_targets import make_targets
from tests.models.synthetic import curved_band, rect

QUADS = [
    rect(20, 20, 160, 60),  # horizontal word, 140 x 40
    np.array([[190, 40], [290, 80], [276, 115], [176, 75]], float),  # rotated ~22 degrees, ~107 x 38
    rect(30, 200, 110, 250),  # short, tall
]
CURVED = curved_band(180, 330, 85, 125, np.radians(150), np.radians(30))  # 14 points, arc-shaped
assert CURVED.shape == (14, 2)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = Polygon(a), Polygon(b)
    return pa.intersection(pb).area / pa.union(pb).area


def best_match(dets, poly) -> float:
    return max(iou(d, poly) for d, _ in dets)


@pytest.fixture(scope="module")
def gt_map() -> np.ndarray:
    polys = QUADS + [CURVED]
    return make_targets(320, 320, polys, [False] * 4, [1.0] * 4)["gt"]


def test_poly_mode_recovers_quads_and_curved_text(gt_map):
    dets = postprocess(gt_map, mode="poly", unclip_ratio=None)
    assert len(dets) == 4
    for poly in QUADS + [CURVED]:
        assert best_match(dets, poly) > 0.9
    # the gt map is 1 inside every kernel; the simplified curved outline takes in a few 0 pixels
    assert all(s > 0.95 for _, s in dets)


def test_quad_mode_gives_ordered_boxes_matching_the_quads(gt_map):
    dets = postprocess(gt_map, mode="quad", unclip_ratio=None)
    assert all(d.shape == (4, 2) and d.dtype == np.float32 for d, _ in dets)
    for poly in QUADS:
        assert best_match(dets, poly) > 0.9
    box = max((d for d, _ in dets), key=lambda d: iou(d, QUADS[0]))
    np.testing.assert_allclose(box, QUADS[0], atol=2.0)  # clockwise from top-left, like the gt


def test_dbnet_unclip_ratio_grows_but_does_not_invert_the_shrink(gt_map):
    # The fixed DBNet rule (D' = 1.5 A'/L') recovers a 140 x 40 word only partly from an exact gt map.
    dets = postprocess(gt_map, mode="poly")
    matched = max((d for d, _ in dets), key=lambda d: iou(d, QUADS[0]))
    d = 5600 * 0.84 / 360
    kernel_area = (140 - 2 * d) * (40 - 2 * d)
    assert kernel_area < Polygon(matched).area < Polygon(QUADS[0]).area
    assert 0.6 < iou(matched, QUADS[0]) < 0.9


def test_inverse_distance_undoes_the_training_shrink():
    # 140 x 40 box: D = 5600 * 0.84 / 360 = 13.07 -> kernel 113.87 x 13.87
    d = 5600 * 0.84 / 360
    kw, kh = 140 - 2 * d, 40 - 2 * d
    assert inverse_shrink_distance(kw * kh, 2 * (kw + kh), 0.4) == pytest.approx(d, rel=1e-9)


def test_results_map_back_to_the_original_image(gt_map):
    # the map was computed on the original 640 x 640 image resized by 0.5
    full = postprocess(gt_map, mode="quad", unclip_ratio=None)
    by_shape = postprocess(gt_map, mode="quad", unclip_ratio=None, out_shape=(640, 640))
    by_scale = postprocess(gt_map, mode="quad", unclip_ratio=None, scale=0.5, out_shape=(640, 640))
    for (a, _), (b, _), (c, _) in zip(full, by_shape, by_scale):
        np.testing.assert_allclose(b, a * 2, atol=1e-3)
        np.testing.assert_allclose(c, a * 2, atol=1e-3)
    # a padded input: the map covers 320 x 320 but only 320 x 200 of it is image (scale 1)
    clipped = postprocess(gt_map, mode="quad", unclip_ratio=None, scale=1.0, out_shape=(200, 320))
    assert all(d[:, 1].max() <= 199 for d, _ in clipped)


def test_scores_thresholds_and_limits():
    prob = np.zeros((100, 200), np.float32)
    prob[20:40, 10:90] = 0.9  # confident word
    prob[60:80, 10:90] = 0.5  # above the binarisation threshold, below box_thresh
    prob[20:22, 120:190] = 0.9  # a 2-pixel sliver: under min_size
    dets = postprocess(prob, box_thresh=0.6)
    assert len(dets) == 1 and dets[0][1] == pytest.approx(0.9)
    assert len(postprocess(prob, box_thresh=0.4)) == 2
    assert len(postprocess(prob, box_thresh=0.4, max_candidates=1)) == 1
    assert postprocess(np.zeros((50, 50), np.float32)) == []
    with pytest.raises(ValueError, match="mode"):
        postprocess(prob, mode="box")


def test_order_quad_is_clockwise_from_top_left():
    shuffled = np.array([[10, 20], [0, 0], [0, 20], [10, 0]], float)
    np.testing.assert_array_equal(order_quad(shuffled), [[0, 0], [10, 0], [10, 20], [0, 20]])


def test_targets_and_postprocess_import_without_torch():
    root = Path(__file__).resolve().parents[2]
    code = ("import sys, models.detection.db_postprocess, models.detection.db_targets, models.tasks; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
