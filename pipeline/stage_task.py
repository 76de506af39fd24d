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

from pipeline.artifacts import ArtifactStore, Committed, describe_output
from pipeline.context import RayStageContext
from pipeline.environment import environment_tags, library_versions
from pipeline.lineage import log_lineage, stage_lineage
from pipeline.redact import redact
from pipeline.stage import StageDef, StageParams, StageResult
from pipeline.tracking import RunLogger


@dataclass
class StageTask:
    """Everything a worker needs to run one stage; picklable."""

    name: str
    stage_type: str
    # The StageDef itself, not a name to look up in a registry inside the worker: the engine knows no
    # registry, and cloudpickle sends the stage's module-level function and params class by reference.
    stage_def: StageDef
    key: str
    version: str
    code: str
    params: StageParams
    inputs: dict[str, tuple[str, str, str]]  # input name -> (upstream stage, upstream key, output name)
    store: ArtifactStore
    run: RunLogger | None
    num_cpus: float
    num_gpus: float
    attempt: str = ""  # names this attempt's staging folder, so the driver can remove it after a cancel
    # The user forced this run: do not resume state of earlier attempts, and publish over a complete
    # output instead of reusing it.
    forced: bool = False


def execute_stage(task: StageTask) -> dict[str, Any]:
    """Run one stage into a staging folder, then commit it; returns the manifest."""
    stage_def = task.stage_def
    if task.run is not None:
        # Code inside the stage that resolves runs:/ or models:/ URIs must see this run's store,
        # not MLflow's default (a relative sqlite file in the worker's working dir).
        os.environ["MLFLOW_TRACKING_URI"] = task.run.client.tracking_uri
    ctx = RayStageContext(task.name, task.key, task.num_cpus, task.num_gpus, task.run, task.forced, task.attempt)
    inputs = {n: task.store.local_output(stage, key, out) for n, (stage, key, out) in task.inputs.items()}
    staging = task.store.begin(task.name, task.key, task.attempt or None)
    started = time.time()
    ctx.logger.info("start (key %s) -> %s", task.key[:12], staging.local_dir)
    try:
        with staging.heartbeat():
            result = stage_def.fn(task.params, inputs, staging.local_dir, ctx)
        manifest = _manifest(task, result, staging.local_dir, started)
        committed = task.store.commit(staging, manifest, replace=task.forced)
    except BaseException:
        task.store.abort(staging)
        raise
    if committed.reused:
        # Another driver committed this key first: its output (and manifest) is the one that counts.
        ctx.logger.info("done in %.1fs; kept the output another attempt committed first", manifest["duration_s"])
    else:
        ctx.logger.info("done in %.1fs", manifest["duration_s"])
    if task.run is not None:
        _record(task, committed, result)
    return committed.manifest


def _manifest(task: StageTask, result: StageResult, out_dir: Path, started: float) -> dict[str, Any]:
    if not isinstance(result, StageResult):
        raise TypeError(f"stage {task.name!r} returned {type(result).__name__}, expected StageResult")
    outputs = {}
    for name, rel in result.outputs.items():
        path = out_dir / rel
        if not path.exists():
            raise FileNotFoundError(f"stage {task.name!r} declared output {name!r} at {rel!r} but wrote nothing there")
        outputs[name] = {"path": rel, **describe_output(path)}
    datasets = result.datasets if result.datasets is not None else list(outputs)
    if task.stage_def.describe_dataset is not None:
        for name in datasets:
            outputs[name].update(task.stage_def.describe_dataset(out_dir / outputs[name]["path"]))
    finished = time.time()
    return {
        "stage": task.name,
        "type": task.stage_type,
        "key": task.key,
        "version": task.version,
        "code": task.code,
        "environment": library_versions(),
        "params": task.params.model_dump(mode="json"),
        "inputs": {n: {"stage": s, "key": k, "output": o} for n, (s, k, o) in task.inputs.items()},
        "outputs": outputs,
        "datasets": datasets,
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


def _record(task: StageTask, committed: Committed, result: StageResult) -> None:
    """Metrics, the manifest, report artifacts and lineage on the stage's MLflow run, whatever the root."""
    run = task.run
    manifest = committed.manifest
    numbers = {**{f"count.{k}": v for k, v in result.counts.items()}, **result.metrics,
               "duration_s": manifest["duration_s"]}
    # A metric the stage already logged with its history (val/hmean at each validation) keeps it: a
    # second, step-0 copy of its final value would show as a spike at the start of the curve.
    logged = set(run.client.call("metric_keys", run.run_id))
    run.log_metrics({k: v for k, v in numbers.items() if k not in logged})
    run.set_tags(environment_tags(manifest["environment"]))
    if committed.reused:
        run.set_tags({"output_reused": "true", "source_run_id": str(manifest.get("run_id"))})
    run.client.call("log_artifact_bytes", run.run_id, "manifest.json", json.dumps(redact(manifest), indent=2).encode(),
                    None)
    for rel in result.artifacts:
        # committed.local_dir is the local copy of what was published (the final folder on local roots).
        if (committed.local_dir / rel).exists():
            run.log_artifact(committed.local_dir / rel, "outputs")
    log_lineage(run, stage_lineage(task.store, task.name, task.key, task.inputs, manifest))


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="milliseconds")
