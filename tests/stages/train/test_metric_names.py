"""Train metrics have one name each on MLflow: train/<k> and val/<k>, also in the stage's result; validation
samples are drawn with their legend."""
from __future__ import annotations

import numpy as np
import torch

import models
from models.metrics import DetPoly, GtPoly
from stages.dataset.drawing import DONT_CARE_BGR, GT_BGR, PRED_BGR, SWATCH
from stages.train.metric_names import mlflow_metrics
from stages.train.params import PostprocessParams
from stages.train.validate import ValImage, draw_samples, evaluate_with_predictions, load_validation


def test_reported_names_become_train_and_val_names():
    reported = {"loss_total": 1.5, "loss_bce": 0.5, "lr": 1e-3, "images_per_s": 12.0, "val_hmean": 0.25,
                "val_precision": 0.5, "step": 6, "trial_id": "abc"}
    assert mlflow_metrics(reported) == {"train/loss_total": 1.5, "train/loss_bce": 0.5, "train/lr": 1e-3,
                                        "train/images_per_s": 12.0, "val/hmean": 0.25, "val/precision": 0.5}


def test_validation_samples_are_drawn_with_the_legend():
    image = np.zeros((48, 200, 3), np.uint8)
    gts = [GtPoly(np.array([[10, 10], [60, 10], [60, 30], [10, 30]], np.float64)),
           GtPoly(np.array([[100, 10], [150, 10], [150, 30], [100, 30]], np.float64), ignore=True)]
    images = [ValImage(image, gts), ValImage(image.copy(), []), ValImage(image.copy(), [])]
    preds = {0: [DetPoly(np.array([[12, 12], [58, 12], [58, 28], [12, 28]], np.float64), 0.9)], 1: [], 2: []}
    drawn = draw_samples(images, preds, 2)
    assert len(drawn) == 2
    rgb = drawn[0]
    assert rgb.dtype == np.uint8 and rgb.shape[1] == 200 and rgb.shape[0] > 48
    assert rgb[20, 10, 1] > 150 and rgb[20, 10, 0] == rgb[20, 10, 2] == 0  # the green ground-truth outline
    for bgr in (GT_BGR, DONT_CARE_BGR, PRED_BGR):
        assert np.all(rgb[48:] == np.asarray(bgr[::-1], np.uint8), axis=-1).sum() >= SWATCH * SWATCH, bgr


def test_evaluate_with_predictions_scores_what_it_returns(tiny_synth):
    torch.manual_seed(0)
    cfg = models.tiny_config("dbnet")
    model = models.build_model(cfg)
    images = load_validation(tiny_synth / "test", 3)
    scores, preds = evaluate_with_predictions(model, cfg, images, torch.device("cpu"), 64,
                                              {**PostprocessParams().model_dump(), "box_thresh": 0.0})
    assert sorted(preds) == [0, 1, 2] and set(scores) >= {"hmean", "precision", "recall"}
