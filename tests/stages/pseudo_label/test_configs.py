"""The recipes that use pseudo-labels validate, and compare SSL with its baseline fairly."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import load_config
from pipeline.dag import build_graph
from stages.registry import STAGES

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def test_quickstart_ssl_extends_the_quickstart_and_wires_the_ssl_branch():
    config = load_config(CONFIGS / "quickstart_ssl.yaml", STAGES)
    graph = build_graph(config, STAGES)
    stages = config.stages
    assert {"pretrain", "mixtrain", "finetune"} <= set(stages)  # inherited from quickstart.yaml
    pl = stages["ssl_pseudo_label"]
    assert pl.type == "pseudo_label" and len(pl.params.models) == 2
    assert all(pl.inputs[m].endswith(".model") for m in pl.params.models)
    assert pl.inputs["unlabeled"] == pl.inputs["ground_truth"] == "ssl_synth.unlabeled"
    ssl, base = stages["ssl_finetune"], stages["labeled_only"]
    assert "ssl_pseudo_label.dataset" in ssl.inputs.values()
    assert "ssl_pseudo_label" not in graph.ancestors("labeled_only")
    # same init, same steps and schedule: the only difference is the pseudo-labeled data
    same = {"init", "optim", "schedule", "checkpoint", "validation", "workers", "seed"}
    assert {k: getattr(ssl.params, k) for k in same} == {k: getattr(base.params, k) for k in same}
    assert ssl.params.data.model_dump(exclude={"datasets"}) == base.params.data.model_dump(exclude={"datasets"})
    assert ssl.inputs["init"] == base.inputs["init"]
    ev = stages["evaluate_ssl"]
    assert ev.inputs["model"] == "ssl_finetune.model" and ev.inputs["baseline"] == "labeled_only.model"
    held_out = [v for k, v in ev.inputs.items() if k not in ("model", "baseline")]
    assert held_out == ["synth.test"] and ssl.inputs["val"] == base.inputs["val"] == "synth.test"


def test_quickstart_pseudo_labels_its_unlabeled_split_with_an_ensemble_of_its_models():
    config = load_config(CONFIGS / "quickstart.yaml", STAGES)
    graph = build_graph(config, STAGES)
    pl = config.stages["pseudo_label"]
    assert [pl.inputs[m] for m in pl.params.models] == ["finetune.model", "mixtrain.model"]
    assert pl.inputs["unlabeled"] == pl.inputs["ground_truth"] == "synth.unlabeled" and pl.params.tta.flip
    assert "synth.unlabeled" not in {i for s in config.stages.values() if s.type == "train" for i in s.inputs.values()}
    assert {"finetune", "mixtrain"} <= graph.ancestors("pseudo_label")


def test_i3cl_art_pseudo_labels_lsvt_test_images():
    path = CONFIGS / "i3cl_art.yaml"
    config = load_config(path, STAGES)
    graph = build_graph(config, STAGES)
    pl = config.stages["pseudo_label"]
    assert pl.params.gpus_per_shard > 0 and pl.params.tta.flip and len(pl.params.models) >= 2
    unlabeled = pl.inputs["unlabeled"].split(".")[0]
    assert config.stages[unlabeled].params.name == "lsvt_test"
    assert "pseudo_label" in graph.ancestors("ssl_finetune")
