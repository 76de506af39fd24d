"""Content-addressed stage outputs under an artifact root (a local path or any pyarrow.fs URI).

Layout: ``<root>/<stage>/<key>/`` holds one stage output: ``manifest.json``, the outputs, ``_ATTEMPT``
(which attempt wrote them) and the ``_COMPLETE`` marker. Only the marker makes an output real: a
folder without it is never read, is not a cache hit, and is replaced by the next attempt.

Every attempt of a stage writes into its own staging folder (``begin``), so two drivers running the
same key never touch each other's files; ``begin`` deletes nothing but the folders of writers known
to be dead (same host, process gone). ``commit`` then publishes the attempt:

* **Local and shared-filesystem roots**: the stage writes straight into
  ``<root>/<stage>/.staging-<key>-<attempt>/``; the manifest and the marker are written inside it and
  the folder is renamed to ``<key>/``. The rename is atomic and fails when ``<key>/`` already holds a
  complete output, so the first attempt to commit wins and a later one (the race's loser) discards
  its own files and returns the winner's manifest.
* **Object stores (s3://...)**, which cannot rename a folder: the stage writes into a local folder
  under ``<tempdir>/scenetext-staging/``, which is uploaded to ``<key>/attempt-<id>/``; ``<key>/_COMPLETE``
  is written last, as one object naming the attempt whose files are valid. Attempts never share a
  prefix, so files of two writers never mix; readers follow the marker. An attempt that finds the
  key complete before it uploads, or completed by another writer while it uploaded, discards its
  files and returns the winner's manifest. If two markers race, the last write names a complete
  attempt all the same, and the other attempt's folder is garbage for ``python -m pipeline gc``.

``replace=True`` (a forced re-run) publishes the new attempt over a complete output on purpose.
Staging folders of killed attempts are removed by ``begin`` when their owner is provably dead, and
otherwise by ``python -m pipeline gc`` (see ``pipeline/gc.py``).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow.fs as pafs

from pipeline.attempts import ATTEMPT_FILE, Heartbeat, new_attempt_id, owner_state, write_owner
from pipeline.config import ConfigError
from pipeline.redact import is_secret_name

MARKER = "_COMPLETE"
MANIFEST = "manifest.json"
STAGING_PREFIX = ".staging-"
TRASH_PREFIX = ".trash-"
ATTEMPT_PREFIX = "attempt-"


def staging_home() -> Path:
    """The one local folder that holds staging folders of remote roots (``gc`` cleans it too)."""
    return Path(tempfile.gettempdir()) / "scenetext-staging"


class ArtifactRootError(ConfigError):
    """The artifact root cannot be used (missing bucket, unreachable store)."""

    def __init__(self, root: str, problem: str):
        super().__init__(root, [f"artifact_root: {problem}"])
        self.args = (f"artifact root {root}: {problem}",)

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class Staging:
    """A folder one attempt of a stage writes into."""

    stage: str
    key: str
    attempt: str
    local_dir: Path  # what the stage writes into

    def heartbeat(self) -> Heartbeat:
        """Keeps the attempt visibly alive (for ``gc`` on other hosts) while the stage runs."""
        return Heartbeat(self.local_dir / ATTEMPT_FILE)


@dataclass
class Committed:
    """The output that is now at ``<root>/<stage>/<key>/`` after a commit."""

    manifest: dict[str, Any]
    uri: str
    local_dir: Path  # a local copy of the committed folder (the same folder on local roots)
    reused: bool  # another attempt had committed first: ours was discarded, this is the winner's


class ArtifactStore:
    """Reads and writes stage outputs; picklable, so Ray workers get it by value."""

    def __init__(self, root: str, cache_dir: str | None = None, check: bool = True):
        self._spec = root  # as given, credentials and all: only used to open the filesystem
        self.root = display_root(root)
        self._fs, self._base = _filesystem(root)
        self.is_local = isinstance(self._fs, pafs.LocalFileSystem)
        self._scheme = urlsplit(root).scheme if "://" in root else "file"
        self.cache_dir = Path(cache_dir or tempfile.gettempdir()) / "scenetext-inputs"
        if check and not self.is_local:
            self._check_reachable()

    def __reduce__(self):
        return (ArtifactStore, (self._spec, str(self.cache_dir.parent), False))

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._fs

    @property
    def base(self) -> str:
        """The root as a path of ``filesystem`` (no scheme)."""
        return self._base

    # --- addresses -----------------------------------------------------------------------
    def path(self, stage: str, key: str) -> str:
        """Filesystem path (without scheme) of a stage output folder."""
        return f"{self._base}/{stage}/{key}"

    def uri(self, stage: str, key: str) -> str:
        """A URI for humans and MLflow tags; never holds credentials or endpoint options."""
        return self.display_uri(self.path(stage, key))

    def display_uri(self, path: str) -> str:
        """A URI for humans of any path on this store's filesystem."""
        return Path(path).as_uri() if self.is_local else f"{self._scheme}://{path}"

    def content_path(self, stage: str, key: str) -> str:
        """Where the files of a complete output are: ``<key>/`` locally, the marked attempt on object stores."""
        final = self.path(stage, key)
        if self.is_local:
            return final
        marker = self.marker(stage, key)
        if marker is None or not marker.get("attempt"):
            raise FileNotFoundError(f"no complete output at {self.uri(stage, key)} (no valid {MARKER})")
        return self._attempt_folder(stage, key, marker["attempt"])

    def content_uri(self, stage: str, key: str) -> str:
        return self.display_uri(self.content_path(stage, key))

    # --- reading -------------------------------------------------------------------------
    def is_complete(self, stage: str, key: str) -> bool:
        info = self._fs.get_file_info(f"{self.path(stage, key)}/{MARKER}")
        return info.type == pafs.FileType.File

    def marker(self, stage: str, key: str) -> dict[str, Any] | None:
        """The completion marker's content; None when the output is not complete."""
        try:
            with self._fs.open_input_stream(f"{self.path(stage, key)}/{MARKER}") as stream:
                text = stream.read().decode()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return {}  # a marker written before markers were JSON: complete, no attempt named
        return data if isinstance(data, dict) else {}

    def read_manifest(self, stage: str, key: str) -> dict[str, Any]:
        with self._fs.open_input_stream(f"{self.content_path(stage, key)}/{MANIFEST}") as stream:
            return json.loads(stream.read().decode())

    def local_dir(self, stage: str, key: str) -> Path:
        """A local folder holding a complete output; remote outputs are downloaded once per attempt."""
        if self.is_local:
            return Path(self.path(stage, key))
        source = self.content_path(stage, key)
        target = self.cache_dir / stage / key / source.rsplit("/", 1)[1]
        if not target.exists():
            partial = target.with_name(f".{target.name}-{uuid.uuid4().hex[:8]}")
            partial.mkdir(parents=True)  # copy_files creates the subfolders, not the top one
            pafs.copy_files(source, str(partial), source_filesystem=self._fs,
                            destination_filesystem=pafs.LocalFileSystem())
            _rename_or_drop(partial, target)
        return target

    def local_output(self, stage: str, key: str, output: str) -> Path:
        """A local path of one output of a complete stage; remote outputs are downloaded once."""
        folder = self.local_dir(stage, key)
        manifest = json.loads((folder / MANIFEST).read_text())
        return folder / manifest["outputs"][output]["path"]

    # --- writing -------------------------------------------------------------------------
    def begin(self, stage: str, key: str, attempt: str | None = None) -> Staging:
        """A fresh, empty folder for one attempt of a stage (``attempt``: its id, given by the driver so
        that it can remove the folder after cancelling the stage; a new id when None).

        Staging folders of the same key whose writer is provably dead are removed; a live
        attempt's folder (another driver running the same key) is never touched. A folder of this
        same attempt is an earlier try of it (Ray retries one try at a time) and is emptied.
        """
        attempt = attempt or new_attempt_id()
        if self.is_local:
            self._remove_dead_staging(stage, key)
            local = Path(self._base) / stage / f"{STAGING_PREFIX}{key}-{attempt}"
        else:
            local = staging_home() / f"{stage}-{key[:16]}-{attempt}"
        shutil.rmtree(local, ignore_errors=True)
        local.mkdir(parents=True)
        write_owner(local, attempt)
        return Staging(stage, key, attempt, local)

    def commit(self, staging: Staging, manifest: dict[str, Any], replace: bool = False) -> Committed:
        """Publish an attempt at ``<root>/<stage>/<key>/``, marker last (see the module docstring).

        A complete output already there wins unless ``replace`` (a forced re-run): then this
        attempt's files are discarded and the returned ``Committed`` carries the existing manifest.
        """
        if self.is_local:
            return self._commit_local(staging, manifest, replace)
        return self._commit_remote(staging, manifest, replace)

    def abort(self, staging: Staging) -> None:
        """Drop a failed attempt's files (its local folder and anything it uploaded)."""
        shutil.rmtree(staging.local_dir, ignore_errors=True)
        if not self.is_local:
            self.delete_dir(self._attempt_path(staging))

    def discard(self, stage: str, key: str, attempt: str) -> None:
        """Remove what one attempt left behind, if anything (a cancelled or killed stage): its local
        staging folder and, on an object store, its attempt folder under the final prefix."""
        if self.is_local:
            self.delete_dir(f"{self._base}/{stage}/{STAGING_PREFIX}{key}-{attempt}")
            return
        shutil.rmtree(staging_home() / f"{stage}-{key[:16]}-{attempt}", ignore_errors=True)
        if (self.marker(stage, key) or {}).get("attempt") != attempt:
            self.delete_dir(self._attempt_folder(stage, key, attempt))

    def delete_dir(self, path: str) -> None:
        """Delete a folder of this store; a folder already gone is fine."""
        try:
            self._fs.delete_dir(path)
        except FileNotFoundError:
            pass

    # --- local commit: one atomic rename ------------------------------------------------------
    def _commit_local(self, staging: Staging, manifest: dict[str, Any], replace: bool) -> Committed:
        final = Path(self.path(staging.stage, staging.key))
        if not replace and self.is_complete(staging.stage, staging.key):
            return self._discard(staging)
        _write_json(staging.local_dir / MANIFEST, manifest, indent=2)
        # The marker is inside the folder before the rename: <key>/ appears complete or not at all.
        _write_json(staging.local_dir / MARKER, _marker_body(staging, manifest))
        for _ in range(3):
            if final.exists() and (replace or not (final / MARKER).exists()):
                self._trash_local(final)  # a forced re-run, or the leftovers of an old incomplete layout
            try:
                os.rename(staging.local_dir, final)
                return Committed(manifest, self.uri(staging.stage, staging.key), final, reused=False)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            if (final / MARKER).exists():  # another attempt renamed its folder into place first
                return self._discard(staging)
        raise RuntimeError(f"could not commit {self.uri(staging.stage, staging.key)}: "
                           "it kept changing under this attempt")

    def _trash_local(self, final: Path) -> None:
        # Renaming first makes the old folder vanish at once; deleting it can then take its time.
        trash = final.with_name(f"{TRASH_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, trash)
        except FileNotFoundError:
            return  # another attempt moved it away already
        shutil.rmtree(trash, ignore_errors=True)

    def _remove_dead_staging(self, stage: str, key: str) -> None:
        folder = Path(self._base) / stage
        if not folder.is_dir():
            return
        for entry in folder.iterdir():
            if entry.name.startswith(f"{STAGING_PREFIX}{key}-") and owner_state(_read_owner(entry)) == "dead":
                shutil.rmtree(entry, ignore_errors=True)

    # --- object-store commit: attempt-scoped upload, marker names the attempt --------------------
    def _commit_remote(self, staging: Staging, manifest: dict[str, Any], replace: bool) -> Committed:
        stage, key = staging.stage, staging.key
        before = self.marker(stage, key)
        if before is not None and not replace:
            return self._discard(staging)
        _write_json(staging.local_dir / MANIFEST, manifest, indent=2)
        target = self._attempt_path(staging)
        # _ATTEMPT goes first so that a half-finished upload still names its owner for gc.
        self._put(f"{target}/{ATTEMPT_FILE}", (staging.local_dir / ATTEMPT_FILE).read_bytes())
        pafs.copy_files(str(staging.local_dir), target, source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=self._fs)
        if self.marker(stage, key) != before:  # another writer completed this key while we uploaded
            self.delete_dir(target)
            return self._discard(staging)
        self._put(f"{self.path(stage, key)}/{MARKER}", json.dumps(_marker_body(staging, manifest)).encode())
        if (self.marker(stage, key) or {}).get("attempt") != staging.attempt:  # a marker written after ours won
            self.delete_dir(target)
            return self._discard(staging)
        if before and before.get("attempt"):
            self.delete_dir(self._attempt_folder(stage, key, before["attempt"]))  # the replaced output
        cached = self.cache_dir / stage / key / target.rsplit("/", 1)[1]
        cached.parent.mkdir(parents=True, exist_ok=True)
        _rename_or_drop(staging.local_dir, cached)  # downstream stages on this node read it without a download
        return Committed(manifest, self.uri(stage, key), cached, reused=False)

    def _attempt_path(self, staging: Staging) -> str:
        return self._attempt_folder(staging.stage, staging.key, staging.attempt)

    def _attempt_folder(self, stage: str, key: str, attempt: str) -> str:
        return f"{self.path(stage, key)}/{ATTEMPT_PREFIX}{attempt}"

    def _put(self, path: str, data: bytes) -> None:
        with self._fs.open_output_stream(path) as out:
            out.write(data)

    def _discard(self, staging: Staging) -> Committed:
        shutil.rmtree(staging.local_dir, ignore_errors=True)
        stage, key = staging.stage, staging.key
        return Committed(self.read_manifest(stage, key), self.uri(stage, key), self.local_dir(stage, key), reused=True)

    def _check_reachable(self) -> None:
        bucket = self._base.split("/", 1)[0]
        try:
            info = self._fs.get_file_info(bucket)
        except OSError as exc:
            raise ArtifactRootError(self.root, f"cannot reach the store: {exc}") from exc
        if info.type != pafs.FileType.Directory:
            what = "bucket" if self._scheme == "s3" else "top-level folder"
            raise ArtifactRootError(self.root, f"{what} {bucket!r} does not exist; create it first")


def display_root(root: str) -> str:
    """The root as it may be shown: user info and credential query parameters removed."""
    if "://" not in root:
        return root
    parts = urlsplit(root)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not is_secret_name(k)]
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query, safe=":/"), ""))


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" not in root:
        return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(root))
    if root.startswith("s3://"):
        root = _with_env_endpoint(root)
    fs, base = pafs.FileSystem.from_uri(root)
    return fs, base.rstrip("/")


