"""The train stages through the real engine: synth -> pretrain -> finetune, with a real MLflow SQLite store."""
from __future__ import annotations

import pytest

from models.checkpoint import load_checkpoint
from tests.pipeline.engine_helpers import Project

pytestmark = pytest.mark.usefixtures("ray_local")

TRAIN = {"type": "train", "resources": {"num_cpus": 0}, "schedule": {"steps": 6}, "log_every": 2,
         "checkpoint": {"every": 3}, "validation": {"input": "val", "size": 64, "every": 3}}
DATA = {"batch_size": 2, "image_size": 64, "loader_workers": 1}


@pytest.mark.slow
def test_pretrain_then_finetune_through_the_engine_logs_step_metrics(tmp_path):
    workers = {"cpus_each": 1, "torch_threads": 1, "storage_path": str(tmp_path / "ray_results")}
    project = Project(tmp_path, {
        "synth": {"type": "synth", "splits": {"train": 12, "test": 4}, "image_size": [64, 64],
                  "instances_per_image": [1, 2], "font_size": [10, 16], "crops": False},
        "pretrain": {**TRAIN, "inputs": {"data": "synth.train", "val": "synth.test"},
                     "data": {**DATA, "datasets": [{"input": "data", "ratio": 1.0}]}, "workers": workers},
        "finetune": {**TRAIN,
                     "inputs": {"init": "pretrain.model", "a": "synth.train", "b": "synth.test", "val": "synth.test"},
                     "init": "init",
                     "data": {**DATA, "datasets": [{"input": "a", "ratio": 0.5}, {"input": "b", "ratio": 0.5}]},
                     "schedule": {"steps": 4}, "optim": {"lr": 1e-4}, "workers": workers},
    })
    report = project.run()
    assert {o.status for o in report.outcomes.values()} == {"done"}
    runs = project.child_runs(report.parent_run_id)
    client = project.client()
    for stage, steps in (("pretrain", 6), ("finetune", 4)):
        run = runs[stage]
        # Only the loop's points: the engine does not re-log a result metric the run already has.
        losses = client.get_metric_history(run.info.run_id, "train/loss_total")
        assert [m.step for m in losses] == list(range(2, steps + 1, 2))  # logged every 2 steps by rank 0
        assert all(m.value > 0 for m in losses)
        for name in ("train/lr", "train/images_per_s", "train/loss_bce", "train/loss_dice", "train/loss_l1"):
            assert client.get_metric_history(run.info.run_id, name), name
        hmean = client.get_metric_history(run.info.run_id, "val/hmean")
        validated = [3, 6] if stage == "pretrain" else [3, 4]
        assert [m.step for m in hmean] == validated
        assert 0.0 <= hmean[-1].value <= 1.0 and run.data.metrics["count.steps"] == steps
        # one name per value: the result (manifest) uses the names the loop logged, no flat copies on the run
        result = project.manifest(report, stage)["metrics"]
        assert {"train/loss_total", "train/lr", "val/hmean", "val/precision", "val/recall"} <= set(result)
        assert [k for k in result if not k.startswith(("train/", "val/"))] == []
        assert result["val/hmean"] == hmean[-1].value
        keys = set(run.data.metrics)
        flat = {k.split("/", 1)[1] for k in keys if k.startswith("train/")} | {
            "val_" + k.split("/", 1)[1] for k in keys if k.startswith("val/")}
        assert keys & flat == set()
        # a drawn validation sample per logged image key at every validation step
        images = [f.path for f in client.list_artifacts(run.info.run_id, "images") if f.path.endswith(".png")]
        assert sorted((p.split("+")[0], int(p.split("+")[2])) for p in images) == sorted(
            (f"images/samples~val.{i}", step) for i in range(2) for step in validated)
    # finetune started from pretrain's weights, and its output is the models-package checkpoint
    finetune_dir = project.complete_dirs("finetune")[0]
    pretrain_dir = project.complete_dirs("pretrain")[0]
    ckpt = load_checkpoint(finetune_dir / "model")
    assert ckpt["step"] == 4 and ckpt["model_config"] == load_checkpoint(pretrain_dir / "model")["model_config"]
    # the whole pipeline again: all cache hits, nothing retrained
    again = project.run()
    assert {o.status for o in again.outcomes.values()} == {"hit"}
