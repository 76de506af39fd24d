"""Stages a config switches off: ``enabled: false``, and every stage that needs one of them.

A recipe can carry an optional branch (e.g. adapting to a folder of the user's photos) that runs only when
the user turns it on: ``--set stages.photos.enabled=true --set stages.photos.path=~/photos``. A disabled
stage is left out before validation (its params may be incomplete until the user fills them in), and so is
every stage with an input from a left-out stage, transitively; the run prints what was left out and why.
"""
from __future__ import annotations

from typing import Any


def drop_disabled(stages: dict[str, Any]) -> dict[str, str]:
    """Remove disabled stages and their dependants from ``stages`` (raw config entries, edited in place);
    returns {left-out stage: reason}. A non-boolean ``enabled`` raises naming the stage."""
    dropped: dict[str, str] = {}
    for name, entry in stages.items():
        if not isinstance(entry, dict) or "enabled" not in entry:
            continue
        flag = entry.pop("enabled")
        if not isinstance(flag, bool):
            raise ValueError(f"stages.{name}.enabled: expected true or false, got {flag!r}")
        if not flag:
            dropped[name] = "enabled: false"
    changed = bool(dropped)
    while changed:  # a stage needing a left-out one is left out too
        changed = False
        for name, entry in stages.items():
            if name in dropped or not isinstance(entry, dict):
                continue
            needs = _first_dropped(entry.get("inputs"), dropped)
            if needs is not None:
                dropped[name] = f"needs {needs}"
                changed = True
    for name in dropped:
        del stages[name]
    return dropped


def _first_dropped(inputs: Any, dropped: dict[str, str]) -> str | None:
    if not isinstance(inputs, dict):
        return None
    for ref in inputs.values():
        stage = str(ref).split(".", 1)[0]
        if stage in dropped:
            return stage
    return None
