"""The dataset recipes report with the right protocol and end with an evaluate stage writing the RRC zip."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.config import load_config
from pipeline.dag import build_graph
from stages.registry import STAGES

ROOT = Path(__file__).resolve().parents[3]


def _last(graph) -> str:
    return graph.order[-1]


def test_totaltext_validates_and_evaluates_with_deteval():
    config = load_config(ROOT / "configs" / "totaltext.yaml", STAGES)
    for name in ("pretrain", "finetune"):
        assert config.stages[name].params.validation.protocol == "deteval", name
    graph = build_graph(config, STAGES)
    assert _last(graph) == "evaluate"
    ev = config.stages["evaluate"]
    assert (ev.type, ev.params.protocol, ev.params.mode) == ("evaluate", "deteval", "poly")
    node = graph.nodes["evaluate"]
    assert (node.inputs["model"].stage, node.inputs["model"].output) == ("finetune", "model")
    assert node.inputs["totaltext_test"].stage == "convert_tt_test"


def test_icdar2015_ends_with_an_evaluate_stage_writing_quads_for_the_rrc_site():
    config = load_config(ROOT / "configs" / "icdar2015.yaml", STAGES)
    assert config.stages["finetune"].params.validation.protocol == "icdar15"
    graph = build_graph(config, STAGES)
    assert _last(graph) == "evaluate"
    ev = config.stages["evaluate"].params
    # the RRC Task 1 page takes 8 integer coordinates a line, no score
    assert (ev.protocol, ev.mode, ev.submission_scores) == ("icdar15", "quad", False)


def test_plan_of_the_totaltext_recipe_needs_its_data_folders(tmp_path):
    # The plan keys the download stages by their folders' content: the folders must exist (empty is enough).
    data = tmp_path / "data"
    for folder in ("SynthText", "Total-Text"):
        (data / folder).mkdir(parents=True)
    env = {**os.environ, "SCENETEXT_HOME": str(tmp_path / "home"), "SCENETEXT_DATA": str(data)}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "plan", "--config", "configs/totaltext.yaml"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "evaluate" in proc.stdout
    env.pop("SCENETEXT_DATA")
    missing = subprocess.run([sys.executable, "-m", "pipeline", "plan", "--config", "configs/totaltext.yaml"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2
    assert "stages.dl_totaltext.path: '$SCENETEXT_DATA/Total-Text': environment variable not set" in missing.stderr
