"""Credentials never reach MLflow: the redaction rules, and a real run searched for its secrets."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from pipeline.redact import MASK, is_secret_name, redact, redact_argv, redact_text, redact_uri

ROOT = Path(__file__).resolve().parents[2]


def test_uri_userinfo_and_secret_query_parameters_are_masked():
    assert redact_uri("s3://AKIA:shh@host/b") == "s3://***@host/b"
    assert redact_uri("http://user:pass@mlflow:5000/x") == "http://***@mlflow:5000/x"
    assert redact_uri("s3://bucket/p?region=eu&access_key=AK&secret_key=SK") == "s3://bucket/p?region=eu&access_key=***&secret_key=***"
    assert redact_uri("https://h/f?X-Amz-Signature=abc&x=1") == "https://h/f?X-Amz-Signature=***&x=1"
    assert redact_uri("s3://bucket/prefix") == "s3://bucket/prefix"


def test_secret_names():
    for name in ("AWS_SECRET_ACCESS_KEY", "MY_KEY", "stages.x.some_token", "db_password", "access_key",
                 "secret_key", "--api-token", "api_key", "Authorization_Token"):
        assert is_secret_name(name), name
    # the engine's own cache_key and ordinary params stay readable
    for name in ("cache_key", "key", "stages.finetune.lr", "artifact_root", "sort_key", "message"):
        assert not is_secret_name(name), name


def test_structures_text_and_argv():
    config = {"artifact_root": "s3://AKIA:shh@host/b",
              "stages": {"x": {"type": "smoke", "labels": {"some_token": "t0k", "note": "fine"}, "urls": ["http://u:p@h/f"]}}}
    assert redact(config) == {"artifact_root": "s3://***@host/b",
                              "stages": {"x": {"type": "smoke", "labels": {"some_token": MASK, "note": "fine"},
                                               "urls": ["http://***@h/f"]}}}
    assert (redact_text("failed to open s3://AKIA:shh@host/b/x; MY_TOKEN=abc")
            == "failed to open s3://***@host/b/x; MY_TOKEN=***")
    argv = ["run.py", "--set", "artifact_root=s3://AKIA:shh@host/b", "--set", "stages.x.labels.some_token=t0k",
            "--api-token", "t1k", "--password=t2k", "--tracking-uri", "http://u:p@h:5000"]
    assert redact_argv(argv) == ["run.py", "--set", "artifact_root=s3://***@host/b",
                                 "--set", "stages.x.labels.some_token=***",
                                 "--api-token", MASK, "--password=***", "--tracking-uri", "http://***@h:5000"]


SECRETS = ("AKIA", "shh", "t0k3nvalue", "hunter2")


@pytest.mark.slow  # a CLI run starts its own Ray: about a minute on 2 shared cores
def test_a_real_run_logs_no_secret_anywhere(tmp_path):
    """A run through the CLI (so the `command` tag is the real argv) with secrets in --set values:
    no MLflow tag, param or artifact of any of its runs holds one."""
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"name": "redact", "artifact_root": str(tmp_path / "artifacts"),
                                      "ray": {"num_cpus": 1}, "stages": {"x": {"type": "smoke"}}}))
    db = tmp_path / "mlruns.db"
    cmd = [sys.executable, "pipeline/run.py", "--config", str(config), "--tracking-uri", f"sqlite:///{db}",
           "--set", "stages.x.message=s3://AKIA:shh@host/b",
           "--set", "stages.x.labels.some_token=t0k3nvalue",
           "--set", "stages.x.labels.endpoint=http://bob:hunter2@127.0.0.1:9/x?access_key=AKIA"]
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    # every string the SQLite store holds: tags, params, run names, dataset sources, ...
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        stored = "\n".join(str(row) for t in tables for row in con.execute(f"SELECT * FROM {t}"))
    client = MlflowClient(f"sqlite:///{db}")
    runs = client.search_runs([client.get_experiment_by_name("redact").experiment_id])
    assert len(runs) == 2
    logged = []
    for run in runs:
        root = Path(run.info.artifact_uri.removeprefix("file://"))
        logged += [(p, p.read_text(errors="replace")) for p in root.rglob("*") if p.is_file()]
    names = sorted(p.name for p, _ in logged)
    assert "config.yaml" in names and "manifest.json" in names
    for secret in SECRETS:
        assert secret not in stored, f"{secret!r} is in the MLflow store"
        for path, text in logged:
            assert secret not in text, f"{secret!r} is in the logged artifact {path}"
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert "stages.x.labels.some_token=***" in parent.data.tags["command"]
    child = next(r for r in runs if "mlflow.parentRunId" in r.data.tags)
    assert child.data.params["labels.some_token"] == MASK
    assert child.data.params["message"] == "s3://***@host/b"
    # the output on disk is the stage's own data and stays as the user gave it
    manifest = next((tmp_path / "artifacts" / "x").glob("*/manifest.json")).read_text()
    assert "t0k3nvalue" in manifest
