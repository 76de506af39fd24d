"""What runs inside one stage's Ray task: resolve inputs, call the stage, commit its outputs, record them."""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.artifacts import ArtifactStore, describe_output
from pipeline.context import RayStageContext
from pipeline.redact import redact
from pipeline.stage import StageParams, StageResult
from pipeline.tracking import RunLogger


@dataclass
class StageTask:
    """Everything a worker needs to run one stage; picklable."""

    name: str
    stage_type: str
    key: str
    version: str
    code: str
    params: StageParams
    inputs: dict[str, tuple[str, str, str]]  # input name -> (upstream stage, upstream key, output name)
    store: ArtifactStore
    run: RunLogger | None
    num_cpus: float
    num_gpus: float


def execute_stage(task: StageTask) -> dict[str, Any]:
    """Run one stage into a staging folder, then commit it; returns the manifest."""
    from stages import STAGES

    stage_def = STAGES[task.stage_type]
    if task.run is not None:
        # Code inside the stage that resolves runs:/ or models:/ URIs must see this run's store,
        # not MLflow's default (a relative sqlite file in the worker's working dir).
        os.environ["MLFLOW_TRACKING_URI"] = task.run.client.tracking_uri
    ctx = RayStageContext(task.name, task.key, task.num_cpus, task.num_gpus, task.run)
    inputs = {n: task.store.local_output(stage, key, out) for n, (stage, key, out) in task.inputs.items()}
    staging = task.store.begin(task.name, task.key)
    started = time.time()
    ctx.logger.info("start (key %s) -> %s", task.key[:12], staging.local_dir)
    try:
        result = stage_def.fn(task.params, inputs, staging.local_dir, ctx)
        manifest = _manifest(task, result, staging.local_dir, started)
        task.store.commit(staging, manifest)
    except BaseException:
        task.store.abort(staging)
        raise
    ctx.logger.info("done in %.1fs", manifest["duration_s"])
    if task.run is not None:
        _record(task, manifest, result)
    return manifest


def _manifest(task: StageTask, result: StageResult, out_dir: Path, started: float) -> dict[str, Any]:
    if not isinstance(result, StageResult):
        raise TypeError(f"stage {task.name!r} returned {type(result).__name__}, expected StageResult")
    outputs = {}
    for name, rel in result.outputs.items():
        path = out_dir / rel
        if not path.exists():
            raise FileNotFoundError(f"stage {task.name!r} declared output {name!r} at {rel!r} but wrote nothing there")
        outputs[name] = {"path": rel, **describe_output(path)}
    finished = time.time()
    return {
        "stage": task.name,
        "type": task.stage_type,
        "key": task.key,
        "version": task.version,
        "code": task.code,
        "params": task.params.model_dump(mode="json"),
        "inputs": {n: {"stage": s, "key": k, "output": o} for n, (s, k, o) in task.inputs.items()},
        "outputs": outputs,
        "datasets": result.datasets if result.datasets is not None else list(outputs),
        "counts": result.counts,
        "metrics": result.metrics,
        "extra": result.extra,
        "run_id": task.run.run_id if task.run else None,
        "host": socket.gethostname(),
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "start_ts": started,
        "end_ts": finished,
        "duration_s": round(finished - started, 3),
    }


def _record(task: StageTask, manifest: dict[str, Any], result: StageResult) -> None:
    run = task.run
    numbers = {**{f"count.{k}": v for k, v in result.counts.items()}, **result.metrics, "duration_s": manifest["duration_s"]}
    run.log_metrics(numbers)
    final_dir = Path(task.store.path(task.name, task.key)) if task.store.is_local else None
    run.client.call("log_artifact_bytes", run.run_id, "manifest.json", json.dumps(redact(manifest), indent=2).encode(), None)
    for rel in result.artifacts:
        if final_dir is not None and (final_dir / rel).exists():
            run.log_artifact(final_dir / rel, "outputs")
    run.log_datasets(lineage(task, manifest))


def lineage(task: StageTask, manifest: dict[str, Any]) -> list[dict[str, str]]:
    """MLflow dataset entries for every input read and every dataset output written."""
    entries = []
    for name, (stage, key, output) in task.inputs.items():
        upstream = task.store.read_manifest(stage, key)["outputs"][output]
        entries.append({"name": f"{stage}.{output}", "digest": upstream["digest"], "uri": f"{task.store.uri(stage, key)}/{upstream['path']}", "context": "input"})
    for name in manifest["datasets"]:
        out = manifest["outputs"][name]
        entries.append({"name": f"{task.name}.{name}", "digest": out["digest"], "uri": f"{task.store.uri(task.name, task.key)}/{out['path']}", "context": "output"})
    return entries


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")
