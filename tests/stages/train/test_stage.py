"""The train stage under real Ray Train: worker failure recovery, resume after interruption, outputs."""
from __future__ import annotations

from pathlib import Path

import pytest
from ray.train import TrainingFailedError

from models.checkpoint import load, load_checkpoint
from pipeline.stage import LocalContext
from stages.train.params import TrainParams
from stages.train.stage import STAGE

pytestmark = pytest.mark.usefixtures("ray_local")


def _params(tmp: Path, datasets: list | None = None, fault_marker: Path | None = None,
            max_failures: int = 1) -> TrainParams:
    """6 steps on the tiny synth set, a checkpoint every 2; with ``fault_marker`` a worker kills itself at step 3."""
    data = {"datasets": datasets or [{"input": "synth", "ratio": 1.0}], "batch_size": 2, "image_size": 64,
            "loader_workers": 0}
    workers = {"cpus_each": 1, "torch_threads": 1, "max_failures": max_failures,
               "storage_path": str(tmp / "ray_results")}
    hooks = {"fault_step": 3, "fault_marker": str(fault_marker)} if fault_marker else None
    return TrainParams.model_validate({"data": data, "optim": {"lr": 1e-3}, "schedule": {"steps": 6},
                                       "checkpoint": {"every": 2}, "log_every": 2, "workers": workers,
                                       "test_hooks": hooks})


def _run(params: TrainParams, inputs: dict, tmp: Path, key: str, attempt: str = "out"):
    out = tmp / attempt
    out.mkdir()
    return STAGE.fn(params, inputs, out, LocalContext("train", key)), out


@pytest.mark.slow
def test_killed_worker_is_replaced_and_resumes_from_last_checkpoint(tmp_path, tiny_synth):
    marker = tmp_path / "killed-once"
    params = _params(tmp_path, fault_marker=marker, max_failures=1)
    result, out = _run(params, {"synth": tiny_synth / "train"}, tmp_path, "kill-test")
    assert marker.exists()  # the worker did kill itself at step 3
    assert result.extra["resumed_at_steps"] == [2]  # ...and the new worker group started at the step-2 checkpoint
    ckpt = load_checkpoint(out / "model" / "checkpoint.pt")
    assert ckpt["step"] == 6 and ckpt["optimizer"]["state"] and ckpt["scheduler"]["last_epoch"] == 6
    assert result.counts == {"steps": 6, "resumes": 1}
    assert load(out / "model").training is False  # the output loads with models.load


@pytest.mark.slow
def test_rerun_after_interruption_continues_the_same_run(tmp_path, tiny_synth):
    marker = tmp_path / "killed-once"
    inputs = {"synth": tiny_synth / "train"}
    params = _params(tmp_path, fault_marker=marker, max_failures=0)
    with pytest.raises(TrainingFailedError):
        _run(params, inputs, tmp_path, "rerun-test", "first")  # the run dies at step 3, nothing retries it
    result, out = _run(params, inputs, tmp_path, "rerun-test", "second")  # same key: same Ray Train run name
    assert result.extra["resumed_at_steps"] == [2]
    assert result.extra["ray_run"] == "train-rerun-test"
    assert load_checkpoint(out / "model" / "checkpoint.pt")["step"] == 6
    assert sorted(p.name for p in (tmp_path / "ray_results").iterdir() if p.is_dir()) == ["train-rerun-test"]


def test_init_from_upstream_model_and_missing_inputs(tmp_path, tiny_synth):
    from stages.train.stage import model_config, resolve_init

    with pytest.raises(KeyError, match="neither one of the stage's inputs"):
        resolve_init("pretrained", {"synth": tiny_synth / "train"})
    params = _params(tmp_path, datasets=[{"input": "missing", "ratio": 1.0}])
    with pytest.raises(KeyError, match="names input 'missing'"):
        _run(params, {"synth": tiny_synth / "train"}, tmp_path, "missing-input")
    assert model_config(_params(tmp_path), None)["backbone"]["name"] == "tiny"


@pytest.mark.slow
def test_forced_run_trains_from_its_inputs_and_its_own_retry_resumes(tmp_path, tiny_synth):
    inputs = {"synth": tiny_synth / "train"}
    finished, _ = _run(_params(tmp_path), inputs, tmp_path, "force-test", "first")
    assert finished.extra["resumed_at_steps"] == []
    # A forced attempt must not pick up the finished run's step-6 checkpoint of the same key.
    marker = tmp_path / "killed-once"
    params = _params(tmp_path, fault_marker=marker, max_failures=0)
    forced = LocalContext("train", "force-test", forced=True)
    forced.attempt = "attempt-1"
    with pytest.raises(TrainingFailedError):
        STAGE.fn(params, inputs, tmp_path / "second", forced)  # trains from step 0, dies at step 3
    # A retry of that same attempt (a crashed stage task re-run by Ray) resumes its own checkpoint.
    (tmp_path / "third").mkdir()
    result = STAGE.fn(params, inputs, tmp_path / "third", forced)
    assert result.extra["resumed_at_steps"] == [2]
    assert load_checkpoint(tmp_path / "third" / "model" / "checkpoint.pt")["step"] == 6
