"""Total-Text DetEval and Pascal: hand-made cases, the MATLAB protocol's sigma / tau values in
Result.txt, and values computed by the official Python scripts' logic (synthetic fixture)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.metrics import DetPoly, GtPoly, evaluate_deteval, evaluate_pascal, sigma_tau
from stages.evaluate.formats import load_gt, load_predictions

FX = Path(__file__).resolve().parents[2] / "fixtures" / "totaltext_eval"


def box(x, y, w, h):
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def test_one_to_one():
    gts = {"a": [GtPoly(box(0, 0, 100, 20))]}
    r = evaluate_deteval(gts, {"a": [DetPoly(box(5, 0, 100, 20))]})  # sigma = tau = .95
    assert (r.precision, r.recall) == (1.0, 1.0)
    assert r.per_image["a"].pairs == [(0, 0)]


def test_split_one_to_many_gets_fsc_k():
    # gt cut into two detections: each tau = 1, sigmas .5 + .5 >= tr
    gts = {"a": [GtPoly(box(0, 0, 100, 20))]}
    r = evaluate_deteval(gts, {"a": [DetPoly(box(0, 0, 50, 20)), DetPoly(box(50, 0, 50, 20))]})
    assert r.recall_num == pytest.approx(0.8) and r.precision_num == pytest.approx(1.6)
    assert r.recall == pytest.approx(0.8) and r.precision == pytest.approx(0.8)
    assert r.per_image["a"].pairs == [(0, 0), (0, 1)]


def test_merge_many_to_one_gets_fsc_k():
    gts = {"a": [GtPoly(box(0, 0, 50, 20)), GtPoly(box(50, 0, 50, 20))]}
    r = evaluate_deteval(gts, {"a": [DetPoly(box(0, 0, 100, 20))]})  # sigma 1, 1; tau .5, .5
    assert r.recall_num == pytest.approx(1.6) and r.precision_num == pytest.approx(0.8)
    assert r.recall == pytest.approx(0.8) and r.precision == pytest.approx(0.8)


def test_partial_below_tr_is_no_match():
    gts = {"a": [GtPoly(box(0, 0, 100, 20))]}
    r = evaluate_deteval(gts, {"a": [DetPoly(box(0, 0, 70, 20))]})  # sigma .70 is not > .7
    assert r.recall == 0.0 and r.precision == 0.0
    r = evaluate_deteval(gts, {"a": [DetPoly(box(0, 0, 71, 20))]})
    assert r.recall == 1.0


def test_sigma_tau_are_rounded_to_two_decimals():
    # sigma = 70.4 / 100 rounds to .70, which is not > tr = .7: no one-to-one match
    gts = {"a": [GtPoly(box(0, 0, 100, 1))]}
    assert evaluate_deteval(gts, {"a": [DetPoly(box(0, 0, 70.4, 1))]}).recall == 0.0
    assert evaluate_deteval(gts, {"a": [DetPoly(box(0, 0, 70.6, 1))]}).recall == 1.0
    s, t = sigma_tau([box(0, 0, 100, 1)], [box(0, 0, 70.4, 1)], decimals=2)
    assert s[0, 0] == 0.7 and t[0, 0] == 1.0


def test_dont_care_filter_uses_plus_one_area():
    # det 10x10 = 100 px², 51 px² on the '#' region: 51 / (100 + 1) > .5 -> removed
    gts = {"a": [GtPoly(box(0, 0, 100, 100), "#", True), GtPoly(box(500, 0, 10, 10))]}
    r = evaluate_deteval(gts, {"a": [DetPoly(box(94.9, 0, 10, 10))]})
    assert r.per_image["a"].det_dont_care == [0] and r.num_det_care == 0
    # exactly half of (area + 1): 50.5 / 101 is not > .5 -> kept (and a false positive)
    r = evaluate_deteval(gts, {"a": [DetPoly(box(94.95, 0, 10, 10))]})
    assert r.num_det_care == 1 and r.precision == 0.0
    # with area_eps=0 the plain ratio applies: 51 / 100 > .5, removed as well
    r = evaluate_deteval(gts, {"a": [DetPoly(box(94.9, 0, 10, 10))]}, area_eps=0.0)
    assert r.num_det_care == 0


def test_pascal_rules():
    gts = {"a": [GtPoly(box(0, 0, 100, 20)), GtPoly(box(300, 0, 100, 20))]}
    # gt0: two dets with IoU >= .5 -> best one is tp, the other an extra false positive
    preds = {"a": [DetPoly(box(2, 0, 100, 20)), DetPoly(box(0, 0, 100, 20)), DetPoly(box(800, 0, 5, 5))]}
    r = evaluate_pascal(gts, preds)
    assert r.per_image["a"].pairs == [(0, 1)]
    # tp 1, fp = 1 extra + 2 unflagged dets = 3; fn 1
    assert (r.recall_num, r.recall_den, r.precision_den) == (1.0, 2.0, 4.0)
    assert r.precision == 0.25 and r.recall == 0.5


def test_pascal_iou_smoothing_at_the_threshold():
    gts = {"a": [GtPoly(box(0, 0, 10, 10))]}
    # inter 100, union 200: plain IoU .5 passes ">= .5", the official +1 makes it 100/201 < .5
    assert evaluate_pascal(gts, {"a": [DetPoly(box(0, 0, 10, 20))]}, area_eps=0.0).recall == 1.0
    assert evaluate_pascal(gts, {"a": [DetPoly(box(0, 0, 10, 20))]}).recall == 0.0


def test_no_predictions_and_empty_images():
    gts = {"a": [], "b": [GtPoly(box(0, 0, 10, 10))]}
    for fn in (evaluate_deteval, evaluate_pascal):
        r = fn(gts, {})
        assert (r.precision, r.recall, r.hmean) == (0.0, 0.0, 0.0)
        assert r.per_image["a"].precision == 0.0


def test_sigma_tau_match_matlab_result_txt():
    """Every pair Eval.m wrote (intersecting pairs, gt-major, don't cares included) to 1e-6."""
    rows = [line.split() for line in (FX / "Result.txt").read_text().splitlines() if line.strip()]
    gts = load_gt(FX / "Groundtruth")
    preds = load_predictions(FX / "Prediction", gt_ids=gts)
    got = []
    for i in range(1, 6):
        sigma, tau = sigma_tau([g.points for g in gts[f"img{i}"]], [d.points for d in preds[f"img{i}"]])
        for g, d in zip(*np.nonzero(sigma)):
            got.append((f"poly_gt_img{i}.mat", tau[g, d], sigma[g, d]))
    assert len(got) == len(rows) == 30
    for (name, tau, sigma), (e_name, e_tau, e_sigma) in zip(got, rows):
        assert name == e_name
        assert tau == pytest.approx(float(e_tau), abs=1e-6)
        assert sigma == pytest.approx(float(e_sigma), abs=1e-6)


def test_totaltext_examples_scores():
    gts = load_gt(FX / "Groundtruth")
    preds = load_predictions(FX / "Prediction", gt_ids=gts)
    d = evaluate_deteval(gts, preds)
    assert (d.num_gt_care, d.num_det_care) == (24, 12)  # 3 '#' gts; no detection on a '#' region
    assert (d.precision, d.recall) == (0.0, 0.0)  # every sigma / tau too low for tr .7 / tp .6
    p = evaluate_pascal(gts, preds)
    assert (p.precision, p.recall) == (0.25, 0.125)


def test_synthetic_scenes_match_the_official_scripts():
    expected = json.loads((FX / "synthetic_expected_official.json").read_text())
    gts = load_gt(FX / "synthetic_gt_coco.json")
    preds = load_predictions(FX / "synthetic_pred.json", gt_ids=gts)
    for name, fn in (("deteval", evaluate_deteval), ("pascal", evaluate_pascal)):
        r = fn(gts, preds)
        assert r.precision == pytest.approx(expected[name]["precision"], abs=1e-6)
        assert r.recall == pytest.approx(expected[name]["recall"], abs=1e-6)
    # the scenes do exercise splits and merges: fractional credit
    r = evaluate_deteval(gts, preds)
    assert r.recall_num % 1 != 0


def test_plain_ratio_flips_the_boundary_case():
    gts = {"a": [GtPoly(box(0, 0, 100, 100), "#", True)]}
    near_half = {"a": [DetPoly(box(94.95, 0, 10, 10))]}  # ~50.5 px² of 100 on the '#' region
    assert evaluate_deteval(gts, near_half).num_det_care == 1  # 50.5 / 101 is not > .5
    assert evaluate_deteval(gts, near_half, area_eps=0.0).num_det_care == 0  # 50.5 / 100 is
