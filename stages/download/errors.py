"""The errors the download stage raises; all are ``DataFileError`` (``stages.dataset.errors``) so a caller
can catch one type. ``DownloadError`` and ``HttpError`` live with the shared HTTP fetch
(``stages.dataset.http_fetch``) and are re-exported here."""
from __future__ import annotations

from stages.dataset.errors import DataFileError, DownloadError, HttpError, UnsafeArchive

__all__ = ["ChecksumMismatch", "DataFileError", "DownloadError", "HttpError", "SourceMissing", "UnsafeArchive"]


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
