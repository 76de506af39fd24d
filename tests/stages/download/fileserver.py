"""A real HTTP(S) file server on 127.0.0.1 for the download tests: Range support, a request log, fault injection."""
from __future__ import annotations

import contextlib
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import urlsplit


@dataclass
class ServerState:
    """What the server serves and how it misbehaves; ``requests`` logs (path, headers) of every GET."""

    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    cut_once: set[str] = field(default_factory=set)  # paths whose next response is cut mid-body
    ignore_range: bool = False  # answer 200 with the whole file even when Range is sent
    fail_status: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to answer first, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str | None = None) -> int:
        """Number of GETs received (for one path, or all)."""
        return sum(1 for p, _ in self.requests if path is None or urlsplit(p).path == path)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def do_GET(self):
        state: ServerState = self.server.state
        path = urlsplit(self.path).path
        with state.lock:
            state.requests.append((self.path, dict(self.headers.items())))
            queued = state.fail_status.get(path)
            forced = queued.pop(0) if queued else None
            cut = path in state.cut_once
            state.cut_once.discard(path)
        body = state.files.get(path)
        if forced is not None or body is None:
            self._send_status(forced or 404)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not state.ignore_range:
            start = int(match.group(1))
            if start >= len(body):
                self._send_status(416, {"Content-Range": f"bytes */{len(body)}"})
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if cut:  # promise the full length, send half, hang up
            self.wfile.write(payload[: len(payload) // 2])
            self.close_connection = True
            return
        self.wfile.write(payload)

    def _send_status(self, code: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


@dataclass
class FileServer:
    state: ServerState
    base: str  # http://127.0.0.1:PORT

    def serve(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path``; returns its full URL."""
        self.state.files[path] = data
        return self.base + path


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None = None) -> Iterator[FileServer]:
    """Run a ThreadingHTTPServer on 127.0.0.1 (ephemeral port) in a thread; HTTPS when ``tls`` is given."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = ServerState()
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield FileServer(httpd.state, f"{scheme}://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
