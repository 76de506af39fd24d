"""Resolve params that point outside the config to what they point at, so cache keys follow content.

A stage param marked as a reference (see ``pipeline.keys``) is keyed by what it resolves to, never by its
spelling: ``models:/det@champion`` by the version the alias names and that version's model digest,
``runs:/<id>/model`` by the run and the artifact's digest, a local path by its expanded absolute path and
content digest. Kinds of reference:

- ``path``: a local file or folder (``~`` and ``$VARS`` expanded; relative to the project home);
- ``checkpoint``: a model checkpoint: a path, ``file://``, ``runs:/`` or ``models:/`` URI (a value that
  is one of the stage's input names is an input, keyed by the upstream key instead);
- ``weights``: a path, ``file://`` or an ``http(s)://`` URL (a URL is keyed as written: released
  weights files do not change under their URL);
- ``content``: a local file (path or ``file://``) keyed by its content digest alone: the same bytes
  moved elsewhere keep the key;
- ``package``: a file inside an installed Python package, ``{"module": ..., "file": ...}`` (found
  where the module lives, without importing it), keyed by its content digest alone.

A reference that does not resolve raises ``UnresolvedReference``; the keying code turns it into a config
error naming the key path.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlsplit, urlunsplit
from urllib.request import url2pathname

from pipeline.digests import DigestCache

KINDS = ("path", "checkpoint", "weights", "content", "package")


class UnresolvedReference(ValueError):
    """A reference param names something that does not exist (or cannot be reached)."""


class ReferenceResolver:
    """Resolves references against one MLflow store (``tracking_uri``) and one digest cache."""

    def __init__(self, tracking_uri: str | None = None, digests: DigestCache | None = None):
        self.tracking_uri = tracking_uri
        self.digests = digests if digests is not None else DigestCache()
        self._client: Any = None

    def resolve(self, kind: str, value: Any) -> dict[str, Any]:
        """What ``value`` of reference kind ``kind`` points at, as plain data for the key."""
        if kind not in KINDS:
            raise ValueError(f"unknown reference kind {kind!r}; kinds: {', '.join(KINDS)}")
        if kind == "package":
            if not isinstance(value, dict) or set(value) != {"module", "file"}:
                raise UnresolvedReference(f"{value!r}: a package reference is {{module: ..., file: ...}}")
            return {"sha256": self.digests.path_digest(package_file(value["module"], value["file"]))}
        if kind == "content":
            return {"sha256": self.resolve("path", value)["sha256"]}
        scheme = urlparse(value).scheme
        if kind == "weights" and scheme in ("http", "https"):
            return {"url": value}
        if kind == "checkpoint" and scheme == "models":
            return self._registered_model(value)
        if kind == "checkpoint" and scheme == "runs":
            return self._run_artifact(value)
        if scheme == "file":
            return self.local(url2pathname(urlparse(value).path))
        if scheme and len(scheme) > 1:  # one letter is a Windows drive
            raise UnresolvedReference(f"{value!r}: unsupported scheme {scheme!r}")
        return self.local(value)

    def local(self, value: str) -> dict[str, Any]:
        """Expanded absolute path and content digest of a local file or folder."""
        path = expand_path(value)
        if not path.exists():
            raise UnresolvedReference(f"{value!r}: no file or folder at {path}")
        kind = "folder" if path.is_dir() else "file"
        return {kind: str(path), "sha256": self.digests.path_digest(path)}

    def tracking_store(self) -> str | None:
        """The MLflow store this resolver reads, with any credentials taken out (what keys may hold)."""
        return store_identity(self.tracking_uri) if self.tracking_uri else None

    def _mlflow(self) -> Any:
        if self.tracking_uri is None:
            raise UnresolvedReference("an MLflow URI needs the pipeline's tracking URI, and none was given")
        if self._client is None:
            from pipeline.model_uris import registry_client

            self._client = registry_client(self.tracking_uri)
        return self._client

    def _registered_model(self, uri: str) -> dict[str, Any]:
        from mlflow.exceptions import MlflowException

        from pipeline import model_uris

        match = model_uris.MODELS_URI.match(uri)
        if match is None:
            raise UnresolvedReference(f"{uri!r} is not models:/NAME@ALIAS or models:/NAME/VERSION")
        client = self._mlflow()
        try:
            model_uris.check_model_uri(uri, client)  # names the registered models and aliases when it fails
            if match["alias"]:
                version = client.get_model_version_by_alias(match["name"], match["alias"])
            elif match["version"] == "latest":
                found = client.search_model_versions(f"name='{match['name']}'")
                version = max(found, key=lambda v: int(v.version))
            else:
                version = client.get_model_version(match["name"], match["version"])
        except model_uris.ModelNotFound as exc:
            raise UnresolvedReference(str(exc)) from None  # with the list of what the registry holds
        except (MlflowException, ValueError) as exc:
            raise UnresolvedReference(f"{uri!r}: {_first_line(exc)}") from None
        # The register stage tags each version with its checkpoint's sha256; versions made by other
        # means are pinned by where they were registered from instead.
        content = version.tags.get("model.sha256") or f"{version.source}#{version.run_id}"
        return {"model": match["name"], "version": str(version.version), "digest": content,
                "path": match["rest"] or ""}

    def _run_artifact(self, uri: str) -> dict[str, Any]:
        from mlflow.exceptions import MlflowException

        run_id, _, artifact = uri.removeprefix("runs:/").partition("/")
        client = self._mlflow()
        try:
            client.get_run(run_id)
            import mlflow.artifacts

            with tempfile.TemporaryDirectory(prefix="scenetext-ref-") as tmp:
                local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact or None,
                                                            dst_path=tmp, tracking_uri=self.tracking_uri)
                # Downloaded copies are new files each time: hash them directly, not through the cache.
                digest = DigestCache(Path(tmp) / "digests.sqlite").path_digest(local)
        except (MlflowException, OSError) as exc:
            raise UnresolvedReference(f"{uri!r}: {_first_line(exc)}") from None
        return {"run": run_id, "artifact": artifact, "sha256": digest}


def expand_path(value: str) -> Path:
    """``~`` and ``$VARS`` expanded (``pipeline.paths.expand_vars``), relative to the project home; an
    unset variable is an error."""
    from pipeline.paths import expand_vars, project_home

    expanded = expand_vars(os.path.expanduser(value))
    if "$" in expanded:
        raise UnresolvedReference(f"{value!r}: environment variable not set (expanded to {expanded!r})")
    path = Path(expanded)
    return path if path.is_absolute() else project_home() / path


def package_file(module: str, file: str) -> Path:
    """The file ``file`` (relative, no ``..``) inside the folder of the installed package ``module``.

    The module is located, not imported (``importlib.util.find_spec``: a top-level package runs none of
    its code); raises ``UnresolvedReference`` when it is not installed or holds no such file."""
    import importlib.util

    relative = Path(file)
    if relative.is_absolute() or ".." in relative.parts:
        raise UnresolvedReference(f"{file!r}: a package file is relative to the package folder, without '..'")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise UnresolvedReference(f"package {module!r} is not installed")
    folders = list(spec.submodule_search_locations or []) or ([str(Path(spec.origin).parent)] if spec.origin else [])
    for folder in folders:
        if (Path(folder) / relative).is_file():
            return Path(folder) / relative
    raise UnresolvedReference(f"package {module!r} (in {', '.join(folders)}) holds no file {file!r}")


def store_identity(uri: str) -> str:
    """Which store ``uri`` names, for keys: scheme, host, port and path; user, password and query
    (where tokens travel, and which change without the store changing) are left out."""
    parts = urlsplit(uri)
    if not parts.netloc:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
