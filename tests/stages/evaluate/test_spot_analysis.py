"""Spotting analysis: reading angles, circular bins, every ground truth in one bin per axis, a perfect reader."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.detection.predictor import ImageFile
from models.metrics import evaluate_e2e
from models.metrics.types import DetPoly, GtPoly
from stages.evaluate import inference
from stages.evaluate.analysis import DEFAULT_HEIGHT_BINS
from stages.evaluate.params import EvaluateParams
from stages.evaluate.spot_analysis import (
    DEFAULT_READING_ANGLE_BINS,
    angle_bin_index,
    angle_bin_labels,
    reading_angle,
    spot_breakdown,
)
from stages.evaluate.spot_eval import e2e_scores, read_detections
from tests.stages.evaluate.spotwords import LookupRecognizer, arc_sides, rotated_sides, scene


def quad(center, size, clockwise_degrees):
    """A (w, h) word's quad in reading order (top-left, top-right, bottom-right, bottom-left), turned."""
    top, bottom = rotated_sides(center, size, clockwise_degrees)
    return np.concatenate([top, bottom[::-1]])


@pytest.mark.parametrize("clockwise, expected", [(0, 0.0), (30, 330.0), (-30, 30.0), (90, 270.0), (-90, 90.0),
                                                 (180, 180.0), (-135, 135.0), (200, 160.0)])
def test_reading_angle_follows_the_vertex_order_counter_clockwise(clockwise, expected):
    assert reading_angle(quad((100, 100), (80, 20), clockwise)) == expected


def test_reading_angle_of_curved_and_odd_polygons():
    top, bottom = arc_sides((190, 300), 170, 28, 243, 297)  # an arch read left to right
    assert reading_angle(np.concatenate([top, bottom[::-1]])) == 0.0
    top, bottom = arc_sides((190, 300), 170, 28, 297, 243)  # the same arch walked right to left
    assert reading_angle(np.concatenate([top, bottom[::-1]])) == 180.0
    assert reading_angle(np.array([[0, 0], [0, -10], [5, -5]])) == 90.0  # odd count: along the first edge


def test_every_angle_falls_in_exactly_one_circular_bin():
    edges = list(DEFAULT_READING_ANGLE_BINS)
    labels = angle_bin_labels(edges)
    assert labels[0] == "15-45" and labels[-1] == "345-15" and len(labels) == 12
    assert [angle_bin_index(a, edges) for a in (0.0, 14.99, 15.0, 44.99, 45.0, 344.99, 345.0, 359.99)] == \
        [11, 11, 0, 0, 1, 10, 11, 11]
    assert angle_bin_labels([0.0, 90.0, 180.0, 270.0]) == ["0-90", "90-180", "180-270", "270-360"]
    assert [angle_bin_index(a, [0.0, 90.0, 180.0, 270.0]) for a in (0.0, 89.9, 90.0, 359.9)] == [0, 0, 1, 3]


def test_reading_angle_bins_are_validated():
    with pytest.raises(ValueError, match=r"reading_angle_bins.*\n.*\[0, 360\)"):
        EvaluateParams(reading_angle_bins=[0, 180, 360])
    with pytest.raises(ValueError, match="strictly increasing"):
        EvaluateParams(reading_angle_bins=[90, 45])


