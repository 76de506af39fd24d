"""Train-stage params: validation errors name the problem and its full key path."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipeline.config import ConfigError, validate_config
from stages.registry import STAGES
from stages.train.params import MOVED_KEYS, TrainParams

BASE = {"data": {"datasets": [{"input": "a", "ratio": 3}, {"input": "b", "ratio": 1}]}, "schedule": {"steps": 10}}


def _with(section: str, **values) -> dict:
    return {**BASE, section: {**BASE.get(section, {}), **values}}


def test_ratios_normalised():
    assert TrainParams.model_validate(BASE).data.ratios() == [0.75, 0.25]


@pytest.mark.parametrize("change, message", [
    (_with("data", datasets=[{"input": "a", "ratio": 1}, {"input": "a", "ratio": 1}]), "more than once"),
    (_with("data", datasets=[{"input": "a", "ratio": 0}]), "greater than 0"),
    (_with("data", datasets=[]), "at least 1"),
    (_with("data", augment=[{"name": "twirl"}]), "unknown transform 'twirl'"),
    ({**BASE, "model": {"arch": "dbnet", "backbone": {"name": "resnet7"}}}, "unknown backbone 'resnet7'"),
    ({**BASE, "test_hooks": {"fault_step": 3}}, "test_hooks.fault_marker\n  Field required"),
    (_with("optim", lr_typo=1), "optim.lr_typo\n  Extra inputs"),
    (_with("schedule", kind="linear"), "schedule.kind\n  Input should be 'poly' or 'cosine'"),
])
def test_bad_params_raise(change, message):
    with pytest.raises(ValidationError, match=message):
        TrainParams.model_validate(change)


def test_model_config_is_completed_with_defaults():
    params = TrainParams.model_validate({**BASE, "model": {"arch": "dbnet", "backbone": {"name": "tiny"}}})
    assert params.model["targets"]["shrink_ratio"] == 0.4 and params.model["backbone"]["name"] == "tiny"


def test_sections_default_when_left_out():
    params = TrainParams.model_validate(BASE)
    assert (params.optim.kind, params.optim.lr, params.checkpoint.every, params.workers.count) == (
        "adamw", 1e-3, 500, 1)
    assert params.validation is None and params.test_hooks is None


def _config_problems(stage_entry: dict) -> list[str]:
    raw = {"name": "t", "stages": {"finetune": {"type": "train", "resources": {"num_cpus": 0}, **stage_entry}}}
    with pytest.raises(ConfigError) as caught:
        validate_config(raw, "t.yaml", STAGES)
    return caught.value.problems


def test_old_flat_key_is_rejected_naming_its_path_and_where_it_moved():
    problems = _config_problems({**BASE, "lr": 0.01})
    assert problems == ["stages.finetune.lr: unknown key: it moved to optim.lr (got 0.01)"]


def test_old_scalar_validation_and_schedule_say_which_key_took_their_value():
    problems = _config_problems({**BASE, "validation": "val", "schedule": "cosine"})
    assert problems == [
        "stages.finetune.schedule: is a section now: the old scalar value goes to schedule.kind (got 'cosine')",
        "stages.finetune.validation: is a section now: the old scalar value goes to validation.input (got 'val')",
    ]


def test_errors_inside_a_section_name_the_full_key_path():
    problems = _config_problems(_with("optim", lr="fast"))
    assert problems == ["stages.finetune.optim.lr: Input should be a valid number, unable to parse string as a number "
                        "(got 'fast')"]


def test_every_moved_key_points_at_a_field_that_exists():
    for old, new in MOVED_KEYS.items():
        section, field = new.split(".")
        model = TrainParams.model_fields[section].annotation
        model = next(a for a in getattr(model, "__args__", (model,)) if a is not type(None))  # X | None -> X
        assert field in model.model_fields, f"{old} -> {new}"
        assert old not in TrainParams.model_fields, old


def test_reference_lists_the_keys_of_every_section_by_dotted_path():
    from pipeline.reference import stage_reference
    from stages.train.stage import STAGE

    text = stage_reference({"train": STAGE})
    assert "| `optim.lr` | float | `0.001` | base learning rate (the schedule scales it) |" in text
    assert "| `data.datasets[].ratio` | float | required | its share of every batch |" in text
    assert "| `schedule.kind` | 'poly' or 'cosine' | `'poly'` |" in text
    assert "| `validation` | ValidationParams or None | `None` | null = no validation |" in text
