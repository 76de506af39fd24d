"""Shared fixtures: the project on sys.path, real data from ../shared/data, one local Ray per session."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = ROOT / "tests" / "fixtures"

os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Tests never write into the checkout: the project home (run logs, the digest cache, default stores)
# is a temp folder for the whole session, whatever the developer's own SCENETEXT_HOME says.
os.environ["SCENETEXT_HOME"] = tempfile.mkdtemp(prefix="scenetext-test-home-")
os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = os.path.join(os.environ["SCENETEXT_HOME"], "hypothesis")


# Stage tasks of S3-root tests (tests/pipeline/s3_server.py) need credentials; workers never see the
# driver's later environment changes, so they get these fake, local-only values from the start.
_FAKE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_EC2_METADATA_DISABLED": "true"}


_FIXTURE_RAY: dict[str, str] = {}  # the GCS address of the Ray this fixture started


@pytest.fixture
def ray_local():
    """One local Ray for the tests that need it (starting Ray costs seconds), started once and reused.

    Checked before every test: an in-process CLI run (tests/pipeline/test_cli.py) shuts Ray down when it
    ends, and a pipeline run without this fixture starts a Ray of its own (2 CPUs, no fake credentials);
    either way the next test gets this fixture's Ray again, not whatever is left."""
    import ray

    if ray.is_initialized() and ray.get_runtime_context().gcs_address != _FIXTURE_RAY.get("gcs"):
        ray.shutdown()
    if not ray.is_initialized():
        # 4 logical CPUs on 2 cores: the worker pool (sized by CPUs) must hold the MLflow sink actor
        # plus two concurrent stages, or "independent stages overlap" depends on luck.
        ray.init(num_cpus=4, include_dashboard=False, logging_level="WARNING", _node_ip_address="127.0.0.1",
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), **_FAKE_AWS_ENV}})
        _FIXTURE_RAY["gcs"] = ray.get_runtime_context().gcs_address
    yield ray
