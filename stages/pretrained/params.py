"""Typed params of the ``pretrained`` stage (see ``stage.py`` for what it does)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline.stage import StageParams

# The pip extra of this project that installs a weights package (named in the error when it is missing).
PACKAGE_EXTRAS = {"easyocr_en_models": "pretrained"}


class PackageFile(BaseModel):
    """A file inside an installed Python package: ``module`` (importable name) and ``file`` (relative to
    the package folder)."""

    model_config = ConfigDict(extra="forbid")
    module: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
    file: str = Field(min_length=1)

    @model_validator(mode="after")
    def _installed(self) -> "PackageFile":
        import importlib.util

        if importlib.util.find_spec(self.module.split(".")[0]) is None:
            extra = PACKAGE_EXTRAS.get(self.module.split(".")[0])
            how = (f"install the project's '{extra}' extra: pip install -e '.[{extra}]'" if extra
                   else f"pip install the package that provides {self.module!r}")
            raise ValueError(f"package {self.module!r} is not installed; {how}")
        return self


class WeightsSource(BaseModel):
    """Where the weights file is: exactly one of ``path`` (a local path or ``file://`` URI), ``package``
    or ``url`` (http/https, with ``sha256`` required). ``sha256``, when given with a path or package, is
    checked too. The cache key holds the file's content digest, not where it lies."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, json_schema_extra={"reference": "content"})
    package: PackageFile | None = Field(None, json_schema_extra={"reference": "package"})
    url: str | None = None
    sha256: str | None = None

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value.strip().lower()):
            raise ValueError(f"sha256 must be 64 hex digits, got {value!r}")
        return value.strip().lower() if value is not None else None

    @model_validator(mode="after")
    def _exactly_one(self) -> "WeightsSource":
        given = [name for name in ("path", "package", "url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of path, package or url (got {given or 'none'})")
        if self.url is not None:
            if urlsplit(self.url).scheme not in ("http", "https"):
                raise ValueError(f"url {self.url!r}: only http:// and https:// URLs (a local file is 'path')")
            if self.sha256 is None:
                raise ValueError(f"url {self.url}: sha256 is required (an unverified download is not accepted)")
        return self

    def describe(self) -> str:
        """The source as one readable string (for messages, the manifest and MLflow)."""
        if self.package is not None:
            return f"package:{self.package.module}/{self.package.file}"
        return str(self.path if self.path is not None else self.url)


class PretrainedParams(StageParams):
    """Params of the pretrained stage: the weights' ``source`` and the ``importer`` mapping them
    (a name in ``models.pretrained.IMPORTERS``)."""

    source: WeightsSource
    importer: str = Field(description="models.pretrained.IMPORTERS name, e.g. easyocr_english_g2, craft_mlt_25k")
    http_retries: int = Field(4, ge=0, le=50, description="url: extra attempts after a failed one")
    timeout_s: float = Field(60, gt=0, description="url: socket timeout of one connect / read")

    SETUP_KEYS = ("http_retries", "timeout_s")

    @field_validator("importer")
    @classmethod
    def _known(cls, value: str) -> str:
        from models.pretrained import get_importer

        try:
            get_importer(value)
        except KeyError as exc:  # pydantic reports ValueErrors with the key path
            raise ValueError(exc.args[0]) from None
        return value
