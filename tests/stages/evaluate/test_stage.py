"""The evaluate stage through LocalContext: outputs, metrics, submission round trip, perfect predictions."""
from __future__ import annotations

import csv
import json
import re
import zipfile

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from models.detection.protocols import PROTOCOLS as DETECTION_PROTOCOLS
from models.metrics import DetPoly, evaluate_icdar15
from pipeline.stage import LocalContext
from stages.dataset.drawing import DONT_CARE_BGR, GT_BGR, PRED_BGR, SWATCH
from stages.evaluate.formats import load_gt, load_predictions
from stages.evaluate.inference import load_testset
from stages.evaluate.stage import EvaluateParams, evaluate_predictions, run, write_testset_report
from stages.registry import STAGES
from tests.stages.evaluate.evalsets import make_testset, save_tiny_checkpoint

TINY = {"image_size": 64, "batch_size": 2, "num_render": 2, "thresholds": [0.0, 0.5, 0.9]}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    return {"model": save_tiny_checkpoint(root / "model"), "test": make_testset(root / "test")}


def assert_has_legend(rgb: np.ndarray, image_height: int, colours_bgr: list) -> None:
    """Below the picture (``image_height`` rows) a legend strip with a full swatch of every colour."""
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[0] > image_height
    strip = rgb[image_height:]
    for bgr in colours_bgr:
        assert np.all(strip == np.asarray(bgr[::-1], np.uint8), axis=-1).sum() >= SWATCH * SWATCH, bgr


def _perfect(gts):
    """Detections equal to the cared ground truths, scores falling with the index (0.95, 0.85, ...)."""
    return {k: [DetPoly(g.points, 0.95 - 0.1 * i) for i, g in enumerate(v) if not g.ignore] for k, v in gts.items()}


def test_stage_writes_the_report_and_logs_metrics(files, tmp_path):
    ctx = LocalContext("evaluate")
    params = EvaluateParams.model_validate({**TINY, "baseline_uri": str(files["model"])})
    result = run(params, {"model": files["model"], "test": files["test"]}, tmp_path, ctx)
    report = tmp_path / "report"
    assert result.outputs == {"report": "report"} and result.datasets == []
    for name in ("metrics.json", "per_image.csv", "test/breakdown.json", "test/breakdown.csv", "test/breakdown.png",
                 "test/sweep.png", "test/submission.zip", "baseline/test/submission.zip"):
        assert (report / name).is_file() and (report / name).stat().st_size > 0, name
    assert sorted(p.name for p in (report / "test" / "samples").iterdir()) == ["img_1.png", "img_3.png"]
    for key in ("hmean", "precision", "recall", "best_hmean", "best_threshold"):
        for name in (f"test/test.{key}", f"test/baseline.test.{key}"):
            assert 0.0 <= result.metrics[name] <= 1.0, name
    assert result.metrics["test/test.best_threshold"] in (0.0, 0.5, 0.9)
    # the baseline is the same checkpoint: same numbers, zero gain
    assert result.metrics["test/test.hmean"] == result.metrics["test/baseline.test.hmean"]
    assert result.metrics["test/test.hmean_gain"] == 0.0
    assert result.counts["test_images"] == 3 and result.counts["baseline_test_images"] == 3
    assert sorted(result.artifacts) == ["report/metrics.json", "report/per_image.csv"]
    assert [(p.name, where) for p, where in ctx.artifacts] == [("test", "report"), ("test", "report/baseline")]
    assert ctx.metrics == []  # no step-encoded sweep: the sweep is a table

    summary = json.loads((report / "metrics.json").read_text())
    # metrics.json keeps the names the register stage's benchmark_metric reads (test.hmean)
    assert {f"test/{k}": v for k, v in summary["metrics"].items()} == result.metrics
    assert summary["models"]["model"]["sha256"] == summary["models"]["baseline"]["sha256"]
    assert [p["score_threshold"] for p in summary["results"]["model"]["test"]["sweep"]] == [0.0, 0.5, 0.9]
    assert sorted(ctx.tables) == ["report/baseline/sweep_test.json", "report/sweep_test.json"]
    for role, table in (("model", ctx.tables["report/sweep_test.json"]),
                        ("baseline", ctx.tables["report/baseline/sweep_test.json"])):
        points = summary["results"][role]["test"]["sweep"]
        assert table == {"threshold": [0.0, 0.5, 0.9], "precision": [p["precision"] for p in points],
                         "recall": [p["recall"] for p in points], "hmean": [p["hmean"] for p in points]}
    # drawn samples: logged as images (comparable across runs) and written, each with its colour legend
    assert [(key, step) for key, _, step in ctx.images] == [
        ("samples/test.img_1", 0), ("samples/test.img_3", 0),
        ("samples/baseline.test.img_1", 0), ("samples/baseline.test.img_3", 0)]
    written = cv2.imread(str(report / "test" / "samples" / "img_1.png"))
    assert np.array_equal(written, cv2.cvtColor(ctx.images[0][1], cv2.COLOR_RGB2BGR))
    assert_has_legend(ctx.images[0][1], 96, [GT_BGR, DONT_CARE_BGR, PRED_BGR])
    with open(report / "per_image.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["image_id"]) for r in rows] == [
        (m, f"img_{i}") for m in ("model", "baseline") for i in (1, 2, 3)]
    assert {r["num_gt_care"] for r in rows if r["image_id"] == "img_2"} == {"1"}

    # The zip is readable by the formats reader and re-evaluates to the stage's hmean.
    gts = load_gt(files["test"] / "annotations.json")
    preds = load_predictions(report / "test" / "submission.zip", gt_ids=gts)
    assert sorted(preds) == ["img_1", "img_2", "img_3"]
    again = evaluate_icdar15(gts, preds)
    assert again.hmean == pytest.approx(result.metrics["test/test.hmean"])
    assert sum(len(v) for v in preds.values()) == result.counts["test_detections"]


