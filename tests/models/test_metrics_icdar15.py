"""ICDAR 2015 hmean-IoU: one hand-made case per rule of the official script."""
from __future__ import annotations

import numpy as np
import pytest

from models.metrics import DetPoly, GtPoly, evaluate_icdar15


def box(x, y, w, h):
    """Clockwise (image coordinates) axis-aligned rectangle."""
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def gt(x, y, w, h, text="word"):
    return GtPoly.from_icdar(box(x, y, w, h), text)


def det(x, y, w, h, score=1.0):
    return DetPoly(box(x, y, w, h), score)


def test_perfect_and_pooled_counts():
    gts = {"a": [gt(0, 0, 10, 10), gt(20, 0, 10, 10)], "b": [gt(0, 0, 10, 10)]}
    preds = {"a": [det(0, 0, 10, 10), det(20, 0, 10, 10)], "b": [det(50, 50, 5, 5)]}
    r = evaluate_icdar15(gts, preds)
    assert (r.recall_num, r.recall_den, r.precision_den) == (2, 3, 3)
    assert r.recall == pytest.approx(2 / 3) and r.precision == pytest.approx(2 / 3)
    assert r.hmean == pytest.approx(2 / 3)
    assert r.per_image["a"].pairs == [(0, 0), (1, 1)]
    assert r.per_image["b"].precision == 0.0 and r.per_image["b"].recall == 0.0


def test_iou_exactly_half_is_not_a_match():
    # gt 10x10 inside a 10x20 det: inter 100, union 200, IoU = 0.5 exactly
    gts = {"a": [gt(0, 0, 10, 10)]}
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 10, 20)]})
    assert r.recall == 0.0 and r.precision == 0.0 and r.hmean == 0.0
    # a hair more overlap matches
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 10, 19.9)]})
    assert r.hmean == 1.0


def test_dont_care_coverage_exactly_half_does_not_exclude():
    gts = {"a": [gt(0, 0, 10, 10, "###"), gt(100, 0, 10, 10)]}
    # a 20x10 det half on the ### box: coverage exactly 0.5
    r = evaluate_icdar15(gts, {"a": [det(-10, 0, 20, 10)]})
    assert r.per_image["a"].det_dont_care == []
    assert (r.num_gt_care, r.num_det_care) == (1, 1) and r.precision == 0.0
    # a bit more than half on the ### box: the detection becomes don't care and is not counted
    r = evaluate_icdar15(gts, {"a": [det(-9, 0, 19, 10)]})
    assert r.per_image["a"].det_dont_care == [0]
    assert (r.num_gt_care, r.num_det_care) == (1, 0) and r.precision == 0.0 and r.recall == 0.0


def test_dont_care_uses_any_single_region_not_their_union():
    # det covered 40% by each of two ### boxes: neither alone exceeds half -> still counted
    gts = {"a": [gt(0, 0, 4, 10, "###"), gt(6, 0, 4, 10, "###")]}
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 10, 10)]})
    assert r.num_det_care == 1 and r.num_gt_care == 0 and r.precision == 0.0


def test_dont_care_gt_never_matches():
    gts = {"a": [gt(0, 0, 10, 10, "###")]}
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 10, 10)]})
    assert (r.num_gt_care, r.num_det_care, r.recall_num) == (0, 0, 0)
    # per-image rule of the official script: nothing to find and nothing found -> 1 / 1
    assert r.per_image["a"].precision == 1.0 and r.per_image["a"].recall == 1.0
    assert r.hmean == 0.0  # pooled over an empty set


def test_duplicate_detection_is_a_false_positive():
    gts = {"a": [gt(0, 0, 10, 10)]}
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 10, 10), det(0, 0, 10, 10)]})
    assert r.recall == 1.0 and r.precision == 0.5 and r.per_image["a"].pairs == [(0, 0)]


def test_greedy_order_gt_then_det_and_max_matching_variant():
    # IoU: gt0-det0 .82, gt0-det1 .625, gt1-det0 .82, gt1-det1 .44 (below the threshold).
    gts = {"a": [gt(0, 0, 10, 10), gt(2, 0, 10, 10)]}
    preds = {"a": [det(1, 0, 10, 10), det(0, 0, 10, 16)]}
    greedy = evaluate_icdar15(gts, preds)
    assert greedy.per_image["a"].pairs == [(0, 0)]  # gt0 takes det0 first, in file order
    assert greedy.recall == 0.5
    best = evaluate_icdar15(gts, preds, matching="max")
    assert sorted(best.per_image["a"].pairs) == [(0, 1), (1, 0)] and best.recall == 1.0
    # greedy goes by file order, not by IoU: listing det1 first changes the outcome
    swapped = evaluate_icdar15(gts, {"a": preds["a"][::-1]})
    assert sorted(swapped.per_image["a"].pairs) == [(0, 0), (1, 1)] and swapped.recall == 1.0


