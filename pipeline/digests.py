"""Content digests of local files and folders, backed by a stat-keyed cache so big folders hash once.

A file's sha256 is stored under its absolute path with the (size, mtime_ns, inode) it had when hashed.
Next time, a file whose stat still matches is not read again: a 100 GB dataset folder costs one stat per
file, not a re-hash, on every run. The cache is a small SQLite file, by default
``<project home>/.scenetext/digests.sqlite``; deleting it only costs time.

A file modified within ``RACY_WINDOW_S`` of being hashed is hashed but not cached: on file systems with
coarse timestamps a second write in the same tick could keep size and mtime and go unseen.
"""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

RACY_WINDOW_S = 2.0
_CHUNK = 1 << 20


def default_cache_path() -> Path:
    """Where the digest cache lives unless told otherwise."""
    from pipeline.paths import project_home

    return project_home() / ".scenetext" / "digests.sqlite"


class DigestCache:
    """sha256 of files and folders; ``hashed`` / ``reused`` count files read vs files answered by the cache."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self.hashed = 0
        self.reused = 0
        self._db: sqlite3.Connection | None = None

    def file_digest(self, path: Path | str) -> str:
        """sha256 hex of one file's bytes."""
        path = Path(path).absolute()
        return self._digests([(str(path), path.stat())], str(path))[str(path)]

    def tree_digest(self, folder: Path | str) -> str:
        """sha256 over every file under ``folder``: relative path and content digest, in sorted order.

        Symbolic links are followed (a dataset folder of links digests like the files it points at).
        """
        folder = Path(folder).absolute()
        entries = sorted(_walk(folder, "", set()))
        digests = self._digests([(str(folder / rel), st) for rel, st in entries], str(folder) + os.sep)
        total = hashlib.sha256()
        for rel, _ in entries:
            total.update(f"{rel}\0{digests[str(folder / rel)]}\n".encode())
        return total.hexdigest()

    def path_digest(self, path: Path | str) -> str:
        """``file_digest`` of a file, ``tree_digest`` of a folder."""
        return self.tree_digest(path) if Path(path).is_dir() else self.file_digest(path)

    def close(self) -> None:
        """Close the SQLite connection (a later call reopens it)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def _digests(self, files: list[tuple[str, os.stat_result]], prefix: str) -> dict[str, str]:
        db = self._connect()
        # One query for the whole folder: per-file lookups would cost a round trip each.
        known = {row[0]: row[1:] for row in db.execute(
            "SELECT path, size, mtime_ns, inode, sha256 FROM files WHERE path >= ? AND path <= ?",
            (prefix, prefix + "\uffff"))}
        out: dict[str, str] = {}
        fresh: list[tuple[str, int, int, int, str]] = []
        now = time.time_ns()
        for path, st in files:
            row = known.get(path)
            if row is not None and tuple(row[:3]) == (st.st_size, st.st_mtime_ns, st.st_ino):
                out[path] = row[3]
                self.reused += 1
                continue
            out[path] = _sha256(path)
            self.hashed += 1
            if now - st.st_mtime_ns > RACY_WINDOW_S * 1e9:
                fresh.append((path, st.st_size, st.st_mtime_ns, st.st_ino, out[path]))
        if fresh:
            with db:
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", fresh)
        return out

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, "
                             "mtime_ns INTEGER, inode INTEGER, sha256 TEXT)")
        return self._db


def _walk(folder: Path, rel: str, seen: set[tuple[int, int]]) -> list[tuple[str, os.stat_result]]:
    st = folder.stat()
    if (st.st_dev, st.st_ino) in seen:
        raise ValueError(f"{folder}: a symbolic link loops back to a folder above it")
    seen = seen | {(st.st_dev, st.st_ino)}
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir():
                out.extend(_walk(Path(entry.path), child, seen))
            elif entry.is_file():
                out.append((child, entry.stat()))
    return out


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