def test_perfect_predictions_give_hmean_1_and_full_recall_in_every_populated_bin(tmp_path):
    ts = load_testset("test", make_testset(tmp_path / "set"))
    for protocol in DETECTION_PROTOCOLS:
        params = EvaluateParams(protocol=protocol, box_thresh=0.5, thresholds=[0.3, 0.6, 0.9])
        ev = evaluate_predictions(ts.gts, _perfect(ts.gts), params)
        assert (ev.result.hmean, ev.result.precision, ev.result.recall) == (1.0, 1.0, 1.0), protocol
        assert ev.best == {"score_threshold": 0.3, "precision": 1.0, "recall": 1.0, "hmean": 1.0}
        # 0.9 drops the second box of img_1 (score 0.85): recall 3/4 there
        assert ev.sweep[-1]["recall"] == pytest.approx(0.75) and ev.sweep[-1]["precision"] == 1.0
        populated = [b for axis in ev.bins.values() for b in axis if b.gt]
        assert populated and all(b.recall == 1.0 and b.precision == 1.0 for b in populated)
        assert sum(b.gt for b in ev.bins["height"]) == 4  # the don't care is not counted
        assert {b.label: b.gt for b in ev.bins["height"] if b.gt} == {"16-32": 4}


def test_perfect_submission_round_trips_through_the_zip(tmp_path):
    folder = make_testset(tmp_path / "set")
    ts = load_testset("test", folder)
    params = EvaluateParams(num_render=1, submission_scores=True)
    ev = evaluate_predictions(ts.gts, _perfect(ts.gts), params)
    write_testset_report(tmp_path / "out", ts, ev, params, "perfect")
    with zipfile.ZipFile(tmp_path / "out" / "submission.zip") as zf:
        assert sorted(zf.namelist()) == ["res_img_1.txt", "res_img_2.txt", "res_img_3.txt"]
        assert zf.read("res_img_1.txt").decode().splitlines() == ["10,10,90,10,90,30,10,30,0.950000",
                                                                 "20,50,140,50,140,80,20,80,0.850000"]
    gts = load_gt(folder / "annotations.json")
    preds = load_predictions(tmp_path / "out" / "submission.zip", gt_ids=gts)
    assert evaluate_icdar15(gts, preds).hmean == 1.0
    breakdown = json.loads((tmp_path / "out" / "breakdown.json").read_text())
    assert breakdown["summary"]["hmean"] == 1.0
    assert [b["recall"] for b in breakdown["breakdown"]["angle"] if b["gt"]] == [1.0]
    img = cv2.imread(str(tmp_path / "out" / "samples" / "img_1.png"))
    assert img.shape[1] == 160 and img.shape[0] > 96  # the image, then its legend strip
    assert_has_legend(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), 96, [GT_BGR, DONT_CARE_BGR, PRED_BGR])
    # detections (red) are drawn over the ground truth (green) on the same outline; inside stays white
    b, g, r = (int(v) for v in img[10, 50])
    assert r > 200 and g < 60 and b < 60
    assert tuple(img[20, 50]) == (255, 255, 255)


