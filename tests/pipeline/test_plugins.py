"""The engine runs whatever stage registry it is handed, and the command line runs plugged-in commands.

The toy stage type below lives in this test module only: no registry of the project knows it, so a run
that works proves the engine looks a stage up nowhere but in the registry it was given (the Ray task
receives the StageDef itself).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.config import ConfigError
from pipeline.plugins import Command, Plugins
from pipeline.stage import StageDef, StageParams, StageResult
from stages.registry import COMMANDS, PLUGINS
from tests.pipeline.engine_helpers import Project


class EchoParams(StageParams):
    word: str = "hi"
    times: int = 1


def echo(params: EchoParams, inputs: dict[str, Path], out_dir: Path, ctx) -> StageResult:
    """Write the word ``times`` times after what the upstream echo wrote."""
    before = inputs["up"].read_text() if "up" in inputs else ""  # the upstream output itself: a file
    (out_dir / "words.txt").write_text(before + (params.word + " ") * params.times)
    return StageResult(outputs={"words": "words.txt"}, counts={"words": params.times})


ECHO = StageDef(name="echo", fn=echo, params=EchoParams, version="1", outputs=lambda p: ["words"])
TOY_REGISTRY = {"echo": ECHO}


def test_a_registry_holding_only_a_toy_stage_type_runs(tmp_path, ray_local):
    recipe = {"first": {"type": "echo", "word": "ping", "times": 2},
              "second": {"type": "echo", "word": "pong", "inputs": {"up": "first"}}}
    project = Project(tmp_path, recipe, registry=TOY_REGISTRY)
    report = project.run()
    manifest = project.manifest(report, "second")
    words = project.complete_dirs("second")[0] / manifest["outputs"]["words"]["path"]
    assert words.read_text() == "ping ping pong "
    assert (manifest["type"], manifest["counts"]) == ("echo", {"words": 1})


def test_a_config_naming_a_type_outside_the_registry_is_refused(tmp_path):
    project = Project(tmp_path, {"a": {"type": "smoke"}}, registry=TOY_REGISTRY)
    with pytest.raises(ConfigError) as err:
        project.run(dry_run=True)
    assert err.value.problems == ["stages.a.type: unknown stage type 'smoke'; valid types: echo"]


def test_a_plugged_in_command_is_listed_and_runs_with_the_plugins(capsys):
    calls = []

    def hello(argv: list[str], plugins: Plugins) -> int:
        calls.append((argv, plugins))
        return 7

    plugins = Plugins(TOY_REGISTRY, {"hello": Command("hello", "greet the toy stages", hello)})
    assert cli.main(["--help"], plugins) == 0
    assert "  hello   greet the toy stages\n" in capsys.readouterr().out
    assert cli.main(["hello", "--loud", "x"], plugins) == 7
    assert calls == [(["--loud", "x"], plugins)]
    assert cli.main(["stages"], plugins) == 0
    assert "### `echo`" in capsys.readouterr().out
    assert cli.main(["sweep"], plugins) == 2  # not plugged in here
    assert "unknown command 'sweep'" in capsys.readouterr().err


def test_the_project_plugs_in_its_commands():
    assert cli.usage(PLUGINS).splitlines()[3:] == [
        "  run       run a pipeline config (same as python pipeline/run.py)",
        "  plan      print the plan and cache status of a config (run --dry-run)",
        "  stages    print every stage type's params (the config reference)",
        "  gc        remove abandoned staging folders and outputs no config needs: "
        "[--config C ...] [--older-than DAYS] [--dry-run]",
        *(f"  {name:<8}  {command.summary}" for name, command in COMMANDS.items()),
    ]
    assert list(COMMANDS) == ["eval-det", "eval-rec", "models", "infer", "sweep"]


def test_eval_det_runs_as_a_plugged_in_command(tmp_path, capsys):
    gt = tmp_path / "gt.json"
    image = {"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}
    box = [10, 10, 50, 10, 50, 30, 10, 30]
    gt.write_text(json.dumps({"images": [image], "categories": [{"id": 1, "name": "text"}],
                              "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [box],
                                               "bbox": [10, 10, 40, 20], "area": 800, "iscrowd": 0, "text": "a"}]}))
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"images": [{"file_name": "a.jpg", "polygons": [box], "scores": [0.9]}]}))
    assert cli.main(["eval-det", "--gt", str(gt), "--pred", str(pred)], PLUGINS) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["hmean"] == 1.0


def test_a_registry_entry_under_another_name_or_a_command_hiding_an_engine_one_is_refused():
    with pytest.raises(ValueError, match="stage type registered as 'other' is named 'echo'"):
        Plugins({"other": ECHO})
    run = Command("run", "not the engine's run", lambda argv, plugins: 0)
    with pytest.raises(ValueError, match=r"plugged-in commands \['run'\] would hide the engine's own"):
        cli.main(["run"], Plugins(TOY_REGISTRY, {"run": run}))
    with pytest.raises(KeyError, match="unknown stage type 'smoke'; valid types: echo"):
        Plugins(TOY_REGISTRY).stage("smoke")
