"""Config loading: validation with key paths, extends, --set overrides."""
from __future__ import annotations

import pytest
import yaml

from pipeline.config import ConfigError, load_config
from stages.registry import STAGES


def write(path, data):
    path.write_text(yaml.safe_dump(data))
    return path


def base_config(**stage_a):
    return {"name": "t", "stages": {"a": {"type": "smoke", **stage_a}, "b": {"type": "smoke", "inputs": {"up": "a"}}}}


def problems_of(path, overrides=()):
    with pytest.raises(ConfigError) as info:
        load_config(path, STAGES, list(overrides))
    return info.value.problems


def test_valid_config_loads_typed_params(tmp_path):
    config = load_config(write(tmp_path / "c.yaml", base_config(message="hi", sleep_s=0.5)), STAGES)
    assert config.stages["a"].params.message == "hi"
    assert config.stages["a"].params.sleep_s == 0.5
    assert config.stages["b"].inputs == {"up": "a"}
    assert config.stages["a"].resources.num_cpus == 1


def test_unknown_stage_key_names_its_path(tmp_path):
    problems = problems_of(write(tmp_path / "c.yaml", base_config(mesage="typo")))
    assert problems == ["stages.a.mesage: unknown key (got 'typo')"]


def test_wrong_type_names_its_path(tmp_path):
    problems = problems_of(write(tmp_path / "c.yaml", base_config(sleep_s="soon")))
    assert len(problems) == 1 and problems[0].startswith("stages.a.sleep_s: Input should be a valid number")


def test_bad_engine_value_names_its_path(tmp_path):
    data = base_config()
    data["stages"]["a"]["resources"] = {"num_cpus": -1}
    data["stages"]["a"]["retries"] = "x"
    problems = problems_of(write(tmp_path / "c.yaml", data))
    assert any(p.startswith("stages.a.resources.num_cpus: Input should be greater than or equal to 0")
               for p in problems)
    assert any(p.startswith("stages.a.retries:") for p in problems)


def test_unknown_top_level_key_and_unknown_type(tmp_path):
    data = base_config()
    data["artifact_rot"] = "x"
    data["stages"]["b"]["type"] = "nosuch"
    problems = problems_of(write(tmp_path / "c.yaml", data))
    assert "artifact_rot: unknown key (got 'x')" in problems
    assert any(p.startswith("stages.b.type: unknown stage type 'nosuch'; valid types:") and "smoke" in p
               for p in problems)


def test_set_overrides_any_key_with_yaml_values(tmp_path):
    path = write(tmp_path / "c.yaml", base_config())
    config = load_config(path, STAGES, ["stages.a.sleep_s=2", "stages.a.message=hello world", "artifact_root=/x/y",
                                        "stages.b.resources.num_cpus=0.5"])
    assert config.stages["a"].params.sleep_s == 2.0
    assert config.stages["a"].params.message == "hello world"
    assert config.artifact_root == "/x/y"
    assert config.stages["b"].resources.num_cpus == 0.5


def test_set_with_bad_value_names_the_key(tmp_path):
    path = write(tmp_path / "c.yaml", base_config())
    problems = problems_of(path, ["stages.a.fail=maybe"])
    assert problems[0].startswith("stages.a.fail: Input should be a valid boolean")
    assert "expected key.path=value" in problems_of(path, ["stages.a.fail"])[0]


def test_extends_merges_base_and_overrides_it(tmp_path):
    write(tmp_path / "base.yaml", {"name": "base", "artifact_root": "/base",
                                   "stages": {"a": {"type": "smoke", "message": "from-base", "sleep_s": 1}}})
    child = write(tmp_path / "child.yaml", {"extends": "base.yaml", "name": "child",
                                            "stages": {"a": {"message": "from-child"}, "z": {"type": "smoke"}}})
    config = load_config(child, STAGES)
    assert config.name == "child" and config.artifact_root == "/base"
    assert config.stages["a"].params.message == "from-child" and config.stages["a"].params.sleep_s == 1
    assert set(config.stages) == {"a", "z"}


def test_extends_cycle_and_missing_file(tmp_path):
    write(tmp_path / "x.yaml", {"extends": "y.yaml", "name": "x", "stages": {}})
    write(tmp_path / "y.yaml", {"extends": "x.yaml", "name": "y", "stages": {}})
    assert "extends: cycle" in problems_of(tmp_path / "x.yaml")[0]
    assert problems_of(tmp_path / "none.yaml") == ["<file>: no such config file"]


def test_digest_changes_with_params(tmp_path):
    path = write(tmp_path / "c.yaml", base_config())
    assert load_config(path, STAGES).digest() == load_config(path, STAGES).digest()
    assert load_config(path, STAGES).digest() != load_config(path, STAGES, ["stages.a.message=other"]).digest()


def test_disabled_stage_and_its_dependants_are_left_out_with_reasons(tmp_path):
    data = base_config(message="hi")
    data["stages"]["a"]["enabled"] = False
    data["stages"]["a"]["sleep_s"] = "not validated while disabled"
    data["stages"]["c"] = {"type": "smoke", "inputs": {"up": "b.out"}}
    data["stages"]["d"] = {"type": "smoke", "enabled": True}
    config = load_config(write(tmp_path / "c.yaml", data), STAGES)
    assert list(config.stages) == ["d"]
    assert config.disabled == {"a": "enabled: false", "b": "needs a", "c": "needs b"}


def test_set_turns_a_disabled_stage_on(tmp_path):
    data = base_config(message="hi")
    data["stages"]["a"]["enabled"] = False
    config = load_config(write(tmp_path / "c.yaml", data), STAGES, ["stages.a.enabled=true"])
    assert list(config.stages) == ["a", "b"]
    assert config.disabled == {}


def test_enabled_must_be_a_boolean(tmp_path):
    data = base_config(message="hi")
    data["stages"]["a"]["enabled"] = "no"
    assert problems_of(write(tmp_path / "c.yaml", data)) == ["stages.a.enabled: expected true or false, got 'no'"]