def test_params_and_inputs_are_checked(files, tmp_path):
    assert "evaluate" in STAGES and STAGES["evaluate"].outputs(EvaluateParams()) == ["report"]
    for bad in ({"thresholds": [1.5]}, {"image_size": 16}, {"image_size": [320, 16]}, {"protocol": "nope"},
                {"height_bins": [0, 8, 4]}, {"mode": "box"}, {"unknown": 1}):
        with pytest.raises(ValidationError):
            EvaluateParams.model_validate(bad)
    assert EvaluateParams(thresholds=[0.9, 0.3, 0.3]).thresholds == [0.3, 0.9]
    assert EvaluateParams.model_validate({"image_size": [320, 256]}).image_size == (320, 256)
    ctx = LocalContext()
    with pytest.raises(ValueError, match="no model"):
        run(EvaluateParams(), {"test": files["test"]}, tmp_path, ctx)
    with pytest.raises(ValueError, match="both an input 'model' and model_uri"):
        run(EvaluateParams(model_uri="x"), {"model": files["model"], "test": files["test"]}, tmp_path, ctx)
    with pytest.raises(ValueError, match="no test set"):
        run(EvaluateParams(), {"model": files["model"]}, tmp_path, ctx)
    with pytest.raises(ValueError, match="test set names"):
        run(EvaluateParams(), {"model": files["model"], "bad.name": files["test"]}, tmp_path, ctx)


def test_breakdown_of_a_real_run_counts_every_cared_ground_truth(files, tmp_path):
    # With random weights the recall may be anything, but every cared ground truth sits in one bin per axis.
    params = EvaluateParams.model_validate({**TINY, "model_uri": str(files["model"] / "checkpoint.pt"),
                                            "protocol": "deteval", "num_render": 0})
    run(params, {"test": files["test"]}, tmp_path, LocalContext())
    data = json.loads((tmp_path / "report" / "test" / "breakdown.json").read_text())
    assert data["summary"]["protocol"] == "deteval"
    for axis in ("height", "angle"):
        assert sum(b["gt"] for b in data["breakdown"][axis]) == 4
    assert not (tmp_path / "report" / "test" / "samples").exists()
    assert np.isfinite(data["summary"]["hmean"])


def test_icdar2015_recipe_params_write_a_zip_the_rrc_rule_reads(files, tmp_path):
    """The evaluate stage as configs/icdar2015.yaml sets it up (quads, no score): a flat zip of
    res_img_<N>.txt with 8 integer coordinates a line, read back under the RRC quad rule to the same hmean."""
    params = EvaluateParams.model_validate({**TINY, "protocol": "icdar15", "mode": "quad", "thresh": 0.05,
                                            "box_thresh": 0.0, "num_render": 0, "submission_scores": False})
    result = run(params, {"model": files["model"], "test": files["test"]}, tmp_path, LocalContext())
    zpath = tmp_path / "report" / "test" / "submission.zip"
    with zipfile.ZipFile(zpath) as zf:
        assert sorted(zf.namelist()) == ["res_img_1.txt", "res_img_2.txt", "res_img_3.txt"]
        lines = [line for name in zf.namelist() for line in zf.read(name).decode().splitlines()]
    assert lines and all(re.fullmatch(r"-?\d+(,-?\d+){7}", line) for line in lines), lines[:3]
    gts = load_gt(files["test"] / "annotations.json")
    preds = load_predictions(zpath, gt_ids=gts, coords="quad")
    assert sum(len(v) for v in preds.values()) == len(lines) == result.counts["test_detections"]
    assert evaluate_icdar15(gts, preds).hmean == pytest.approx(result.metrics["test/test.hmean"])


def test_report_plot_titles_fit_their_figures_for_long_test_set_names(tmp_path):
    from stages.evaluate import report as rep
    from tests.stages.dataset.test_drawing import assert_titles_fit

    ts = load_testset("test", make_testset(tmp_path / "set"))
    ev = evaluate_predictions(ts.gts, _perfect(ts.gts), EvaluateParams(thresholds=[0.0, 0.5, 0.9]))
    title = "baseline on icdar2015_incidental_scene_text_test"
    assert_titles_fit(rep.plot_sweep(ev.sweep, tmp_path / "sweep.png", f"{title}: score threshold sweep", 0.5))
    assert_titles_fit(rep.plot_breakdown(ev.bins, tmp_path / "breakdown.png",
                                         f"{title}: recall / precision by text height and angle"))
