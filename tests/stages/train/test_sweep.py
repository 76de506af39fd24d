"""Sweeps: the space file and its validation (fast), and real Ray Tune sweeps of tiny trials (slow).

The slow tests run the whole thing: the upstream synth stage once through the engine, then Optuna + ASHA
over TorchTrainer trials, nested MLflow runs, the best config written and the best model registered, in
the default SQLite store and in a live `mlflow server`.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from pipeline.config import load_config
from stages.registry import STAGES
from stages.train.sweep import SweepOptions, load_spec, pick_best, run_sweep
from stages.train.sweep_space import SweepSpec, check_space, decode, trial_params, tune_space
from tests.commands import main
from tests.models.test_mlflow_registry import ProxiedMlflowServer

TRAIN = {"type": "train", "resources": {"num_cpus": 0}, "inputs": {"train": "synth.train", "val": "synth.test"},
         "data": {"datasets": [{"input": "train", "ratio": 1.0}], "batch_size": 2, "image_size": 64,
                  "loader_workers": 0},
         "optim": {"bf16": False}, "schedule": {"steps": 4}, "validation": {"input": "val", "size": 64, "every": 2},
         "log_every": 1}
SYNTH = {"type": "synth", "splits": {"train": 6, "test": 2}, "image_size": [64, 64], "font_size": [12, 20],
         "instances_per_image": [1, 2], "crops": False, "image_format": "png"}


def write_config(tmp_path: Path, **train) -> Path:
    path = tmp_path / "recipe.yaml"
    workers = {"cpus_each": 1, "torch_threads": 1, "storage_path": str(tmp_path / "ray")}
    stages = {"synth": SYNTH, "tiny": {**TRAIN, "workers": workers, **train}}
    path.write_text(yaml.safe_dump({"name": "sweeptest", "artifact_root": str(tmp_path / "artifacts"),
                                    "ray": {"num_cpus": 2}, "stages": stages}))
    return path


def write_space(tmp_path: Path, **spec) -> Path:
    path = tmp_path / "space.yaml"
    data = {"num_samples": 3, "grace_period": 2, "register_as": "swept",
            "space": {"optim.lr": {"loguniform": [1e-4, 1e-2]},
                      "data.augment.0.factor": {"choice": {"mild": [0.9, 1.1], "strong": [0.6, 1.5]}}}, **spec}
    path.write_text(yaml.safe_dump(data))
    return path


def base_params(tmp_path: Path) -> dict:
    return load_config(write_config(tmp_path), STAGES).stages["tiny"].params.model_dump(mode="json")


# --- the space ----------------------------------------------------------------------------------
def test_space_values_reach_the_stage_params_and_choices_decode(tmp_path):
    fixed = {"schedule.steps": 8, "validation.every": 4}
    spec = load_spec(str(write_space(tmp_path, fixed=fixed)), SweepOptions("", "", ""))
    base = base_params(tmp_path)
    check_space(base, spec, "stages.tiny")
    values = decode(spec, {"optim.lr": 0.003, "data.augment.0.factor": "strong"})
    assert values == {"optim.lr": 0.003, "data.augment.0.factor": [0.6, 1.5]}
    params = trial_params(base, spec, values, "stages.tiny")
    assert (params.optim.lr, params.data.augment[0]["factor"], params.schedule.steps) == (0.003, [0.6, 1.5], 8)
    assert params.optim.bf16 is False  # a section's other keys keep the stage's values
    assert params.checkpoint.every == params.validation.every == 4  # ASHA sees every validation
    domains = tune_space(SweepSpec(space={"a": {"int": [1, 3]}, "b": {"uniform": [0, 1]}, "c": {"choice": [[1], [2]]}}))
    assert (domains["a"].lower, domains["a"].upper) == (1, 4)  # both ends included
    assert domains["c"].categories == ["0", "1"]  # non-scalar choices are proposed by label
    assert decode(SweepSpec(space={"c": {"choice": [[1], [2]]}}), {"c": "1"}) == {"c": [2]}


@pytest.mark.parametrize("space, problem", [
    ({"optim.lrr": {"uniform": [0.1, 0.2]}},
     "stages.tiny.optim.lrr: no such key; keys here: bf16, grad_clip, kind, lr,"),
    ({"lr": {"uniform": [0.1, 0.2]}}, "stages.tiny.lr: no such key; it moved to optim.lr"),
    ({"data.augment.9.p": {"uniform": [0.1, 0.2]}}, "stages.tiny.data.augment.9: '9' is not an index of a list of 6"),
    ({"optim.lr": {"uniform": [-1.0, 0.1]}}, "optim.lr: Input should be greater than 0"),
    ({"data.augment.0.factor": {"choice": {"bad": "not a range"}}}, "stages.tiny"),
])
def test_space_keys_and_values_are_checked_against_the_stage(tmp_path, space, problem):
    spec = SweepSpec(space=space)
    with pytest.raises(ValueError) as err:
        check_space(base_params(tmp_path), spec, "stages.tiny")
    assert problem in str(err.value)


def test_the_quickstart_space_file_fits_the_quickstart_finetune_stage():
    repo = Path(__file__).resolve().parents[3]
    spec = load_spec(str(repo / "configs" / "sweeps" / "quickstart.yaml"), SweepOptions("", "", ""))
    base = load_config(repo / "configs" / "quickstart.yaml", STAGES).stages["finetune"].params.model_dump(mode="json")
    check_space(base, spec, "stages.finetune")
    params = trial_params(base, spec, decode(spec, {"optim.lr": 0.001, "data.augment": "light"}), "stages.finetune")
    assert (params.schedule.steps, params.validation.every, params.checkpoint.every) == (60, 20, 20)
    assert (params.workers.cpus_each, params.data.loader_workers, len(params.data.augment)) == (1, 1, 2)


@pytest.mark.parametrize("dist, problem", [
    ({"loguniform": [0, 1]}, "low must be > 0"), ({"uniform": [2, 1]}, "low < high"),
    ({"int": [1.5, 3]}, "bounds must be integers"), ({"normal": [0, 1]}, "give exactly one of"),
    ({"choice": []}, "non-empty"),
])
def test_bad_distributions_are_rejected(dist, problem):
    with pytest.raises(ValueError, match=problem):
        SweepSpec(space={"lr": dist})


def test_cli_rejects_a_stage_that_is_not_a_train_stage_before_starting_anything(tmp_path, capsys):
    config, space = write_config(tmp_path), write_space(tmp_path)
    assert main(["sweep", "--config", str(config), "--stage", "synth", "--space", str(space)]) == 2
    assert "--stage synth: a synth stage; sweeps tune train stages: tiny" in capsys.readouterr().err
    bad = write_space(tmp_path, space={"nope": {"uniform": [0, 1]}})
    assert main(["sweep", "--config", str(config), "--stage", "tiny", "--space", str(bad)]) == 2
    assert "stages.tiny.nope: no such key" in capsys.readouterr().err
    assert not (tmp_path / "artifacts").exists()


def test_best_trial_is_the_best_last_report_early_stopped_trials_included():
    # Tune's "Current best trial" line ranks every trial by its last reported metric: so does the sweep.
    spec = SweepSpec(space={"lr": {"uniform": [0.1, 0.2]}})
    trials = [{"trial_id": "a", "status": "stopped", "val_hmean": 0.9, "checkpoint_path": "x"},
              {"trial_id": "b", "status": "completed", "val_hmean": 0.4, "checkpoint_path": "y"},
              {"trial_id": "c", "status": "completed", "val_hmean": 0.6, "checkpoint_path": "z"},
              {"trial_id": "d", "status": "error", "val_hmean": None, "checkpoint_path": None, "error": "boom"}]
    assert pick_best(trials, spec)["trial_id"] == "a"
    assert pick_best(trials, SweepSpec(space=spec.space, mode="min"))["trial_id"] == "b"


# --- real sweeps --------------------------------------------------------------------------------
def check_sweep(result, tracking_uri: str, tmp_path: Path, metric: str) -> MlflowClient:
    """What every sweep must leave: nested runs with params and curves, the best config, a registered model."""
    client = MlflowClient(tracking_uri)
    sweep_run = client.get_run(result.sweep_run_id)
    assert sweep_run.info.status == "FINISHED" and sweep_run.data.tags["best_trial_id"] == result.best["trial_id"]
    experiment = sweep_run.info.experiment_id
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{result.sweep_run_id}'")
    assert len(trials) == 3 and {r.data.tags["trial_id"] for r in trials} == {t["trial_id"] for t in result.trials}
    for run in trials:
        row = next(t for t in result.trials if t["trial_id"] == run.data.tags["trial_id"])
        assert float(run.data.params["optim.lr"]) == pytest.approx(row["values"]["optim.lr"])
        assert run.data.params["schedule.steps"] == "4" and run.data.params["checkpoint.every"] == "2"
        # The curves, a point a step (a stopped trial may train on a little while ASHA's decision travels).
        steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "train/loss_total"))
        assert steps == list(range(1, len(steps) + 1)) and len(steps) >= row["step"]
        val_steps = sorted(m.step for m in client.get_metric_history(run.info.run_id, "val/hmean"))
        assert val_steps == list(range(2, len(steps) + 1, 2))
        expected = ("KILLED", "true") if row["status"] == "stopped" else ("FINISHED", None)
        assert (run.info.status, run.data.tags.get("early_stopped")) == expected
    assert any(t["status"] == "completed" for t in result.trials)

    best = load_config(result.best_config, STAGES).stages["tiny"].params
    assert best.optim.lr == pytest.approx(result.best["values"]["optim.lr"])
    assert best.data.augment[0]["factor"] == result.best["values"]["data.augment.0.factor"]
    with open(result.out_dir / "trials.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 3
    version = client.get_model_version("swept", result.registration.version)
    assert version.run_id == result.best["run_id"] and "candidate" in version.aliases
    assert version.tags["trial_id"] == result.best["trial_id"] and version.tags["dataset.synth.train"]
    assert float(version.tags[f"metric.{metric}"]) == pytest.approx(result.best[metric])
    assert {f.path for f in client.list_artifacts(result.best["run_id"], "checkpoint")} == {"checkpoint/checkpoint.pt"}
    # The version is the best run's logged MLflow model (models.pyfunc).
    logged = client.search_logged_models([experiment], filter_string=f"source_run_id = '{result.best['run_id']}'")
    assert len(logged) == 1 and logged[0].model_id in version.source
    assert logged[0].params["checkpoint_sha256"] == version.tags["model.sha256"]
    # The upstream stage ran once, through the engine, not once per trial.
    assert len(list((tmp_path / "artifacts" / "synth").glob("*/_COMPLETE"))) == 1
    return client


@pytest.mark.slow
def test_sweep_in_sqlite_with_asha_stopping_trials(tmp_path, monkeypatch, ray_local, capsys):
    monkeypatch.setenv("SCENETEXT_HOME", str(tmp_path))
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    # Ranking by the reported learning rate makes ASHA's decisions depend on the seeded proposals only:
    # one trial at a time, the second and third are stopped at step 2 when their lr is in the lower half.
    # The poly schedule decays lr to 0 at the last step, so a stopped trial's last report (step 2) beats
    # every completed trial's (step 4): the best trial is an early-stopped one.
    space = write_space(tmp_path, metric="lr", mode="max", max_concurrent=1, seed=3)
    result = run_sweep(SweepOptions(str(write_config(tmp_path)), "tiny", str(space), tracking_uri=uri), STAGES)
    check_sweep(result, uri, tmp_path, "lr")
    stopped = [t for t in result.trials if t["status"] == "stopped"]
    assert stopped and all(t["step"] == 2 for t in stopped)
    best = max(stopped, key=lambda t: t["lr"])
    assert best["lr"] > max(t["lr"] for t in result.trials if t["status"] == "completed")
    assert (result.best["trial_id"], result.best["step"]) == (best["trial_id"], 2)
    out = capsys.readouterr().out
    # Tune's table, the summary line, best_config.yaml and the registered model name the same trial and value.
    assert f"Current best trial: {best['trial_id']} with lr={best['lr']}" in out.rsplit("Trial status:", 1)[-1]
    assert f"best trial {best['trial_id']} (stopped early at step 2) lr={best['lr']:.4g}" in out
    header = result.best_config.read_text().splitlines()[0]
    assert header.startswith(f"# best trial {best['trial_id']} of sweep ") and f"lr = {best['lr']} at step 2" in header
    version = MlflowClient(uri).get_model_version("swept", result.registration.version)
    assert (version.tags["trial_id"], float(version.tags["metric.lr"])) == (best["trial_id"], best["lr"])
    assert version.tags["sweep.step"] == "2"


@pytest.mark.slow
def test_sweep_against_a_tracking_server_on_validation_hmean(tmp_path, monkeypatch, ray_local):
    monkeypatch.setenv("SCENETEXT_HOME", str(tmp_path))
    server = ProxiedMlflowServer(tmp_path / "server", sys.executable)
    (tmp_path / "server").mkdir()
    server.start()
    try:
        result = run_sweep(SweepOptions(str(write_config(tmp_path)), "tiny", str(write_space(tmp_path)),
                                        tracking_uri=server.uri, out=str(tmp_path / "out")), STAGES)
        check_sweep(result, server.uri, tmp_path, "val_hmean")
    finally:
        server.stop()
    assert (tmp_path / "out" / "best_model" / "checkpoint.pt").is_file()
