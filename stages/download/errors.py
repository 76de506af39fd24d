"""The errors the download stage raises; all are ``DownloadError`` so a caller can catch one type."""
from __future__ import annotations


class DownloadError(RuntimeError):
    """A dataset could not be fetched, verified or extracted; the message says which file and why."""


class HttpError(DownloadError):
    """The server answered with a status that retrying will not fix (404, 403, ...)."""

    def __init__(self, url: str, status: int, reason: str = ""):
        self.url = url
        self.status = status
        super().__init__(f"GET {url} failed: HTTP {status} {reason}".rstrip())


class ChecksumMismatch(DownloadError):
    """A file's digest differs from the configured one (the file has been deleted)."""

    def __init__(self, path: str, algo: str, expected: str, actual: str):
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{path}: {algo} mismatch: expected {expected}, actual {actual} (the file was deleted; "
            "check the checksum in the config or the source)"
        )


class UnsafeArchive(DownloadError):
    """An archive member would land outside the extraction folder (zip-slip, absolute path, escaping link)."""

    def __init__(self, archive: str, member: str, reason: str):
        self.archive = archive
        self.member = member
        super().__init__(f"{archive}: refusing to extract member {member!r}: {reason}")


class SourceMissing(DownloadError):
    """A local ``path:`` source does not exist; the message carries the dataset's instructions."""
