"""Validation during training scores with the protocol the stage names (validation.protocol)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.metrics import DetPoly, GtPoly
from stages.train.params import TrainParams
from stages.train.validate import score

BASE = {"data": {"datasets": [{"input": "a", "ratio": 1.0}]}, "schedule": {"steps": 1}}


def box(x, y, w, h):
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def test_split_detection_scores_by_protocol():
    # one word found as two halves: no ICDAR 2015 match (IoU .5 is not > .5), DetEval's one-to-many credit .8
    gts = {0: [GtPoly(box(0, 0, 100, 20))]}
    preds = {0: [DetPoly(box(0, 0, 50, 20)), DetPoly(box(50, 0, 50, 20))]}
    assert score(gts, preds, "icdar15")["recall"] == 0.0
    assert score(gts, preds, "deteval")["recall"] == pytest.approx(0.8)


def test_validation_protocol_defaults_to_icdar15_and_is_checked():
    assert TrainParams.model_validate({**BASE, "validation": {"input": "a"}}).validation.protocol == "icdar15"
    deteval = {**BASE, "validation": {"input": "a", "protocol": "deteval"}}
    assert TrainParams.model_validate(deteval).validation.protocol == "deteval"
    with pytest.raises(ValidationError, match="validation.protocol"):
        TrainParams.model_validate({**BASE, "validation": {"input": "a", "protocol": "iou"}})
