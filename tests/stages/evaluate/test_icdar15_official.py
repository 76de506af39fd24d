"""ICDAR 2015 on the official test ground truth: itself, hand-computed edits, and values computed by
the official RRC logic with Polygon3 (tests/fixtures/icdar2015_gt/expected_official.json)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.metrics import DetPoly, evaluate_e2e, evaluate_icdar15
from stages.evaluate.formats import load_gt, load_predictions

FX = Path(__file__).resolve().parents[2] / "fixtures" / "icdar2015_gt"


@pytest.fixture(scope="module")
def gts():
    return load_gt(FX / "gt.zip")


def as_dets(gts):
    """The ground truth itself as detections (don't cares included, as a method would output them)."""
    return {k: [DetPoly(g.points) for g in v] for k, v in gts.items()}


def test_official_counts(gts):
    assert len(gts) == 500
    assert sum(len(v) for v in gts.values()) == 5230
    assert sum(g.ignore for v in gts.values() for g in v) == 3153


def test_against_itself_is_perfect(gts):
    r = evaluate_icdar15(gts, as_dets(gts))
    assert (r.precision, r.recall, r.hmean) == (1.0, 1.0, 1.0)
    assert r.num_gt_care == 2077 and r.num_det_care == 2077  # every ### copy is a don't-care detection


def cared(gts):
    return [(k, i) for k, v in gts.items() for i, g in enumerate(v) if not g.ignore]


def test_dropping_boxes(gts):
    drop = set(cared(gts)[::10])  # every 10th cared box: 208 boxes
    preds = {k: [DetPoly(g.points) for i, g in enumerate(v) if (k, i) not in drop] for k, v in gts.items()}
    r = evaluate_icdar15(gts, preds)
    assert len(drop) == 208
    assert r.recall == pytest.approx((2077 - 208) / 2077, abs=1e-12)
    assert r.precision == 1.0
    assert r.hmean == pytest.approx(2 * 1869 / (2077 + 1869), abs=1e-12)


def test_shifting_boxes(gts):
    # moving a box 5000 px down (below any image content) leaves it IoU 0 with everything: each
    # moved box is one miss and one false positive
    shift = set(cared(gts)[::7])  # 297 boxes
    preds = {}
    for k, v in gts.items():
        out = []
        for i, g in enumerate(v):
            p = g.points.copy()
            if (k, i) in shift:
                p[:, 1] += 5000  # far below any image content
            out.append(DetPoly(p))
        preds[k] = out
    r = evaluate_icdar15(gts, preds)
    assert len(shift) == 297
    assert r.recall == pytest.approx(1780 / 2077, abs=1e-12)
    assert r.precision == pytest.approx(1780 / 2077, abs=1e-12)


def test_perturbed_predictions_match_the_official_script(gts):
    expected = json.loads((FX / "expected_official.json").read_text())
    r = evaluate_icdar15(gts, load_predictions(FX / "perturbed_res.zip", gt_ids=gts))
    for key in ("precision", "recall", "hmean"):
        assert getattr(r, key) == pytest.approx(expected["det"][key], abs=1e-6)
    for image_id, e in expected["det"]["per_image_sample"].items():
        got = r.per_image[image_id]
        assert got.precision == pytest.approx(e["precision"], abs=1e-9)
        assert got.recall == pytest.approx(e["recall"], abs=1e-9)
        assert got.pairs == [tuple(p) for p in e["pairs"]]


def test_perturbed_end_to_end_matches_the_official_script(gts):
    expected = json.loads((FX / "expected_official.json").read_text())["e2e"]
    preds = load_predictions(FX / "perturbed_e2e.json", gt_ids=gts, with_text=True)
    subset = {k: gts[k] for k in (f"img_{i}" for i in range(1, 51))}
    r = evaluate_e2e(subset, preds)
    for key in ("precision", "recall", "hmean"):
        assert getattr(r, key) == pytest.approx(expected[key], abs=1e-6)


def test_float_scores_in_fixture_are_read(gts):
    preds = load_predictions(FX / "perturbed_res.zip", gt_ids=gts)
    scores = np.array([d.score for v in preds.values() for d in v])
    assert (scores == 1.0).any() and ((scores > 0.3) & (scores < 1.0)).any()
