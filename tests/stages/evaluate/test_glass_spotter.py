"""A glass spotter through evaluate and infer: it detects as the DBNet it was started from, reads its own
detections, and is scored beside the two-stage spotter (that DBNet read by a recognizer)."""
from __future__ import annotations

import json

import pytest

import models
from models.checkpoint import load_checkpoint
from models.spotting.glass_spec import init_parts
from pipeline.stage import LocalContext
from stages.evaluate.params import EvaluateParams
from stages.evaluate.stage import run as evaluate_run
from tests.commands import main
from tests.stages.evaluate.test_infer import SIZE, one_torch_thread, trained  # noqa: F401  (fixtures)

READER = {"arch": "crnn", "charset": {"kind": "lower36"}, "height": 32, "width": 100,
          "backbone": {"name": "resnet", "channels": 64, "blocks": [1, 1, 1, 1]}, "hidden": 64, "lstm_layers": 1}


@pytest.fixture(scope="module")
def parts(trained, tmp_path_factory):
    """(test set, trained DBNet folder, CRNN folder, glass folder): the glass model's detector is the DBNet's
    weights, its reader the CRNN's (random: the tests check plumbing, not reading)."""
    import torch

    testset, det = trained
    root = tmp_path_factory.mktemp("glass")
    torch.manual_seed(0)
    models.save_checkpoint(root / "rec", READER, models.build_model(READER))
    config = models.validate_config({"arch": "glass", "recognizer": READER})
    glass = models.build_model(config)
    init_parts(glass, config, {"detector": load_checkpoint(det / "checkpoint.pt"),
                               "recognizer": load_checkpoint(root / "rec" / "checkpoint.pt")})
    models.save_checkpoint(root / "glass", config.model_dump(), glass)
    return testset, det, root / "rec", root / "glass"


def test_evaluate_scores_glass_beside_the_two_stage_spotter(parts, tmp_path):
    testset, det, rec, glass = parts
    params = EvaluateParams(image_size=SIZE, num_render=0, recognizer_uri=str(rec))
    ctx = LocalContext("evaluate")
    m = evaluate_run(params, {"model": glass, "baseline": det, "test": testset}, tmp_path / "out", ctx).metrics
    # the same detector weights and decoding: the same detections, so the same detection scores
    for key in ("hmean", "precision", "recall"):
        assert m[f"test/test.{key}"] == m[f"test/baseline.test.{key}"]
    assert m["test/test.hmean"] > 0.5
    # each spotter is scored end to end and analysed per bin: glass reading itself, the DBNet read by the CRNN
    for role in ("", "baseline."):
        assert {f"test/{role}test.{k}_{v}" for k in ("e2e", "wordspotting") for v in ("hmean", "precision", "recall")} \
            <= set(m)
    assert {"report/spot_bins_test.json", "report/baseline/spot_bins_test.json"} <= set(ctx.tables)
    # ...and side by side, bin by bin
    both = ctx.tables["report/spot_bins_vs_baseline_test.json"]
    mine, theirs = ctx.tables["report/spot_bins_test.json"], ctx.tables["report/baseline/spot_bins_test.json"]
    assert both["label"] == mine["label"] and both["gt"] == mine["gt"]
    assert both["e2e_recall"] == mine["e2e_recall"] and both["baseline_e2e_recall"] == theirs["e2e_recall"]
    assert both["e2e_recall_gain"] == [None if a is None else a - b
                                       for a, b in zip(mine["e2e_recall"], theirs["e2e_recall"])]
    assert (tmp_path / "out" / "report" / "test" / "spot_bins_vs_baseline.csv").is_file()
    saved = json.loads((tmp_path / "out" / "report" / "metrics.json").read_text())
    assert saved["recognizer"]["uri"] == str(rec)
    assert (tmp_path / "out" / "report" / "test" / "spot_by_angle.csv").is_file()
    assert (tmp_path / "out" / "report" / "baseline" / "test" / "spot_by_angle.csv").is_file()


def test_infer_with_a_spotter_writes_its_readings_without_a_recognizer(parts, tmp_path, capsys):
    testset, _, rec, glass = parts
    out = tmp_path / "out"
    argv = ["infer", "--model", str(glass), "--images", str(testset / "images"), "--out", str(out),
            "--image-size", str(SIZE), "--batch-size", "2"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "recognizer" not in summary and summary["detections"] >= 3
    for k in (1, 2, 3):
        record = json.loads((out / "json" / f"img_{k}.json").read_text())
        assert len(record["texts"]) == len(record["text_scores"]) == len(record["polygons"])
        lines = (out / "res" / f"res_img_{k}.txt").read_text().splitlines()
        assert len(lines) == len(record["polygons"]) and all(len(line.split(",")) >= 8 for line in lines)
    assert summary["texts"] == sum(1 for k in (1, 2, 3) for t in
                                   json.loads((out / "json" / f"img_{k}.json").read_text())["texts"] if t)
    # a spotter reads for itself: a recognizer on top is refused
    argv += ["--recognizer", str(rec)]
    assert main(argv) == 2
    assert "is a spotting model, which reads its own detections" in capsys.readouterr().err


def test_a_spotter_alone_is_scored_end_to_end(parts, tmp_path):
    testset, _, _, glass = parts
    ctx = LocalContext("evaluate")
    m = evaluate_run(EvaluateParams(image_size=SIZE, num_render=0), {"model": glass, "test": testset},
                     tmp_path / "out", ctx).metrics
    # no recognizer given: the end-to-end scores and bins come from the spotter reading its own detections
    assert {"test/test.e2e_hmean", "test/test.wordspotting_hmean"} <= set(m)
    assert set(ctx.tables) >= {"report/spot_bins_test.json"}


def test_the_spotters_mlflow_model_answers_with_the_words_read(parts, tmp_path):
    import mlflow
    import pandas as pd

    from models import pyfunc
    from stages.dataset.images import read_rgb
    from tests.models.test_pyfunc import as_b64

    testset, _, _, glass = parts
    pyfunc.save(glass / "checkpoint.pt", tmp_path / "served", {"image_size": SIZE, "unclip_ratio": None})
    images = sorted((testset / "images").iterdir())
    got = mlflow.pyfunc.load_model(str(tmp_path / "served")).predict(pd.DataFrame({"image": as_b64(images)}))
    spotter = models.load_predictor(str(glass), "cpu")
    for path, answer in zip(images, got):
        rgb = read_rgb(path)
        (found,) = spotter.detect([rgb], SIZE, {"mode": "poly", "thresh": 0.3, "box_thresh": 0.5,
                                                "unclip_ratio": None, "min_size": 3.0})
        (read,) = spotter.read_words([rgb], [[p for p, _ in found]], SIZE)
        assert answer["texts"] == [t for t, _ in read] and len(answer["polygons"]) == len(found) > 0
        assert answer["text_scores"] == pytest.approx([s for _, s in read])
