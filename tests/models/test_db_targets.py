"""DBNet targets: shrink map, weight mask, threshold map and mask from polygons."""
import numpy as np
import pytest

from models.detection.db_targets import make_targets, offset_polygon, polygon_area_perimeter
from tests.models.synthetic import rect


def test_shrunk_kernel_has_the_dbnet_offset():
    # 100 x 40 box: A = 4000, L = 280, D = 4000 * 0.84 / 280 = 12 -> kernel 76 x 16 (pixels 32..107 x 42..57)
    t = make_targets(100, 160, [rect(20, 30, 120, 70)], [False], [1.0])
    ys, xs = np.nonzero(t["gt"])
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (32, 108, 42, 58)
    assert set(np.unique(t["gt"])) == {0.0, 1.0}
    assert all(v.dtype == np.float32 and v.shape == (100, 160) for v in t.values())


def test_threshold_map_peaks_on_the_border_and_fades_over_d():
    t = make_targets(100, 160, [rect(20, 30, 120, 70)], [False], [1.0])
    tm, tmask = t["thresh_map"], t["thresh_mask"]
    assert tm.min() == pytest.approx(0.3) and tm.max() == pytest.approx(0.7)
    assert tm[30, 70] == pytest.approx(0.7)  # on the top edge
    assert tm[36, 70] == pytest.approx(0.3 + 0.4 * (1 - 6 / 12))  # 6 px inside, D = 12
    assert tm[24, 70] == pytest.approx(0.3 + 0.4 * (1 - 6 / 12))  # 6 px outside
    assert tm[50, 70] == pytest.approx(0.3)  # centre: 20 px from the border
    # the threshold mask is the polygon dilated by D = 12
    assert tmask[18, 70] == 1.0 and tmask[16, 70] == 0.0 and tmask[50, 70] == 1.0


def test_weights_and_ignore_are_written_into_the_masks():
    polys = [rect(5, 5, 60, 30), rect(70, 5, 130, 30), rect(5, 50, 60, 80), rect(70, 50, 130, 80)]
    t = make_targets(100, 140, polys, [False, False, False, True], [1.0, 0.5, 0.0, 1.0])
    mask, gt, tmask = t["mask"], t["gt"], t["thresh_mask"]
    assert mask[95, 135] == 1.0  # background
    assert mask[17, 30] == 1.0 and gt[17, 30] == 1.0 and tmask[17, 30] == 1.0
    assert mask[17, 100] == 0.5 and gt[17, 100] == 1.0 and tmask[17, 100] == 0.5
    assert mask[6, 71] == 0.5  # the whole (unshrunk) polygon carries the weight, not just the kernel
    for y, x in [(65, 30), (65, 100)]:  # weight 0 and ignore: nothing drawn, masked out
        assert mask[y, x] == 0.0 and gt[y, x] == 0.0 and tmask[y, x] == 0.0


def test_weight_zero_equals_ignore():
    a = make_targets(64, 64, [rect(5, 5, 50, 25)], [True], [1.0])
    b = make_targets(64, 64, [rect(5, 5, 50, 25)], [False], [0.0])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_text_thinner_than_min_text_size_is_dont_care():
    t = make_targets(64, 64, [rect(5, 5, 50, 10)], [False], [1.0])  # 5 px tall < 8
    assert t["gt"].sum() == 0 and t["mask"][7, 20] == 0 and t["thresh_mask"].sum() == 0
    t = make_targets(64, 64, [rect(5, 5, 50, 10)], [False], [1.0], min_text_size=4)
    assert t["gt"].sum() > 0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="weight of instance 0"):
        make_targets(32, 32, [rect(1, 1, 20, 20)], [False], [1.5])
    with pytest.raises(ValueError, match="polygon 1"):
        make_targets(32, 32, [rect(1, 1, 20, 20), np.zeros((2, 2))], [False, False], [1.0, 1.0])
    with pytest.raises(ValueError, match="2 polygons, 1 ignore"):
        make_targets(32, 32, [rect(1, 1, 20, 20)] * 2, [False], [1.0, 1.0])


def test_offset_keeps_sub_pixel_precision():
    square = rect(10.25, 10.25, 20.75, 20.75)
    shrunk = offset_polygon(square, -2.5)[0]
    assert polygon_area_perimeter(shrunk)[0] == pytest.approx(5.5 * 5.5, rel=1e-3)