def _with_env_endpoint(root: str) -> str:
    """Add AWS_ENDPOINT_URL as the endpoint when the URI names none.

    The AWS SDK inside recent pyarrow reads that variable too, but older builds do not; passing it
    explicitly makes an S3-compatible store (MinIO, moto, Ceph) work the same on every version.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    parts = urlsplit(root)
    query = parse_qsl(parts.query)
    if not endpoint or any(k == "endpoint_override" for k, _ in query):
        return root
    query += [("endpoint_override", endpoint), ("scheme", urlsplit(endpoint).scheme or "https")]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":/")))


def _marker_body(staging: Staging, manifest: dict[str, Any]) -> dict[str, Any]:
    return {"attempt": staging.attempt, "finished_at": manifest.get("finished_at", "")}


def _write_json(path: Path, data: Any, indent: int | None = None) -> None:
    path.write_text(json.dumps(data, indent=indent, sort_keys=True))


def _read_owner(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / ATTEMPT_FILE).read_text())
    except (OSError, ValueError):
        return None


def _rename_or_drop(source: Path, target: Path) -> None:
    """Move a finished local folder into place; if another process put the same one there first, drop ours."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            if exc.errno != errno.EXDEV:
                raise
            shutil.copytree(source, target, dirs_exist_ok=True)
        shutil.rmtree(source, ignore_errors=True)


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def describe_output(path: Path) -> dict[str, Any]:
    """Size, file count and content digest of one output (a file or a folder).

    The digest is sha256 over the sorted (relative path, file sha256) pairs, so it names the
    content, not the location: MLflow lineage uses it as the dataset digest.
    """
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    total = 0
    for file in files:
        rel = "." if file == path else file.relative_to(path).as_posix()
        digest.update(f"{rel}\0{file_sha256(file)}\n".encode())
        total += file.stat().st_size
    return {"bytes": total, "files": len(files), "digest": digest.hexdigest()}
