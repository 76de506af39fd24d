"""How code running in Ray workers marks lines for the user's console (rendered by ``pipeline.console``).

Kept apart from the console itself: stage code imports this module, and every module a stage imports is
part of its cache key, so changing how the console looks must not re-run training.
"""
from __future__ import annotations

import json

MARK = "\x1e"  # starts a line a stage wants on the user's console
PROGRESS = "\x1e\x1d"  # starts a progress record: JSON {stage, done, total, unit, fields}


def emit_progress(stage: str, done: int, total: int | None, unit: str, **fields: float | str) -> None:
    """Print a progress record from a worker (the driver's console renders it)."""
    record = {"stage": stage, "done": done, "total": total, "unit": unit, "fields": fields}
    print(PROGRESS + json.dumps(record), flush=True)
