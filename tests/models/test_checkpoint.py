"""The checkpoint artifact: save, load for inference, load for resuming, and MLflow URIs."""
import random

import numpy as np
import pytest
import torch

import models
from models.checkpoint import restore_rng_state

CFG = models.tiny_config()


def train_a_little(steps: int = 3):
    torch.manual_seed(0)
    model = models.build_model(CFG)
    loss_fn = models.build_loss(CFG)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    x = torch.randn(2, 3, 32, 32)
    targets = {k: torch.rand(2, 32, 32).round() for k in ("gt", "mask", "thresh_mask")}
    targets["thresh_map"] = torch.rand(2, 32, 32)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(x), targets)["total"].backward()
        opt.step()
        sched.step()
    return model, opt, sched


@pytest.fixture(scope="module")
def trained():
    return train_a_little()


def test_round_trip_gives_the_same_outputs(trained, tmp_path):
    model, opt, sched = trained
    path = models.save_checkpoint(tmp_path / "checkpoint.pt", CFG, model, optimizer=opt, scheduler=sched, step=3)
    loaded = models.load(path)
    assert not loaded.training
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        expected = model.eval()(x)
        got = loaded(x)
    for k in expected:
        assert torch.equal(got[k], expected[k]), k
    model.train()


def test_resume_restores_step_optimizer_scheduler_and_rng(trained, tmp_path):
    model, opt, sched = trained
    models.save_checkpoint(tmp_path / "checkpoint.pt", CFG, model, optimizer=opt, scheduler=sched, step=3,
                           extra={"epoch": 1})
    after_save = (random.random(), np.random.rand(), torch.rand(3))

    ckpt = models.load_checkpoint((tmp_path / "checkpoint.pt").as_uri())
    assert ckpt["step"] == 3 and ckpt["extra"] == {"epoch": 1}
    assert ckpt["model_config"]["backbone"]["name"] == "tiny"

    fresh = models.build_model(ckpt["model_config"])
    fresh.load_state_dict(ckpt["state_dict"])
    opt2 = torch.optim.Adam(fresh.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert sched2.last_epoch == 3 and opt2.param_groups[0]["lr"] == pytest.approx(5e-4)
    for p, p2 in zip(model.parameters(), fresh.parameters()):
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][key], opt2.state[p2][key])

    restore_rng_state(ckpt["rng"])
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert again[0] == after_save[0] and again[1] == after_save[1] and torch.equal(again[2], after_save[2])


def test_folder_uri_and_errors(trained, tmp_path):
    model, _, _ = trained
    models.save_checkpoint(tmp_path, CFG, model)  # a folder gets checkpoint.pt
    assert (tmp_path / "checkpoint.pt").is_file() and models.load_checkpoint(tmp_path)["optimizer"] is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no checkpoint.pt"):
        models.load(tmp_path / "empty")
    with pytest.raises(ValueError, match="unsupported scheme 's3'"):
        models.load("s3://bucket/model")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a scenetext-checkpoint"):
        models.load(tmp_path / "other.pt")


def test_loads_from_mlflow_run_and_registry_uris(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow
    from mlflow import MlflowClient

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        model, _, _ = trained
        models.save_checkpoint(tmp_path / "ckpt", CFG, model, step=7)
        exp = mlflow.create_experiment("models-test", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.log_artifact(str(tmp_path / "ckpt" / "checkpoint.pt"), artifact_path="model")
        client = MlflowClient()
        client.create_registered_model("scenetext-det")
        version = client.create_model_version("scenetext-det", f"{run.info.artifact_uri}/model", run.info.run_id)
        client.set_registered_model_alias("scenetext-det", "champion", version.version)

        assert models.load_checkpoint(f"runs:/{run.info.run_id}/model")["step"] == 7
        loaded = models.load("models:/scenetext-det@champion")
        assert torch.equal(loaded.head.prob[0].weight, model.head.prob[0].weight)
    finally:
        mlflow.set_tracking_uri(previous)
