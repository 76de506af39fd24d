"""The errors the download stage raises; all are ``DataFileError`` (``stages.dataset.errors``) so a caller
can catch one type."""
from __future__ import annotations

from stages.dataset.errors import DataFileError, UnsafeArchive

__all__ = ["ChecksumMismatch", "DataFileError", "DownloadError", "HttpError", "SourceMissing", "UnsafeArchive"]


class DownloadError(DataFileError):
    """A dataset could not be fetched or verified; the message says which file and why. (Extraction and
    placement errors are the dataset contract's ``DataFileError``, of which this is one kind.)"""


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



class SourceMissing(DownloadError):
    """A local ``path:`` source does not exist; the message carries the dataset's instructions."""
