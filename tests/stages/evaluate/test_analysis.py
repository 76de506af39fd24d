"""Scale / rotation analysis: text height and angle of polygons, binning, per-bin recall and precision."""
from __future__ import annotations

import math

import numpy as np
import pytest

from models.metrics import DetPoly, GtPoly, evaluate_icdar15
from stages.evaluate.analysis import (
    DEFAULT_ANGLE_BINS,
    DEFAULT_HEIGHT_BINS,
    bin_index,
    bin_labels,
    breakdown,
    breakdown_rows,
    check_edges,
    text_angle,
    text_height,
)


def rotated_box(cx: float, cy: float, w: float, h: float, degrees: float) -> np.ndarray:
    """(4, 2) corners of a w x h box centred at (cx, cy), rotated by ``degrees``."""
    t = math.radians(degrees)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return corners @ rot.T + [cx, cy]


def arc_band(radius: float, thickness: float, degrees: float, steps: int = 24) -> np.ndarray:
    """A curved word: the band between two concentric arcs (outer arc, then inner arc back)."""
    t = np.radians(np.linspace(0, degrees, steps))
    outer = np.stack([radius * np.cos(t), radius * np.sin(t)], 1)
    inner = np.stack([(radius - thickness) * np.cos(t), (radius - thickness) * np.sin(t)], 1)[::-1]
    return np.concatenate([outer, inner]) + 300


def label_of(value: float, edges) -> str:
    return bin_labels(edges)[bin_index(value, edges)]


def test_horizontal_20px_box_lands_in_the_16_32_height_bin_and_the_0_degree_bin():
    poly = rotated_box(100, 50, 120, 20, 0)
    assert text_height(poly) == pytest.approx(20.0, abs=1e-3)
    assert text_angle(poly) == 0.0
    assert label_of(text_height(poly), DEFAULT_HEIGHT_BINS) == "16-32"
    assert label_of(text_angle(poly), DEFAULT_ANGLE_BINS) == "0-10"


@pytest.mark.parametrize("degrees", [45.0, -45.0, 135.0])
def test_45_degree_box_lands_in_the_45_degree_bin(degrees):
    poly = rotated_box(200, 200, 120, 20, degrees)
    assert text_height(poly) == pytest.approx(20.0, abs=1e-2)
    assert text_angle(poly) == 45.0
    assert label_of(text_angle(poly), DEFAULT_ANGLE_BINS) == "40-50"


def test_vertical_and_small_text():
    tall = rotated_box(50, 100, 10, 80, 0)  # a vertical column of text: long side vertical
    assert text_angle(tall) == 90.0 and label_of(90.0, DEFAULT_ANGLE_BINS) == "80+"
    assert text_height(tall) == pytest.approx(10.0, abs=1e-3)
    assert label_of(text_height(tall), DEFAULT_HEIGHT_BINS) == "8-16"
    assert text_angle(rotated_box(0, 0, 100, 30, 30)) == 30.0


def test_curved_band_height_is_its_thickness_not_its_span():
    band = arc_band(radius=120, thickness=20, degrees=90)
    # The bounding rectangle of a quarter arc is ~90 px on its short side; the band is 20 px thick.
    assert text_height(band) == pytest.approx(20.0, rel=0.08)


def test_bin_edges_and_labels():
    edges = [0, 8, 16]
    assert bin_labels(edges) == ["0-8", "8-16", "16+"]
    assert [bin_index(v, edges) for v in (-1, 0, 7.99, 8, 15.9, 16, 1000)] == [0, 0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="strictly increasing"):
        check_edges([0, 10, 10], "height_bins")
    with pytest.raises(ValueError, match="at least one"):
        check_edges([], "angle_bins")
    with pytest.raises(ValueError, match=">= 0"):
        check_edges([-5, 0], "angle_bins")


def test_breakdown_counts_recall_per_gt_bin_and_precision_per_det_bin():
    flat20 = rotated_box(100, 40, 120, 20, 0)
    tilted = rotated_box(300, 300, 120, 20, 45)
    gts = {"a": [GtPoly(flat20), GtPoly(tilted), GtPoly(rotated_box(50, 200, 60, 40, 0), "###", True)]}
    vertical_fp = rotated_box(400, 100, 12, 90, 0)
    preds = {"a": [DetPoly(flat20 + 1.0, 0.9), DetPoly(vertical_fp, 0.8),
                   DetPoly(rotated_box(50, 200, 58, 38, 0), 0.7)]}  # the last one lies on the don't care
    result = evaluate_icdar15(gts, preds)
    assert result.recall == pytest.approx(0.5) and result.precision == pytest.approx(0.5)
    bins = breakdown(gts, preds, result)
    height = {b.label: b for b in bins["height"]}
    angle = {b.label: b for b in bins["angle"]}
    # both cared ground truths are 20 px high: one matched; the don't care (40 px) is not counted
    assert (height["16-32"].gt, height["16-32"].gt_matched, height["16-32"].recall) == (2, 1, 0.5)
    assert height["32-64"].gt == 0 and height["32-64"].recall is None
    assert (angle["0-10"].gt, angle["0-10"].recall) == (1, 1.0)
    assert (angle["40-50"].gt, angle["40-50"].recall) == (1, 0.0)
    # detections: the match is horizontal and 20 px; the false positive vertical and 12 px thick
    assert (angle["0-10"].det, angle["0-10"].precision) == (1, 1.0)
    assert (angle["80+"].det, angle["80+"].precision) == (1, 0.0)
    assert (height["8-16"].det, height["8-16"].precision) == (1, 0.0)
    assert sum(b.det for b in bins["height"]) == 2  # the detection on the don't care is not counted
    rows = breakdown_rows(bins)
    assert len(rows) == len(DEFAULT_HEIGHT_BINS) + len(DEFAULT_ANGLE_BINS)
    assert rows[0]["axis"] == "height" and set(rows[0]) >= {"label", "gt", "recall", "det", "precision"}