def random_set(rng, images=6):
    """Ground truths at random sizes, angles and vertex counts (some don't care) and detections: most on a
    ground truth (read right or wrong), some elsewhere, some over don't-care regions."""
    gts, preds = {}, {}
    for i in range(images):
        g_list, d_list = [], []
        for k in range(int(rng.integers(0, 9))):
            centre = (60 + 110 * (k % 4), 40 + 90 * (k // 4))
            h = float(rng.uniform(3, 70))
            points = quad(centre, (float(rng.uniform(h, 100)), h), float(rng.uniform(-180, 180)))
            if rng.random() < 0.2:  # a 6-point (curved-style) polygon: midpoints of the long sides added
                points = np.array([points[0], (points[0] + points[1]) / 2, points[1], points[2],
                                   (points[2] + points[3]) / 2, points[3]])
            text = "word%d" % k
            g_list.append(GtPoly(points, text, ignore=bool(rng.random() < 0.15)))
            roll = rng.random()
            if roll < 0.6:
                d_list.append(DetPoly(points + rng.normal(0, 1.0, points.shape), 1.0,
                                      text.upper() if rng.random() < 0.7 else "wrong"))
            elif roll < 0.7:
                d_list.append(DetPoly(points + 500, 1.0, text))  # nowhere near a word
        gts[f"img{i}"], preds[f"img{i}"] = g_list, d_list
    return gts, preds


@pytest.mark.parametrize("seed", range(5))
def test_bins_cover_every_cared_ground_truth_exactly_once(seed):
    gts, preds = random_set(np.random.default_rng(seed))
    result = evaluate_e2e(gts, preds)
    bins = spot_breakdown(gts, preds, result, DEFAULT_HEIGHT_BINS, DEFAULT_READING_ANGLE_BINS)
    matched = sum(len(img.pairs) for img in result.per_image.values())
    for axis in ("height", "angle"):
        assert sum(b.gt for b in bins[axis]) == result.num_gt_care
        assert sum(b.matched for b in bins[axis]) == matched
        assert sum(b.correct for b in bins[axis]) == result.recall_num


def test_empty_bins_report_no_ratio():
    gts = {"a": [GtPoly(quad((100, 100), (80, 20), 0), "hello")]}
    preds = {"a": [DetPoly(quad((100, 100), (80, 20), 0), 1.0, "HELLO")]}
    bins = spot_breakdown(gts, preds, evaluate_e2e(gts, preds), DEFAULT_HEIGHT_BINS, DEFAULT_READING_ANGLE_BINS)
    filled = [b for b in bins["height"] if b.gt]
    assert [(b.label, b.gt, b.accuracy, b.e2e_recall) for b in filled] == [("16-32", 1, 1.0, 1.0)]
    assert all(b.accuracy is None and b.e2e_recall is None for b in bins["height"] if not b.gt)


TURNED = ["sideways", "tilted", "upended", "askew", "rolling", "leaning"]
# Clockwise on screen; reading angles 0, 315, 60, 270, 90, 340. The two-stage spotter cuts a detection
# without its vertex order, so it reads a word turned past the vertical (90..270 but not 90 or 270)
# upside down: only turns it can read are used here.
TURNS = [0, 45, -60, 90, -90, 20]


def test_a_perfect_reader_gives_accuracy_one_in_every_non_empty_bin(tmp_path):
    layout = [(w, "rotated", ((90 + 170 * (i % 3), 90 + 170 * (i // 3)), t))
              for i, (w, t) in enumerate(zip(TURNED, TURNS))]
    image, gts = scene(layout, size=(520, 350))
    path = tmp_path / "turned.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    ts = inference.TestSet("turned", [ImageFile("turned", path, 520, 350)], {"turned": gts})
    preds = {"turned": [DetPoly(g.points, 0.9) for g in gts]}
    read = read_detections(LookupRecognizer(TURNED), ts, preds, batch_size=4)
    metrics, generic = e2e_scores(ts.gts, read, "turned")
    assert metrics["turned.e2e_hmean"] == 1.0
    bins = spot_breakdown(ts.gts, read, generic, DEFAULT_HEIGHT_BINS, [0.0, 90.0, 180.0, 270.0])
    assert [b.gt for b in bins["angle"]] == [2, 1, 0, 3]  # 0, 60 | 90 | - | 270, 315, 340
    for axis in ("height", "angle"):
        assert [b.accuracy for b in bins[axis] if b.gt] == [1.0] * sum(1 for b in bins[axis] if b.gt)
        assert [b.e2e_recall for b in bins[axis] if b.gt] == [1.0] * sum(1 for b in bins[axis] if b.gt)
