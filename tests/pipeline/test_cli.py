"""The command line: dispatch, exit codes, config errors on stderr, the generated reference."""
from __future__ import annotations

import yaml

from stages.registry import STAGES
from tests.commands import main


def test_stages_command_prints_every_registered_stage(capsys):
    assert main(["stages"]) == 0
    out = capsys.readouterr().out
    for name in STAGES:
        assert f"### `{name}`" in out
    assert "| `sleep_s` | float | `0.0` |" in out


def test_usage_and_unknown_command(capsys):
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "stages": {"a": {"type": "smoke", "sleep_s": "later"}}}))
    assert main(["run", "--config", str(path)]) == 2
    assert "stages.a.sleep_s: Input should be a valid number" in capsys.readouterr().err


def test_plan_command_prints_the_plan_without_running(tmp_path, capsys):
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump({"name": "x", "artifact_root": str(tmp_path / "art"),
                                    "stages": {"a": {"type": "smoke"}}}))
    assert main(["plan", "--config", str(path)]) == 0
    assert "a                    smoke" in capsys.readouterr().out
    assert not (tmp_path / "art").exists()
