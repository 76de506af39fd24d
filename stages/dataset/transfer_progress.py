"""Download progress: a one-line bar on an interactive terminal, periodic log lines otherwise."""
from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

BAR_INTERVAL_S = 0.2  # redraw rate of the terminal bar
LOG_INTERVAL_S = 10.0  # one log line this often when stderr is not a terminal (Ray logs, CI)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


class Progress:
    """Tracks bytes of one transfer. ``update(done)`` takes the running total, resume offset included."""

    def __init__(
        self, label: str, total: int | None, logger: logging.Logger, stream: TextIO | None = None, initial: int = 0
    ):
        self.label = label
        self.initial = initial  # bytes already on disk before this transfer (a resume); excluded from the rate
        self.total = total
        self.logger = logger
        self.stream = stream if stream is not None else sys.stderr
        self.is_tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def update(self, done: int) -> None:
        """Report ``done`` bytes so far; draws or logs at most every interval."""
        now = time.monotonic()
        if now - self.last < (BAR_INTERVAL_S if self.is_tty else LOG_INTERVAL_S):
            return
        self.last = now
        if self.is_tty:
            self.stream.write("\r" + self._line(done, bar=True))
            self.stream.flush()
            self.drawn = True
        else:
            self.logger.info("%s", self._line(done, bar=False))

    def finish(self, done: int) -> None:
        """End the bar line and log one summary line."""
        if self.drawn:
            self.stream.write("\r" + self._line(done, bar=True) + "\n")
            self.stream.flush()
        secs = max(time.monotonic() - self.start, 1e-6)
        self.logger.info("%s: %s fetched in %.1f s", self.label, _mib(done - self.initial), secs)

    def _line(self, done: int, bar: bool) -> str:
        secs = max(time.monotonic() - self.start, 1e-6)
        rate = f"{_mib(int((done - self.initial) / secs))}/s"
        if not self.total:
            return f"{self.label}: {_mib(done)} {rate}"
        frac = min(done / self.total, 1.0)
        text = f"{self.label}: {frac:6.1%} {_mib(done)}/{_mib(self.total)} {rate}"
        if bar:
            width = 30
            fill = int(frac * width)
            text = f"[{'#' * fill}{'.' * (width - fill)}] " + text
        return text
