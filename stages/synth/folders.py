"""Files of a user-configured folder (fonts, backgrounds): sorted, so a seed gives the same choice."""
from __future__ import annotations

from pathlib import Path
from typing import Collection


def configured_files(folder: str | Path, suffixes: Collection[str], key: str, what: str) -> list[str]:
    """Sorted paths (as strings) under ``folder`` whose suffix is one of ``suffixes``.

    A missing folder or one without such files is an error naming the config ``key``: a typo should not
    silently fall back to a default. ``what`` says what was looked for, in that error.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{key} {root}: no such folder")
    found = sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in suffixes)
    if not found:
        raise FileNotFoundError(f"{key} {root}: no {what}")
    return found
