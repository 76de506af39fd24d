"""The ``register`` stage: put the final model into the MLflow model registry.

A config entry at the end of a recipe::

    register:
      type: register
      inputs: {model: finetune.model, eval: evaluate.report}
      name: scenetext-det
      benchmark_metric: test.hmean      # an evaluate metric: <test set input name>.hmean

Inputs: ``model``, a folder holding ``checkpoint.pt`` (the train stage's output), and optionally
``eval``, the evaluate stage's ``report`` folder (its ``metrics.json``).

Choosing between two models: with a ``baseline`` input as well (the model the evaluate stage scored as its
baseline), the stage registers whichever of the two scored higher on ``benchmark_metric`` in ``eval``
(``<metric>`` against ``baseline.<metric>``; the model wins a tie), tagged with that model's own metrics.
``registration.json`` and the manifest say which (``chosen``). A fine-tuned model so only replaces the
model it started from when it measurably beats it.

What is registered is an MLflow model (``models.pyfunc``: loadable with ``mlflow.pyfunc.load_model`` and
servable with ``mlflow models serve``; ``models.load`` reads its checkpoint too):

- the train stage's logged model, when the model input's manifest names one
  (``extra.mlflow_models.<output>``) and it exists, finished, in this tracking store with the same
  checkpoint: the version's ``model_id`` is that model, its source the model's artifact folder, and its
  run the **training run**;
- otherwise (an output trained before models were logged, a cache hit made against another store, a
  direct call) the stage saves and logs the model on its own run (under the engine the stage's run, else
  a run it creates), and registers that.

The version links to its evaluation: tag ``eval_run_id`` (the evaluate stage's run, from the report's
manifest) and a line in its description; ``register_run_id`` names the run that registered it. It is
also tagged with:

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
import tempfile
from pathlib import Path
from typing import Any

from pipeline.artifacts import file_sha256
from pipeline.stage import StageContext, StageDef, StageResult
from stages.register.params import RegisterParams

INPUTS = ("model", "eval", "baseline")
OUTPUT = "registration.json"


def run(params: RegisterParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Register the model input's MLflow model (the train stage's, else one logged here), move the
    aliases; write ``registration.json``."""
    from models import mlflow_registry as registry

    unknown = sorted(set(inputs) - set(INPUTS))
    if "model" not in inputs or unknown:
        raise ValueError(f"register: inputs must be 'model' (a folder with checkpoint.pt) and optionally 'eval' "
                         f"(the evaluate stage's report) and 'baseline'; got {sorted(inputs)}")
    metrics, eval_models, protocol = read_eval(Path(inputs["eval"])) if "eval" in inputs else ({}, {}, None)
    chosen, metrics = choose(inputs, metrics, params.benchmark_metric)
    inputs = {**inputs, "model": inputs[chosen]}
    checkpoint = checkpoint_file(Path(inputs["model"]))
    sha = file_sha256(checkpoint)
    _check_same_model(sha, eval_models, chosen)
    stage_run_id, tracking_uri = _mlflow_run(params, ctx)
    client = registry.registry_client(tracking_uri)
    model_id, source_run_id = upstream_logged_model(client, Path(inputs["model"]), sha, ctx.logger) or (
        _log_own_model(ctx, tracking_uri, stage_run_id, checkpoint), stage_run_id)
    eval_run_id = producing_run(Path(inputs["eval"])) if "eval" in inputs else None
    tags = {**registry.version_tags(checkpoint, sha), **registry.metric_tags(metrics),
            **run_context_tags(client, client.get_run(stage_run_id)), **_lineage_tags(inputs, protocol),
            "register_run_id": stage_run_id, "eval_run_id": eval_run_id}
    # The logged model's storage location, not models:/<id>: MLflow's SQLite registry resolves a models:/
    # source through the process-wide tracking URI, which under Ray is not this store. model_id links them.
    source = client.get_logged_model(model_id).artifact_location
    reg = registry.register_version(client, params.name, source, source_run_id, tags, params.benchmark_metric,
                                    version_description(params.description, source_run_id, eval_run_id),
                                    params.candidate_alias, params.champion_alias, model_id=model_id)
    ctx.logger.info("register: %s v%s from %s (run %s); %s: %s", reg.name, reg.version, source, source_run_id,
                    params.champion_alias, reg.reason)
    (Path(out_dir) / OUTPUT).write_text(json.dumps({**reg.to_dict(), "model_id": model_id, "chosen": chosen,
                                                    "tags": tags}, indent=2))
    return StageResult(outputs={"registration": OUTPUT},
                       metrics={"version": float(reg.version), "promoted": float(reg.decision == "promoted")},
                       artifacts=[OUTPUT], datasets=[],
                       extra={"name": reg.name, "version": reg.version, "decision": reg.decision, "chosen": chosen,
                              "aliases": reg.aliases, "model_id": model_id, "source_run_id": source_run_id})


