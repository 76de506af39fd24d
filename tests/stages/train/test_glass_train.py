"""The train stage on a glass spotter: its parts start from a trained detector and recognizer (``init_parts``),
it trains on detection sets with transcriptions and validates end to end."""
from __future__ import annotations

import pytest
import torch

import models
from models.checkpoint import load_checkpoint
from pipeline.stage import LocalContext
from stages.train.params import TrainParams
from stages.train.stage import STAGE

pytestmark = pytest.mark.usefixtures("ray_local")

READER = {"arch": "crnn", "charset": {"kind": "lower36"}, "height": 32, "width": 100,
          "backbone": {"name": "resnet", "channels": 64, "blocks": [1, 1, 1, 1]}, "hidden": 64, "lstm_layers": 1}


def _saved(folder, config, seed):
    torch.manual_seed(seed)
    models.save_checkpoint(folder, config, models.build_model(config))
    return folder


@pytest.mark.slow
def test_glass_trains_from_a_detector_and_a_recognizer_and_validates_end_to_end(tmp_path, tiny_synth):
    det = _saved(tmp_path / "det", models.tiny_config("dbnet"), 1)
    rec = _saved(tmp_path / "rec", READER, 2)
    params = TrainParams.model_validate({
        "model": {"arch": "glass", "recognizer": READER}, "init_parts": {"detector": "det", "recognizer": "rec"},
        "data": {"datasets": [{"input": "synth", "ratio": 1.0}], "batch_size": 2, "image_size": 64,
                 "loader_workers": 0},
        # a learning rate so small that two steps leave the started weights as they were (to 1e-6)
        "optim": {"lr": 1e-12}, "schedule": {"steps": 2, "warmup_steps": 0}, "checkpoint": {"every": 2},
        "validation": {"input": "val", "size": 64, "every": 2, "postprocess": {"thresh": 0.3, "box_thresh": 0.3}},
        "log_every": 1,
        "workers": {"cpus_each": 1, "torch_threads": 1, "storage_path": str(tmp_path / "ray_results")}})
    inputs = {"synth": tiny_synth / "train", "val": tiny_synth / "test", "det": det, "rec": rec}
    (tmp_path / "out").mkdir()
    result = STAGE.fn(params, inputs, tmp_path / "out", LocalContext("train", "glass-test"))
    for key in ("train/loss_ctc", "train/loss_angle", "train/loss_bce", "val/hmean", "val/e2e_hmean"):
        assert key in result.metrics, key
    assert result.metrics["train/loss_ctc"] > 0
    final = load_checkpoint(tmp_path / "out" / "model" / "checkpoint.pt")
    assert final["model_config"]["arch"] == "glass" and final["step"] == 2
    # the detector and the reader hold the weights they were started from
    trainable = {name for name, _ in models.build_model(final["model_config"]).named_parameters()}
    for prefix, source in (("detector.", det), ("reader.", rec)):
        started = load_checkpoint(source / "checkpoint.pt")["state_dict"]
        for name, value in started.items():
            if prefix + name in trainable:
                torch.testing.assert_close(final["state_dict"][prefix + name], value, atol=1e-6, rtol=0)


def test_init_parts_needs_a_model_config_and_excludes_init():
    base = {"data": {"datasets": [{"input": "synth", "ratio": 1.0}]}, "schedule": {"steps": 2}}
    with pytest.raises(ValueError, match="init_parts needs a model config"):
        TrainParams.model_validate({**base, "init_parts": {"detector": "det"}})
    with pytest.raises(ValueError, match="init and init_parts: give one"):
        TrainParams.model_validate({**base, "model": {"arch": "glass"}, "init": "x", "init_parts": {"detector": "d"}})


def test_init_parts_show_on_the_run_as_the_upstream_outputs_they_name():
    parts = {"detector": "det", "recognizer": "models:/rec@champion"}
    params = TrainParams.model_validate({"model": {"arch": "glass"}, "init_parts": parts, "schedule": {"steps": 2},
                                         "data": {"datasets": [{"input": "synth", "ratio": 1.0}]}})
    shown = params.tracking_params({"det": "finetune.model", "synth": "synth.train"})
    assert (shown["init_parts.detector"], shown["init_parts.recognizer"]) == ("finetune.model", "models:/rec@champion")
