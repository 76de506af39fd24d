"""The engine against real external services: `ray job submit` to a `ray start` head, and an MLflow server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.pipeline.engine_helpers import Project
from tests.pipeline.processes import MlflowServer, RayHead, ray_token_env

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = str(Path(sys.executable).parent)


def cluster_env(token_dir: Path) -> dict[str, str]:
    """Token authentication stays on: start, submit and list use the same mode and the test's own token."""
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
    return {**env, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "RAY_USAGE_STATS_ENABLED": "0",
            **ray_token_env(token_dir)}


@pytest.mark.slow
def test_ray_job_submit_runs_the_dag_and_tracks_it(tmp_path):
    env = cluster_env(tmp_path)
    head = RayHead(env)
    head.start()
    try:
        tracking_uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
        cmd = ["ray", "job", "submit", "--address", head.address, "--working-dir", ".", "--",
               "python", "pipeline/run.py", "--config", "configs/smoke.yaml",
               "--set", f"artifact_root={tmp_path / 'artifacts'}", "--tracking-uri", tracking_uri]
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "succeeded" in done.stdout + done.stderr
        listing = subprocess.run(["ray", "job", "list", "--address", head.address], env=env,
                                 capture_output=True, text=True, timeout=60)
        assert "SUCCEEDED" in listing.stdout
    finally:
        head.stop()
    client = MlflowClient(tracking_uri)
    runs = client.search_runs(client.get_experiment_by_name("smoke").experiment_id)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(r.data.tags["stage"] for r in children) == ["a", "b", "c", "d"]
    assert parents[0].data.tags["ray_address"].endswith(str(head.gcs_port))
    # The upload excluded what .gitignore names (virtualenv, outputs): the job saw the project only.
    manifest = json.loads(next((tmp_path / "artifacts" / "d").glob("*/manifest.json")).read_text())
    assert manifest["outputs"]["data"]["files"] == 1


@pytest.mark.slow
def test_tracking_server_receives_every_stage_metric(tmp_path, ray_local):
    server = MlflowServer(tmp_path, sys.executable)
    server.start()
    try:
        stages = {f"s{i}": {"type": "smoke", "message": str(i), "sleep_s": 0.5} for i in range(4)}
        project = Project(tmp_path, stages)
        project.tracking_uri = server.uri
        report = project.run()
        children = project.child_runs(report.parent_run_id)
    finally:
        server.stop()
    assert sorted(children) == ["s0", "s1", "s2", "s3"]
    for run in children.values():
        assert run.data.metrics["inputs"] == 0.0 and "duration_s" in run.data.metrics
        assert run.info.status == "FINISHED"
