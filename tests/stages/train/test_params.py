"""Train-stage params: validation errors name the problem."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from stages.train.params import TrainParams

BASE = {"datasets": [{"input": "a", "ratio": 3}, {"input": "b", "ratio": 1}], "steps": 10}


def test_ratios_normalised():
    assert TrainParams.model_validate(BASE).ratios() == [0.75, 0.25]


@pytest.mark.parametrize("change, message", [
    ({"datasets": [{"input": "a", "ratio": 1}, {"input": "a", "ratio": 1}]}, "more than once"),
    ({"datasets": [{"input": "a", "ratio": 0}]}, "greater than 0"),
    ({"datasets": []}, "at least 1"),
    ({"augment": [{"name": "twirl"}]}, "unknown transform 'twirl'"),
    ({"model": {"arch": "dbnet", "backbone": {"name": "resnet7"}}}, "unknown backbone 'resnet7'"),
    ({"fault_step": 3}, "go together"),
    ({"lr_typo": 1}, "Extra inputs"),
])
def test_bad_params_raise(change, message):
    with pytest.raises(ValidationError, match=message):
        TrainParams.model_validate({**BASE, **change})


def test_model_config_is_completed_with_defaults():
    params = TrainParams.model_validate({**BASE, "model": {"arch": "dbnet", "backbone": {"name": "tiny"}}})
    assert params.model["targets"]["shrink_ratio"] == 0.4 and params.model["backbone"]["name"] == "tiny"
