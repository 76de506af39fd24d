"""The ``register`` stage: put the final model into the MLflow model registry.

A config entry at the end of a recipe::

    register:
      type: register
      inputs: {model: finetune.model, eval: evaluate.report}
      name: scenetext-det
      benchmark_metric: test.hmean      # an evaluate metric: <test set input name>.hmean

Inputs: ``model``, a folder holding ``checkpoint.pt`` (the train stage's output), and optionally
``eval``, the evaluate stage's ``report`` folder (its ``metrics.json``). The checkpoint is logged as
the artifact ``model/checkpoint.pt`` of this stage's MLflow run and registered from there, so the
version can be downloaded by anyone who can reach the tracking server, with no access to the artifact
root. The version is tagged with:

- ``metric.<name>``: every evaluation metric (from ``eval``);
- ``dataset.<stage>.<output>``: the content digest of every dataset upstream of the model and the
  evaluation (read from the stage manifests, back through the artifact root);
- ``model.sha256`` / ``model.step`` / ``model.arch`` / ``model.backbone``;
- ``config_digest``, ``git_commit``, ``pipeline_run_id`` (from the pipeline's parent run, else this checkout);
- ``eval.protocol`` / ``eval.data.<test set>``: how ``eval`` scored it (protocol, digest of each test set);
- ``champion.*``: the comparison with the current champion on ``benchmark_metric``.

It gets the alias ``candidate``; ``champion`` moves to it only when it beats the current champion on
``benchmark_metric`` measured on the same test set with the same protocol (see ``models.mlflow_registry``).

Tracking: the stage needs an MLflow run. Under the engine it uses its own stage run (and the
pipeline's tracking URI); ``tracking_uri`` is ignored there. Called directly (``LocalContext``, no
tracking) it creates a run in ``experiment`` at ``tracking_uri``, and fails with a clear message when
``tracking_uri`` is not set either.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.artifacts import file_sha256
from pipeline.stage import StageContext, StageDef, StageResult
from stages.register.params import RegisterParams

INPUTS = ("model", "eval")
OUTPUT = "registration.json"


def run(params: RegisterParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Log the checkpoint on an MLflow run, register it, move the aliases; write ``registration.json``."""
    from models import mlflow_registry as registry

    unknown = sorted(set(inputs) - set(INPUTS))
    if "model" not in inputs or unknown:
        raise ValueError(f"register: inputs must be 'model' (a folder with checkpoint.pt) and optionally 'eval' "
                         f"(the evaluate stage's report); got {sorted(inputs)}")
    checkpoint = checkpoint_file(Path(inputs["model"]))
    metrics, eval_models, protocol = read_eval(Path(inputs["eval"])) if "eval" in inputs else ({}, {}, None)
    sha = file_sha256(checkpoint)
    _check_same_model(sha, eval_models)
    run_id, tracking_uri = _mlflow_run(params, ctx, checkpoint)
    client = registry.registry_client(tracking_uri)
    run = client.get_run(run_id)
    tags = {**registry.version_tags(checkpoint, sha), **registry.metric_tags(metrics), **run_context_tags(client, run),
            **registry.lineage_digests([Path(p) for p in inputs.values()]),
            **(registry.evaluation_tags(Path(inputs["eval"]), protocol) if "eval" in inputs else {})}
    source = f"{run.info.artifact_uri.rstrip('/')}/model"
    reg = registry.register_version(client, params.name, source, run_id, tags, params.benchmark_metric,
                                    params.description, params.candidate_alias, params.champion_alias)
    ctx.logger.info("register: %s v%s from %s; %s: %s", reg.name, reg.version, source, params.champion_alias,
                    reg.reason)
    (Path(out_dir) / OUTPUT).write_text(json.dumps({**reg.to_dict(), "tags": tags}, indent=2))
    return StageResult(outputs={"registration": OUTPUT},
                       metrics={"version": float(reg.version), "promoted": float(reg.decision == "promoted")},
                       artifacts=[OUTPUT], datasets=[],
                       extra={"name": reg.name, "version": reg.version, "decision": reg.decision,
                              "aliases": reg.aliases})


def checkpoint_file(path: Path) -> Path:
    """``checkpoint.pt`` of a model folder (or the file itself)."""
    from models.checkpoint import CHECKPOINT_FILE

    file = path / CHECKPOINT_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"register: input 'model' {path} holds no {CHECKPOINT_FILE}")
    return file


