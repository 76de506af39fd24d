"""MLflow tracking for pipeline runs: one parent run per invocation, one child run per stage.

Every write goes through ``MlflowWriter``. With a tracking server (http/https) each process
(driver, stage task, training worker) writes directly by run id. With the default SQLite store,
several processes writing one file hit "database is locked", so all writes are funnelled through
one Ray actor pinned to the driver's node (where the SQLite file lives); calls are synchronous, so
no metric is lost when a stage ends.

The writer also redacts: every tag, param and lineage URI passes through ``pipeline.redact`` on its
way in, so no caller can log a credential by accident.
"""
from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from mlflow import MlflowClient
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    Param,
    RunTag,
)

from pipeline.redact import redact_uri, redact_value

log = logging.getLogger(__name__)

MAX_INLINE_ARTIFACT = 64 * 1024 * 1024  # files larger than this are passed by path, not by value
_BATCH = 100  # MLflow's limit for params/tags per log_batch call


def uses_sink(tracking_uri: str) -> bool:
    """True for stores that only one process may write (SQLite)."""
    return tracking_uri.startswith("sqlite:")


class MlflowWriter:
    """All MLflow writes of a pipeline run; lives in the driver, in a Ray actor, or in a worker."""

    def __init__(self, tracking_uri: str):
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Entry point for the actor: one generic method keeps the actor and direct paths identical."""
        return getattr(self, method)(*args, **kwargs)

    def ensure_experiment(self, name: str, artifact_location: str | None) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        return self.client.create_experiment(name, artifact_location=artifact_location)

    def start_run(self, experiment_id: str, name: str, tags: dict[str, str], parent_id: str | None = None) -> str:
        tags = _redacted_tags(tags)
        if parent_id:
            tags["mlflow.parentRunId"] = parent_id
        return self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        items = [Param(k, _param_value(redact_value(k, v))) for k, v in sorted(flatten(params).items())]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(run_id, params=items[start : start + _BATCH], synchronous=True)

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        items = [RunTag(k, v) for k, v in _redacted_tags(tags).items()]
        for start in range(0, len(items), _BATCH):
            self.client.log_batch(run_id, tags=items[start : start + _BATCH], synchronous=True)

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int | None = None,
                    timestamp_ms: int | None = None) -> None:
        now = timestamp_ms or int(time.time() * 1000)
        items = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        for start in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[start : start + 1000], synchronous=True)

    def log_artifact_bytes(self, run_id: str, name: str, data: bytes, artifact_path: str | None = None) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            self.client.log_artifact(run_id, str(path), artifact_path)

    def log_artifact_path(self, run_id: str, path: str, artifact_path: str | None = None) -> None:
        self.client.log_artifact(run_id, path, artifact_path)

    def log_table(self, run_id: str, columns: dict[str, list[Any]], artifact_file: str) -> None:
        self.client.log_table(run_id, data=columns, artifact_file=artifact_file)

    def log_image(self, run_id: str, key: str, image: Any, step: int) -> None:
        """``image``: an HxWx3 uint8 array (RGB), logged under ``key`` at ``step`` (comparable across runs)."""
        self.client.log_image(run_id, image, key=key, step=step, synchronous=True)

    def log_datasets(self, run_id: str, datasets: list[dict[str, Any]]) -> None:
        """Lineage: each dict has name, digest, uri, context ('input' or 'output'), and optionally
        profile and schema (JSON-able) and tags (more input tags, e.g. the producing stage and run)."""
        inputs = [
            DatasetInput(
                Dataset(name=d["name"], digest=d["digest"][:32], source_type="artifact_store",
                        source=json.dumps({"uri": redact_uri(d["uri"])}),
                        schema=json.dumps(d["schema"]) if d.get("schema") else None,
                        profile=json.dumps(d["profile"]) if d.get("profile") else None),
                tags=[InputTag("mlflow.data.context", d["context"]),
                      *(InputTag(k, str(v)) for k, v in sorted(d.get("tags", {}).items()))],
            )
            for d in datasets
        ]
        if inputs:
            self.client.log_inputs(run_id, datasets=inputs)

    def log_model_inputs(self, run_id: str, model_ids: list[str]) -> None:
        """Upstream models the run read (MLflow logged models, by id)."""
        # An output made against another store names a model this one does not hold.
        held = [m for m in model_ids if _found(self.client.get_logged_model, m)]
        if held:
            self.client.log_inputs(run_id, models=[LoggedModelInput(m) for m in held])

    def log_model(self, run_id: str, name: str, files: dict[str, bytes] | str, tags: dict[str, Any],
                  params: dict[str, Any]) -> str:
        """Log a saved MLflow model folder (``files``: relative path -> bytes, or a local folder's path)
        as a logged model whose source is ``run_id``; returns its model id (``models:/<id>``)."""
        run = self.client.get_run(run_id)
        model = self.client.create_logged_model(
            run.info.experiment_id, name=name, source_run_id=run_id, tags=_redacted_tags(tags),
            params={k: _param_value(v) for k, v in flatten(params).items() if v is not None})
        try:
            if isinstance(files, str):
                self.client.log_model_artifacts(model.model_id, files)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    for rel, data in files.items():
                        path = Path(tmp) / rel
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(data)
                    self.client.log_model_artifacts(model.model_id, tmp)
        except BaseException:
            self.client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
            raise
        self.client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
        self.client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=0)])
        return model.model_id

    def copy_results(self, source_run_id: str, run_id: str) -> list[str]:
        """Every metric of ``source_run_id``, with its steps, onto ``run_id``, and the params ``run_id``
        lacks (those the stage logged while it ran, e.g. an inherited architecture): a cache hit shows
        what the run that produced its output showed. Returns the metric keys copied."""
        source = self.client.get_run(source_run_id)
        have = self.client.get_run(run_id).data.params
        params = [Param(k, v) for k, v in sorted(source.data.params.items()) if k not in have]
        for start in range(0, len(params), _BATCH):
            self.client.log_batch(run_id, params=params[start : start + _BATCH], synchronous=True)
        keys = sorted(source.data.metrics)
        for key in keys:
            history = self.client.get_metric_history(source_run_id, key)
            for start in range(0, len(history), 1000):
                self.client.log_batch(run_id, metrics=history[start : start + 1000], synchronous=True)
        return keys

    def has_run(self, run_id: str) -> bool:
        return _found(self.client.get_run, run_id)

    def metric_keys(self, run_id: str) -> list[str]:
        return sorted(self.client.get_run(run_id).data.metrics)

    def set_experiment_tags(self, experiment_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_experiment_tag(experiment_id, key, value)

    def end_run(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status=status)


class TrackingClient:
    """Picklable handle to the MLflow writer: the sink actor when there is one, else direct."""

    def __init__(self, tracking_uri: str, sink: Any = None):
        self.tracking_uri = tracking_uri
        self.sink = sink
        self._writer: MlflowWriter | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"tracking_uri": self.tracking_uri, "sink": self.sink, "_writer": None}

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.sink is not None:
            import ray

            return ray.get(self.sink.call.remote(method, *args, **kwargs))
        if self._writer is None:
            self._writer = MlflowWriter(self.tracking_uri)
        return self._writer.call(method, *args, **kwargs)

    def run(self, run_id: str) -> "RunLogger":
        return RunLogger(self, run_id)

    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created if needed. A SQLite store gets an absolute artifact
        location beside its database file, or MLflow would write ./mlruns in the working directory."""
        from pipeline.paths import default_artifact_location

        location = default_artifact_location(name, self.tracking_uri) if uses_sink(self.tracking_uri) else None
        return self.call("ensure_experiment", name, location)


class RunLogger:
    """Writes to one MLflow run by id; picklable, so stages and training workers can carry it."""

    def __init__(self, client: TrackingClient, run_id: str):
        self.client = client
        self.run_id = run_id

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.client.call("log_metrics", self.run_id, metrics, step)

    def log_params(self, params: dict[str, Any]) -> None:
        self.client.call("log_params", self.run_id, params)

    def set_tags(self, tags: dict[str, Any]) -> None:
        self.client.call("set_tags", self.run_id, tags)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        path = Path(path)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                sub = file.parent.relative_to(path).as_posix()
                self.log_artifact(file, "/".join(x for x in (artifact_path, path.name, sub) if x and x != "."))
            return
        if self.client.sink is not None and path.stat().st_size <= MAX_INLINE_ARTIFACT:
            # The actor may run on another node: send small files by value.
            self.client.call("log_artifact_bytes", self.run_id, path.name, path.read_bytes(), artifact_path)
        else:
            self.client.call("log_artifact_path", self.run_id, str(path), artifact_path)

    def log_table(self, columns: dict[str, list[Any]], artifact_file: str) -> None:
        self.client.call("log_table", self.run_id, columns, artifact_file)

    def log_image(self, key: str, image: Any, step: int = 0) -> None:
        self.client.call("log_image", self.run_id, key, image, step)

    def log_model(self, name: str, folder: Path, tags: dict[str, Any] | None = None,
                  params: dict[str, Any] | None = None) -> str:
        """Log the saved MLflow model in ``folder`` on this run; returns its model id."""
        folder = Path(folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        if self.client.sink is not None and sum(p.stat().st_size for p in files) <= MAX_INLINE_ARTIFACT:
            payload: dict[str, bytes] | str = {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}
        else:
            payload = str(folder)
        return self.client.call("log_model", self.run_id, name, payload, tags or {}, params or {})

    def log_datasets(self, datasets: Iterable[dict[str, Any]]) -> None:
        self.client.call("log_datasets", self.run_id, list(datasets))

    def log_model_inputs(self, model_ids: list[str]) -> None:
        self.client.call("log_model_inputs", self.run_id, list(model_ids))

    def end(self, status: str) -> None:
        self.client.call("end_run", self.run_id, status)


def start_sink(tracking_uri: str) -> Any:
    """The single-writer actor for a SQLite store, pinned to this (the driver's) node."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node = ray.get_runtime_context().get_node_id()
    actor_cls = ray.remote(num_cpus=0, max_restarts=2, max_task_retries=2)(MlflowWriter)
    return actor_cls.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(tracking_uri)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists stay values."""
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def _found(get: Any, key: str) -> bool:
    """Whether the store holds ``key`` (``get``: the client's lookup, which raises when it does not)."""
    from mlflow.exceptions import MlflowException

    try:
        get(key)
    except MlflowException:
        return False
    return True


def _redacted_tags(tags: dict[str, Any]) -> dict[str, str]:
    return {k: str(redact_value(k, str(v))) for k, v in tags.items()}


def _param_value(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return text if len(text) <= 6000 else text[:5990] + "...[cut]"