def test_empty_ground_truth_image_and_no_predictions():
    gts = {"a": [], "b": [gt(0, 0, 10, 10)]}
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 5, 5)], "b": [det(0, 0, 10, 10)]})
    assert r.per_image["a"].recall == 1.0 and r.per_image["a"].precision == 0.0
    assert r.recall == 1.0 and r.precision == 0.5
    none = evaluate_icdar15(gts, {})
    assert (none.precision, none.recall, none.hmean) == (0.0, 0.0, 0.0)
    assert none.num_det_care == 0 and none.num_gt_care == 1


def test_missing_prediction_file_means_no_detections():
    gts = {"a": [gt(0, 0, 10, 10)], "b": [gt(0, 0, 10, 10)]}
    r = evaluate_icdar15(gts, {"a": [det(0, 0, 10, 10)]})
    assert r.recall == 0.5 and r.precision == 1.0
    assert r.per_image["b"].num_det == 0 and r.per_image["b"].recall == 0.0


def test_unknown_prediction_image_raises():
    with pytest.raises(ValueError, match="'zzz'"):
        evaluate_icdar15({"a": []}, {"zzz": [det(0, 0, 1, 1)]})


def test_orientation_nonconvex_and_14_point_polygons():
    square = np.array(box(0, 0, 10, 10), float)
    t = 10 / 3
    ring14 = np.array([(0, 0), (2.5, 0), (5, 0), (7.5, 0), (10, 0), (10, t), (10, 2 * t),
                       (10, 10), (7.5, 10), (5, 10), (2.5, 10), (0, 10), (0, 2 * t), (0, t)])
    assert len(ring14) == 14
    gts = {"a": [GtPoly(square[::-1], "ccw")]}
    r = evaluate_icdar15(gts, {"a": [DetPoly(ring14[::-1])]})  # 14 points, counter-clockwise
    assert r.hmean == 1.0
    r = evaluate_icdar15({"a": [GtPoly(ring14, "14pt")]}, {"a": [det(0, 0, 10, 10)]})
    assert r.hmean == 1.0
    # non-convex U shape: area 100 - 4*6 = 76 inside the square -> IoU .76
    u = [(0, 0), (10, 0), (10, 10), (7, 10), (7, 4), (3, 4), (3, 10), (0, 10)]
    r = evaluate_icdar15(gts, {"a": [DetPoly(u)]})
    assert r.hmean == 1.0
    deep_u = [(0, 0), (10, 0), (10, 10), (9, 10), (9, 1), (1, 1), (1, 10), (0, 10)]  # area 28 -> IoU .28
    assert evaluate_icdar15(gts, {"a": [DetPoly(deep_u)]}).hmean == 0.0


def test_self_intersecting_polygon_does_not_crash_and_follows_gpc():
    # bow-tie over a 10x10 gt: Polygon3 reports its area as 0 (lobes cancel) and intersects both
    # lobes (even-odd): inter = 50, union = 0 + 100 - 50 -> IoU 1.0 > .5, a match as in the RRC script
    gts = {"a": [gt(0, 0, 10, 10)]}
    bowtie = [(0, 0), (10, 10), (10, 0), (0, 10)]
    r = evaluate_icdar15(gts, {"a": [DetPoly(bowtie)]})
    assert r.hmean == 1.0
    degenerate = [(0, 0), (5, 5), (10, 10)]  # collinear: zero area, intersects nothing
    r = evaluate_icdar15(gts, {"a": [DetPoly(degenerate)]})
    assert r.recall == 0.0 and r.num_det_care == 1


def test_score_threshold_and_sweep():
    gts = {"a": [gt(0, 0, 10, 10), gt(20, 0, 10, 10)]}
    preds = {"a": [det(0, 0, 10, 10, 0.9), det(20, 0, 10, 10, 0.4), det(50, 0, 10, 10, 0.2)]}
    assert evaluate_icdar15(gts, preds).precision == pytest.approx(2 / 3)
    r = evaluate_icdar15(gts, preds, score_threshold=0.5)
    assert (r.precision, r.recall) == (1.0, 0.5)
    s = evaluate_icdar15(gts, preds, score_threshold=[0.1, 0.3, 0.5, 0.95])
    assert s.params["score_threshold"] == 0.3 and s.hmean == 1.0
    assert [round(x["hmean"], 4) for x in s.params["sweep"]] == [0.8, 1.0, 0.6667, 0.0]


def test_validation_of_polygons():
    with pytest.raises(ValueError, match="at least 3"):
        GtPoly([(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="odd"):
        DetPoly([0, 0, 1, 1, 2])
    with pytest.raises(ValueError, match="non-finite"):
        DetPoly([(0, 0), (1, float("nan")), (2, 2)])
    with pytest.raises(ValueError, match="unknown matching"):
        evaluate_icdar15({"a": [gt(0, 0, 1, 1)]}, {}, matching="hungarian")
