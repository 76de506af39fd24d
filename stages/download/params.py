"""Typed params of the download stage (one dataset per stage entry)."""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.stage import StageParams

_HEX_LEN = {"sha256": 64, "md5": 32}


def _check_hex(algo: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if len(value) != _HEX_LEN[algo] or not re.fullmatch(r"[0-9a-f]+", value):
        raise ValueError(f"{algo} must be {_HEX_LEN[algo]} hex digits, got {value!r}")
    return value


def _check_filename(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"filename {name!r} must be a plain file name (no folders)")
    return name


class UrlSource(BaseModel):
    """One file to fetch: its URL and at least one checksum; ``filename`` defaults to the URL's last path part."""

    model_config = ConfigDict(extra="forbid")

    url: str
    sha256: str | None = None
    md5: str | None = None
    filename: str | None = None

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"{value!r}: only http:// and https:// URLs are supported")
        return value

    @field_validator("sha256")
    @classmethod
    def _sha256_hex(cls, value: str | None) -> str | None:
        return _check_hex("sha256", value)

    @field_validator("md5")
    @classmethod
    def _md5_hex(cls, value: str | None) -> str | None:
        return _check_hex("md5", value)

    @model_validator(mode="after")
    def _checksum_and_name(self) -> "UrlSource":
        if self.sha256 is None and self.md5 is None:
            raise ValueError(f"{self.url}: give sha256 or md5 (an unverified download is not accepted)")
        if self.filename is None:
            self.filename = unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])
            if not self.filename:
                raise ValueError(f"{self.url}: the URL has no file name; set filename")
        _check_filename(self.filename)
        return self


class DownloadParams(StageParams):
    """Where one dataset comes from: ``urls`` to fetch, or a local ``path`` the user already has.

    path: a folder (hard-linked, or copied across file systems, as-is) or an archive (verified when
        ``sha256``/``md5`` is given, then extracted); ``~`` and ``$VARS`` are expanded.
    mirror: a base URL replacing the scheme and host of every URL (else env DATA_MIRROR).
    instructions: shown when ``path`` does not exist (most scene-text sets need a registration).
    http_retries: extra attempts after a failed one (network error, 5xx, cut connection); a 4xx other
        than 408/429 is never retried. Named so because ``retries`` is the engine's key (re-running
        the whole stage) at the same config level.
    backoff_s: the first retry waits this long, each next one twice as long (capped at 60 s).
    timeout_s: socket timeout of one connect / read.
    cache_dir: download cache keyed by checksum; default env SCENETEXT_CACHE or ~/.cache/scenetext/downloads.
    """

    name: str = Field(min_length=1)
    urls: list[UrlSource] | None = None
    path: str | None = Field(None, json_schema_extra={"reference": "path"})  # keyed by content
    sha256: str | None = None
    md5: str | None = None
    mirror: str | None = None
    extract: bool = True
    instructions: str = ""
    http_retries: int = Field(4, ge=0, le=50)
    backoff_s: float = Field(2.0, ge=0)
    timeout_s: float = Field(60, gt=0)
    cache_dir: str | None = None

    SETUP_KEYS = ("instructions", "http_retries", "backoff_s", "timeout_s", "cache_dir")

    @field_validator("sha256")
    @classmethod
    def _sha256_hex(cls, value: str | None) -> str | None:
        return _check_hex("sha256", value)

    @field_validator("md5")
    @classmethod
    def _md5_hex(cls, value: str | None) -> str | None:
        return _check_hex("md5", value)

    @field_validator("mirror")
    @classmethod
    def _mirror_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"mirror {value!r} must be an http:// or https:// base URL")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "DownloadParams":
        if (self.urls is None) == (self.path is None):
            raise ValueError("give exactly one of urls or path")
        if self.urls is not None:
            if not self.urls:
                raise ValueError("urls is empty")
            if self.sha256 or self.md5:
                raise ValueError("top-level sha256/md5 apply to path only; put checksums on each url entry")
            names = [u.filename for u in self.urls]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"urls: several entries save to the same filename {dupes}; set filename")
        return self
