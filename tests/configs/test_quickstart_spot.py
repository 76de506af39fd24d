"""configs/quickstart_spot.yaml validates into its plan: the quickstart detector, a recognizer, the glass spotter
started from both, and one evaluation of the glass spotter beside the two-stage spotter."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import load_config
from pipeline.dag import build_graph
from stages.registry import STAGES

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_quickstart_spot_plans_glass_beside_the_two_stage_spotter():
    config = load_config(CONFIGS / "quickstart_spot.yaml", STAGES)
    graph = build_graph(config, STAGES)
    stages = config.stages
    assert sorted(stages) == sorted(["synth", "augment", "pretrain", "mixtrain", "finetune",
                                     "spot_synth", "g2", "rec_train", "glass", "evaluate_spot"])
    assert {"pseudo_label", "register", "evaluate"} <= set(config.disabled)
    # glass is the model, the quickstart detector read by the recognizer (the two-stage spotter) its baseline
    ev = stages["evaluate_spot"]
    assert ev.inputs == {"model": "glass.model", "baseline": "finetune.model", "recognizer": "rec_train.model",
                         "test": "spot_synth.test", "extreme": "spot_synth.extreme"}
    assert {"finetune", "rec_train", "glass", "spot_synth"} <= graph.ancestors("evaluate_spot")
    # the glass spotter's two halves start from the trained detector and recognizer
    glass = stages["glass"]
    assert glass.params.init_parts.named() == {"detector": "det", "recognizer": "rec"}
    assert (glass.inputs["det"], glass.inputs["rec"]) == ("finetune.model", "rec_train.model")
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
