"""The download stage: fetch (or take from a local path), verify, and extract one dataset into ``data/``."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipeline.stage import StageContext, StageDef, StageResult
from stages.dataset.archives import archive_kind, extract_archive
from stages.dataset.http_fetch import RetryPolicy, fetch
from stages.dataset.tree import count_tree, link_tree, place_file
from stages.download.checksum import expected_digests, matches, verify_or_delete
from stages.download.errors import DownloadError, SourceMissing
from stages.download.params import DownloadParams, UrlSource
from stages.download.sources import (
    apply_mirror,
    cache_entry,
    cache_lock,
    resolve_cache_dir,
    resolve_local,
    resolve_mirror,
)


def run(params: DownloadParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Write the dataset's files under ``out_dir/data`` (archives extracted and merged) and a
    ``sources.json`` saying where each file came from."""
    out_dir = Path(out_dir)
    data = out_dir / "data"
    log = ctx.logger
    if params.path is not None:
        records = [_from_path(params, data, log)]
    else:
        policy = RetryPolicy(params.http_retries, params.backoff_s, params.timeout_s)
        mirror = resolve_mirror(params.mirror)
        cache_dir = resolve_cache_dir(params.cache_dir)
        records = [_from_url(src, mirror, cache_dir, policy, params.extract, data, log) for src in params.urls]
    data.mkdir(parents=True, exist_ok=True)
    files, nbytes = count_tree(data)
    (out_dir / "sources.json").write_text(json.dumps({"name": params.name, "sources": records}, indent=2))
    hits = sum(1 for r in records if r.get("cache_hit"))
    fetched = sum(1 for r in records if r.get("cache_hit") is False)
    log.info("download %s: %d files, %d bytes (%d fetched, %d from cache)", params.name, files, nbytes, fetched, hits)
    return StageResult(
        outputs={"data": "data"},
        counts={"files": files, "bytes": nbytes, "downloaded": fetched, "cache_hits": hits},
        artifacts=["sources.json"],
        datasets=["data"],
        extra={"sources": records},
    )


def _from_url(
    src: UrlSource, mirror: str | None, cache_dir: Path, policy: RetryPolicy, extract: bool, data: Path,
    log: logging.Logger,
) -> dict[str, Any]:
    """Make sure the verified file is in the cache (fetching it if needed), then place it into ``data``."""
    digests = expected_digests(src.sha256, src.md5)
    url = apply_mirror(src.url, mirror)
    cached = cache_entry(cache_dir, digests, src.filename)
    with cache_lock(cached.parent):
        hit = matches(cached, digests)
        if hit:
            log.info("%s: cached at %s (checksum verified), not fetched", src.filename, cached)
        else:
            if cached.exists():
                log.warning("%s: cached copy fails its checksum; fetching again", cached)
                cached.unlink()
            log.info("fetching %s -> %s", url, cached)
            fetch(url, cached, policy, log)
            verify_or_delete(cached, digests)
    _place(cached, data, extract, log)
    return {"url": src.url, "fetched_from": url, "filename": src.filename, **digests, "cache_hit": hit}


def _from_path(params: DownloadParams, data: Path, log: logging.Logger) -> dict[str, Any]:
    """Take a dataset the user already has: a folder as-is, or an archive / file (verified if a checksum is given)."""
    src = resolve_local(params.path)
    if not src.exists():
        how = params.instructions.strip() or "(no instructions configured for this dataset)"
        raise SourceMissing(f"dataset {params.name!r}: path {src} does not exist.\n{how}")
    digests = expected_digests(params.sha256, params.md5)
    if src.is_dir():
        if digests:
            raise DownloadError(f"dataset {params.name!r}: sha256/md5 apply to an archive, but {src} is a folder")
        log.info("%s: linking folder %s", params.name, src)
        link_tree(src, data)
        return {"path": str(src), "kind": "folder"}
    if digests:
        verify_or_delete(src, digests, delete=False)  # never delete the user's own file
    else:
        log.warning("%s: no sha256/md5 given for %s; not verified", params.name, src)
    kind = _place(src, data, params.extract, log)
    return {"path": str(src), "kind": kind, **digests}


def _place(file: Path, data: Path, extract: bool, log: logging.Logger) -> str:
    """Extract an archive into ``data`` (or keep a plain file there); returns 'zip', 'tar' or 'file'."""
    kind = archive_kind(file) if extract else None
    if kind is None:
        place_file(file, data, file.name, source=str(file))
        return "file"
    log.info("extracting %s (%s) into %s", file.name, kind, data)
    extract_archive(file, data, kind)
    return kind


STAGE = StageDef(
    name="download",
    fn=run,
    params=DownloadParams,
    version="1",
    outputs=lambda p: ["data"],
    description="fetch, verify and extract one dataset (or take it from a local path) into data/",
)
