"""Attempts of a stage: who writes a staging folder, whether that writer still lives, and its heartbeat.

Every staging folder (and, on object stores, every uploaded attempt folder) carries an ``_ATTEMPT``
file naming its owner: attempt id, host, process id and the process's start time. A writer is
*dead* when it ran on this host and its process is gone (or the pid now belongs to a newer
process); on another host liveness cannot be known, so the heartbeat decides: the owner touches
``_ATTEMPT`` every minute while the stage runs, and a folder untouched for longer than a grace
period is abandoned.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

ATTEMPT_FILE = "_ATTEMPT"
HEARTBEAT_S = 60.0


def new_attempt_id() -> str:
    """A unique, time-sortable attempt id: UTC time plus random hex."""
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def owner_record(attempt: str) -> dict[str, Any]:
    """What ``_ATTEMPT`` holds for an attempt run by this process."""
    pid = os.getpid()
    return {"attempt": attempt, "host": socket.gethostname(), "pid": pid, "pid_start": process_start(pid),
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def write_owner(folder: Path, attempt: str) -> None:
    (folder / ATTEMPT_FILE).write_text(json.dumps(owner_record(attempt), sort_keys=True))


def process_start(pid: int) -> str | None:
    """The start time of a running process in clock ticks since boot (field 22 of /proc/PID/stat).

    None when there is no such process, or it has exited and only its zombie is left (a killed
    Ray worker stays a zombie until its parent reaps it). With the pid it names one process: a
    recycled pid has a later start time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def owner_state(owner: dict[str, Any] | None) -> str:
    """``alive``, ``dead`` or ``unknown`` (another host, or no owner record)."""
    if not owner or owner.get("host") != socket.gethostname() or not isinstance(owner.get("pid"), int):
        return "unknown"
    if not Path("/proc/self/stat").exists():
        return "unknown"  # no /proc: liveness cannot be checked here
    start = process_start(owner["pid"])
    if start is None or (owner.get("pid_start") is not None and start != owner["pid_start"]):
        return "dead"
    return "alive"


class Heartbeat:
    """Touches a file every ``interval_s`` seconds from a daemon thread while the ``with`` block runs."""

    def __init__(self, path: Path, interval_s: float = HEARTBEAT_S):
        self.path = path
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat:{path.parent.name}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                os.utime(self.path)
            except OSError:
                return  # the folder was committed or removed: nothing left to keep alive

