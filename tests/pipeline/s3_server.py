"""A real S3-compatible server for tests: moto's standalone server on 127.0.0.1, one bucket.

Import the ``s3_root`` fixture into a test module to use it. The AWS variables it sets are fake
and local to the test; Ray workers of the session's local Ray get the same fake values from
``tests/conftest.py`` (workers do not see later changes of the driver's environment).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests.pipeline.processes import free_port, wait_http

FAKE_AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"}
BUCKET = "scenetext-test"


class S3Server:
    """``moto_server`` (installed next to the test interpreter) on a free port."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "moto.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = Path(sys.executable).with_name("moto_server")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log,
                                         stderr=subprocess.STDOUT)
        wait_http(f"{self.endpoint}/moto-api/", timeout_s=60)

    def filesystem(self, create_buckets: bool = False) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1",
                                 endpoint_override=self.endpoint, scheme="http", allow_bucket_creation=create_buckets)

    def root(self, prefix: str) -> str:
        """An artifact root in the test bucket, endpoint in the URI as pyarrow spells it."""
        return f"s3://{BUCKET}/{prefix}?endpoint_override={self.endpoint}&scheme=http"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def s3(tmp_path, monkeypatch):
    """A running S3 server with bucket ``scenetext-test`` and fake credentials in the environment."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    server = S3Server(tmp_path)
    server.start()
    try:
        server.filesystem(create_buckets=True).create_dir(BUCKET)
        yield server
    finally:
        server.stop()
