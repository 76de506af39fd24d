"""Names read from data files are untrusted: the one check that joins such a name with a folder.

An annotation file (COCO ``file_name``, a list line, an SVT ``imageName``, a MATLAB ``imnames`` entry) is
input from whoever made the dataset. Joined blindly with the image folder, ``../x.jpg`` or ``/etc/x`` would
make the convert stage read, and write into its output, files outside the dataset. So a name is refused when

- it is empty, holds a NUL, or is absolute (``/x``, ``\\x``, ``C:x``);
- one of its segments (split on ``/`` and ``\\``) is ``..``;
- the joined path resolves (symbolic links followed) outside the folder.

Refusals raise ``UnsafePath``; parsers turn it into a skip with reason ``unsafe_path``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

UNSAFE_PATH = "unsafe_path"  # the skip reason every caller uses
_DRIVE = re.compile(r"^[A-Za-z]:")


class UnsafePath(ValueError):
    """A name from a data file that would reach outside its folder; the message says why."""

    def __init__(self, name: object, why: str):
        super().__init__(f"unsafe path {name!r}: {why}")
        self.name = name
        self.why = why


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a relative path inside a folder, judged from the text alone; None when it can."""
    if not isinstance(name, str) or not name:
        return "not a non-empty string"
    if "\x00" in name:
        return "holds a NUL character"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "'..' segment"
    return None


class SafeJoiner:
    """``safe_join`` for many names under one folder: the folder's and each subfolder's resolved paths are
    cached, so a name costs one ``lstat`` of its file (lists of millions of word images go through here)."""

    def __init__(self, root: Path | str):
        self.root = os.fspath(root)
        self._real_root = os.path.realpath(self.root)
        self._inside: dict[str, bool] = {}  # subfolder (as written) -> whether it resolves inside the root

    def join(self, name: str) -> str:
        """``root/name`` as a string; UnsafePath when the name is refused (see the module doc)."""
        why = name_problem(name)
        if why is not None:
            raise UnsafePath(name, why)
        path = os.path.join(self.root, name)
        folder = os.path.dirname(name)
        inside = self._inside.get(folder)
        if inside is None:
            inside = self._inside[folder] = self._contains(os.path.join(self.root, folder))
        if not inside or (os.path.islink(path) and not self._contains(path)):
            raise UnsafePath(name, f"resolves outside {self.root}")
        return path

    def _contains(self, path: str) -> bool:
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(os.path.join(self._real_root, ""))


def safe_join(root: Path | str, name: str) -> Path:
    """``root / name`` for a ``name`` read from a data file; UnsafePath when it is absolute, has a ``..``
    segment or resolves (symbolic links followed) outside ``root``."""
    return Path(SafeJoiner(root).join(name))


def is_inside(root: Path | str, path: Path | str) -> bool:
    """Whether ``path`` resolves (symbolic links followed) to ``root`` or somewhere below it."""
    return SafeJoiner(root)._contains(os.fspath(path))
