"""configs/quickstart_spot.yaml validates into the two-stage spotting plan on top of the quickstart detector."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import load_config
from pipeline.dag import build_graph
from stages.registry import STAGES

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_quickstart_spot_plans_the_two_stage_spotter_on_the_quickstart_detector():
    config = load_config(CONFIGS / "quickstart_spot.yaml", STAGES)
    graph = build_graph(config, STAGES)
    stages = config.stages
    assert sorted(stages) == sorted(["synth", "augment", "pretrain", "mixtrain", "finetune",
                                     "spot_synth", "g2", "rec_train", "evaluate_two_stage"])
    assert {"pseudo_label", "register", "evaluate"} <= set(config.disabled)
    ev = stages["evaluate_two_stage"]
    assert ev.inputs == {"model": "finetune.model", "recognizer": "rec_train.model",
                         "test": "spot_synth.test", "extreme": "spot_synth.extreme"}
    assert {"finetune", "rec_train", "spot_synth"} <= graph.ancestors("evaluate_two_stage")
    # the recognizer reads word crops: spot_synth renders them beside its scene splits
    assert stages["spot_synth"].params.crops and stages["rec_train"].inputs["crops"] == "spot_synth.train"
    assert ev.params.mode == "quad"  # ragged contour polygons rectify into unreadable crops
    assert set(stages["spot_synth"].params.splits) == {"train", "train_rot", "test", "extreme"}


def test_quickstart_spot_keeps_the_quickstart_detector_stages_as_they_are():
    """Same names and params as configs/quickstart.yaml: a user who ran the quickstart has them cached."""
    base = load_config(CONFIGS / "quickstart.yaml", STAGES).to_dict()["stages"]
    spot = load_config(CONFIGS / "quickstart_spot.yaml", STAGES).to_dict()["stages"]
    for name in ("synth", "augment", "pretrain", "mixtrain", "finetune"):
        assert spot[name] == base[name], name
