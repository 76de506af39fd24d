"""Fusion of polygon sets: clusters, votes, score-weighted polygons; and the weight rule on top."""
from __future__ import annotations

import numpy as np
import pytest

from stages.pseudo_label.fusion import Detection, clean_ring, fuse, fuse_polygons, iou_matrix
from stages.pseudo_label.weights import WeightRule, decide, decide_instance

from .helpers import box

WORDS = [box(10, 10, 60, 30), box(80, 40, 150, 70), box(20, 90, 70, 120)]


def _circle(cx: float, cy: float, rx: float, ry: float, n: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def test_identical_sets_come_back_unchanged_with_full_weight():
    sources = [[Detection(p, 0.9) for p in WORDS] for _ in range(4)]  # 2 models x 2 views, all agreeing
    fused = fuse(sources, iou_threshold=0.5)
    assert len(fused) == 3
    got = sorted((inst.polygon for inst in fused), key=lambda p: tuple(p.min(axis=0)))
    for poly, word in zip(got, sorted(WORDS, key=lambda p: tuple(p.min(axis=0)))):
        np.testing.assert_array_equal(poly, word)
    for inst in fused:
        assert inst.votes == 4 and inst.agreement == 1.0
        assert inst.quality == pytest.approx(0.9)
        assert decide_instance(inst, WeightRule(low=0.3, high=0.7)).weight == 1.0


def test_identical_curved_polygons_with_different_vertex_counts_fuse_to_the_same_shape():
    ellipse = _circle(60, 40, 40, 15, 32)
    fused = fuse([[Detection(ellipse, 0.8)], [Detection(ellipse[::2], 0.8)], [Detection(ellipse, 0.8)]])
    assert len(fused) == 1 and fused[0].votes == 3
    assert iou_matrix([fused[0].polygon], [ellipse])[0, 0] > 0.97


def test_best_outline_keeps_the_best_scoring_member_and_its_votes():
    strong, weak = box(10, 10, 60, 30), box(12, 11, 64, 33)
    sources = [[Detection(strong, 0.9)], [Detection(weak, 0.6)]]
    mean, best = fuse(sources, outline="mean")[0], fuse(sources, outline="best")[0]
    np.testing.assert_array_equal(best.polygon, strong)
    assert not np.array_equal(mean.polygon, strong)  # the mean outline lies between the two
    assert best.votes == mean.votes == 2 and best.score == mean.score == pytest.approx(0.75)


def test_disjoint_sets_below_the_vote_threshold_are_dropped():
    a = [Detection(box(10, 10, 60, 30), 0.95)]
    b = [Detection(box(100, 60, 150, 90), 0.95)]
    fused = fuse([a, b], iou_threshold=0.5)
    assert [inst.votes for inst in fused] == [1, 1]
    rule = WeightRule(low=0.3, high=0.7, min_votes=2)
    assert [decide_instance(inst, rule).keep for inst in fused] == [False, False]
    # the same boxes seen by both sources pass the vote threshold
    both = fuse([a + b, b + a], iou_threshold=0.5)
    assert [decide_instance(inst, rule).weight for inst in both] == [1.0, 1.0]


def test_cluster_takes_one_detection_per_source_and_counts_votes():
    word = box(10, 10, 60, 30)
    split = [Detection(box(10, 10, 36, 30), 0.7), Detection(box(34, 10, 60, 30), 0.6)]  # one source splits the word
    sources = [[Detection(word, 0.9)], [Detection(word + [1, 0], 0.8)], split]
    fused = fuse(sources, iou_threshold=0.3)
    votes = sorted(inst.votes for inst in fused)
    assert votes == [1, 3]  # the word (all three sources, one half of the split) and the other half alone
    top = fused[0]
    assert top.votes == 3 and sorted(s for s, _ in top.members) == [0, 1, 2]
    assert top.quality == pytest.approx(np.mean([0.9, 0.8, 0.7]) * 1.0)
    alone = fused[1]
    assert alone.quality == pytest.approx(0.6 / 3)


def test_members_are_averaged_with_their_scores_as_weights():
    a, b = box(10, 10, 50, 30), box(14, 10, 54, 30)  # 4 px apart
    equal = fuse_polygons([a, b], np.array([0.5, 0.5]))
    np.testing.assert_allclose(equal, box(12, 10, 52, 30))
    leaning = fuse_polygons([a, b], np.array([0.9, 0.3]))
    np.testing.assert_allclose(leaning[:, 0].min(), 10 + 4 * 0.3 / 1.2)


def test_polygons_of_different_shapes_fuse_midway_through_distance_fields():
    rect = box(20, 20, 100, 40)
    wider = np.array([(16, 20), (60, 18), (104, 20), (104, 40), (16, 40)], np.float64)  # 5 vertices: no vertex mean
    fused = fuse_polygons([rect, wider], np.array([0.8, 0.8]))
    xs = fused[:, 0]
    assert xs.min() == pytest.approx(18, abs=0.5) and xs.max() == pytest.approx(102, abs=0.5)  # midway
    assert iou_matrix([fused], [rect])[0, 0] > 0.9 and iou_matrix([fused], [wider])[0, 0] > 0.9


def test_iou_matrix_values_and_degenerate_rings():
    a, b = box(0, 0, 10, 10), box(5, 0, 15, 10)
    line = np.array([(0, 0), (5, 5), (10, 10)], np.float64)
    iou = iou_matrix([a, b, line], [a, b])
    np.testing.assert_allclose(iou, [[1.0, 1 / 3], [1 / 3, 1.0], [0.0, 0.0]])
    assert iou_matrix([], [a]).shape == (0, 1)


def test_clean_ring_removes_stacked_border_vertices():
    ring = np.array([(0, 0), (0.001, 0), (9, 0), (9, 0), (9, 5), (0, 5)], np.float64)
    np.testing.assert_array_equal(clean_ring(ring), [(0, 0), (9, 0), (9, 5), (0, 5)])
    assert clean_ring(np.array([(0, 0), (5, 5), (10, 10)])) is None


@pytest.mark.parametrize("between, expect", [("ramp", 0.3 + 0.7 * 0.5), ("fixed", 0.3), ("ignore", 0.0)])
def test_weight_rule_bands(between, expect):
    rule = WeightRule(low=0.3, high=0.7, between=between, min_weight=0.3)
    assert decide(4, 0.29, rule).keep is False
    assert decide(4, 0.7, rule).weight == 1.0
    middle = decide(4, 0.5, rule)
    assert middle.keep and middle.weight == pytest.approx(expect)
    assert middle.ignore == (between == "ignore")
    assert decide(1, 0.9, WeightRule(min_votes=2)).keep is False


def test_weight_rule_rejects_bad_thresholds():
    with pytest.raises(ValueError, match="low <= high"):
        WeightRule(low=0.8, high=0.5)
    with pytest.raises(ValueError, match="between"):
        WeightRule(between="soft")