def read_eval(path: Path) -> tuple[dict[str, float], dict[str, Any], str | None]:
    """(metrics, evaluated models, protocol) of an evaluate report folder or its ``metrics.json``."""
    file = path / "metrics.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"register: input 'eval' {path} holds no metrics.json "
                                "(give the evaluate stage's report)")
    data = json.loads(file.read_text())
    if not isinstance(data.get("metrics"), dict):
        raise ValueError(f"register: {file} has no 'metrics' mapping")
    return data["metrics"], data.get("models", {}), data.get("protocol")


def _check_same_model(sha: str, eval_models: dict[str, Any]) -> None:
    # A mis-wired recipe (evaluating one model, registering another) would tag a version with numbers
    # that are not its own.
    evaluated = eval_models.get("model", {}).get("sha256")
    if evaluated and evaluated != sha:
        raise ValueError(f"register: the 'eval' report scored a model with sha256 {evaluated[:12]}..., not the "
                         f"'model' input ({sha[:12]}...); wire eval to the evaluation of this model")


def run_context_tags(client: Any, run: Any) -> dict[str, str]:
    """config digest, git commit and pipeline run of the MLflow run's parent (the pipeline run), else this checkout."""
    from pipeline.paths import git_commit

    tags = run.data.tags
    parent_id = tags.get("mlflow.parentRunId")
    parent = client.get_run(parent_id).data.tags if parent_id else {}
    out = {"pipeline_run_id": parent_id, "config_digest": parent.get("config_digest"),
           "git_commit": parent.get("git_commit") or git_commit(), "stage_key": tags.get("cache_key")}
    return {k: v for k, v in out.items() if v}


def _mlflow_run(params: RegisterParams, ctx: StageContext, checkpoint: Path) -> tuple[str, str]:
    """(run id, tracking URI) of the run that now holds ``model/checkpoint.pt``."""
    handle = ctx.tracking_handle()
    if handle is not None:
        handle.log_artifact(checkpoint, "model")
        return handle.run_id, handle.client.tracking_uri
    if params.tracking_uri is None:
        raise RuntimeError("register: no MLflow run to log the model on: run the stage through the pipeline "
                           "(python pipeline/run.py), or set the stage's tracking_uri when calling it directly")
    return _own_run(params.tracking_uri, params.experiment, checkpoint)


def _own_run(tracking_uri: str, experiment: str, checkpoint: Path) -> tuple[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        experiment_id = client.create_experiment(experiment,
                                                 artifact_location=_artifact_location(tracking_uri, experiment))
    run_id = client.create_run(experiment_id, run_name="register", tags={"stage": "register"}).info.run_id
    client.log_artifact(run_id, str(checkpoint), "model")
    client.set_terminated(run_id, "FINISHED")
    return run_id, tracking_uri


def _artifact_location(tracking_uri: str, experiment: str) -> str | None:
    # A SQLite store has no artifact root of its own (MLflow would use a folder relative to the
    # working directory): keep the artifacts beside the database file.
    from pipeline.paths import default_artifact_location, sqlite_file

    return default_artifact_location(experiment, tracking_uri) if sqlite_file(tracking_uri) else None


def still_registered(manifest: dict[str, Any], tracking_uri: str | None) -> bool:
    """Whether the registry still holds the version this output registered (same run); the engine re-runs
    the stage when it does not (a wiped or replaced store)."""
    from mlflow.exceptions import MlflowException

    from pipeline.model_uris import registry_client

    extra = manifest.get("extra", {})
    if tracking_uri is None or "name" not in extra:
        return True  # nothing to check against
    try:
        version = registry_client(tracking_uri).get_model_version(extra["name"], str(extra["version"]))
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc):
            return False
        raise
    # Under the engine the checkpoint is logged on the stage's own run: the same version number made
    # by another run (after a wipe) is another model.
    return manifest.get("run_id") is None or version.run_id == manifest["run_id"]


STAGE = StageDef(name="register", fn=run, params=RegisterParams, version="1", outputs=lambda p: ["registration"],
                 description="register the final model in the MLflow registry (candidate / champion aliases)",
                 keys_tracking_store=True, still_valid=still_registered)
