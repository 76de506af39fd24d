"""Lineage of a stage's MLflow run: the datasets it read and wrote, and the models it started from.

An input is logged by what its producer said it is: a dataset output (the producer's manifest lists
it under ``datasets``) becomes an MLflow dataset input with its source URI, profile, schema and the
producing stage and run as tags; a model output the producer logged as an MLflow model
(``extra.mlflow_models``) becomes a model input; anything else (a report) is neither, and shows only
as the run's ``input.<name>`` param.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.artifacts import ArtifactStore
from pipeline.tracking import RunLogger


@dataclass
class Lineage:
    datasets: list[dict[str, Any]] = field(default_factory=list)
    model_ids: list[str] = field(default_factory=list)


def stage_lineage(store: ArtifactStore, name: str, key: str, inputs: dict[str, tuple[str, str, str]],
                  manifest: dict[str, Any]) -> Lineage:
    """What stage ``name`` (its output ``manifest``) read through ``inputs`` (input name -> upstream
    stage, key, output) and wrote."""
    found = Lineage()
    for upstream_stage, upstream_key, output in inputs.values():
        upstream = store.read_manifest(upstream_stage, upstream_key)
        model_id = upstream.get("extra", {}).get("mlflow_models", {}).get(output)
        if model_id:
            found.model_ids.append(model_id)
        elif output in upstream.get("datasets", []):
            found.datasets.append(_entry(store, upstream_stage, upstream_key, output, upstream, "input"))
    for output in manifest.get("datasets", []):
        found.datasets.append(_entry(store, name, key, output, manifest, "output"))
    return found


def _entry(store: ArtifactStore, stage: str, key: str, output: str, manifest: dict[str, Any],
           context: str) -> dict[str, Any]:
    out = manifest["outputs"][output]
    return {"name": f"{stage}.{output}", "digest": out["digest"],
            "uri": f"{store.content_uri(stage, key)}/{out['path']}", "context": context,
            "profile": out.get("profile"), "schema": out.get("schema"),
            "tags": {"producer.stage": stage, "producer.run_id": manifest.get("run_id") or "none"}}


def log_lineage(run: RunLogger, lineage: Lineage) -> None:
    """Log ``lineage`` on ``run`` (model inputs this store does not hold are left out)."""
    run.log_datasets(lineage.datasets)
    run.log_model_inputs(lineage.model_ids)
