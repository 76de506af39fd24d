"""Where files come from: mirror rewriting of URLs, the download cache layout, local paths."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

from stages.download.errors import DownloadError

try:  # POSIX only; without it two concurrent runs could write the same .part file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def resolve_mirror(param: str | None) -> str | None:
    """The mirror base URL: the ``mirror`` param, else env DATA_MIRROR, else None."""
    mirror = param or os.environ.get("DATA_MIRROR") or None
    if mirror and urlsplit(mirror).scheme not in ("http", "https"):
        raise DownloadError(f"DATA_MIRROR={mirror!r}: a mirror must be an http:// or https:// base URL")
    return mirror


def apply_mirror(url: str, mirror: str | None) -> str:
    """Replace the scheme and host of ``url`` by the mirror's; a path in the mirror is prefixed.

    ``apply_mirror("https://host/a/b.zip?x=1", "http://m:8080/pub")`` -> ``"http://m:8080/pub/a/b.zip?x=1"``.
    """
    if not mirror:
        return url
    base, parts = urlsplit(mirror), urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))


def resolve_cache_dir(param: str | None) -> Path:
    """The download cache: ``cache_dir`` param, else env SCENETEXT_CACHE, else ~/.cache/scenetext/downloads."""
    raw = param or os.environ.get("SCENETEXT_CACHE") or "~/.cache/scenetext/downloads"
    return Path(os.path.expandvars(raw)).expanduser().resolve()


def cache_entry(cache_dir: Path, digests: dict[str, str], filename: str) -> Path:
    """The cached file for these checksums: ``<cache_dir>/<algo>-<hex>/<filename>`` keyed by the strongest one."""
    algo, hexdigest = next(iter(digests.items()))
    return cache_dir / f"{algo}-{hexdigest}" / filename


@contextlib.contextmanager
def cache_lock(key_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on one cache entry (another process fetching it waits, then finds it cached)."""
    key_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(key_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def resolve_local(path: str) -> Path:
    """A user's ``path:`` with ``~`` and ``$VARS`` expanded, made absolute.

    A relative path resolves against the project home, not the working dir: under ``ray job submit``
    the working dir is a temporary copy."""
    from pipeline.paths import expand_vars, project_home

    local = Path(expand_vars(path)).expanduser()
    return local if local.is_absolute() else project_home() / local
