"""Every recipe in configs/ validates and builds its stage graph (what `python -m pipeline plan` does first)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.dag import build_graph
from stages.registry import STAGES

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_validates_and_builds_its_graph(path):
    config = load_config(path, STAGES)
    graph = build_graph(config, STAGES)
    assert set(graph.order) == set(config.stages)
    assert all(len(node.key) == 32 for node in graph.nodes.values())


def test_three_stage_recipes_chain_their_checkpoints():
    for name in ("quickstart", "i3cl_art"):
        graph = build_graph(load_config(Path(CONFIGS[0]).parent / f"{name}.yaml", STAGES), STAGES)
        for stage, upstream in (("mixtrain", "pretrain"), ("finetune", "mixtrain")):
            node = graph.nodes[stage]
            assert node.spec.params.init == "init"
            assert (node.inputs["init"].stage, node.inputs["init"].output) == (upstream, "model")
            assert node.spec.resources.num_cpus == 0  # TorchTrainer workers hold the CPUs, not the stage task


def test_i3cl_art_mixes_five_datasets_on_four_gpu_workers():
    config = load_config(Path(CONFIGS[0]).parent / "i3cl_art.yaml", STAGES)
    mix = config.stages["mixtrain"].params
    assert [d.input for d in mix.data.datasets] == ["rects", "rctw17", "lsvt", "mlt19", "art"]
    assert sum(mix.data.ratios()) == pytest.approx(1.0)
    assert mix.workers.count == 4 and mix.workers.use_gpu
    # the shared GPU sections reach every stage through the `<<` merges, with each stage's own values on top
    assert (mix.optim.kind, mix.optim.lr, mix.data.loader_workers, mix.schedule.steps) == ("sgd", 0.005, 6, 60000)
    assert config.stages["pretrain"].params.model["backbone"]["name"] == "resnet50"
