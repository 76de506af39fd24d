"""The evaluate stage in the real engine: synth test split upstream, the checkpoint given as an MLflow
``runs:/`` URI (resolved in the Ray worker against the pipeline's own store), MLflow records checked."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pipeline.engine_helpers import Project
from tests.stages.evaluate.evalsets import save_tiny_checkpoint

SYNTH = {"type": "synth", "splits": {"test": 3}, "image_size": [96, 64], "instances_per_image": [1, 2],
         "font_size": [12, 20], "crops": False, "image_format": "png"}


@pytest.mark.slow
def test_engine_runs_evaluate_on_a_synth_split_and_records_it(tmp_path, ray_local):
    project = Project(tmp_path, {"synth": SYNTH})
    client = project.client()
    experiment = client.create_experiment("models", artifact_location=(tmp_path / "mlartifacts").as_uri())
    source = client.create_run(experiment).info.run_id
    client.log_artifacts(source, str(save_tiny_checkpoint(tmp_path / "model")), "detector")
    evaluate = {"type": "evaluate", "inputs": {"synthtest": "synth.test"}, "model_uri": f"runs:/{source}/detector",
                "image_size": 96, "batch_size": 2, "num_render": 1, "thresholds": [0.3, 0.6]}
    project = Project(tmp_path, {"synth": SYNTH, "evaluate": evaluate})
    report = project.run()
    assert report.count("done") == 2
    manifest = project.manifest(report, "evaluate")
    assert manifest["outputs"]["report"]["path"] == "report"
    assert 0.0 <= manifest["metrics"]["test/synthtest.hmean"] <= 1.0
    out = project.complete_dirs("evaluate")[0] / "report"
    assert (out / "synthtest" / "submission.zip").is_file() and (out / "metrics.json").is_file()

    run = project.child_runs(report.parent_run_id)["evaluate"]
    metrics = run.data.metrics
    for key in ("hmean", "precision", "recall", "best_hmean", "best_threshold"):
        assert 0.0 <= metrics[f"test/synthtest.{key}"] <= 1.0
    assert metrics["test/synthtest.hmean"] == manifest["metrics"]["test/synthtest.hmean"]
    # one name per value: the stage's metrics under test/, no flat copies, no step-encoded sweep
    assert {k for k in metrics if k.startswith("test/")} == {
        f"test/synthtest.{k}" for k in ("hmean", "precision", "recall", "best_hmean", "best_threshold")}
    assert [k for k in metrics if k.startswith("synthtest.") or ".sweep." in k] == []
    # the threshold sweep is a table artifact (one row per threshold), not metric steps
    table = json.loads(Path(client.download_artifacts(run.info.run_id, "report/sweep_synthtest.json")).read_text())
    assert [row[0] for row in table["data"]] == [0.3, 0.6] and table["columns"][0] == "threshold"
    images = {f.path for f in client.list_artifacts(run.info.run_id, "images")}
    assert any(p.startswith("images/samples~synthtest.") and p.endswith(".png") for p in images), images
    top = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"outputs", "report"} <= top
    assert {f.path for f in client.list_artifacts(run.info.run_id, "outputs")} >= {
        "outputs/metrics.json", "outputs/per_image.csv"}
    logged = {f.path for f in client.list_artifacts(run.info.run_id, "report/synthtest")}
    assert {"report/synthtest/breakdown.png", "report/synthtest/submission.zip", "report/synthtest/samples"} <= logged
