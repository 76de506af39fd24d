"""Start and stop the external processes engine tests need (a Ray head, an MLflow server).

`ray stop` would kill every Ray on the machine, the test session's own included, so a test
cluster is stopped by killing exactly the process trees whose command line names its temp dir
or ports.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry)] = (ppid, cmd)
    return table


def kill_matching(needles: list[str]) -> int:
    """SIGKILL every process whose command line contains a needle, with all its descendants."""
    table = _processes()
    roots = {pid for pid, (_, cmd) in table.items() if any(n in cmd for n in needles) and pid != os.getpid()}
    victims = set(roots)
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in table.items() if ppid in victims} - victims
        victims |= children
        grew = bool(children)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(victims)


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer (401 with token auth on) means the server is up
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")


def ray_token_env(folder: Path) -> dict[str, str]:
    """Token-auth variables for a test cluster: a fresh token in ``folder``, never ~/.ray.

    ``ray start`` with RAY_AUTH_MODE=token refuses to run without a token, and a fresh machine
    has none; a token of the test's own keeps the test independent of the developer's home."""
    path = Path(folder) / "ray_auth_token"
    path.write_text(secrets.token_hex(32))
    path.chmod(0o600)
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)}


class RayHead:
    """`ray start --head` on 127.0.0.1 with its own ports and temp dir, token auth on."""

    def __init__(self, env: dict[str, str]):
        # Ray's socket paths must fit in 107 bytes: pytest's tmp_path is too deep.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="rayt-", dir="/tmp"))
        self.gcs_port, self.dashboard_port, self.client_port, self.agent_port = (free_port() for _ in range(4))
        self.env = env
        self.address = f"http://127.0.0.1:{self.dashboard_port}"

    def start(self) -> None:
        cmd = ["ray", "start", "--head", "--node-ip-address=127.0.0.1", f"--port={self.gcs_port}",
               "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
               f"--ray-client-server-port={self.client_port}", f"--dashboard-agent-listen-port={self.agent_port}",
               f"--temp-dir={self.temp_dir}", "--num-cpus=2", "--disable-usage-stats"]
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        wait_http(f"{self.address}/api/version")

    def stop(self) -> None:
        kill_matching([str(self.temp_dir), f":{self.gcs_port}", f"--dashboard-port={self.dashboard_port}"])
        shutil.rmtree(self.temp_dir, ignore_errors=True)


class MlflowServer:
    """`mlflow server` on 127.0.0.1 with a SQLite backend in a temp folder."""

    # Where the server puts run artifacts: a root clients write to themselves (``file://`` URIs); subclasses
    # may have the server store and serve them.
    artifact_flag = "--default-artifact-root"

    def __init__(self, tmp: Path, python: str):
        self.port = free_port()
        self.root = tmp
        self.python = python
        self.uri = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = [self.python, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
               "--backend-store-uri", f"sqlite:///{self.root / 'server.db'}",
               self.artifact_flag, (self.root / "server-artifacts").as_uri(), "--workers", "1"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_http(f"{self.uri}/health", timeout_s=120)

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