def _lineage_tags(inputs: dict[str, Path], protocol: str | None) -> dict[str, str]:
    """Upstream dataset digests, and how the evaluation scored the model (when there is one)."""
    from models import mlflow_registry as registry

    tags = registry.lineage_digests([Path(p) for p in inputs.values()])
    return {**tags, **registry.evaluation_tags(Path(inputs["eval"]), protocol)} if "eval" in inputs else tags


def upstream_logged_model(client: Any, model_input: Path, sha: str, logger: Any) -> tuple[str, str] | None:
    """(model id, training run id) of the MLflow model the stage that produced ``model_input`` logged
    (its manifest's ``extra.mlflow_models``), when it exists in this store, is finished and holds this
    checkpoint; None otherwise (the caller logs the model itself)."""
    from mlflow.exceptions import MlflowException

    from models.mlflow_registry import find_manifest

    manifest_path = find_manifest(model_input)
    if manifest_path is None:
        return None
    manifest = json.loads(manifest_path.read_text())
    rel = model_input.resolve().relative_to(manifest_path.parent.resolve()).as_posix()
    output = next((name for name, out in manifest.get("outputs", {}).items() if out.get("path") == rel), None)
    model_id = manifest.get("extra", {}).get("mlflow_models", {}).get(output)
    if not model_id:
        return None
    try:
        logged = client.get_logged_model(model_id)
    except MlflowException as exc:
        logger.info("register: logged model %s of %s is not in this store (%s); logging the model here",
                    model_id, manifest_path, exc.error_code)
        return None
    status = str(getattr(logged.status, "name", logged.status))
    if status != "READY" or logged.params.get("checkpoint_sha256") != sha or not logged.source_run_id:
        logger.warning("register: logged model %s (status %s, checkpoint %s) is not the finished model of %s; "
                       "logging the model here", model_id, status, logged.params.get("checkpoint_sha256"), model_input)
        return None
    return model_id, logged.source_run_id


def producing_run(output: Path) -> str | None:
    """The MLflow run of the stage that produced ``output`` (its manifest's ``run_id``), if recorded."""
    from models.mlflow_registry import find_manifest

    manifest_path = find_manifest(output)
    return json.loads(manifest_path.read_text()).get("run_id") if manifest_path is not None else None


def version_description(description: str, source_run_id: str, eval_run_id: str | None) -> str:
    """The configured description, then where the model was trained and evaluated."""
    lines = [description.strip()] if description.strip() else []
    lines.append(f"Trained in run {source_run_id}.")
    lines.append(f"Evaluated in run {eval_run_id}." if eval_run_id else "No evaluation run recorded.")
    return "\n".join(lines)


def _log_own_model(ctx: StageContext, tracking_uri: str, run_id: str, checkpoint: Path) -> str:
    """Save and log the checkpoint's MLflow model on the register run (the engine's stage run through
    ``ctx.log_model``, else the run this stage created); its model id."""
    from models import pyfunc

    tags = {"stage": ctx.stage_name, "logged_by": "register"}
    if ctx.tracking_handle() is None:
        return pyfunc.log_on_run(tracking_uri, run_id, checkpoint, tags=tags)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        info = pyfunc.save(checkpoint, folder)
        model_id = ctx.log_model("model", folder, tags=tags, params=info)
    if model_id is None:
        raise RuntimeError("register: the stage's run did not log the model (tracking is off)")
    return model_id


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


