"""Placing files into the output folder: hard links (copies across file systems), merges, tallies."""
from __future__ import annotations

import filecmp
import os
import shutil
from pathlib import Path

from stages.dataset.errors import DataFileError


def link_or_copy(src: str | Path, dst: str | Path) -> None:
    """Hard-link ``src`` to ``dst`` (no extra space for big datasets); copy when linking is impossible
    (another file system, protected_hardlinks, link count limit)."""
    try:
        os.link(src, dst, follow_symlinks=True)
    except OSError:
        shutil.copy2(src, dst)


def place_file(src: Path, dest_dir: Path, name: str, source: str) -> None:
    """Put one plain file into ``dest_dir`` as ``name``; an identical file already there is fine,
    a different one is an error naming both sources."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    dst = dest_dir / name
    if dst.exists() or dst.is_symlink():
        if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
            return
        raise DataFileError(f"{source}: {dst} already exists with different content (from an earlier source)")
    link_or_copy(src, dst)


def link_tree(src: Path, dst: Path) -> None:
    """Reproduce the folder ``src`` at ``dst`` (which must not exist) with hard links or copies;
    symlinks inside ``src`` are followed."""
    shutil.copytree(src, dst, symlinks=False, copy_function=link_or_copy)


def merge_tree(src: Path, dst: Path, source: str) -> None:
    """Move the contents of ``src`` into ``dst``. Conflicts are found before anything moves: a file present
    in both with different content raises (naming ``source``); identical files are left as they are."""
    if not dst.exists():
        os.replace(src, dst)  # the first archive: a plain rename
        return
    moves: list[tuple[Path, Path]] = []
    _plan(src, dst, source, moves)
    for a, b in moves:
        os.replace(a, b)


def _plan(src: Path, dst: Path, source: str, moves: list[tuple[Path, Path]], rel: str = "") -> None:
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        member = f"{rel}{entry.name}"
        if not (target.exists() or target.is_symlink()):
            moves.append((entry, target))
        elif _real_dir(entry) and _real_dir(target):
            _plan(entry, target, source, moves, rel=f"{member}/")
        elif _real_file(entry) and _real_file(target) and filecmp.cmp(entry, target, shallow=False):
            continue
        else:
            raise DataFileError(f"{source}: member {member!r} conflicts with {target} from an earlier source")


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _real_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def count_tree(root: Path) -> tuple[int, int]:
    """(number of regular files, their total bytes) under ``root``; symlinks are not followed or counted."""
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if _real_file(path):
                files += 1
                total += path.stat().st_size
    return files, total
