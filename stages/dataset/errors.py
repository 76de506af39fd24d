"""Errors of the dataset contract's file handling (archives, file trees, HTTP fetches)."""
from __future__ import annotations


class DataFileError(RuntimeError):
    """A data file or archive cannot be read or placed safely; the message names the file and why."""


class UnsafeArchive(DataFileError):
    """An archive member would land outside the extraction folder (zip-slip, absolute path, escaping link)."""

    def __init__(self, archive: str, member: str, reason: str):
        self.archive = archive
        self.member = member
        super().__init__(f"{archive}: refusing to extract member {member!r}: {reason}")


class DownloadError(DataFileError):
    """A file could not be fetched or verified; the message says which file and why."""


class HttpError(DownloadError):
    """The server answered with a status that retrying will not fix (404, 403, ...)."""

    def __init__(self, url: str, status: int, reason: str = ""):
        self.url = url
        self.status = status
        super().__init__(f"GET {url} failed: HTTP {status} {reason}".rstrip())
