"""The train stage with a recognizer, under real Ray Train: LMDB words in, val/accuracy out, resume.

The recognizer is the stand-in ``recnet`` (``tests.stages.rec_standin``), registered in every Ray worker
by the ``ray_recognition`` fixture; the stage names no architecture.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from ray.train import TrainingFailedError

from models.checkpoint import load_checkpoint
from pipeline.stage import LocalContext
from stages.train.params import TrainParams
from stages.train.stage import STAGE
from tests.stages.rec_words import ray_recognition, write_word_lmdb  # noqa: F401 (fixture)

WORDS = ["cat", "dog", "sun", "map", "red", "ten", "box", "pen"]


def _params(tmp: Path, marker: Path) -> TrainParams:
    return TrainParams.model_validate({
        "model": {"arch": "recnet", "height": 16, "width": None, "max_width": 64, "max_length": 8},
        "data": {"datasets": [{"input": "words", "ratio": 0.5}, {"input": "more", "ratio": 0.5}], "batch_size": 4,
                 "loader_workers": 0},
        "optim": {"lr": 3e-3}, "schedule": {"steps": 6}, "checkpoint": {"every": 2}, "log_every": 2,
        "validation": {"input": "val", "every": 3},
        "workers": {"cpus_each": 1, "torch_threads": 1, "max_failures": 0, "storage_path": str(tmp / "ray_results")},
        "test_hooks": {"fault_step": 3, "fault_marker": str(marker)},
    })


@pytest.mark.slow
def test_a_recognizer_trains_on_lmdbs_and_a_rerun_resumes_at_its_last_checkpoint(tmp_path, ray_recognition):  # noqa: F811
    inputs = {"words": write_word_lmdb(tmp_path / "words", WORDS + ["!!!"]),  # "!!!": nothing in lower36
              "more": write_word_lmdb(tmp_path / "more", WORDS[::-1], masks=False),
              "val": write_word_lmdb(tmp_path / "val", WORDS[:4])}
    params = _params(tmp_path, tmp_path / "killed-once")
    first = tmp_path / "first"
    first.mkdir()
    with pytest.raises(TrainingFailedError):  # the worker kills itself at step 3; nothing retries it
        STAGE.fn(params, inputs, first, LocalContext("train", "rec"))
    out = tmp_path / "second"
    out.mkdir()
    ctx = LocalContext("train", "rec")
    result = STAGE.fn(params, inputs, out, ctx)  # same key: the same Ray Train run, resumed
    assert result.extra["resumed_at_steps"] == [2]
    ckpt = load_checkpoint(out / "model" / "checkpoint.pt")
    assert (ckpt["step"], ckpt["model_config"]["arch"], ckpt["scheduler"]["last_epoch"]) == (6, "recnet", 6)
    assert {"val/accuracy", "val/accuracy_exact", "val/one_minus_ned", "train/loss_ctc", "train/loss_seg",
            "train/skipped"} <= set(result.metrics)
    assert 0.0 <= result.metrics["val/accuracy"] <= 1.0