def choose(inputs: dict[str, Path], metrics: dict[str, float], benchmark: str | None) -> tuple[str, dict[str, float]]:
    """('model' or 'baseline': the input to register, that model's metrics); without a baseline input,
    the model and the report's metrics as they are."""
    if "baseline" not in inputs:
        return "model", metrics
    if "eval" not in inputs or not benchmark:
        raise ValueError("register: a 'baseline' input needs an 'eval' input (the evaluation of both) and "
                         "benchmark_metric (the metric that decides between them)")
    prefix = "baseline."
    own = {k: v for k, v in metrics.items() if not k.startswith(prefix)}
    theirs = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
    missing = [name for name, found in ((benchmark, own), (prefix + benchmark, theirs)) if benchmark not in found]
    if missing:
        raise ValueError(f"register: the 'eval' report has no {' or '.join(missing)} to choose between model "
                         f"and baseline; its metrics: {', '.join(sorted(metrics)[:20])}")
    return ("baseline", theirs) if theirs[benchmark] > own[benchmark] else ("model", own)


def _check_same_model(sha: str, eval_models: dict[str, Any], role: str = "model") -> None:
    # A mis-wired recipe (evaluating one model, registering another) would tag a version with numbers
    # that are not its own.
    evaluated = eval_models.get(role, {}).get("sha256")
    if evaluated and evaluated != sha:
        raise ValueError(f"register: the 'eval' report scored a {role} with sha256 {evaluated[:12]}..., not the "
                         f"{role!r} input ({sha[:12]}...); wire eval to the evaluation of this model")


def run_context_tags(client: Any, run: Any) -> dict[str, str]:
    """config digest, git commit and pipeline run of the MLflow run's parent (the pipeline run), else this checkout."""
    from pipeline.paths import git_commit

    tags = run.data.tags
    parent_id = tags.get("mlflow.parentRunId")
    parent = client.get_run(parent_id).data.tags if parent_id else {}
    out = {"pipeline_run_id": parent_id, "config_digest": parent.get("config_digest"),
           "git_commit": parent.get("git_commit") or git_commit(), "stage_key": tags.get("cache_key")}
    return {k: v for k, v in out.items() if v}


def _mlflow_run(params: RegisterParams, ctx: StageContext) -> tuple[str, str]:
    """(run id, tracking URI) of the register run: the stage's own under the engine, else a new one."""
    handle = ctx.tracking_handle()
    if handle is not None:
        return handle.run_id, handle.client.tracking_uri
    if params.tracking_uri is None:
        raise RuntimeError("register: no MLflow run to log the model on: run the stage through the pipeline "
                           "(python pipeline/run.py), or set the stage's tracking_uri when calling it directly")
    return _own_run(params.tracking_uri, params.experiment)


def _own_run(tracking_uri: str, experiment: str) -> tuple[str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        experiment_id = client.create_experiment(experiment,
                                                 artifact_location=_artifact_location(tracking_uri, experiment))
    run_id = client.create_run(experiment_id, run_name="register", tags={"stage": "register"}).info.run_id
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
    # The same version number made from another run or logged model (after a wipe) is another model.
    # (A SQL registry does not keep a version's model_id; its source, the logged model's folder, names it.)
    if extra.get("model_id") and extra["model_id"] not in (version.source or ""):
        return False
    expected_run = extra.get("source_run_id") or manifest.get("run_id")
    return expected_run is None or version.run_id == expected_run


# version 2: the registered version is an MLflow model (the train stage's logged model), its run the training run.
STAGE = StageDef(name="register", fn=run, params=RegisterParams, version="2", outputs=lambda p: ["registration"],
                 description="register the final model in the MLflow registry (candidate / champion aliases)",
                 keys_tracking_store=True, still_valid=still_registered)
