"""Typed params of the ``smoke`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

from pydantic import Field

from pipeline.stage import StageParams


class SmokeParams(StageParams):
    message: str = "ok"
    sleep_s: float = 0.0
    fail: bool = False
    fail_once_marker: str | None = None  # fail unless this file exists, then create it
    kill: bool = False  # SIGKILL the worker after writing half the output
    work_cpus: float = 0.0  # > 0: sleep in a Ray task reserving this many CPUs
    # free-form name -> value pairs, kept in the manifest's `extra`: lets a test pass any named value
    # through config, params and manifest (e.g. a credential-looking one, to check redaction)
    labels: dict[str, str] = Field(default_factory=dict)
