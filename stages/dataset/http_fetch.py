"""Streamed HTTP(S) download into ``<dest>.part``: resume with Range, retries with exponential backoff.
Shared by the stages that fetch files (download, pretrained).

Only the standard library (urllib) is used. TLS is verified with the default SSL context, never loosened;
nothing here ever prompts.
"""
from __future__ import annotations

import http.client
import logging
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from stages.dataset.errors import DownloadError, HttpError
from stages.dataset.transfer_progress import Progress

CHUNK = 256 * 1024
MAX_BACKOFF_S = 60.0
USER_AGENT = "scenetext-pipeline-download/1 (python urllib)"
# Statuses worth another try; any other 4xx (404, 403, 401, 410, ...) fails at once.
RETRYABLE_4XX = {408, 425, 429}


@dataclass(frozen=True)
class RetryPolicy:
    """retries: extra attempts after the first; backoff_s: first wait, doubled each time (capped)."""

    retries: int = 4
    backoff_s: float = 2.0
    timeout_s: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)


class _Retry(Exception):
    """A transient failure of one attempt; the message says what happened."""


def _opener() -> urllib.request.OpenerDirector:
    # create_default_context() verifies the certificate chain and the host name.
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def fetch(url: str, dest: Path, policy: RetryPolicy, logger: logging.Logger, stream: TextIO | None = None) -> None:
    """Download ``url`` to ``dest``, resuming ``<dest>.part`` if present; ``dest`` appears only when complete.

    Raises ``HttpError`` at once for a non-retryable status, ``DownloadError`` when all attempts fail.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    opener = _opener()
    attempts = policy.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            _attempt(opener, url, part, policy.timeout_s, logger, stream)
            os.replace(part, dest)
            return
        except _Retry as exc:
            reason = str(exc)
        except (OSError, http.client.HTTPException) as exc:  # reset, timeout, refused, truncated chunk
            reason = f"{type(exc).__name__}: {exc}"
        if attempt == attempts:
            raise DownloadError(f"GET {url}: giving up after {attempts} attempt(s); last error: {reason}")
        kept = part.stat().st_size if part.exists() else 0
        wait = policy.delay(attempt)
        logger.warning(
            "GET %s: %s; retry %d/%d in %.2f s (%d bytes kept)", url, reason, attempt, policy.retries, wait, kept
        )
        time.sleep(wait)


def _attempt(
    opener: urllib.request.OpenerDirector, url: str, part: Path, timeout_s: float, logger: logging.Logger,
    stream: TextIO | None,
) -> None:
    """One request: continue ``part`` from its current size (206) or rewrite it from byte 0 (200)."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}  # identity: bytes on disk = bytes hashed
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as err:
        err.close()
        _raise_for_status(url, err, part, offset)
        return  # 416 on an already complete part
    except urllib.error.URLError as err:
        if isinstance(err.reason, ssl.SSLCertVerificationError):
            # Not transient, and never worked around by disabling verification: use a trusted mirror.
            raise DownloadError(f"GET {url}: TLS certificate verification failed: {err.reason}") from None
        raise _Retry(f"URLError: {err.reason}") from None
    with response:
        offset, total = _start_position(response, part, offset, logger, url)
        _stream_body(response, part, offset, total, logger, stream)


def _raise_for_status(url: str, err: urllib.error.HTTPError, part: Path, offset: int) -> None:
    """Map an error status to a retry, an immediate failure, or (416 on a complete part) success."""
    if err.code == 416 and offset:
        total = _content_range(err.headers.get("Content-Range", ""))[1]
        if total == offset:
            return  # the partial file already holds every byte
        part.unlink(missing_ok=True)
        raise _Retry(f"HTTP 416 for bytes={offset}- (server size {total}); restarting from byte 0")
    if err.code >= 500 or err.code in RETRYABLE_4XX:
        raise _Retry(f"HTTP {err.code} {err.reason}")
    raise HttpError(url, err.code, str(err.reason or ""))


def _start_position(response, part: Path, offset: int, logger: logging.Logger, url: str) -> tuple[int, int | None]:
    """Where this body starts in the file and the full file size (None if unknown)."""
    if response.status == 206:
        start, total = _content_range(response.headers.get("Content-Range", ""))
        if start != offset:
            part.unlink(missing_ok=True)
            raise _Retry(f"asked for byte {offset}, server resumed at {start}; restarting from byte 0")
        return offset, total
    if offset:
        logger.info("GET %s: server sent the whole file (HTTP %d), restarting from byte 0", url, response.status)
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _stream_body(response, part: Path, offset: int, total: int | None, logger: logging.Logger, stream) -> None:
    """Copy the body to ``part`` (appending after ``offset``) and check it reached ``total``."""
    progress = Progress(part.name.removesuffix(".part"), total, logger, stream, initial=offset)
    done = offset
    with open(part, "ab" if offset else "wb") as fh:
        # read() returns b"" on a connection closed early (no exception): the size check below catches it.
        while chunk := response.read(CHUNK):
            fh.write(chunk)
            done += len(chunk)
            progress.update(done)
    if total is not None and done != total:
        if done > total:
            part.unlink(missing_ok=True)
        raise _Retry(f"connection ended at byte {done} of {total}")
    progress.finish(done)


_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)")


def _content_range(value: str) -> tuple[int | None, int | None]:
    """Parse ``bytes START-END/TOTAL`` (or ``bytes */TOTAL``) into (start, total); None where absent."""
    match = _CONTENT_RANGE.match(value.strip())
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)
