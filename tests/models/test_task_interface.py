"""The task interface: a detector registered in one line works through the stages unchanged.

``brightnet`` is a stand-in architecture defined only here (probability 1 on bright pixels). Registered
in the detection task's ``ARCHITECTURES``, its checkpoint is saved, loaded as a predictor, scored by the
evaluate stage and validated by the train stage's validation, none of which names it.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pytest
import torch
from pydantic import BaseModel, ConfigDict

import models
from models import detection
from models.checkpoint import load_predictor
from models.task import Architecture
from models.tasks import architecture_of, get_architecture, get_task, task_of
from pipeline.stage import LocalContext
from stages.evaluate.params import EvaluateParams
from stages.evaluate.stage import run as evaluate_run
from stages.train.validate import evaluate as validate, load_validation
from tests.stages.evaluate.evalsets import make_testset


class BrightConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arch: Literal["brightnet"]
    level: float = 1.0  # normalised brightness above which a pixel is text


class BrightNet(torch.nn.Module):
    def __init__(self, level: float):
        super().__init__()
        self.register_buffer("level", torch.tensor(level))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"prob": (images.mean(dim=1, keepdim=True) > self.level).float()}  # (B, 1, H, W)


def _decode(outputs: dict[str, np.ndarray], cfg: BrightConfig, options: dict[str, Any], out_shape, scale):
    from models.detection.db_postprocess import postprocess

    return postprocess(outputs["prob"][0], out_shape=out_shape, scale=scale, mode="quad", thresh=0.5,
                       box_thresh=0.5, unclip_ratio=0.01, min_size=1.0)


BRIGHTNET = Architecture(
    name="brightnet", task="detection", config=BrightConfig, build=lambda cfg, init: BrightNet(cfg.level),
    loss=lambda cfg: None, targets=lambda cfg: None, target_keys=(), decode=_decode, output_keys=("prob",),
    tiny={"arch": "brightnet"},
)


@pytest.fixture
def brightnet(monkeypatch):
    monkeypatch.setitem(detection.ARCHITECTURES, "brightnet", BRIGHTNET)
    return BRIGHTNET


def test_a_registered_architecture_is_found_by_name_and_config(brightnet):
    assert get_architecture("brightnet") is brightnet
    assert architecture_of({"arch": "brightnet"}) is brightnet
    assert task_of({"arch": "brightnet"}) is get_task("detection")
    assert isinstance(models.build_model({"arch": "brightnet", "level": 0.5}), BrightNet)
    valid = "attention, binet, brightnet, craft, crnn, dbnet"
    with pytest.raises(ValueError, match=f"unknown model arch 'nonet'; valid: {valid}"):
        get_architecture("nonet")


def test_the_evaluate_stage_scores_a_new_architecture_it_does_not_name(brightnet, tmp_path):
    testset = make_testset(tmp_path / "test")
    folder = tmp_path / "model"
    models.save_checkpoint(folder, {"arch": "brightnet"}, BrightNet(1.0))
    predictor = load_predictor(folder)
    assert predictor.arch is brightnet and predictor.config == BrightConfig(arch="brightnet")
    result = evaluate_run(EvaluateParams(image_size=160, num_render=0), {"model": folder, "test": testset},
                          tmp_path / "out", LocalContext("evaluate"))
    assert result.metrics["test/test.hmean"] == 1.0


def test_train_validation_scores_a_new_architecture_it_does_not_name(brightnet, tmp_path):
    images = load_validation(make_testset(tmp_path / "val"))
    scores = validate(BrightNet(1.0), {"arch": "brightnet"}, images, torch.device("cpu"), 160, {})
    assert scores == {"precision": 1.0, "recall": 1.0, "hmean": 1.0}
