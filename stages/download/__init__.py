"""The download stage: one dataset from URLs (checksummed, cached, resumable) or from a local path.

See ``params.DownloadParams`` for the config keys and ``stage.run`` for what it writes.
"""
from __future__ import annotations

from pipeline.stage import StageDef
from stages.download.errors import ChecksumMismatch, DownloadError, HttpError, SourceMissing, UnsafeArchive
from stages.download.params import DownloadParams, UrlSource
from stages.download.stage import run

STAGE = StageDef(
    name="download",
    fn=run,
    params=DownloadParams,
    version="1",
    outputs=lambda p: ["data"],
    description="fetch, verify and extract one dataset (or take it from a local path) into data/",
)

__all__ = [
    "STAGE", "run", "DownloadParams", "UrlSource",
    "DownloadError", "HttpError", "ChecksumMismatch", "UnsafeArchive", "SourceMissing",
]
