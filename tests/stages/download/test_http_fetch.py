"""fetch(): resume edge cases, giving up, and TLS verification (a self-signed server is refused, not retried)."""
from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import time

import pytest

from stages.dataset.http_fetch import RetryPolicy, fetch
from stages.download.errors import DownloadError
from tests.stages.download.fileserver import serving

LOG = logging.getLogger("test.download")


def test_a_complete_part_file_answered_416_is_accepted(server, tmp_path):
    data = b"0123456789" * 100
    url = server.serve("/f.bin", data)
    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(data)  # an earlier run died before the rename
    fetch(url, dest, RetryPolicy(retries=0), LOG)
    assert dest.read_bytes() == data and not (tmp_path / "f.bin.part").exists()
    assert server.state.requests[0][1]["Range"] == f"bytes={len(data)}-"


def test_a_part_longer_than_the_file_restarts_from_zero(server, tmp_path):
    data = b"abc" * 50
    url = server.serve("/f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(b"x" * 500)  # stale, from another version of the file
    fetch(url, tmp_path / "f.bin", RetryPolicy(retries=1, backoff_s=0.01), LOG)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert "Range" in server.state.requests[0][1] and "Range" not in server.state.requests[1][1]


def test_gives_up_after_the_configured_attempts_with_exponential_backoff(server, tmp_path):
    url = server.serve("/busy", b"x")
    server.state.fail_status["/busy"] = [503] * 10
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"giving up after 3 attempt\(s\); last error: HTTP 503"):
        fetch(url, tmp_path / "busy", RetryPolicy(retries=2, backoff_s=0.05), LOG)
    assert server.state.count() == 3
    assert time.monotonic() - start >= 0.05 + 0.1  # waited 0.05 s, then 0.1 s
    assert not (tmp_path / "busy").exists()


def test_retry_policy_doubles_and_caps():
    policy = RetryPolicy(retries=10, backoff_s=2.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 7)] == [2.0, 4.0, 8.0, 16.0, 60.0]


def test_connection_refused_is_retried_then_reported(tmp_path):
    with serving() as srv:
        url = srv.base + "/gone"
    with pytest.raises(DownloadError, match="giving up after 2 attempt"):
        fetch(url, tmp_path / "gone", RetryPolicy(retries=1, backoff_s=0.01, timeout_s=2), LOG)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI to make a test certificate")
def test_https_with_an_untrusted_certificate_is_refused_and_not_retried(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serving(tls) as srv:
        url = srv.serve("/secret.zip", b"data")
        with pytest.raises(DownloadError, match="TLS certificate verification failed"):
            fetch(url, tmp_path / "secret.zip", RetryPolicy(retries=3, backoff_s=5.0), LOG)
        assert srv.state.count() == 0  # the handshake failed: no request was ever sent
    assert not (tmp_path / "secret.zip").exists()
