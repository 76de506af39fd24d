"""What a user sees while a pipeline runs, and the log file that keeps everything else.

The console shows one line per stage event (started, done, cache hit, failed) with its key and
duration, the lines stages log on purpose, a live progress line for long stages (training steps,
images converted) and warnings. Everything else the run prints (Ray's own messages, worker output,
MLflow's database set-up, Ray Train's controller chatter) goes to the run's log file,
``<project home>/logs/<config name>-<time>.log``, whose path is printed at the start.

Stage code running in Ray workers marks the lines meant for the user (``pipeline.progress``): ``MARK``
starts a plain line, ``PROGRESS`` a JSON progress record. Ray forwards worker output to the driver;
``route_worker_logs`` replaces Ray's printer with ``Console.worker_lines``, which writes every line to
the log file and shows only the marked ones.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, TextIO

from pipeline.progress import MARK, PROGRESS

_PLAIN_PROGRESS_EVERY_S = 15.0  # without a terminal, progress is printed as lines this often per stage


class Console:
    """The driver's view of a run: the user's stream and the run's log file."""

    def __init__(self, log_path: Path, stream: TextIO | None = None):
        self.log_path = log_path
        self._file: TextIO | None = None  # opened on the first line: a run that fails its config leaves no file
        self.stream = stream or sys.stderr
        self._live = self.stream.isatty()
        self._lock = threading.Lock()
        self._progress_line = False  # a live progress line is on screen (tty only)
        self._first: dict[str, tuple[float, int]] = {}  # stage -> (time, done) of its first record
        self._shown_at: dict[str, float] = {}
        self._last_done: dict[str, int] = {}

    def close(self) -> None:
        with self._lock:
            self._clear_progress()
            if self._file is not None:
                self._file.close()

    def log(self, line: str) -> None:
        """A line for the log file only."""
        with self._lock:
            self._write(line)

    def show(self, line: str) -> None:
        """A line for the user (and the log file)."""
        with self._lock:
            self._write(line)
            self._clear_progress()
            print(line, file=self.stream, flush=True)

    def _write(self, line: str) -> None:
        if self._file is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.log_path, "a", encoding="utf-8")
        self._file.write(line.rstrip("\n") + "\n")
        self._file.flush()

    def worker_lines(self, data: dict[str, Any]) -> None:
        """Ray's log batch from one worker: everything to the file, marked lines to the user."""
        source = data.get("actor_name") or data.get("task_name") or "worker"
        for line in data.get("lines", []):
            if line.startswith(PROGRESS):
                self._progress(line[len(PROGRESS):])
            elif line.startswith(MARK):
                self.show(line[len(MARK):])
            else:
                self.log(f"({source} pid={data.get('pid')}) {line}")

    def _progress(self, payload: str) -> None:
        try:
            record = json.loads(payload)
        except json.JSONDecodeError:
            self.log(f"unreadable progress record: {payload!r}")
            return
        stage = record["stage"]
        if self._last_done.get(stage) == record["done"]:
            return  # Ray can forward a Ray Train worker's line twice
        self._last_done[stage] = record["done"]
        text = self._progress_text(record)
        self.log(text)
        now = time.monotonic()
        with self._lock:
            if self._live:
                self.stream.write("\r\x1b[2K" + text)
                self.stream.flush()
                self._progress_line = True
            elif (now - self._shown_at.get(stage, float("-inf")) >= _PLAIN_PROGRESS_EVERY_S
                  or record["done"] == record["total"]):
                print(text, file=self.stream, flush=True)
                self._shown_at[stage] = now

    def _progress_text(self, record: dict[str, Any]) -> str:
        stage, done, total, unit = record["stage"], record["done"], record["total"], record["unit"]
        first_t, first_done = self._first.setdefault(stage, (time.monotonic(), done))
        fields = " ".join(f"{k} {_short(v)}" for k, v in record.get("fields", {}).items())
        text = f"{time.strftime('%H:%M:%S')} [{stage}] {unit} {done}" + (f"/{total}" if total else "")
        elapsed, advanced = time.monotonic() - first_t, done - first_done
        if total and advanced > 0 and elapsed > 0:
            text += f"  ETA {_duration((total - done) * elapsed / advanced)}"
        return f"{text}  {fields}".rstrip()

    def _clear_progress(self) -> None:
        if self._progress_line:
            self.stream.write("\r\x1b[2K")
            self._progress_line = False


class ConsoleHandler(logging.Handler):
    """Driver-side logging: the pipeline's own loggers to the user, everything else to the file."""

    def __init__(self, console: Console):
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a broken log call must not break the run
            self.handleError(record)
            return
        ours = record.name == "pipeline" or record.name.startswith(("pipeline.", "stage."))
        if ours:
            self.console.show(line)
        else:
            self.console.log(line)


@contextmanager
def route_worker_logs(console: Console) -> Iterator[None]:
    """Within the block, worker output Ray forwards to this driver goes through ``console``.

    Uses Ray's dispatcher of forwarded worker output (``ray._private.ray_logging``); if a Ray
    version lacks it, Ray's own printer stays in place and only the log file misses those lines.
    """
    try:
        from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
    except ImportError:
        yield
        return
    saved = [pair for pair in dispatcher.handlers if pair[0] == "ray_print_logs"]
    dispatcher.remove_handler("ray_print_logs")
    dispatcher.add_handler("scenetext_console", console.worker_lines)
    try:
        yield
    finally:
        dispatcher.remove_handler("scenetext_console")
        for name, handler in saved:
            dispatcher.add_handler(name, handler)


@contextmanager
def driver_logging(console: Console) -> Iterator[None]:
    """Within the block, the root logger writes through ``console`` (replacing its other handlers), and
    Ray's logger, which has a printer of its own and does not propagate, passes its records to it."""
    handler = ConsoleHandler(console)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", "%H:%M:%S"))
    root, ray_logger = logging.getLogger(), logging.getLogger("ray")
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in (root, ray_logger)]
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    ray_logger.handlers, ray_logger.propagate = [], True
    ray_logger.setLevel(logging.INFO)  # Ray's INFO lines only reach the log file
    try:
        yield
    finally:
        for lg, handlers, level, propagate in saved:
            lg.handlers, lg.level, lg.propagate = handlers, level, propagate


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
