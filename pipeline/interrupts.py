"""Ctrl-C and SIGTERM end a pipeline run cleanly.

The driver's handler only records the first SIGINT or SIGTERM in a ``StopFlag``: raising from a
signal handler would surface inside Ray's compiled ``ray.wait`` as a SystemError. The executor polls
the flag between short waits and raises ``Interrupted`` from its own loop; it then cancels the
stages in flight, removes their staging folders and ends their MLflow runs KILLED; the runner ends
the parent run KILLED and the CLI stops the local Ray it started and exits 130 (SIGINT) or 143
(SIGTERM). Further signals during that clean-up (a second Ctrl-C) are reported and otherwise
ignored, so the clean-up itself is never cut short; it is bounded in time.

The handlers are installed explicitly rather than relying on Python's default SIGINT handler: a
process started in the background by a non-interactive shell inherits SIGINT as *ignored*, and a
SIGTERM (as ``ray job stop``, ``kill`` and schedulers send) would otherwise end the driver without
any clean-up.
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(BaseException):
    """The run was interrupted by a signal. A BaseException, like KeyboardInterrupt, so that the
    ``except Exception`` blocks on the way up do not swallow it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, 128 + self.signum)


class StopFlag:
    """Set by the signal handler; ``check`` raises ``Interrupted`` once it is set."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextmanager
def interrupt_handlers() -> Iterator[StopFlag]:
    """Within the block, SIGINT/SIGTERM set the yielded flag; a repeated signal is only reported."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed from the main thread (e.g. under a test runner's thread)
        return

    def handler(signum: int, frame: object) -> None:
        if flag.signum is not None:
            print(f"\n{signal.Signals(signum).name} again: still stopping the stages in flight (a few seconds)",
                  file=sys.stderr, flush=True)
            return
        flag.signum = signum

    previous = {sig: signal.signal(sig, handler) for sig in EXIT_CODES}
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
