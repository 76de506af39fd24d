"""Where a weights file is: a local path, a file inside an installed package, or a verified download."""
from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit
from urllib.request import url2pathname

from pipeline.artifacts import file_sha256
from pipeline.references import UnresolvedReference, expand_path, package_file
from stages.dataset.errors import DownloadError
from stages.dataset.http_fetch import RetryPolicy, fetch
from stages.pretrained.params import WeightsSource


def local_file(source: WeightsSource, download_dir: Path, policy: RetryPolicy, log: logging.Logger) -> Path:
    """The weights file of ``source`` on this machine (a URL is fetched into ``download_dir``), its
    sha256 checked against ``source.sha256`` when one is given."""
    if source.url is not None:
        return _download(source.url, str(source.sha256), download_dir, policy, log)
    try:
        if source.package is not None:
            file = package_file(source.package.module, source.package.file)
        else:
            path = str(source.path)
            file = expand_path(url2pathname(urlparse(path).path) if urlparse(path).scheme == "file" else path)
    except UnresolvedReference as exc:
        raise FileNotFoundError(f"pretrained source {source.describe()}: {exc}") from None
    if not file.is_file():
        raise FileNotFoundError(f"pretrained source {source.describe()}: no file at {file}")
    if source.sha256 is not None and file_sha256(file) != source.sha256:
        raise ValueError(f"{file}: sha256 mismatch: expected {source.sha256}, actual {file_sha256(file)}")
    return file


def _download(url: str, sha256: str, download_dir: Path, policy: RetryPolicy, log: logging.Logger) -> Path:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "weights.pth"
    dest = download_dir / Path(name).name
    log.info("pretrained: fetching %s", url)
    fetch(url, dest, policy, log)
    actual = file_sha256(dest)
    if actual != sha256:
        dest.unlink()
        raise DownloadError(f"{url}: sha256 mismatch: expected {sha256}, actual {actual} (the download was "
                            "deleted; check the sha256 in the config or the URL)")
    return dest


def package_version(source: WeightsSource) -> str | None:
    """The installed distribution version of a package source's module (None for other sources)."""
    if source.package is None:
        return None
    top = source.package.module.split(".")[0]
    for dist in importlib.metadata.packages_distributions().get(top, []):
        return importlib.metadata.version(dist)
    return None
