"""File digests and their verification against the configured checksums."""
from __future__ import annotations

import hashlib
from pathlib import Path

from stages.download.errors import ChecksumMismatch

_CHUNK = 1 << 20


def expected_digests(sha256: str | None, md5: str | None) -> dict[str, str]:
    """The configured checksums as {algo: lowercase hex}, strongest first (sha256 keys the cache)."""
    out = {}
    if sha256:
        out["sha256"] = sha256.lower()
    if md5:
        out["md5"] = md5.lower()
    return out


def file_digests(path: Path, algos: list[str]) -> dict[str, str]:
    """Hash ``path`` once, feeding every algorithm in ``algos``; returns {algo: hex}."""
    # md5 is an integrity check here, not security: say so, or FIPS builds refuse it.
    hashers = {a: hashlib.new(a, usedforsecurity=False) for a in algos}
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


def matches(path: Path, expected: dict[str, str]) -> bool:
    """True when ``path`` exists and every expected digest matches (no side effects)."""
    if not path.is_file():
        return False
    return file_digests(path, list(expected)) == expected


def verify_or_delete(path: Path, expected: dict[str, str], delete: bool = True) -> None:
    """Raise ``ChecksumMismatch`` (expected vs actual) if a digest differs; the bad file is deleted
    first when ``delete`` (a downloaded file; never a user's own local file)."""
    actual = file_digests(path, list(expected))
    for algo, want in expected.items():
        if actual[algo] != want:
            if delete:
                path.unlink(missing_ok=True)
            raise ChecksumMismatch(str(path), algo, want, actual[algo])
