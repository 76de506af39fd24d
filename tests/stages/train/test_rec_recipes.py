"""The recognition recipes load (their model configs validated by the real architectures), build their
graphs and chain pretrain -> mixtrain -> finetune -> evaluate -> register."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.dag import build_graph
from stages.registry import STAGES
from tests.benchmarks.rec_models import ARCHS, model_configs

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


@pytest.mark.parametrize("name, arch", [("quickstart_rec", "crnn"), ("str_benchmark", "binet")])
def test_recognition_recipes_chain_three_training_stages_into_evaluate_and_register(name, arch):
    config = load_config(CONFIGS / f"{name}.yaml", STAGES)
    graph = build_graph(config, STAGES)
    assert config.stages["pretrain"].params.model["arch"] == arch
    for stage, upstream in (("mixtrain", "pretrain"), ("finetune", "mixtrain")):
        node = graph.nodes[stage]
        assert (node.inputs["init"].stage, node.inputs["init"].output) == (upstream, "model")
        assert node.spec.params.model is None  # inherited from the init checkpoint
    assert graph.nodes["evaluate"].inputs["model"].stage == "finetune"
    assert config.stages["register"].params.name == "scenetext-rec"
    assert len(config.stages["mixtrain"].params.data.datasets) >= 2


def test_str_benchmark_evaluates_the_six_benchmarks_and_registers_on_their_average():
    config = load_config(CONFIGS / "str_benchmark.yaml", STAGES)
    graph = build_graph(config, STAGES)
    sets = {n: ref.stage for n, ref in graph.nodes["evaluate"].inputs.items() if n != "model"}
    assert sorted(sets) == ["CUTE80", "IC13", "IC15", "IIIT5K", "SVT", "SVTP"]
    assert all(config.stages[s].params.format == "lmdb" and config.stages[s].params.task == "rec"
               for s in sets.values())
    assert config.stages["register"].params.benchmark_metric == "average.accuracy"
    assert [d.input for d in config.stages["pretrain"].params.data.datasets] == ["mj", "st"]


def test_quickstart_rec_evaluates_on_words_never_seen_in_training():
    config = load_config(CONFIGS / "quickstart_rec.yaml", STAGES)
    graph = build_graph(config, STAGES)
    inputs = graph.nodes["evaluate"].inputs
    assert (inputs["heldout"].stage, inputs["heldout"].output) == ("synth", "test_words")
    assert config.stages["register"].params.benchmark_metric == "heldout.accuracy"


@pytest.mark.parametrize("arch", ARCHS)
def test_the_side_by_side_benchmark_models_are_valid_quickstart_rec_models(arch):
    # bench_rec_quality trains each of them through the recipe with --set stages.pretrain.model=<json>
    model = model_configs()[arch]
    config = load_config(CONFIGS / "quickstart_rec.yaml", STAGES, [f"stages.pretrain.model={json.dumps(model)}"])
    assert config.stages["pretrain"].params.model["arch"] == arch
